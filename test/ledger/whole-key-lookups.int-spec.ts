import { afterAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createDatabaseBefore, createTestDatabase, type TestDatabase } from '../support/database.js';

const AT = `'2030-01-07T10:00:00Z'::timestamptz`;

/**
 * Migration WalletKeyedLookups: a settle ends its hold by one probe of the
 * reservations primary key, whatever the planner's statistics say. The trap
 * it closes: right after a VACUUM the partial index of pending holds is
 * nearly empty, so a `WHERE id = $1 AND status = 'pending'` was planned as a
 * scan of that whole index, which then grows with every hold made and every
 * hold settled (a dead entry each) until the next VACUUM.
 *
 * Each case builds that state (history settled, VACUUM ANALYZE, then holds
 * made after it, autovacuum off so the statistics stay as they are) and
 * counts the index scans of one settle in its own transaction
 * (pg_stat_get_xact_numscans). The database migrated up to the migration
 * before shows the trap, so the check can fail.
 */
describe('WalletKeyedLookups: a settle reads its reservation by the whole key', () => {
  const made: TestDatabase[] = [];

  afterAll(async () => {
    for (const db of made) await db.drop();
  });

  /** A wallet with 200 settled holds, VACUUM ANALYZE, then 100 pending holds the statistics have not seen. */
  const staleStatistics = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`ALTER TABLE reservations SET (autovacuum_enabled = false)`);
    await c.query(`SELECT ledger_create_wallet('wk_1', ${AT}, 15000)`);
    const reserve = (from: number, to: number) =>
      c.query(
        `SELECT count(ledger_reserve(NULL, NULL, NULL, 'wk_1', 'res_wk_' || i, 10, 600, ${AT}, 15000,
                 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)) FROM generate_series($1::int, $2::int) i`,
        [from, to],
      );
    await reserve(1, 200);
    await c.query(`SELECT count(ledger_finish(NULL, NULL, NULL, 'res_wk_' || i, 'settle', NULL, ${AT})) FROM generate_series(1, 200) i`);
    await c.query(`VACUUM ANALYZE reservations`);
    await reserve(201, 300);
    await c.end();
  };

  /** Index scans of one settle, and of one release, each in its own transaction on a new connection (so its plans are new). */
  const scansOfFinish = async (url: string, id: string, action: 'settle' | 'release') => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query('BEGIN');
      const done = await c.query<{ status: string }>(
        `SELECT (ledger_finish(NULL, NULL, NULL, $1, $2, NULL, ${AT})->'body'->>'status') AS status`,
        [id, action],
      );
      const scans = await c.query<{ pending: string; pkey: string; seq: string }>(
        `SELECT pg_stat_get_xact_numscans('reservations_pending_expiry'::regclass) AS pending,
                pg_stat_get_xact_numscans('reservations_pkey'::regclass) AS pkey,
                pg_stat_get_xact_numscans('reservations'::regclass) AS seq`,
      );
      await c.query('COMMIT');
      return { status: done.rows[0].status, ...scans.rows[0] };
    } finally {
      await c.end();
    }
  };

  it('before the migration, a settle scanned the pending index (the trap this test detects)', async () => {
    const db = await createDatabaseBefore('WalletKeyedLookups1765500000000');
    made.push(db);
    await staleStatistics(db.url);
    const seen = await scansOfFinish(db.url, 'res_wk_250', 'settle');
    expect(seen.status).toBe('settled');
    expect(Number(seen.pending)).toBeGreaterThan(0);
  });

  it('after it, a settle and a release probe the primary key only, and a finished hold is still refused', async () => {
    const db = await createTestDatabase();
    made.push(db);
    await staleStatistics(db.url);
    for (const [id, action, status] of [
      ['res_wk_250', 'settle', 'settled'],
      ['res_wk_251', 'release', 'released'],
    ] as const) {
      const seen = await scansOfFinish(db.url, id, action);
      expect({ id, ...seen }).toEqual({ id, status, pending: '0', pkey: expect.any(String), seq: '0' });
      expect(Number(seen.pkey)).toBeGreaterThan(0);
    }
    // The guards still hold: a hold ended once cannot be ended again, by either action, and the conditional
    // UPDATE itself (finished_at IS NULL) refuses a hold that a stale read still saw as pending.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      for (const action of ['settle', 'release']) {
        await expect(c.query(`SELECT ledger_finish(NULL, NULL, NULL, 'res_wk_250', $1, NULL, ${AT})`, [action])).rejects.toMatchObject({
          message: 'reservation_not_pending',
        });
      }
      await expect(
        c.query(
          `SELECT ledger_end_hold(w, jsonb_populate_record(r, '{"status": "pending", "settled": 0, "released": 0, "finished_at": null}'), 'settled', 10, ${AT})
           FROM reservations r JOIN wallets w ON w.id = r.wallet_id WHERE r.id = 'res_wk_250'`,
        ),
      ).rejects.toMatchObject({ message: expect.stringContaining('was finished concurrently') });
      const row = await c.query(`SELECT status, settled::int, released::int FROM reservations WHERE id = 'res_wk_250'`);
      expect(row.rows).toEqual([{ status: 'settled', settled: 10, released: 0 }]);
    } finally {
      await c.end();
    }
  });
});
