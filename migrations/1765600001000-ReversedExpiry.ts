import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A refund or dispute of tokens that expired takes them back from breakage.
 *
 * ledger_set_reversed split a reversal of a bucket into what it could claw
 * back from the bucket (remaining), what its pending holds still owed (due),
 * and the rest, booked to chargeback losses with the wallet flagged. Tokens
 * that had expired fell into the rest: a plan period refunded after it ended
 * booked its unused tokens as a loss and flagged the wallet as if they had
 * been spent, while breakage still counted them as earned. Spec section 8:
 * chargeback losses book only what was really spent.
 *
 * A reversal now takes, in order: the bucket's remaining tokens (clawed),
 * what its pending holds owe (due), what it lost to expiry and no earlier
 * reversal took back (`unexpired`: breakage -> stripe clearing; no flag),
 * and only then what was spent (lost, flagged). Lowering a reversal (a
 * dispute won) gives back in the reverse order: due cancelled, losses
 * recovered, expired tokens returned to breakage, then clawed tokens to the
 * bucket. What a bucket lost to expiry is the sum of its expiry transfers'
 * breakage entries (ledger_expire_bucket's, ref = the bucket's id). The
 * bucket's rule (bucket_valid, its one CHECK) counts `unexpired` among what
 * was reversed. Reversals booked before this migration stay as they were.
 */
export class ReversedExpiry1765600001000 implements MigrationInterface {
  name = 'ReversedExpiry1765600001000';

  async up(q: QueryRunner): Promise<void> {
    // A constant default: no table rewrite.
    await q.query(`ALTER TABLE buckets ADD COLUMN unexpired bigint NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE OR REPLACE FUNCTION bucket_valid(b buckets) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
      BEGIN
        RETURN least(b.granted - 1, b.remaining, b.reversed, b.clawed, b.lost, b.clawback_due, b.unexpired, b.granted - b.reversed) >= 0
          AND b.clawed + b.lost + b.clawback_due + b.unexpired = b.reversed
          AND b.source IN ('free_weekly', 'promo', 'plan', 'purchase', 'refund', 'adjustment');
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_set_reversed(p_bucket uuid, p_reversed bigint, p_at timestamptz, p_ref text, p_metadata jsonb)
      RETURNS json LANGUAGE plpgsql AS $$
      DECLARE
        b buckets;
        w wallets;
        v_wallet uuid;
        v_delta bigint;
        v_take bigint := 0;
        v_due bigint := 0;
        v_unexpired bigint := 0;
        v_lost bigint := 0;
        v_held bigint;
        v_expired bigint;
        v_target bigint;
      BEGIN
        SELECT wallet_id INTO v_wallet FROM buckets WHERE id = p_bucket;
        IF v_wallet IS NULL THEN RAISE EXCEPTION 'no bucket %', p_bucket USING ERRCODE = 'TW900'; END IF;
        SELECT * INTO w FROM wallets WHERE id = v_wallet FOR UPDATE;
        SELECT * INTO b FROM buckets WHERE id = p_bucket AND wallet_id = v_wallet;
        v_target := least(greatest(p_reversed, 0), b.granted);
        v_delta := v_target - b.reversed;
        IF v_delta > 0 THEN
          v_take := least(v_delta, b.remaining);
          SELECT coalesce(sum((f->>'amount')::bigint), 0) INTO v_held
            FROM reservations r, jsonb_array_elements(r.funding) f
            WHERE r.wallet_id = w.id AND r.status = 'pending' AND (f->>'bucket_id')::uuid = b.id;
          v_due := least(v_delta - v_take, greatest(v_held - b.clawback_due, 0));
          IF v_delta - v_take - v_due > 0 THEN
            -- What expiry took from this bucket (to breakage), less what earlier reversals took back.
            SELECT coalesce(sum(e.amount), 0) INTO v_expired
              FROM transfers t JOIN entries e ON e.wallet_id = t.wallet_id AND e.transfer_id = t.id
              WHERE t.kind = 'expire' AND t.ref = b.id::text AND t.wallet_id = w.id AND e.account_id = '00000000-0000-4000-8000-000000000005';
            v_unexpired := least(v_delta - v_take - v_due, greatest(v_expired - b.unexpired, 0));
          END IF;
          v_lost := v_delta - v_take - v_due - v_unexpired;
          UPDATE buckets SET reversed = v_target, clawed = clawed + v_take, lost = lost + v_lost, clawback_due = clawback_due + v_due,
              unexpired = unexpired + v_unexpired
            WHERE id = b.id AND wallet_id = w.id;
          IF v_take + v_lost + v_unexpired > 0 THEN
            PERFORM ledger_post(w.id, 'clawback',
              ARRAY[b.id, '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000006',
                    '00000000-0000-4000-8000-000000000005']::uuid[],
              ARRAY[-v_take, v_take + v_lost + v_unexpired, -v_lost, -v_unexpired], p_at, p_ref,
              coalesce(p_metadata, '{}'::jsonb) || jsonb_build_object('clawed', v_take, 'lost', v_lost, 'due', v_due,
                'unexpired', v_unexpired, 'shortfall', (v_delta - v_take)::text));
          END IF;
          IF v_lost > 0 THEN UPDATE wallets SET flagged = true, updated_at = p_at WHERE id = w.id; END IF;
        ELSIF v_delta < 0 THEN
          v_delta := -v_delta;
          v_due := least(v_delta, b.clawback_due);
          v_lost := least(v_delta - v_due, b.lost);
          v_unexpired := least(v_delta - v_due - v_lost, b.unexpired);
          v_take := least(v_delta - v_due - v_lost - v_unexpired, b.clawed);
          UPDATE buckets SET reversed = v_target, clawed = clawed - v_take, lost = lost - v_lost, clawback_due = clawback_due - v_due,
              unexpired = unexpired - v_unexpired
            WHERE id = b.id AND wallet_id = w.id;
          IF v_take + v_lost + v_unexpired > 0 THEN
            PERFORM ledger_post(w.id, 'restore',
              ARRAY[b.id, '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000006',
                    '00000000-0000-4000-8000-000000000005']::uuid[],
              ARRAY[v_take, -(v_take + v_lost + v_unexpired), v_lost, v_unexpired], p_at, p_ref,
              coalesce(p_metadata, '{}'::jsonb) || jsonb_build_object('restored', v_take, 'recovered', v_lost, 'due_cancelled', v_due,
                'expired_again', v_unexpired));
          END IF;
        END IF;
        RETURN json_build_object('wallet_id', w.id, 'clawed', v_take, 'lost', v_lost, 'due', v_due, 'unexpired', v_unexpired,
          'direction', sign(v_target - b.reversed));
      END $$`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('ReversedExpiry1765600001000 is forward only: restore the backup taken before it'));
  }
}
