import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ledger's own tables keyed by wallet, so that a PostgreSQL distributed by
 * wallet id (Citus) can hold them next to their wallet (docs/scaling.md,
 * "What remains for Citus"):
 *
 * - `accounts` holds the system accounts only (a small reference table). A
 *   bucket is its own account: `buckets.id` is what its entries name, and its
 *   row in `accounts` (kind `bucket`, written by every credit) goes, with the
 *   foreign key from `buckets.id` and the `wallet_id` column. `ledger verify`
 *   checks that an entry names a system account or a bucket.
 * - `transfers` and `entries` carry a non-null `wallet_id` (every transfer is
 *   one wallet's, and each of its entries is booked to that wallet, system
 *   legs included), and both primary keys lead with it: `(wallet_id, id)`.
 *   An entry's transfer is `(wallet_id, transfer_id)`. No index is added:
 *   the same two primary keys and one foreign key, now composite.
 *
 * Rows written before this migration: entries without a wallet take their
 * transfer's; a transfer without a wallet, or an entry booked to another
 * wallet than its transfer's, stops the migration, naming it.
 *
 * It runs in one transaction holding ACCESS EXCLUSIVE locks on accounts,
 * buckets, transfers and entries while it scans entries and builds two
 * primary keys: on a large ledger, apply it with `npm run migration:run` in a
 * maintenance window (docs/operations.md, Migrations), not at a rolling boot.
 */
export class WalletKeyedLedger1765300001000 implements MigrationInterface {
  name = 'WalletKeyedLedger1765300001000';

  async up(q: QueryRunner): Promise<void> {
    // ---- accounts: the system accounts only ---------------------------------------------
    await q.query(`ALTER TABLE buckets DROP CONSTRAINT buckets_id_fkey`);
    await q.query(`DELETE FROM accounts WHERE kind = 'bucket'`);
    // Drops the CHECK that tied kind bucket to a wallet, and the foreign key to wallets.
    await q.query(`ALTER TABLE accounts DROP COLUMN wallet_id`);
    await q.query(`ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check`);
    await q.query(`ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check CHECK (kind = 'system')`);
    await q.query(
      `COMMENT ON TABLE accounts IS 'The system accounts (fixed ids ...0001 to ...0008). A bucket is its own account: entries name buckets.id'`,
    );
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_credit(p_wallet uuid, p_source text, p_amount bigint, p_expires timestamptz, p_grant_key text,
                                               p_from uuid, p_kind text, p_at timestamptz, p_ref text, p_metadata jsonb)
      RETURNS uuid LANGUAGE plpgsql AS $$
      DECLARE
        v_id uuid := gen_random_uuid();
      BEGIN
        INSERT INTO buckets (id, wallet_id, source, granted, remaining, expires_at, grant_key, created_at)
          VALUES (v_id, p_wallet, p_source, p_amount, 0, p_expires, p_grant_key, p_at)
          ON CONFLICT (grant_key) DO NOTHING;
        IF NOT FOUND THEN RETURN NULL; END IF;
        PERFORM ledger_post(p_wallet, p_kind, ARRAY[p_from, v_id], ARRAY[-p_amount, p_amount], p_at, coalesce(p_ref, p_grant_key),
          jsonb_build_object('source', p_source, 'bucket_id', v_id) || coalesce(p_metadata, '{}'::jsonb));
        RETURN v_id;
      END $$`);

    // ---- transfers and entries: keyed by wallet ----------------------------------------
    await q.query(`
      DO $$
      DECLARE
        v_id uuid;
        v_entry bigint;
      BEGIN
        SELECT id INTO v_id FROM transfers WHERE wallet_id IS NULL LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'transfer % has no wallet: every transfer must be one wallet''s before WalletKeyedLedger', v_id;
        END IF;
        SELECT e.id INTO v_entry FROM entries e JOIN transfers t ON t.id = e.transfer_id WHERE e.wallet_id <> t.wallet_id LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'entry % is booked to another wallet than its transfer''s: fix it before WalletKeyedLedger', v_entry;
        END IF;
        IF EXISTS (SELECT 1 FROM entries WHERE wallet_id IS NULL) THEN
          -- The one edit of entries ever made: the wallet of its own transfer, on rows that had none.
          ALTER TABLE entries DISABLE TRIGGER entries_append_only;
          UPDATE entries e SET wallet_id = t.wallet_id FROM transfers t WHERE t.id = e.transfer_id AND e.wallet_id IS NULL;
          ALTER TABLE entries ENABLE TRIGGER entries_append_only;
        END IF;
      END $$`);
    await q.query(`ALTER TABLE transfers ALTER COLUMN wallet_id SET NOT NULL`);
    await q.query(`ALTER TABLE entries ALTER COLUMN wallet_id SET NOT NULL`);
    await q.query(`ALTER TABLE entries DROP CONSTRAINT entries_transfer_id_fkey`);
    await q.query(`ALTER TABLE transfers DROP CONSTRAINT transfers_pkey`);
    await q.query(`ALTER TABLE transfers ADD CONSTRAINT transfers_pkey PRIMARY KEY (wallet_id, id)`);
    await q.query(
      `ALTER TABLE entries ADD CONSTRAINT entries_transfer_id_fkey FOREIGN KEY (wallet_id, transfer_id) REFERENCES transfers (wallet_id, id)`,
    );
    await q.query(`ALTER TABLE entries DROP CONSTRAINT entries_pkey`);
    await q.query(`ALTER TABLE entries ADD CONSTRAINT entries_pkey PRIMARY KEY (wallet_id, id)`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('WalletKeyedLedger1765300001000 is forward only: restore the backup taken before it'));
  }
}
