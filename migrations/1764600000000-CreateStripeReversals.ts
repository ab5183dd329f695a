import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reversals of Stripe payments (refunds, disputes), kept by payment intent
 * whether or not the payment has been credited yet: Stripe does not promise
 * the order of events, and a refund that arrives before its purchase must be
 * applied when the purchase is credited, not answered "ignored" and lost.
 * Billing owns the table (libs/billing/src/stripe-effects.ts); the tokens a
 * reversal takes back are the ledger's (buckets.reversed, set only through
 * Ledger.setReversed).
 *
 * Every column only grows (refunded and disputed cents are cumulative maxima,
 * the dispute state moves open -> lost -> won), so merging events in any order
 * or repetition ends in the same row. The per-payment columns of
 * stripe_payments move here and are dropped.
 */
export class CreateStripeReversals1764600000000 implements MigrationInterface {
  name = 'CreateStripeReversals1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE stripe_reversals (
        payment_intent text PRIMARY KEY,
        invoice_id text,
        refunded_cents bigint NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
        disputed_cents bigint NOT NULL DEFAULT 0 CHECK (disputed_cents >= 0),
        dispute_id text,
        dispute_status text CHECK (dispute_status IN ('open', 'lost', 'won')),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX stripe_reversals_invoice ON stripe_reversals (invoice_id) WHERE invoice_id IS NOT NULL`);
    await q.query(
      `COMMENT ON COLUMN stripe_reversals.invoice_id IS 'The plan invoice the payment paid (from Stripe invoice payments), when the payment is stored by invoice'`,
    );
    await q.query(
      `COMMENT ON COLUMN stripe_reversals.dispute_status IS 'open until charge.dispute.closed; won gives the disputed tokens back and lifts the dispute freeze, lost keeps them'`,
    );
    // What was already recorded per payment; a plan payment stored by invoice keeps that key and names its invoice.
    await q.query(`
      INSERT INTO stripe_reversals (payment_intent, invoice_id, refunded_cents, disputed_cents, dispute_status)
      SELECT payment_intent, CASE WHEN kind = 'plan' THEN source_id END, refunded_cents, disputed_cents,
             CASE WHEN disputed_cents > 0 THEN 'open' END
      FROM stripe_payments WHERE refunded_cents > 0 OR disputed_cents > 0`);
    await q.query(`ALTER TABLE stripe_payments DROP COLUMN refunded_cents, DROP COLUMN disputed_cents`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE stripe_payments
        ADD COLUMN refunded_cents bigint NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
        ADD COLUMN disputed_cents bigint NOT NULL DEFAULT 0 CHECK (disputed_cents >= 0)`);
    await q.query(`
      UPDATE stripe_payments p SET refunded_cents = r.refunded_cents,
        disputed_cents = CASE WHEN r.dispute_status = 'won' THEN 0 ELSE r.disputed_cents END
      FROM stripe_reversals r WHERE r.payment_intent = p.payment_intent`);
    await q.query(`DROP TABLE stripe_reversals`);
  }
}
