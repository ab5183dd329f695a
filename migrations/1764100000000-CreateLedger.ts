import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The double-entry ledger of spec section 4: wallets, accounts (buckets and
 * system accounts), transfers and their entries, reservations, idempotency
 * keys and API keys.
 */
export class CreateLedger1764100000000 implements MigrationInterface {
  name = 'CreateLedger1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        scope text NOT NULL CHECK (scope IN ('gateway', 'admin')),
        key_hash text NOT NULL UNIQUE,
        key_prefix text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE wallets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id text NOT NULL UNIQUE CHECK (owner_id ~ '^[A-Za-z0-9_.:@-]{1,128}$'),
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen')),
        flagged boolean NOT NULL DEFAULT false,
        free_week text,
        plan jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `COMMENT ON COLUMN wallets.free_week IS 'ISO week (2026-W48) of the last weekly grant: lets the hot path skip the grant check'`,
    );
    // No foreign key points at accounts from entries: a key check would take a
    // KEY SHARE lock on the system account rows, making them hot. ledger verify
    // checks that every entry's account exists instead.
    await q.query(`
      CREATE TABLE accounts (
        id uuid PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('bucket', 'system')),
        code text UNIQUE,
        wallet_id uuid REFERENCES wallets(id),
        CHECK ((kind = 'system') = (code IS NOT NULL)),
        CHECK ((kind = 'bucket') = (wallet_id IS NOT NULL))
      )`);
    await q.query(`
      INSERT INTO accounts (id, kind, code) VALUES
        ('00000000-0000-4000-8000-000000000001', 'system', 'stripe_clearing'),
        ('00000000-0000-4000-8000-000000000002', 'system', 'promotional_grants'),
        ('00000000-0000-4000-8000-000000000003', 'system', 'revenue'),
        ('00000000-0000-4000-8000-000000000004', 'system', 'pending_holds'),
        ('00000000-0000-4000-8000-000000000005', 'system', 'breakage'),
        ('00000000-0000-4000-8000-000000000006', 'system', 'chargeback_losses'),
        ('00000000-0000-4000-8000-000000000007', 'system', 'adjustments')`);
    await q.query(`
      CREATE TABLE buckets (
        id uuid PRIMARY KEY REFERENCES accounts(id),
        wallet_id uuid NOT NULL REFERENCES wallets(id),
        source text NOT NULL CHECK (source IN ('free_weekly', 'promo', 'plan', 'purchase', 'refund', 'adjustment')),
        granted bigint NOT NULL CHECK (granted > 0),
        remaining bigint NOT NULL CHECK (remaining >= 0),
        expires_at timestamptz,
        grant_key text UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `COMMENT ON COLUMN buckets.grant_key IS 'What the credit is for (free_weekly:<wallet>:<week>, a payment intent, an invoice): unique, so nothing is credited twice'`,
    );
    await q.query(`CREATE INDEX buckets_wallet_live ON buckets (wallet_id) WHERE remaining > 0`);
    await q.query(`CREATE INDEX buckets_expiring ON buckets (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL`);
    await q.query(`
      CREATE TABLE transfers (
        id uuid PRIMARY KEY,
        wallet_id uuid REFERENCES wallets(id),
        kind text NOT NULL,
        amount bigint NOT NULL,
        ref text,
        metadata jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `COMMENT ON COLUMN transfers.amount IS 'Net change of the wallet''s available balance (sum of the entries on its buckets)'`,
    );
    await q.query(`CREATE INDEX transfers_wallet_created ON transfers (wallet_id, created_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE entries (
        id bigserial PRIMARY KEY,
        transfer_id uuid NOT NULL REFERENCES transfers(id),
        account_id uuid NOT NULL,
        wallet_id uuid,
        amount bigint NOT NULL CHECK (amount <> 0)
      )`);
    await q.query(`CREATE INDEX entries_transfer ON entries (transfer_id)`);
    await q.query(`CREATE INDEX entries_account ON entries (account_id)`);
    // Append-only: corrections are new transfers, never edits.
    await q.query(`
      CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger table % is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
      END $$`);
    for (const t of ['transfers', 'entries']) {
      await q.query(`CREATE TRIGGER ${t}_append_only BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ledger_append_only()`);
      await q.query(`CREATE TRIGGER ${t}_no_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()`);
    }
    await q.query(`
      CREATE TABLE reservations (
        id text PRIMARY KEY,
        wallet_id uuid NOT NULL REFERENCES wallets(id),
        status text NOT NULL CHECK (status IN ('pending', 'settled', 'released', 'expired')),
        reserved bigint NOT NULL CHECK (reserved > 0),
        settled bigint NOT NULL DEFAULT 0 CHECK (settled >= 0),
        released bigint NOT NULL DEFAULT 0 CHECK (released >= 0),
        funding jsonb NOT NULL,
        expires_at timestamptz NOT NULL,
        price_id bigint,
        price_version int,
        variant text,
        quantity int,
        ref text,
        metadata jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        CHECK ((status = 'pending' AND settled = 0 AND released = 0 AND finished_at IS NULL)
            OR (status <> 'pending' AND settled + released = reserved AND finished_at IS NOT NULL))
      )`);
    await q.query(`COMMENT ON COLUMN reservations.funding IS 'The buckets the hold came from, in spending order: [{bucket_id, amount}]'`);
    await q.query(`CREATE INDEX reservations_pending_expiry ON reservations (expires_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX reservations_wallet ON reservations (wallet_id, created_at DESC)`);
    await q.query(`
      CREATE TABLE idempotency_keys (
        principal_id uuid NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        status_code int,
        response text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (principal_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['idempotency_keys', 'reservations', 'entries', 'transfers', 'buckets', 'accounts', 'wallets', 'api_keys']) {
      await q.query(`DROP TABLE ${t}`);
    }
    await q.query(`DROP FUNCTION ledger_append_only()`);
  }
}
