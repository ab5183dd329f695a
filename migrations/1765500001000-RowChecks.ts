import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The rules of a reservation row and of a bucket row, each one CHECK that
 * calls a PL/pgSQL function of the row. Same rules, and the same rows pass.
 *
 * Why: PostgreSQL reads a table's CHECK constraints back from their stored
 * expression trees (text) and plans them again for every INSERT and UPDATE
 * statement; nothing keeps them between statements. Counted with callgrind
 * on a single-user backend over the bench's reserve + settle pair: 35
 * constraint expressions read per pair, 17% of the pair's instructions; 31
 * of them are the reservation's 11 (once for the hold, once for its end)
 * and the bucket's 9. A PL/pgSQL function keeps its compiled expression for
 * the session, so what is read per statement is one call with the whole
 * row; the pair costs 14% fewer instructions (4.65 M to 4.00 M by
 * bench/pg-instructions.sh; test test/ledger/row-checks.int-spec.ts,
 * figures in bench/README.md).
 *
 * The rules, as before (each CHECK passed unless it was false; an AND of
 * them is false exactly when one of them is, so NULLs pass as they did):
 * - reservations: reserved > 0; settled, released, overage, uncollected
 *   >= 0; overage <= max_overage (so max_overage >= 0); status among pending,
 *   settled, released, expired; pending has nothing settled or released and
 *   no finished_at, any other status has settled + released = reserved and a
 *   finished_at; meters and estimate are both set or both null, and a hold
 *   without meters has no usage, max_overage, overage or uncollected; a
 *   spender id matches ^[A-Za-z0-9_.:@-]{1,128}$.
 * - buckets: granted > 0; remaining >= 0 (the overdraft guard); reversed,
 *   clawed, lost, clawback_due >= 0; reversed <= granted; clawed + lost +
 *   clawback_due = reversed; source among free_weekly, promo, plan,
 *   purchase, refund, adjustment.
 * Both sums compare values the same rules bound to at least 0, so
 * `settled + released = 0` is `settled = 0 AND released = 0`, and
 * `max_overage + overage + uncollected = 0` is each of them 0.
 *
 * The new constraints are added NOT VALID and validated before the old ones
 * are dropped, in this migration's transaction: a row the old rules let in
 * and the new ones would refuse stops it, naming nothing dropped. It holds
 * ACCESS EXCLUSIVE on both tables while it scans them (docs/operations.md).
 */
export class RowChecks1765500001000 implements MigrationInterface {
  name = 'RowChecks1765500001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION reservation_valid(r reservations) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
      BEGIN
        RETURN least(r.reserved - 1, r.settled, r.released, r.overage, r.uncollected, r.max_overage - r.overage) >= 0
          AND r.status IN ('pending', 'settled', 'released', 'expired')
          AND CASE WHEN r.status = 'pending' THEN r.settled + r.released = 0 AND r.finished_at IS NULL
                   ELSE r.settled + r.released = r.reserved AND r.finished_at IS NOT NULL END
          AND (r.meters IS NULL) = (r.estimate IS NULL)
          AND (r.meters IS NOT NULL OR (r.usage IS NULL AND r.max_overage + r.overage + r.uncollected = 0))
          AND r.spender_id ~ '^[A-Za-z0-9_.:@-]{1,128}$';
      END $$`);
    await q.query(`
      CREATE FUNCTION bucket_valid(b buckets) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
      BEGIN
        RETURN least(b.granted - 1, b.remaining, b.reversed, b.clawed, b.lost, b.clawback_due, b.granted - b.reversed) >= 0
          AND b.clawed + b.lost + b.clawback_due = b.reversed
          AND b.source IN ('free_weekly', 'promo', 'plan', 'purchase', 'refund', 'adjustment');
      END $$`);
    await q.query(
      `COMMENT ON FUNCTION reservation_valid(reservations) IS 'The rules of a reservation row (CHECK reservations_valid); see migration RowChecks'`,
    );
    await q.query(
      `COMMENT ON FUNCTION bucket_valid(buckets) IS 'The rules of a bucket row (CHECK buckets_valid); see migration RowChecks'`,
    );

    await q.query(`ALTER TABLE reservations ADD CONSTRAINT reservations_valid CHECK (reservation_valid(reservations)) NOT VALID`);
    await q.query(`ALTER TABLE reservations VALIDATE CONSTRAINT reservations_valid`);
    await q.query(`
      ALTER TABLE reservations
        DROP CONSTRAINT reservations_check, DROP CONSTRAINT reservations_max_overage_check, DROP CONSTRAINT reservations_metered_shape,
        DROP CONSTRAINT reservations_overage_check, DROP CONSTRAINT reservations_overage_within_max, DROP CONSTRAINT reservations_released_check,
        DROP CONSTRAINT reservations_reserved_check, DROP CONSTRAINT reservations_settled_check, DROP CONSTRAINT reservations_spender_id_check,
        DROP CONSTRAINT reservations_status_check, DROP CONSTRAINT reservations_uncollected_check`);

    await q.query(`ALTER TABLE buckets ADD CONSTRAINT buckets_valid CHECK (bucket_valid(buckets)) NOT VALID`);
    await q.query(`ALTER TABLE buckets VALIDATE CONSTRAINT buckets_valid`);
    await q.query(`
      ALTER TABLE buckets
        DROP CONSTRAINT buckets_clawback_due_check, DROP CONSTRAINT buckets_clawed_check, DROP CONSTRAINT buckets_granted_check,
        DROP CONSTRAINT buckets_lost_check, DROP CONSTRAINT buckets_remaining_check, DROP CONSTRAINT buckets_reversal_bound,
        DROP CONSTRAINT buckets_reversal_parts, DROP CONSTRAINT buckets_reversed_check, DROP CONSTRAINT buckets_source_check`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('RowChecks1765500001000 is forward only: restore the backup taken before it'));
  }
}
