import { Database, LedgerCheckRegistry } from '@app/common';
import { Injectable, OnModuleInit } from '@nestjs/common';

/**
 * Invariant 5 of the spec: every Stripe payment is credited exactly once.
 * Each paid pack or plan event that was applied has one payment row, each
 * payment row one bucket holding exactly what was bought, and no payment key
 * is credited twice.
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
    const wrong = await db.query<{ payment_intent: string; granted: string; credited: string }>(
      `SELECT p.payment_intent, b.granted::text AS granted, coalesce(c.amount, 0)::text AS credited
       FROM stripe_payments p JOIN buckets b ON b.id = p.bucket_id
       LEFT JOIN LATERAL (SELECT sum(e.amount) AS amount FROM entries e JOIN transfers t ON t.id = e.transfer_id
                          WHERE e.account_id = p.bucket_id AND t.kind IN ('purchase', 'plan')) c ON true
       WHERE coalesce(c.amount, 0) <> b.granted LIMIT 50`,
    );
    return [
      ...missing.map((m) => `event ${m.id} credited ${m.source} but no payment row records it`),
      ...twice.map((t) => `bucket ${t.bucket_id} is claimed by ${t.n} payments`),
      ...wrong.map((w) => `payment ${w.payment_intent} bought ${w.granted} but its bucket was credited ${w.credited}`),
    ];
  }
}
