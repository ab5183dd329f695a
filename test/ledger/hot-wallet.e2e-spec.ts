import { describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { call, idemKey, useApp } from '../support/app.js';

/**
 * One hot wallet never holds the pool hostage: an operation that cannot get
 * the wallet's lock within 2 s is 503 wallet_busy, applies nothing, and the
 * retry with the same Idempotency-Key succeeds once the wallet is free. Other
 * wallets are served meanwhile.
 */
describe('a wallet whose lock is held too long', () => {
  const app = useApp();

  it('answers 503 wallet_busy after 2 s, changes nothing, and the same key succeeds later', async () => {
    const t = app();
    for (const owner of ['busy', 'calm']) expect((await call(t, 'PUT', `/v1/wallets/${owner}`)).status).toBe(201);
    const db = t.app.get(Database);
    const key = idemKey('busy');
    let answered: { status: number; body: any } | null = null;
    await db.transaction(async (tx) => {
      // Someone else holds the wallet (a long admin operation, a stuck transaction).
      await tx.sql.query(`SELECT 1 FROM wallets WHERE owner_id = 'busy' FOR UPDATE`);
      const [busy, calm] = await Promise.all([
        call(t, 'POST', '/v1/wallets/busy/reservations', { amount: '1' }, { idem: key }),
        call(t, 'POST', '/v1/wallets/calm/reservations', { amount: '1' }, { idem: idemKey('calm') }),
      ]);
      answered = busy;
      expect(calm.status).toBe(201);
    });
    expect([answered!.status, answered!.body.code]).toEqual([503, 'wallet_busy']);
    expect((await call(t, 'GET', '/v1/wallets/busy')).body.balance).toEqual({ available: '15.000', held: '0.000' });
    const retry = await call(t, 'POST', '/v1/wallets/busy/reservations', { amount: '1' }, { idem: key });
    expect([retry.status, retry.headers.get('idempotent-replayed')]).toEqual([201, null]);
  });
});
