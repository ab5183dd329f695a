import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { allPages, expectNewestFirst, numericOrder } from '../support/paging.js';

interface Entry {
  id: string;
  created_at: string;
  reason: string;
}

/** Spec section 8, Lists: newest first, ties broken by the id as a number, every entry exactly once. */
describe('audit log paging', () => {
  let t: TestApp;
  const admin = (method: string, path: string, body?: unknown) => call(t, method, path, body, { key: t.adminKey, idem: idemKey('adm') });
  const entries = (query: string, limit: number) => allPages<Entry>(t, `/v1/admin/audit-log?${query}`, limit, t.adminKey);

  beforeAll(async () => {
    t = await startApp();
    expect((await call(t, 'PUT', '/v1/wallets/audited')).status).toBe(201);
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('pages 12 grants 3 at a time, newest first, each exactly once (ids 10-12 included)', async () => {
    for (let i = 1; i <= 12; i++)
      expect((await admin('POST', '/v1/admin/wallets/audited/grants', { amount: '1', reason: `grant ${i}` })).status).toBe(201);
    const seen = await entries('target_id=audited', 3);
    expect(seen.map((e) => e.reason)).toEqual(Array.from({ length: 12 }, (_, i) => `grant ${12 - i}`));
    expect(new Set(seen.map((e) => e.id)).size).toBe(12);
    expectNewestFirst(seen, numericOrder);
  });

  it('breaks ties on created_at by the id as a number, and orders by time before id', async () => {
    const db = t.app.get(Database);
    const insert = async (at: string) =>
      (
        await db.query<{ id: string }>(
          `INSERT INTO audit_log (actor, actor_key_id, action, target_type, target_id, reason, created_at)
           VALUES ('test', gen_random_uuid(), 'freeze', 'wallet', 'tied', 'tie', $1) RETURNING id::text AS id`,
          [at],
        )
      )[0].id;
    // Twelve entries at one instant: only the id orders them.
    const tied: string[] = [];
    for (let i = 0; i < 12; i++) tied.push(await insert('2030-01-01T00:00:00.000001Z'));
    // A later id with an earlier time comes after them: newest first is by time.
    const early = await insert('2029-12-31T00:00:00Z');
    for (const limit of [1, 5, 7, 12, 13]) {
      const seen = await entries('target_id=tied', limit);
      expect(seen.map((e) => e.id)).toEqual([...[...tied].reverse(), early]);
      expectNewestFirst(seen, numericOrder);
    }
  });

  it('gives an empty page for a cursor of no entry, and refuses one past the bigint range', async () => {
    expect((await admin('GET', '/v1/admin/audit-log?cursor=1234567890')).body).toEqual({ data: [], next_cursor: null });
    expect((await admin('GET', '/v1/admin/audit-log?cursor=9223372036854775808')).status).toBe(400);
    expect((await admin('GET', '/v1/admin/audit-log?cursor=9223372036854775807')).status).toBe(200);
  });
});
