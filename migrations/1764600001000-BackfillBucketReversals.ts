import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Clawbacks booked before the ledger tracked reversals per bucket (they took
 * what was left and booked the rest as chargeback losses, at once): their
 * buckets get `reversed`, `clawed` and `lost` from those transfers' entries,
 * so the next reversal event of such a payment claws only the difference.
 */
export class BackfillBucketReversals1764600001000 implements MigrationInterface {
  name = 'BackfillBucketReversals1764600001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      WITH legs AS (
        SELECT p.bucket_id,
               sum(-e.amount) FILTER (WHERE e.account_id = p.bucket_id) AS clawed,
               sum(-e.amount) FILTER (WHERE e.account_id = '00000000-0000-4000-8000-000000000006') AS lost
        FROM transfers t
        JOIN stripe_payments p ON p.payment_intent = t.metadata->>'payment_intent'
        JOIN entries e ON e.transfer_id = t.id
        WHERE t.kind = 'clawback' AND NOT (t.metadata ? 'due')
        GROUP BY p.bucket_id
      )
      UPDATE buckets b SET clawed = b.clawed + coalesce(l.clawed, 0), lost = b.lost + coalesce(l.lost, 0),
        reversed = b.reversed + coalesce(l.clawed, 0) + coalesce(l.lost, 0)
      FROM legs l WHERE b.id = l.bucket_id`);
  }

  async down(): Promise<void> {
    // The backfilled columns describe transfers that stay; nothing to undo.
  }
}
