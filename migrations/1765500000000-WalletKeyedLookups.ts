import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The settle's conditional UPDATE is planned as one probe of the primary key.
 *
 * Seen with auto_explain on the bench's database: `UPDATE reservations ...
 * WHERE id = $1 AND status = 'pending'` (the last guard of ledger_end_hold)
 * matched the predicate of the partial index `reservations_pending_expiry`
 * (expires_at) WHERE status = 'pending'. After a VACUUM that index holds
 * the few pending holds of that moment, so the planner costs a scan of all
 * of it below a probe of the primary key, and keeps that plan. Every settle
 * then reads the whole index, and every settled hold leaves a dead entry in
 * it until the next VACUUM: 10,508 entries read, 0.35 ms of the 1.3 ms a
 * pair cost on one connection, and growing with every settle. Since
 * WalletKeyedObjects the primary key is (id, wallet_id), so `id = $1` alone
 * is not even a unique lookup to the planner.
 *
 * Now:
 * - the guard is `finished_at IS NULL`, which the reservations CHECK ties to
 *   status = 'pending' both ways (pending: finished_at null; any other
 *   status: set), so it refuses exactly what it refused before, and it
 *   matches no partial index;
 * - each statement that runs once the wallet is locked names the wallet as
 *   well, an equality on the whole primary key: ledger_finish reads the
 *   reservation, ledger_end_hold ends it and checks its buckets for reversed
 *   tokens, ledger_reserve (a metered hold's meters) and
 *   ledger_settle_usage (its usage) update it, all by (id, wallet); the
 *   same for ledger_post's update of a bucket's balance comes with
 *   ExpressionCosts, which restates that function anyway.
 * The first read of a settle (`SELECT wallet_id FROM reservations WHERE id =
 * $1`, to find the wallet to lock) cannot name the wallet: a probe of the
 * key's leading column. Bodies otherwise unchanged (a landed migration is
 * never edited, so each is restated whole).
 * test/ledger/whole-key-lookups.int-spec.ts checks which indexes a settle
 * reads.
 */
export class WalletKeyedLookups1765500000000 implements MigrationInterface {
  name = 'WalletKeyedLookups1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_end_hold(w wallets, r reservations, p_status text, p_charge bigint, p_now timestamptz)
      RETURNS reservations LANGUAGE plpgsql AS $$
      DECLARE
        v_buckets uuid[];
        v_returned bigint[];
        v_due boolean;
      BEGIN
        -- One statement: the split, and whether a bucket it touches has reversed tokens due.
        SELECT array_agg(s.bucket_id ORDER BY s.n), array_agg(s.returned ORDER BY s.n), bool_or((SELECT b.clawback_due > 0 FROM buckets b WHERE b.id = s.bucket_id AND b.wallet_id = w.id))
          INTO v_buckets, v_returned, v_due
          FROM ledger_split(r.funding, p_charge) AS s;
        PERFORM ledger_post(w.id, CASE p_status WHEN 'settled' THEN 'settle' WHEN 'released' THEN 'release' ELSE 'expire' END,
          ARRAY['00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000003']::uuid[] || v_buckets,
          ARRAY[-r.reserved, p_charge] || v_returned, p_now, r.id, CASE WHEN r.ref IS NOT NULL THEN jsonb_build_object('ref', r.ref) END);
        -- The conditional UPDATE is the last guard against ending a hold twice.
        UPDATE reservations SET status = p_status, settled = p_charge, released = r.reserved - p_charge, finished_at = p_now
          WHERE id = r.id AND wallet_id = w.id AND finished_at IS NULL RETURNING * INTO r;
        IF NOT FOUND THEN RAISE EXCEPTION 'reservation % was finished concurrently despite the wallet lock', r.id USING ERRCODE = 'TW900'; END IF;
        IF r.counters IS NOT NULL AND r.released > 0 THEN
          UPDATE budget_counters SET used = used - r.released WHERE wallet_id = w.id AND id = ANY (r.counters);
          PERFORM ledger_eval_budget_alerts(w.id, p_now);
        END IF;
        IF v_due THEN PERFORM ledger_resolve_due(w, v_buckets, v_returned, p_now, r.id); END IF;
        RETURN r;
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_reserve(p_principal uuid, p_key text, p_fp text, p_owner text, p_id text, p_amount bigint, p_expires_in int,
                                     p_now timestamptz, p_free bigint, p_price_id bigint, p_price_version int, p_variant text, p_quantity int,
                                     p_ref text, p_metadata jsonb, p_spender text, p_api_key uuid,
                                     p_meters jsonb DEFAULT NULL, p_estimate jsonb DEFAULT NULL, p_max_overage bigint DEFAULT 0)
      RETURNS json LANGUAGE plpgsql SET lock_timeout = '2s' AS $$
      DECLARE
        v_replay json;
        v_amount bigint := p_amount;
        w wallets;
        r reservations;
      BEGIN
        v_replay := idem_claim(p_principal, p_key, p_fp);
        IF v_replay IS NOT NULL THEN RETURN v_replay; END IF;
        -- A metered hold is what its estimate costs at its meters: the rounding rule, in SQL only.
        IF p_meters IS NOT NULL THEN
          v_amount := ledger_usage_cost(p_meters, p_estimate);
          IF v_amount = 0 THEN
            PERFORM ledger_fail('empty_estimate', format('The estimate %s costs nothing at the prices of %s; there is nothing to reserve',
              p_estimate, p_variant));
          END IF;
        END IF;
        w := ledger_lock(NULL, p_owner, p_now, p_free);
        r := ledger_hold(w, p_id, v_amount, p_now + make_interval(secs => p_expires_in), p_now,
          p_price_id, p_price_version, p_variant, p_quantity, p_ref, p_metadata, p_spender, p_api_key);
        IF p_meters IS NOT NULL THEN
          UPDATE reservations SET meters = p_meters, estimate = p_estimate, max_overage = coalesce(p_max_overage, 0)
            WHERE id = r.id AND wallet_id = w.id RETURNING * INTO r;
        END IF;
        RETURN idem_store(p_principal, p_key, 201, ledger_reservation_view(r, w.owner_id, p_now));
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_settle_usage(w wallets, r reservations, p_usage jsonb, p_now timestamptz)
      RETURNS reservations LANGUAGE plpgsql AS $$
      DECLARE
        v_cost bigint := ledger_usage_cost(r.meters, p_usage);
        v_over bigint := 0;
        v_uncollected bigint := 0;
        v_accounts uuid[];
        v_amounts bigint[];
        v_meta jsonb := CASE WHEN r.ref IS NOT NULL THEN jsonb_build_object('ref', r.ref) END;
      BEGIN
        r := ledger_end_hold(w, r, 'settled', least(v_cost, r.reserved), p_now);
        IF v_cost > r.reserved THEN
          -- Above the hold: from the live buckets, in the spending order, up to max_overage; none while the wallet is frozen.
          IF r.max_overage > 0 AND w.status <> 'frozen' THEN
            SELECT coalesce(sum(p.amount), 0), array_agg(p.bucket_id ORDER BY p.n), array_agg(-p.amount ORDER BY p.n)
              INTO v_over, v_accounts, v_amounts
              FROM ledger_spend_plan(w.id, least(v_cost - r.reserved, r.max_overage), p_now) AS p;
            IF v_over > 0 THEN
              PERFORM ledger_post(w.id, 'overage', v_accounts || '00000000-0000-4000-8000-000000000003'::uuid, v_amounts || v_over,
                p_now, r.id, v_meta);
            END IF;
          END IF;
          -- The rest was delivered but not paid: revenue all the same, owed by uncollected_usage.
          v_uncollected := v_cost - r.reserved - v_over;
          IF v_uncollected > 0 THEN
            PERFORM ledger_post(w.id, 'uncollected', ARRAY['00000000-0000-4000-8000-000000000008', '00000000-0000-4000-8000-000000000003']::uuid[],
              ARRAY[-v_uncollected, v_uncollected], p_now, r.id, v_meta);
          END IF;
        END IF;
        UPDATE reservations SET usage = p_usage, overage = v_over, uncollected = v_uncollected WHERE id = r.id AND wallet_id = w.id RETURNING * INTO r;
        -- Budgets count what the wallet paid: the overage too (never refused: the usage was delivered).
        IF v_over > 0 AND r.counters IS NOT NULL THEN
          UPDATE budget_counters SET used = used + v_over WHERE wallet_id = w.id AND id = ANY (r.counters);
          PERFORM ledger_eval_budget_alerts(w.id, p_now);
        END IF;
        RETURN r;
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_finish(p_principal uuid, p_key text, p_fp text, p_id text, p_action text, p_amount bigint, p_now timestamptz,
                                    p_usage jsonb DEFAULT NULL)
      RETURNS json LANGUAGE plpgsql SET lock_timeout = '2s' AS $$
      DECLARE
        v_replay json;
        w wallets;
        r reservations;
        v_charge bigint;
      BEGIN
        v_replay := idem_claim(p_principal, p_key, p_fp);
        IF v_replay IS NOT NULL THEN RETURN v_replay; END IF;
        -- Wallet lock first, then the reservation is read and checked under it.
        SELECT * INTO w FROM wallets WHERE id = (SELECT wallet_id FROM reservations WHERE id = p_id) FOR UPDATE;
        IF NOT FOUND THEN PERFORM ledger_fail('reservation_not_found', format('No reservation %s', p_id)); END IF;
        SELECT * INTO r FROM reservations WHERE id = p_id AND wallet_id = w.id;
        IF p_action = 'expire' THEN
          IF r.status <> 'pending' OR r.expires_at > p_now THEN RETURN NULL; END IF;
          v_charge := 0;
        ELSE
          IF r.status NOT IN ('pending', 'expired') THEN
            PERFORM ledger_fail('reservation_not_pending', format('Reservation %s is already %s', p_id, r.status));
          END IF;
          IF r.status = 'expired' OR r.expires_at <= p_now THEN
            PERFORM ledger_fail('reservation_expired', format('Reservation %s expired at %s; the sweeper returns its tokens to the wallet',
              p_id, ledger_ts(r.expires_at)));
          END IF;
          IF p_action = 'settle' AND r.meters IS NOT NULL THEN
            -- A metered hold is charged by its usage, at its own meters; an amount would bypass them.
            IF p_usage IS NULL OR p_amount IS NOT NULL THEN
              PERFORM ledger_fail('usage_required', format('Reservation %s is metered (%s); settle it with {usage}', p_id, r.variant));
            END IF;
            r := ledger_settle_usage(w, r, p_usage, p_now);
            RETURN idem_store(p_principal, p_key, 200, ledger_reservation_view(r, w.owner_id, p_now));
          END IF;
          IF p_usage IS NOT NULL THEN
            PERFORM ledger_fail('reservation_not_metered', format('Reservation %s is not metered; settle it with {amount} or no body', p_id));
          END IF;
          v_charge := CASE WHEN p_action = 'settle' THEN coalesce(p_amount, r.reserved) ELSE 0 END;
          IF v_charge > r.reserved THEN
            PERFORM ledger_fail('amount_exceeds_reservation', format('Cannot settle %s of a reservation of %s',
              ledger_tokens(v_charge), ledger_tokens(r.reserved)));
          END IF;
        END IF;
        r := ledger_end_hold(w, r, CASE p_action WHEN 'settle' THEN 'settled' WHEN 'release' THEN 'released' ELSE 'expired' END, v_charge, p_now);
        RETURN idem_store(p_principal, p_key, 200, ledger_reservation_view(r, w.owner_id, p_now));
      END $$`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('WalletKeyedLookups1765500000000 is forward only: restore the backup taken before it'));
  }
}
