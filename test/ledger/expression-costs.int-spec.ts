import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { formatTokens } from '@app/common';
import fc from 'fast-check';
import pg from 'pg';
import { createDatabaseBefore, createTestDatabase, type TestDatabase } from '../support/database.js';

const AT = `'2030-01-07T10:00:00Z'::timestamptz`;
const LATER = `'2030-01-07T11:00:00Z'::timestamptz`;
const REVENUE = '00000000-0000-4000-8000-000000000003';
const UNCOLLECTED = '00000000-0000-4000-8000-000000000008';
/** The body of ledger_tokens before migration ExpressionCosts, as an expression of x. */
const OLD_TOKENS = `CASE WHEN x < 0 THEN '-' ELSE '' END || (abs(x) / 1000)::text || '.' || lpad((abs(x) % 1000)::text, 3, '0')`;

/** The same ledger story on one database; the events it wrote, without their (random) transfer and bucket ids. */
async function story(url: string): Promise<unknown[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const reserve = (id: string, mt: number) =>
      c.query(
        `SELECT ledger_reserve(NULL, NULL, NULL, 'ec_1', $1, $2, 600, ${AT}, 15000, NULL, NULL, NULL, NULL, 'job-7', '{"k": 1}', NULL, NULL)`,
        [id, mt],
      );
    const finish = (id: string, action: string, mt: number | null, at = AT) =>
      c.query(`SELECT ledger_finish(NULL, NULL, NULL, $1, $2, $3, ${at})`, [id, action, mt]);
    await c.query(`SELECT ledger_create_wallet('ec_1', ${AT}, 15000)`);
    const wallet = (await c.query<{ id: string }>(`SELECT id FROM wallets WHERE owner_id = 'ec_1'`)).rows[0].id;
    await reserve('res_ec_1', 2500);
    await finish('res_ec_1', 'settle', 1000); // partly: 1.000 charged, 1.500 back
    await reserve('res_ec_2', 10);
    await finish('res_ec_2', 'release', null);
    await reserve('res_ec_3', 7);
    await finish('res_ec_3', 'expire', null, LATER);
    await c.query(
      `SELECT ledger_credit($1, 'promo', 3210, NULL, 'ec:promo', '00000000-0000-4000-8000-000000000002', 'grant', ${AT}, NULL, '{"why": "test"}')`,
      [wallet],
    );
    const bucket = (
      await c.query<{ id: string }>(`SELECT id FROM buckets WHERE wallet_id = $1 AND remaining > 0 ORDER BY id LIMIT 1`, [wallet])
    ).rows[0].id;
    // The two metered kinds, posted as ledger_settle_usage posts them.
    await c.query(
      `SELECT ledger_post($1, 'overage', ARRAY[$2, '${REVENUE}']::uuid[], ARRAY[-5, 5]::bigint[], ${AT}, 'res_ec_1', '{"ref": "job-7"}')`,
      [wallet, bucket],
    );
    await c.query(
      `SELECT ledger_post($1, 'uncollected', ARRAY['${UNCOLLECTED}', '${REVENUE}']::uuid[], ARRAY[-4, 4]::bigint[], ${AT}, 'res_ec_1', NULL)`,
      [wallet],
    );
    const events = await c.query<{ seq: string; type: string; data: Record<string, unknown> }>(
      `SELECT seq, type, (data - 'transfer_id') #- '{metadata,bucket_id}' AS data, data ? 'transfer_id' AS has_transfer, data->'metadata' ? 'bucket_id' AS has_bucket FROM events WHERE wallet_id = $1 ORDER BY seq`,
      [wallet],
    );
    return events.rows;
  } finally {
    await c.end();
  }
}

/**
 * Migration ExpressionCosts: `ledger_tokens` with a body that names its
 * argument once, and `ledger_post` building an event's data per kind. Same
 * values: the text of every amount (against the old body and against the
 * service's own formatTokens), and every kind of event, byte for byte,
 * against a database migrated up to the migration before.
 */
describe('ExpressionCosts: the same values from smaller expressions', () => {
  const made: TestDatabase[] = [];
  let before: TestDatabase;
  let after: TestDatabase;
  let c: pg.Client;

  beforeAll(async () => {
    before = await createDatabaseBefore('ExpressionCosts1765500002000');
    made.push(before);
    after = await createTestDatabase();
    made.push(after);
    c = new pg.Client({ connectionString: after.url });
    await c.connect();
  });

  afterAll(async () => {
    await c?.end();
    for (const db of made) await db.drop();
  });

  it('formats every amount as the old body and formatTokens do', async () => {
    const edges = [0n, 1n, -1n, 9n, 10n, 999n, 1000n, -1000n, 1001n, 123456789n, -123456789n, 9223372036854775807n, -9223372036854775807n];
    const check = async (xs: bigint[]) => {
      const rows = await c.query<{ x: string; now: string; old: string }>(
        `SELECT x::text, ledger_tokens(x) AS now, ${OLD_TOKENS} AS old FROM unnest($1::bigint[]) x`,
        [xs.map(String)],
      );
      for (const r of rows.rows) expect({ x: r.x, now: r.now }).toEqual({ x: r.x, now: r.old });
      for (const r of rows.rows) expect({ x: r.x, now: r.now }).toEqual({ x: r.x, now: formatTokens(BigInt(r.x)) });
    };
    await check(edges);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(fc.bigInt({ min: -9223372036854775807n, max: 9223372036854775807n }), fc.bigInt({ min: -100_000n, max: 100_000n })),
          {
            minLength: 1,
            maxLength: 200,
          },
        ),
        check,
      ),
      { numRuns: 50, seed: 15_002 },
    );
    // Where the old body failed (abs of the smallest bigint), the new one formats.
    expect((await c.query(`SELECT ledger_tokens(-9223372036854775808) AS t`)).rows[0].t).toBe('-9223372036854775.808');
  });

  it('writes every kind of event with the same data as before', async () => {
    const was = await story(before.url);
    const is = await story(after.url);
    expect(is.map((e) => (e as { type: string }).type)).toEqual([
      'wallet.created',
      'credit.created',
      'reservation.created',
      'reservation.settled',
      'reservation.created',
      'reservation.released',
      'reservation.created',
      'reservation.expired',
      'credit.created',
      'reservation.overage',
      'usage.uncollected',
    ]);
    expect(is).toEqual(was);
  });
});
