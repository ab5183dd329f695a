import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import pg from 'pg';
import { createDatabaseBefore, createTestDatabase, type TestDatabase } from '../support/database.js';

const AT = `'2030-01-07T10:00:00Z'::timestamptz`;

type Verdict = 'accepted' | 'refused';

/** One database and its wallet; `verdict` inserts a row in a savepoint and says whether a CHECK refused it. */
async function ledgerOf(db: TestDatabase) {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query(`SELECT ledger_create_wallet('rc_1', ${AT}, 0)`);
  const wallet = (await c.query<{ id: string }>(`SELECT id FROM wallets WHERE owner_id = 'rc_1'`)).rows[0].id;
  const verdict = async (sql: string, params: unknown[]): Promise<Verdict> => {
    await c.query('SAVEPOINT row_check');
    try {
      await c.query(sql, params);
      await c.query('RELEASE SAVEPOINT row_check');
      return 'accepted';
    } catch (e) {
      await c.query('ROLLBACK TO SAVEPOINT row_check');
      if ((e as { code?: string }).code === '23514') return 'refused';
      throw e;
    }
  };
  await c.query('BEGIN');
  return { c, wallet, verdict };
}

interface ReservationRow {
  status: string;
  reserved: number;
  settled: number;
  released: number;
  finished: boolean;
  meters: boolean;
  estimate: boolean;
  usage: boolean;
  max_overage: number;
  overage: number;
  uncollected: number;
  spender: string | null;
}
interface BucketRow {
  source: string;
  granted: number;
  remaining: number;
  reversed: number;
  clawed: number;
  lost: number;
  clawback_due: number;
}

const amount = fc.constantFrom(-1, 0, 1, 5, 9, 10);
const anyReservation: fc.Arbitrary<ReservationRow> = fc.record({
  status: fc.constantFrom('pending', 'settled', 'released', 'expired', 'cancelled'),
  reserved: fc.constantFrom(-1, 0, 1, 10),
  settled: amount,
  released: amount,
  finished: fc.boolean(),
  meters: fc.boolean(),
  estimate: fc.boolean(),
  usage: fc.boolean(),
  max_overage: amount,
  overage: amount,
  uncollected: amount,
  spender: fc.constantFrom(null, 'team-a', 'a b', 'x'.repeat(129)),
});
const anyBucket: fc.Arbitrary<BucketRow> = fc.record({
  source: fc.constantFrom('free_weekly', 'promo', 'plan', 'purchase', 'refund', 'adjustment', 'gift'),
  granted: fc.constantFrom(-1, 0, 1, 10),
  remaining: amount,
  reversed: amount,
  clawed: amount,
  lost: amount,
  clawback_due: amount,
});

/** A row that keeps every rule, then (mostly) one or two of its fields replaced from the drawn row: the cases near the bounds. */
function nearValid<T extends object>(valid: fc.Arbitrary<T>, any: fc.Arbitrary<T>, keys: (keyof T)[]): fc.Arbitrary<T> {
  const mutated = fc
    .tuple(valid, any, fc.subarray(keys, { minLength: 1, maxLength: 2 }))
    .map(([v, r, ks]) => ({ ...v, ...Object.fromEntries(ks.map((k) => [k, r[k]])) }));
  return fc.oneof({ arbitrary: valid, weight: 1 }, { arbitrary: mutated, weight: 3 }, { arbitrary: any, weight: 1 });
}

const validReservation: fc.Arbitrary<ReservationRow> = fc
  .record({
    status: fc.constantFrom('pending', 'settled', 'released', 'expired'),
    reserved: fc.constantFrom(1, 10),
    share: fc.integer({ min: 0, max: 10 }),
    metered: fc.boolean(),
    usage: fc.boolean(),
    max_overage: fc.constantFrom(0, 5, 10),
    overage: fc.constantFrom(0, 5),
    uncollected: fc.constantFrom(0, 1),
    spender: fc.constantFrom(null, 'team-a'),
  })
  .map((v) => {
    const pending = v.status === 'pending';
    const settled = pending ? 0 : Math.min(v.share, v.reserved);
    return {
      status: v.status,
      reserved: v.reserved,
      settled,
      released: pending ? 0 : v.reserved - settled,
      finished: !pending,
      meters: v.metered,
      estimate: v.metered,
      usage: v.metered && v.usage,
      max_overage: v.metered ? v.max_overage : 0,
      overage: v.metered ? Math.min(v.overage, v.max_overage) : 0,
      uncollected: v.metered ? v.uncollected : 0,
      spender: v.spender,
    };
  });
const reservationRow = nearValid(validReservation, anyReservation, [
  'status',
  'reserved',
  'settled',
  'released',
  'finished',
  'meters',
  'estimate',
  'usage',
  'max_overage',
  'overage',
  'uncollected',
  'spender',
]);

const validBucket: fc.Arbitrary<BucketRow> = fc
  .record({
    source: fc.constantFrom('free_weekly', 'promo', 'plan', 'purchase', 'refund', 'adjustment'),
    granted: fc.constantFrom(1, 10),
    remaining: fc.constantFrom(0, 1, 5, 10),
    clawed: fc.constantFrom(0, 1),
    lost: fc.constantFrom(0, 1),
    clawback_due: fc.constantFrom(0, 5),
  })
  .map((v) => ({ ...v, reversed: v.clawed + v.lost + v.clawback_due }));
const bucketRow = nearValid(validBucket, anyBucket, ['source', 'granted', 'remaining', 'reversed', 'clawed', 'lost', 'clawback_due']);

