import { afterAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { MIGRATIONS } from '../../migrations/index.js';
import { createEmptyDatabase, createTestDatabase, migrateWith, type TestDatabase } from '../support/database.js';

const GRANTS = '00000000-0000-4000-8000-000000000002';
const AT = `'2030-01-07T10:00:00Z'::timestamptz`;

/**
 * Migration WalletKeyedObjects: the wallet tables keyed (id, wallet_id), and
 * what must stay unique across wallets (an owner's wallet, a Stripe
 * customer's wallet, a credit key) held by tables keyed by it alone. On a
 * ledger with history nothing moves; afterwards the keys still refuse a
 * second wallet for an owner, a customer or a credit key, also when the
 * attempts race on separate connections.
 */
describe('WalletKeyedObjects', () => {
  const made: TestDatabase[] = [];
  const upTo = MIGRATIONS.findIndex((m) => m.name === 'WalletKeyedObjects1765400000000');
  const migrate = (url: string, count: number) => migrateWith(url, MIGRATIONS.slice(0, count));
  const client = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return c;
  };
  const walletOf = async (c: pg.Client, owner: string) =>
    (await c.query<{ id: string }>(`SELECT id FROM wallets WHERE owner_id = $1`, [owner])).rows[0].id;
  const credit = (c: pg.Client, wallet: string, key: string, amount = 1000) =>
    c
      .query<{ id: string | null }>(`SELECT ledger_credit($1, 'promo', $2, NULL, $3, '${GRANTS}', 'grant', ${AT}, NULL, NULL) AS id`, [
        wallet,
        amount,
        key,
      ])
      .then((r) => r.rows[0].id);

  /** Two wallets with credits (keyed and weekly), a Stripe customer, a payment and a settled pair, written before the migration. */
  const before = async () => {
    const db = await createEmptyDatabase();
    made.push(db);
    await migrate(db.url, upTo);
    const c = await client(db.url);
    await c.query(`SELECT ledger_create_wallet('obj_1', ${AT}, 15000), ledger_create_wallet('obj_2', ${AT}, 15000)`);
    const [w1, w2] = [await walletOf(c, 'obj_1'), await walletOf(c, 'obj_2')];
    const bucket = await credit(c, w1, 'stripe:pi:pi_obj_1', 5000);
    await c.query(
      `INSERT INTO stripe_payments (payment_intent, wallet_id, bucket_id, kind, source_id, amount_cents) VALUES ('pi_obj_1', $1, $2, 'pack', 'cs_obj_1', 500)`,
      [w1, bucket],
    );
    await c.query(`UPDATE wallets SET stripe_customer_id = 'cus_obj_1' WHERE id = $1`, [w1]);
    await c.query(
      `SELECT ledger_reserve(NULL, NULL, NULL, 'obj_1', 'res_obj_1', 2000, 600, ${AT}, 15000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
    );
    await c.query(`SELECT ledger_finish(NULL, NULL, NULL, 'res_obj_1', 'settle', NULL, ${AT})`);
    return { c, url: db.url, w1, w2, bucket };
  };
  const snapshot = async (c: pg.Client) =>
    (
      await c.query(
        `SELECT (SELECT json_agg(w ORDER BY w.id) FROM (SELECT id, owner_id, stripe_customer_id, free_week FROM wallets) w) AS wallets,
                (SELECT json_agg(b ORDER BY b.id) FROM (SELECT id, wallet_id, grant_key, remaining, granted FROM buckets) b) AS buckets,
                (SELECT json_agg(r ORDER BY r.id) FROM (SELECT id, wallet_id, status, reserved, settled FROM reservations) r) AS reservations,
                (SELECT json_agg(p) FROM (SELECT payment_intent, wallet_id, bucket_id FROM stripe_payments) p) AS payments,
                (SELECT count(*)::int FROM entries) AS entries`,
      )
    ).rows[0];

  afterAll(async () => {
    for (const db of made) await db.drop();
  });

  it('fills the three key tables from what is there, keeps every row, and the ledger still works', async () => {
    const { c, url, w1, w2, bucket } = await before();
    try {
      const was = await snapshot(c);
      expect(await migrate(url, MIGRATIONS.length)).toEqual(MIGRATIONS.slice(upTo).map((m) => m.name));
      expect(await snapshot(c)).toEqual(was);

      const owners = await c.query(`SELECT owner_id, wallet_id FROM wallet_owners ORDER BY owner_id`);
      expect(owners.rows).toEqual([
        { owner_id: 'obj_1', wallet_id: w1 },
        { owner_id: 'obj_2', wallet_id: w2 },
      ]);
      expect((await c.query(`SELECT customer_id, wallet_id FROM stripe_customers`)).rows).toEqual([
        { customer_id: 'cus_obj_1', wallet_id: w1 },
      ]);
      // Every keyed bucket has its claim: the payment and both weekly grants.
      const claims = await c.query<{ grant_key: string; wallet_id: string; bucket_id: string }>(
        `SELECT c.grant_key, c.wallet_id, c.bucket_id FROM grant_claims c ORDER BY c.grant_key`,
      );
      const keyed = await c.query(
        `SELECT grant_key, wallet_id, id AS bucket_id FROM buckets WHERE grant_key IS NOT NULL ORDER BY grant_key`,
      );
      expect(claims.rows).toHaveLength(3);
      expect(claims.rows).toEqual(keyed.rows);
      expect(claims.rows.find((r) => r.grant_key === 'stripe:pi:pi_obj_1')).toEqual({
        grant_key: 'stripe:pi:pi_obj_1',
        wallet_id: w1,
        bucket_id: bucket,
      });

      // After it: a credit, a pair, a new wallet.
      expect(await credit(c, w2, 'after:obj_2')).not.toBeNull();
      await c.query(
        `SELECT ledger_reserve(NULL, NULL, NULL, 'obj_2', 'res_obj_2', 1000, 600, now(), 15000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
      );
      await c.query(`SELECT ledger_finish(NULL, NULL, NULL, 'res_obj_2', 'release', NULL, now())`);
      expect((await c.query(`SELECT ledger_create_wallet('obj_3', now(), 15000) AS made`)).rows[0]).toEqual({ made: true });
      const sums = await c.query(
        `SELECT (SELECT sum(amount)::text FROM entries) AS total,
                (SELECT count(*)::int FROM buckets b WHERE b.remaining <> (SELECT coalesce(sum(amount), 0) FROM entries e WHERE e.account_id = b.id)) AS off,
                (SELECT count(*)::int FROM wallets w WHERE NOT EXISTS (SELECT 1 FROM wallet_owners o WHERE o.owner_id = w.owner_id AND o.wallet_id = w.id)) AS unowned`,
      );
      expect(sums.rows[0]).toEqual({ total: '0', off: 0, unowned: 0 });
    } finally {
      await c.end();
    }
  });

  it('stops at a payment that credited another wallet’s bucket, naming it, and changes nothing', async () => {
    const { c, url, w2 } = await before();
    try {
      const other = await credit(c, w2, 'obj_2:promo');
      await c.query(
        `INSERT INTO stripe_payments (payment_intent, wallet_id, bucket_id, kind, source_id, amount_cents)
         SELECT 'pi_crossed', w.id, $1, 'pack', 'cs_crossed', 100 FROM wallets w WHERE w.owner_id = 'obj_1'`,
        [other],
      );
      const was = await snapshot(c);
      await expect(migrate(url, MIGRATIONS.length)).rejects.toThrow(/payment pi_crossed credited another wallet's bucket/);
      expect(await snapshot(c)).toEqual(was);
      expect((await c.query(`SELECT to_regclass('wallet_owners') AS t`)).rows[0]).toEqual({ t: null });
    } finally {
      await c.end();
    }
  });

  describe('on the migrated schema', () => {
    let db: TestDatabase;
    const clients: pg.Client[] = [];
    const connect = async (n: number) => {
      const made = await Promise.all(Array.from({ length: n }, () => client(db.url)));
      clients.push(...made);
      return made;
    };
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.end()));
      await db?.drop();
    });

    it('gives an owner one wallet when 8 connections create it at once', async () => {
      db = await createTestDatabase();
      const cs = await connect(8);
      const made = await Promise.all(
        cs.map((c) =>
          c.query<{ made: boolean }>(`SELECT ledger_create_wallet('race_owner', now(), 15000) AS made`).then((r) => r.rows[0].made),
        ),
      );
      expect(made.filter(Boolean)).toHaveLength(1);
      const rows = await cs[0].query(
        `SELECT (SELECT count(*)::int FROM wallets WHERE owner_id = 'race_owner') AS wallets,
                (SELECT count(*)::int FROM wallet_owners WHERE owner_id = 'race_owner') AS owners`,
      );
      expect(rows.rows[0]).toEqual({ wallets: 1, owners: 1 });
      // A wallet written by hand for a taken owner is refused by its key.
      await expect(cs[0].query(`INSERT INTO wallets (owner_id) VALUES ('race_owner')`)).rejects.toThrow(/wallets_owner_fkey/);
    });

    it('credits a key once across wallets, also when 8 wallets race for it', async () => {
      const cs = await connect(8);
      const wallets: string[] = [];
      for (let i = 0; i < 8; i++) {
        await cs[0].query(`SELECT ledger_create_wallet($1, now(), 0)`, [`key_race_${i}`]);
        wallets.push(await walletOf(cs[0], `key_race_${i}`));
      }
      // Each connection credits its own wallet under the same key, in its own transaction.
      const got = await Promise.all(
        cs.map(async (c, i) => {
          await c.query('BEGIN');
          try {
            await c.query(`SELECT id FROM wallets WHERE id = $1 FOR UPDATE`, [wallets[i]]);
            const id = await credit(c, wallets[i], 'stripe:pi:pi_shared', 3000);
            await c.query('COMMIT');
            return id;
          } catch (e) {
            await c.query('ROLLBACK');
            throw e;
          }
        }),
      );
      expect(got.filter((x) => x !== null)).toHaveLength(1);
      const r = await cs[0].query(
        `SELECT (SELECT count(*)::int FROM buckets WHERE grant_key = 'stripe:pi:pi_shared') AS buckets,
                (SELECT count(*)::int FROM grant_claims WHERE grant_key = 'stripe:pi:pi_shared') AS claims,
                (SELECT coalesce(sum(amount), 0)::int FROM entries e JOIN buckets b ON b.id = e.account_id WHERE b.grant_key = 'stripe:pi:pi_shared') AS credited`,
      );
      expect(r.rows[0]).toEqual({ buckets: 1, claims: 1, credited: 3000 });
    });

    it('gives a Stripe customer one wallet and a wallet one customer', async () => {
      const [c] = await connect(1);
      await c.query(`SELECT ledger_create_wallet('cus_a', now(), 0), ledger_create_wallet('cus_b', now(), 0)`);
      const [a, b] = [await walletOf(c, 'cus_a'), await walletOf(c, 'cus_b')];
      const set = (wallet: string, customer: string) =>
        c.query(
          `WITH w AS (UPDATE wallets SET stripe_customer_id = $2 WHERE id = $1 AND stripe_customer_id IS NULL RETURNING id)
           INSERT INTO stripe_customers (customer_id, wallet_id) SELECT $2, id FROM w`,
          [wallet, customer],
        );
      expect((await set(a, 'cus_shared')).rowCount).toBe(1);
      await expect(set(b, 'cus_shared')).rejects.toThrow(/stripe_customers_pkey/);
      expect((await set(a, 'cus_second')).rowCount).toBe(0);
      // By hand, around the mapping: refused by the wallet's key.
      await expect(c.query(`UPDATE wallets SET stripe_customer_id = 'cus_shared' WHERE id = $1`, [b])).rejects.toThrow(
        /wallets_stripe_customer_fkey/,
      );
      const r = await c.query(`SELECT owner_id, stripe_customer_id FROM wallets WHERE owner_id IN ('cus_a', 'cus_b') ORDER BY owner_id`);
      expect(r.rows).toEqual([
        { owner_id: 'cus_a', stripe_customer_id: 'cus_shared' },
        { owner_id: 'cus_b', stripe_customer_id: null },
      ]);
      expect((await c.query(`SELECT customer_id, wallet_id FROM stripe_customers ORDER BY 1`)).rows).toEqual([
        { customer_id: 'cus_shared', wallet_id: a },
      ]);
    });
  });
});
