import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Auto top-up (spec section 10). Billing owns the settings, the saved payment
 * method and the attempts; the ledger keeps the crossing (a service alert,
 * `_auto_top_up`, that flips under the wallet lock exactly once per crossing
 * below the threshold), the `auto_top_up.*` events (ledger_note), and the
 * cursors of the feed's in-process consumers (event_consumers).
 */
export class CreateAutoTopUp1764800000000 implements MigrationInterface {
  name = 'CreateAutoTopUp1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE event_consumers (
        name text PRIMARY KEY CHECK (name ~ '^[a-z0-9_.-]{1,64}$'),
        last_pos bigint NOT NULL DEFAULT 0 CHECK (last_pos >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON TABLE event_consumers IS 'How far into the event feed each of the service''s own consumers has read'`);
    // An event that is not a transfer: only the kinds another lib may tell the ledger about.
    await q.query(`
      CREATE FUNCTION ledger_note(p_wallet uuid, p_type text, p_data jsonb, p_at timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
      BEGIN
        IF p_type NOT IN ('auto_top_up.succeeded', 'auto_top_up.failed') THEN
          RAISE EXCEPTION 'ledger_note takes no % event', p_type USING ERRCODE = 'TW900';
        END IF;
        PERFORM 1 FROM wallets WHERE id = p_wallet FOR UPDATE;
        IF NOT FOUND THEN RAISE EXCEPTION 'no wallet %', p_wallet USING ERRCODE = 'TW900'; END IF;
        RETURN ledger_event(p_wallet, p_type, p_data, p_at);
      END $$`);

    await q.query(`
      CREATE TABLE stripe_payment_methods (
        wallet_id uuid PRIMARY KEY REFERENCES wallets(id),
        customer text NOT NULL,
        payment_method text NOT NULL,
        brand text,
        last4 text,
        saved_from text NOT NULL,
        saved_at timestamptz NOT NULL
      )`);
    await q.query(
      `COMMENT ON TABLE stripe_payment_methods IS 'The wallet''s default payment method for off-session charges (the newest one saved)'`,
    );
    await q.query(`
      CREATE TABLE auto_top_ups (
        wallet_id uuid PRIMARY KEY REFERENCES wallets(id),
        enabled boolean NOT NULL,
        threshold_mt bigint NOT NULL CHECK (threshold_mt >= 0),
        pack_id text NOT NULL,
        max_per_month int NOT NULL CHECK (max_per_month BETWEEN 1 AND 100),
        failures int NOT NULL DEFAULT 0 CHECK (failures >= 0),
        disabled_reason text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE auto_top_up_attempts (
        wallet_id uuid NOT NULL REFERENCES wallets(id),
        crossing bigint NOT NULL,
        month date NOT NULL,
        pack_id text,
        tokens int CHECK (tokens > 0),
        amount_cents int CHECK (amount_cents > 0),
        idempotency_key text NOT NULL UNIQUE,
        payment_intent text UNIQUE,
        status text NOT NULL CHECK (status IN ('creating', 'processing', 'succeeded', 'failed', 'requires_action', 'skipped')),
        error text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (wallet_id, crossing),
        CHECK (status = 'skipped' OR (pack_id IS NOT NULL AND tokens IS NOT NULL AND amount_cents IS NOT NULL))
      )`);
    await q.query(
      `COMMENT ON COLUMN auto_top_up_attempts.crossing IS 'The seq of the wallet''s alert.triggered event of _auto_top_up: one attempt per crossing'`,
    );
    await q.query(`CREATE INDEX auto_top_up_attempts_open ON auto_top_up_attempts (updated_at) WHERE status IN ('creating', 'processing')`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['auto_top_up_attempts', 'auto_top_ups', 'stripe_payment_methods', 'event_consumers']) await q.query(`DROP TABLE ${t}`);
    await q.query(`DROP FUNCTION ledger_note(uuid, text, jsonb, timestamptz)`);
  }
}