const RESERVATION_INSERT = `INSERT INTO reservations (id, wallet_id, status, reserved, settled, released, funding, expires_at, finished_at, spender_id,
                                                    meters, estimate, usage, max_overage, overage, uncollected)
  VALUES ($1, $2, $3, $4, $5, $6, '[]', ${AT}, CASE WHEN $7 THEN ${AT} END, $8,
          CASE WHEN $9 THEN '{}'::jsonb END, CASE WHEN $10 THEN '{}'::jsonb END, CASE WHEN $11 THEN '{}'::jsonb END, $12, $13, $14)`;
const BUCKET_INSERT = `INSERT INTO buckets (id, wallet_id, source, granted, remaining, reversed, clawed, lost, clawback_due)
  VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8)`;

/**
 * Migration RowChecks: the reservation's and the bucket's CHECK constraints
 * become one CHECK each, a PL/pgSQL function of the row. Every row the
 * constraints before it accepted is accepted after it, and every row they
 * refused is refused: fast-check draws rows around every bound (negative,
 * zero, the sums, the shapes of status and meters, the spender pattern) and
 * inserts each into a database migrated up to the migration before and into
 * one with it.
 */
describe('RowChecks: one CHECK per row, the same rows pass', () => {
  const made: TestDatabase[] = [];
  let before: Awaited<ReturnType<typeof ledgerOf>>;
  let after: Awaited<ReturnType<typeof ledgerOf>>;

  beforeAll(async () => {
    const old = await createDatabaseBefore('RowChecks1765500001000');
    made.push(old);
    const now = await createTestDatabase();
    made.push(now);
    before = await ledgerOf(old);
    after = await ledgerOf(now);
  });

  afterAll(async () => {
    for (const side of [before, after]) await side?.c.end();
    for (const db of made) await db.drop();
  });

  it('has one CHECK per table where there were eleven and nine', async () => {
    const checks = async (c: pg.Client) =>
      (
        await c.query<{ rel: string; n: number }>(
          `SELECT conrelid::regclass::text AS rel, count(*)::int AS n FROM pg_constraint
           WHERE contype = 'c' AND conrelid IN ('reservations'::regclass, 'buckets'::regclass) GROUP BY 1 ORDER BY 1`,
        )
      ).rows;
    expect(await checks(before.c)).toEqual([
      { rel: 'buckets', n: 9 },
      { rel: 'reservations', n: 11 },
    ]);
    expect(await checks(after.c)).toEqual([
      { rel: 'buckets', n: 1 },
      { rel: 'reservations', n: 1 },
    ]);
  });

  it('accepts and refuses the same reservation rows as before', async () => {
    const seen = { accepted: 0, refused: 0 };
    let n = 0;
    await fc.assert(
      fc.asyncProperty(reservationRow, async (r) => {
        n += 1;
        const params = (wallet: string) => [
          `res_rc_${n}`,
          wallet,
          r.status,
          r.reserved,
          r.settled,
          r.released,
          r.finished,
          r.spender,
          r.meters,
          r.estimate,
          r.usage,
          r.max_overage,
          r.overage,
          r.uncollected,
        ];
        const was = await before.verdict(RESERVATION_INSERT, params(before.wallet));
        const is = await after.verdict(RESERVATION_INSERT, params(after.wallet));
        seen[is] += 1;
        expect({ row: r, verdict: is }).toEqual({ row: r, verdict: was });
      }),
      { numRuns: 1500, seed: 15_000 },
    );
    // Both verdicts came up often enough to mean something.
    expect(seen.accepted).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(20);
  });

  it('accepts and refuses the same bucket rows as before', async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(bucketRow, async (b) => {
        const params = (wallet: string) => [wallet, b.source, b.granted, b.remaining, b.reversed, b.clawed, b.lost, b.clawback_due];
        const was = await before.verdict(BUCKET_INSERT, params(before.wallet));
        const is = await after.verdict(BUCKET_INSERT, params(after.wallet));
        seen[is] += 1;
        expect({ row: b, verdict: is }).toEqual({ row: b, verdict: was });
      }),
      { numRuns: 1500, seed: 15_001 },
    );
    expect(seen.accepted).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(20);
  });

  it('refuses an overdraft and a hold ended with the wrong amounts on UPDATE too', async () => {
    const { verdict, wallet } = after;
    expect(await verdict(BUCKET_INSERT, [wallet, 'promo', 10, 10, 0, 0, 0, 0])).toBe('accepted');
    expect(
      await verdict(`UPDATE buckets SET remaining = remaining - 11 WHERE wallet_id = $1 AND granted = 10 AND remaining = 10`, [wallet]),
    ).toBe('refused');
    expect(
      await verdict(`UPDATE buckets SET remaining = remaining - 10 WHERE wallet_id = $1 AND granted = 10 AND remaining = 10`, [wallet]),
    ).toBe('accepted');
    const hold = [`res_rc_update`, wallet, 'pending', 10, 0, 0, false, null, false, false, false, 0, 0, 0];
    expect(await verdict(RESERVATION_INSERT, hold)).toBe('accepted');
    expect(
      await verdict(
        `UPDATE reservations SET status = 'settled', settled = 6, released = 3, finished_at = ${AT} WHERE id = 'res_rc_update'`,
        [],
      ),
    ).toBe('refused');
    expect(
      await verdict(
        `UPDATE reservations SET status = 'settled', settled = 6, released = 4, finished_at = ${AT} WHERE id = 'res_rc_update'`,
        [],
      ),
    ).toBe('accepted');
  });
});
