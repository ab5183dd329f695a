import { describe, expect, it } from '@jest/globals';
import { call, idemKey, TestApp, useApp } from '../support/app.js';

/**
 * Admin actions are idempotent (spec sections 5 and 6): a retry with the same
 * key and body gets the stored response, whatever has changed since. A
 * grant's expires_at is checked after the key is claimed, so the retry of a
 * short-lived grant made in time replays instead of failing as "in the past".
 */
describe('admin grant replays', () => {
  const app = useApp();
  const t = (): TestApp => app();
  const admin = (method: string, path: string, body?: unknown, idem: string | undefined = idemKey('adm')) =>
    call(t(), method, path, body, { key: t().adminKey, idem });

  it('replays a grant whose expires_at has passed since: the retry gets the stored response, not a 400', async () => {
    expect((await call(t(), 'PUT', '/v1/wallets/adm_short')).status).toBe(201);
    const key = idemKey('adm');
    const body = { amount: '5', reason: 'short-lived', expires_at: new Date(Date.now() + 1_500).toISOString() };
    const first = await admin('POST', '/v1/admin/wallets/adm_short/grants', body, key);
    expect(first.status).toBe(201);
    await new Promise((r) => setTimeout(r, 2_000));
    const again = await admin('POST', '/v1/admin/wallets/adm_short/grants', body, key);
    expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    expect(again.body).toEqual(first.body);
    // A new key with the lapsed expires_at is refused, and nothing more was granted.
    const late = await admin('POST', '/v1/admin/wallets/adm_short/grants', body);
    expect([late.status, late.body.errors?.[0]?.field]).toEqual([400, 'expires_at']);
    const grants = await call(t(), 'GET', '/v1/admin/audit-log?action=grant&target_id=adm_short', undefined, { key: t().adminKey });
    expect(grants.body.data).toHaveLength(1);
  });
});
