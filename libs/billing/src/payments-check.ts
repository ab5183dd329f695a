import { Database, LedgerCheckRegistry } from '@app/common';
import { Injectable, OnModuleInit } from '@nestjs/common';

/**
 * Invariant 5 of the spec: every Stripe payment is credited exactly once.
 * Each paid pack or plan event that was applied has one payment row, each
 * payment row one bucket holding exactly what was bought, and no payment key
 * is credited twice. And a refund or dispute never stays waiting once its
 * payment is credited: the bucket's reversed tokens are what the payment's
 * reversals (stripe_reversals, merged) say.
 */
@Injectable()
export class StripePaymentsCheck implements OnModuleInit {
  constructor(private readonly registry: LedgerCheckRegistry) {}

  onModuleInit(): void {
    this.registry.register({ invariant: '5. every Stripe payment is credited exactly once', run: (db) => this.run(db) });
  }

  private async run(db: Database): Promise<string[]> {
    const missing = await db.query<{ id: string; source: string }>(
      `SELECT e.id, e.payload->'data'->'object'->>'id' AS source FROM stripe_events e
       WHERE e.outcome IN ('credited', 'already_credited')
         AND NOT EXISTS (SELECT 1 FROM stripe_payments p WHERE p.source_id = e.payload->'data'->'object'->>'id')
       LIMIT 50`,
    );
    const twice = await db.query<{ bucket_id: string; n: number }>(
      `SELECT bucket_id, count(*)::int AS n FROM stripe_payments GROUP BY bucket_id HAVING count(*) > 1 LIMIT 50`,
    );
    // Keyed with their wallet in the schema; across wallets, one payment row per payment intent and per source.
    const shared = await db.query<{ key: string; n: number }>(
      `SELECT 'payment intent ' || payment_intent AS key, count(*)::int AS n FROM stripe_payments GROUP BY payment_intent HAVING count(*) > 1
       UNION ALL
       SELECT 'source ' || source_id, count(*)::int FROM stripe_payments GROUP BY source_id HAVING count(*) > 1
       LIMIT 50`,
    );
    const wrong = await db.query<{ payment_intent: string; granted: string; credited: string }>(
      `SELECT p.payment_intent, b.granted::text AS granted, coalesce(c.amount, 0)::text AS credited
       FROM stripe_payments p JOIN buckets b ON b.wallet_id = p.wallet_id AND b.id = p.bucket_id
       LEFT JOIN LATERAL (SELECT sum(e.amount) AS amount FROM entries e JOIN transfers t ON t.wallet_id = e.wallet_id AND t.id = e.transfer_id
                          WHERE e.account_id = p.bucket_id AND t.kind IN ('purchase', 'plan')) c ON true
       WHERE coalesce(c.amount, 0) <> b.granted LIMIT 50`,
    );
    // The merge of reversal-state.ts in SQL: maxima, the dispute state of highest rank (open < lost < won).
    const unapplied = await db.query<{ payment_intent: string; reversed: string; expected: string }>(
      `SELECT p.payment_intent, b.reversed::text AS reversed,
              (b.granted * least(p.amount_cents, r.refunded + CASE WHEN r.status IN (1, 2) THEN r.disputed ELSE 0 END) / p.amount_cents)::text AS expected
       FROM stripe_payments p JOIN buckets b ON b.wallet_id = p.wallet_id AND b.id = p.bucket_id
       JOIN LATERAL (SELECT max(x.refunded_cents) AS refunded, max(x.disputed_cents) AS disputed,
                            max(array_position(ARRAY['open', 'lost', 'won'], x.dispute_status)) AS status
                     FROM stripe_reversals x
                     WHERE x.payment_intent = p.payment_intent OR (p.kind = 'plan' AND x.invoice_id = p.source_id)
                     HAVING count(*) > 0) r ON true
       WHERE b.reversed <> b.granted * least(p.amount_cents, r.refunded + CASE WHEN r.status IN (1, 2) THEN r.disputed ELSE 0 END) / p.amount_cents
       LIMIT 50`,
    );
    return [
      ...unapplied.map(
        (u) => `payment ${u.payment_intent}: its reversals take back ${u.expected} but its bucket has ${u.reversed} reversed`,
      ),
      ...missing.map((m) => `event ${m.id} credited ${m.source} but no payment row records it`),
      ...twice.map((t) => `bucket ${t.bucket_id} is claimed by ${t.n} payments`),
      ...shared.map((t) => `${t.key} has ${t.n} payment rows`),
      ...wrong.map((w) => `payment ${w.payment_intent} bought ${w.granted} but its bucket was credited ${w.credited}`),
    ];
  }
}
