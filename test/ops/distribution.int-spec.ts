import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase } from '../support/database.js';
import { DISTRIBUTION, KNOWN_GAPS } from './table-distribution.js';

interface UniqueIndex {
  table: string;
  index: string;
  columns: string[];
  partial: boolean;
}

/** The live migrated schema against the committed placement of its tables (a Citus-ready check). */
describe('tables placed for a database distributed by wallet', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let c: pg.Client;
  let uniques: UniqueIndex[];
  const distribution = (table: string) => (table === 'wallets' ? 'id' : 'wallet_id');
  const walletTables = Object.keys(DISTRIBUTION).filter((t) => DISTRIBUTION[t] === 'wallet');

  beforeAll(async () => {
    db = await createTestDatabase();
    c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const r = await c.query<{ table: string; index: string; columns: string[]; partial: boolean }>(
      `SELECT t.relname AS table, i.relname AS index, ix.indpred IS NOT NULL AS partial,
              array(SELECT a.attname FROM unnest(ix.indkey) k JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k)::text[] AS columns
       FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid
       WHERE t.relnamespace = 'public'::regnamespace AND ix.indisunique`,
    );
    uniques = r.rows;
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  it('places every table, and only tables that exist', async () => {
    const tables = (await c.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map(
      (r) => r.t,
    );
    expect(tables).toEqual(Object.keys(DISTRIBUTION).sort());
  });

  it('gives every wallet table a non-null wallet_id, except the known gaps', async () => {
    const r = await c.query<{ t: string; nullable: string }>(
      `SELECT table_name AS t, is_nullable AS nullable FROM information_schema.columns
       WHERE table_schema = 'public' AND column_name = 'wallet_id'`,
    );
    const column = new Map(r.rows.map((x) => [x.t, x.nullable]));
    const missing = walletTables.filter((t) => t !== 'wallets' && !column.has(t));
    expect(missing).toEqual([]);
    expect(walletTables.filter((t) => column.get(t) === 'YES').sort()).toEqual([...KNOWN_GAPS.nullableWalletId].sort());
  });

  it('gives every wallet table a primary key or unique key with wallet_id, except the known gaps', () => {
    const keyed = (t: string) => uniques.some((u) => u.table === t && !u.partial && u.columns.includes(distribution(t)));
    expect(walletTables.filter((t) => !keyed(t)).sort()).toEqual([...KNOWN_GAPS.noWalletKey].sort());
  });

  it('has wallet_id in every unique index of a wallet table, except the known gaps', () => {
    const without = uniques
      .filter((u) => DISTRIBUTION[u.table] === 'wallet' && !u.columns.includes(distribution(u.table)))
      .map((u) => `${u.table}.${u.index}`)
      .sort();
    expect(without).toEqual([...KNOWN_GAPS.uniqueWithoutWallet].sort());
  });

  it('has only foreign keys a database distributed by wallet can enforce', async () => {
    const r = await c.query<{ name: string; from: string; to: string; cols: string[]; refs: string[] }>(
      `SELECT conname AS name, conrelid::regclass::text AS from, confrelid::regclass::text AS to,
              array(SELECT a.attname FROM unnest(conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS cols,
              array(SELECT a.attname FROM unnest(confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS refs
       FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace`,
    );
    expect(r.rows.length).toBeGreaterThan(10);
    // Citus: a wallet table references a reference table, or a wallet table through the wallet (co-located);
    // a reference table references reference tables only; a local table references no wallet table.
    const refused = r.rows.filter((fk) => {
      const from = DISTRIBUTION[fk.from];
      const to = DISTRIBUTION[fk.to];
      if (to === 'reference') return false;
      if (from === 'wallet' && to === 'wallet') {
        const i = fk.cols.indexOf(distribution(fk.from));
        return i < 0 || fk.refs[i] !== distribution(fk.to);
      }
      return !(from === 'local' && to === 'local');
    });
    expect(refused.map((fk) => `${fk.from}.${fk.name} (${fk.cols.join(', ')}) -> ${fk.to} (${fk.refs.join(', ')})`)).toEqual([]);
  });

  it('makes an owner, a Stripe customer and a credit key unique across wallets through their own tables', () => {
    const keys = uniques.filter((u) => ['wallet_owners', 'stripe_customers', 'grant_claims'].includes(u.table) && !u.partial);
    const has = (table: string, columns: string[]) => keys.some((u) => u.table === table && u.columns.join() === columns.join());
    expect(has('wallet_owners', ['owner_id'])).toBe(true);
    expect(has('wallet_owners', ['wallet_id'])).toBe(true);
    expect(has('stripe_customers', ['customer_id'])).toBe(true);
    expect(has('stripe_customers', ['wallet_id'])).toBe(true);
    expect(has('grant_claims', ['grant_key'])).toBe(true);
  });

  it('keeps the system accounts derived: no balance column on accounts, no foreign key from entries to accounts', async () => {
    const cols = (
      await c.query<{ c: string }>(`SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'accounts'`)
    ).rows.map((r) => r.c);
    expect(cols.filter((x) => /balance|remaining|amount/.test(x))).toEqual([]);
    const fks = await c.query(
      `SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = 'entries'::regclass AND confrelid = 'accounts'::regclass`,
    );
    expect(fks.rows).toEqual([]);
  });
});
