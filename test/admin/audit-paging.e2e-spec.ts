import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Database } from '@app/common';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';

interface Entry {
  id: string;
  created_at: string;
  target_id: string;
  reason: string;
}

/** Spec section 8, Lists: newest first, ties broken by the id as a number, every entry exactly once. */
describe('audit log paging', () => {
  let t: TestApp;
  const admin = (method: string, path: string, body?: unknown) => call(t, method, path, body, { key: t.adminKey, idem: idemKey('adm') });

  /** Follows next_cursor to the end. */
  async function all(query: string, limit: number): Promise<Entry[]> {
    const seen: Entry[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const r = await admin('GET', `/v1/admin/audit-log?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.body.data.length).toBeLessThanOrEqual(limit);
      seen.push(...(r.body.data as Entry[]));
      cursor = r.body.next_cursor as string | null;
      if (!cursor) return seen;
    }
    throw new Error('next_cursor never ran out');
  }

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
    const entries = await all('target_id=audited', 3);
    expect(entries).toHaveLength(12);
    const ids = entries.map((e) => BigInt(e.id));
    expect(new Set(ids).size).toBe(12);
    expect([...ids].sort((a, b) => (a > b ? -1 : 1))).toEqual(ids);
    expect(entries.map((e) => e.reason)).toEqual(Array.from({ length: 12 }, (_, i) => `grant ${12 - i}`));
  });

  it('breaks ties on created_at by the id as a number, and orders by time before id', async () => {
    const db = t.app.get(Database);
    const insert = (target: string, at: string) =>
      db.query(
        `INSERT INTO audit_log (actor, actor_key_id, action, target_type, target_id, reason, created_at)
         VALUES ('test', gen_random_uuid(), 'freeze', 'wallet', $1, 'tie', $2) RETURNING id::text`,
        [target, at],
      );
    // Twelve entries at one instant: only the id orders them.
    for (let i = 0; i < 12; i++) await insert('tied', '2030-01-01T00:00:00.000001Z');
    // A later id with an earlier time comes after the others (newest first is by time).
    const [early] = await insert('tied', '2029-12-31T00:00:00Z');
    for (const limit of [1, 5, 7, 12, 13]) {
      const entries = await all('target_id=tied', limit);
      expect(entries).toHaveLength(13);
      expect(new Set(entries.map((e) => e.id)).size).toBe(13);
      const tied = entries.slice(0, 12).map((e) => BigInt(e.id));
      expect([...tied].sort((a, b) => (a > b ? -1 : 1))).toEqual(tied);
      expect(entries[12].id).toBe((early as { id: string }).id);
    }
  });

  it('gives an empty page for a cursor of no entry, and refuses one past the bigint range', async () => {
    expect((await admin('GET', '/v1/admin/audit-log?cursor=1234567890')).body).toEqual({ data: [], next_cursor: null });
    expect((await admin('GET', '/v1/admin/audit-log?cursor=9223372036854775808')).status).toBe(400);
    expect((await admin('GET', '/v1/admin/audit-log?cursor=9223372036854775807')).status).toBe(200);
  });
});
