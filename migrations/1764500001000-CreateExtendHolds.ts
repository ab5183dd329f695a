import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Holds that live as long as their work (spec section 8, "Long jobs"): the
 * generation worker and its recovery loop extend the holds of queued and
 * running generations, many at once, up to a maximum life.
 */
export class CreateExtendHolds1764500001000 implements MigrationInterface {
  name = 'CreateExtendHolds1764500001000';

  async up(q: QueryRunner): Promise<void> {
    // Each wallet's lock is taken (in id order, so two callers never deadlock) so that an
    // extension and the expiry sweeper never interleave: the sweeper reads expires_at under it.
    await q.query(`
      CREATE FUNCTION ledger_extend_all(p_ids text[], p_expires timestamptz, p_max_s int, p_now timestamptz) RETURNS text[] LANGUAGE plpgsql AS $$
      DECLARE
        v_live text[];
      BEGIN
        PERFORM 1 FROM wallets WHERE id IN (SELECT wallet_id FROM reservations WHERE id = ANY (p_ids)) ORDER BY id FOR UPDATE;
        WITH u AS (
          UPDATE reservations SET expires_at = greatest(expires_at, least(p_expires, created_at + make_interval(secs => p_max_s)))
          WHERE id = ANY (p_ids) AND status = 'pending' AND expires_at > p_now
          RETURNING id
        )
        SELECT coalesce(array_agg(id), '{}') INTO v_live FROM u;
        RETURN v_live;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION ledger_extend_all(text[], timestamptz, int, timestamptz)`);
  }
}
