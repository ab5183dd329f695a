import { afterAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { MIGRATIONS } from '../../migrations/index.js';
import { createEmptyDatabase, migrateWith, type TestDatabase } from '../support/database.js';

/**
 * Migration WalletKeyedLedger on a ledger with rows in it: bucket rows leave
 * `accounts`, entries written without a wallet take their transfer's, a
 * transfer without a wallet stops it, and nothing else moves.
 */
describe('WalletKeyedLedger on a ledger with history', () => {
  const made: TestDatabase[] = [];
  const upTo = MIGRATIONS.findIndex((m) => m.name === 'WalletKeyedLedger1765300001000');
  const migrate = (url: string, count: number) => migrateWith(url, MIGRATIONS.slice(0, count));
  /** A database migrated to just before WalletKeyedLedger, with one wallet's history written by the ledger's functions. */
  const before = async () => {
    const db = await createEmptyDatabase();
    made.push(db);
    const url = db.url;
    await migrate(url, upTo);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const at = `'2030-01-07T10:00:00Z'::timestamptz`;
    await c.query(`SELECT ledger_create_wallet('mig_1', ${at}, 15000)`);
    const { rows } = await c.query<{ id: string }>(`SELECT id FROM wallets WHERE owner_id = 'mig_1'`);
    const wallet = rows[0].id;
    await c.query(
      `SELECT ledger_credit($1, 'promo', 5000, NULL, 'mig-promo', '00000000-0000-4000-8000-000000000002', 'grant', ${at}, NULL, NULL)`,
      [wallet],
    );
    for (const [id, action] of [
      ['res_mig_1', 'settle'],
      ['res_mig_2', 'release'],
    ]) {
      await c.query(
        `SELECT ledger_reserve(NULL, NULL, NULL, 'mig_1', $1, 2000, 600, ${at}, 15000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
        [id],
      );
      await c.query(`SELECT ledger_finish(NULL, NULL, NULL, $1, $2, NULL, ${at})`, [id, action]);
    }
    return { c, url, wallet };
  };
  const snapshot = async (c: pg.Client) =>
    (
      await c.query(
        `SELECT (SELECT json_agg(t ORDER BY t.id) FROM (SELECT id, wallet_id, kind, amount, ref, created_at FROM transfers) t) AS transfers,
                (SELECT json_agg(e ORDER BY e.id) FROM (SELECT id, transfer_id, account_id, amount FROM entries) e) AS entries,
                (SELECT json_agg(b ORDER BY b.id) FROM (SELECT id, wallet_id, remaining, granted FROM buckets) b) AS buckets,
                (SELECT count(*)::int FROM events) AS events`,
      )
    ).rows[0];

  afterAll(async () => {
    for (const db of made) await db.drop();
  });

  it('moves bucket accounts out of accounts, fills entries without a wallet, and keeps every row', async () => {
    const { c, url, wallet } = await before();
    try {
      // An entry from before entries carried their wallet (a balanced pair between two system accounts).
      await c.query(
        `INSERT INTO transfers (id, wallet_id, kind, amount, ref, created_at) VALUES ('5f0c6c56-0000-4000-8000-000000000001', $1, 'adjustment', 0, 'legacy', '2020-01-01')`,
        [wallet],
      );
      await c.query(
        `INSERT INTO entries (transfer_id, account_id, wallet_id, amount) VALUES
           ('5f0c6c56-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000007', NULL, -5),
           ('5f0c6c56-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', NULL, 5)`,
      );
      const buckets = (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM accounts WHERE kind = 'bucket'`)).rows[0].n;
      expect(buckets).toBe(2); // the weekly grant and the promo
      const was = await snapshot(c);

      expect(await migrate(url, MIGRATIONS.length)).toEqual(MIGRATIONS.slice(upTo).map((m) => m.name));

      expect(await snapshot(c)).toEqual(was);
      const accounts = await c.query<{ kind: string }>(`SELECT kind FROM accounts`);
      expect(accounts.rows.map((r) => r.kind)).toEqual(Array(8).fill('system'));
      const unbooked = await c.query(
        `SELECT e.id FROM entries e JOIN transfers t ON t.id = e.transfer_id WHERE e.wallet_id IS DISTINCT FROM t.wallet_id`,
      );
      expect(unbooked.rows).toEqual([]);
      // The ledger still works on the new keys: a credit and a pair after the migration.
      await c.query(
        `SELECT ledger_credit($1, 'promo', 1000, NULL, 'mig-promo-2', '00000000-0000-4000-8000-000000000002', 'grant', now(), NULL, NULL)`,
        [wallet],
      );
      await c.query(
        `SELECT ledger_reserve(NULL, NULL, NULL, 'mig_1', 'res_mig_3', 1000, 600, now(), 15000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
      );
      await c.query(`SELECT ledger_finish(NULL, NULL, NULL, 'res_mig_3', 'settle', NULL, now())`);
      const sums = await c.query<{ total: string; off: number }>(
        `SELECT (SELECT sum(amount)::text FROM entries) AS total,
                (SELECT count(*)::int FROM buckets b WHERE b.remaining <> (SELECT coalesce(sum(amount), 0) FROM entries e WHERE e.account_id = b.id)) AS off`,
      );
      expect(sums.rows[0]).toEqual({ total: '0', off: 0 });
      expect((await c.query(`SELECT 1 FROM accounts WHERE kind = 'bucket'`)).rows).toEqual([]);
      // The backfill switched the append-only trigger off for its one edit: it is on again.
      const triggers = await c.query<{ tgname: string; tgenabled: string }>(
        `SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'entries'::regclass AND NOT tgisinternal ORDER BY tgname`,
      );
      expect(triggers.rows).toEqual([
        { tgname: 'entries_append_only', tgenabled: 'O' },
        { tgname: 'entries_no_truncate', tgenabled: 'O' },
      ]);
      await expect(
        c.query(`UPDATE entries SET amount = amount WHERE transfer_id = '5f0c6c56-0000-4000-8000-000000000001'`),
      ).rejects.toThrow(/append-only/);
      const keys = await c.query<{ conname: string; def: string }>(
        `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
         WHERE conrelid IN ('entries'::regclass, 'transfers'::regclass) AND contype IN ('p', 'f') ORDER BY conname`,
      );
      expect(keys.rows).toEqual([
        { conname: 'entries_pkey', def: 'PRIMARY KEY (wallet_id, id)' },
        { conname: 'entries_transfer_id_fkey', def: 'FOREIGN KEY (wallet_id, transfer_id) REFERENCES transfers(wallet_id, id)' },
        { conname: 'transfers_pkey', def: 'PRIMARY KEY (wallet_id, id)' },
        { conname: 'transfers_wallet_id_fkey', def: 'FOREIGN KEY (wallet_id) REFERENCES wallets(id)' },
      ]);
    } finally {
      await c.end();
    }
  });

  it('stops at a transfer without a wallet, naming it, and changes nothing', async () => {
    const { c, url } = await before();
    try {
      await c.query(
        `INSERT INTO transfers (id, wallet_id, kind, amount, ref, created_at) VALUES ('5f0c6c56-0000-4000-8000-000000000002', NULL, 'adjustment', 0, 'orphan', '2020-01-01')`,
      );
      await c.query(
        `INSERT INTO entries (transfer_id, account_id, wallet_id, amount) VALUES
           ('5f0c6c56-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000007', NULL, -5),
           ('5f0c6c56-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000002', NULL, 5)`,
      );
      const was = await snapshot(c);
      await expect(migrate(url, MIGRATIONS.length)).rejects.toThrow(/transfer 5f0c6c56-0000-4000-8000-000000000002 has no wallet/);
      expect(await snapshot(c)).toEqual(was);
      expect((await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM accounts WHERE kind = 'bucket'`)).rows[0].n).toBe(2);
    } finally {
      await c.end();
    }
  });

  it('stops at an entry booked to another wallet than its transfer, naming it, and changes nothing', async () => {
    const { c, url, wallet } = await before();
    try {
      await c.query(`SELECT ledger_create_wallet('mig_2', now(), 15000)`);
      const other = (await c.query<{ id: string }>(`SELECT id FROM wallets WHERE owner_id = 'mig_2'`)).rows[0].id;
      await c.query(
        `INSERT INTO transfers (id, wallet_id, kind, amount, ref, created_at) VALUES ('5f0c6c56-0000-4000-8000-000000000003', $1, 'adjustment', 0, 'crossed', '2020-01-01')`,
        [wallet],
      );
      const { rows } = await c.query<{ id: string }>(
        `INSERT INTO entries (transfer_id, account_id, wallet_id, amount) VALUES
           ('5f0c6c56-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000007', $1, -5),
           ('5f0c6c56-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000002', $2, 5)
         RETURNING id::text`,
        [wallet, other],
      );
      const was = await snapshot(c);
      await expect(migrate(url, MIGRATIONS.length)).rejects.toThrow(new RegExp(`entry ${rows[1].id} is booked to another wallet`));
      expect(await snapshot(c)).toEqual(was);
    } finally {
      await c.end();
    }
  });
});
