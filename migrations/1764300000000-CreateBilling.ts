import { MigrationInterface, QueryRunner } from 'typeorm';

/** Stripe: the customer of a wallet, events (each applied once), payments credited, subscriptions. */
export class CreateBilling1764300000000 implements MigrationInterface {
  name = 'CreateBilling1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE wallets ADD COLUMN stripe_customer_id text UNIQUE`);
    await q.query(`
      CREATE TABLE stripe_events (
        id text PRIMARY KEY,
        type text NOT NULL,
        created timestamptz NOT NULL,
        payload jsonb NOT NULL,
        outcome text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `COMMENT ON TABLE stripe_events IS 'Every verified event, stored in the transaction that applied it: a second delivery finds it and changes nothing'`,
    );
    await q.query(`
      CREATE TABLE stripe_payments (
        payment_intent text PRIMARY KEY,
        wallet_id uuid NOT NULL REFERENCES wallets(id),
        bucket_id uuid NOT NULL REFERENCES buckets(id),
        kind text NOT NULL CHECK (kind IN ('pack', 'plan')),
        source_id text NOT NULL UNIQUE,
        amount_cents bigint NOT NULL CHECK (amount_cents > 0),
        refunded_cents bigint NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
        disputed_cents bigint NOT NULL DEFAULT 0 CHECK (disputed_cents >= 0),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON COLUMN stripe_payments.source_id IS 'The checkout session (pack) or invoice (plan) credited'`);
    await q.query(`
      CREATE TABLE subscriptions (
        id text PRIMARY KEY,
        wallet_id uuid NOT NULL REFERENCES wallets(id),
        plan_id text NOT NULL,
        status text NOT NULL,
        current_period_end timestamptz,
        cancel_at_period_end boolean NOT NULL DEFAULT false,
        last_event_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `COMMENT ON COLUMN subscriptions.last_event_at IS 'Created time of the newest event applied: an older event arriving late is ignored'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE subscriptions`);
    await q.query(`DROP TABLE stripe_payments`);
    await q.query(`DROP TABLE stripe_events`);
    await q.query(`ALTER TABLE wallets DROP COLUMN stripe_customer_id`);
  }
}
