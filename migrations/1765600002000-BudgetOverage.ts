import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A metered hold's overage stays within the wallet's budgets, and a budget
 * made mid-period counts the overage already paid.
 *
 * - ledger_settle_usage charged usage above the hold up to max_overage from
 *   the live buckets, and added it to the hold's budget counters without a
 *   limit: a 1-token daily budget let a settle take 10 tokens (spec section
 *   9: reservations never overrun a budget; a budget is the wallet's limit
 *   on what it pays). The overage now stops at the least room left (limit
 *   less used) in the budgets whose counters the hold counts in, as their
 *   limits are now; what it cannot take is uncollected, like usage beyond
 *   max_overage (spec section 11: what cannot be collected).
 * - ledger_put_budget's recount of the period, for a budget created while
 *   the period has holds, counted a finished hold's settled amount without
 *   its overage: the new budget read less than it had taken, and the ledger
 *   check of budget counters (VerifyService, check 7) failed. It now counts
 *   settled + overage, as that check does.
 * The rest of both bodies is as before (CreateSpendControls, WalletKeyedLookups).
 */
export class BudgetOverage1765600002000 implements MigrationInterface {
  name = 'BudgetOverage1765600002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_put_budget(p_owner text, p_name text, p_scope text, p_subject text, p_period text, p_limit bigint,
        p_now timestamptz, p_free bigint)
      RETURNS json LANGUAGE plpgsql AS $$
      DECLARE
        w wallets;
        b budgets;
        v_start timestamptz := ledger_period_start(p_period, p_now);
        v_counter bigint;
        v_created boolean := false;
      BEGIN
        w := ledger_lock(NULL, p_owner, p_now, p_free);
        SELECT * INTO b FROM budgets WHERE wallet_id = w.id AND name = p_name;
        IF FOUND AND b.scope = p_scope AND b.subject IS NOT DISTINCT FROM p_subject AND b.period = p_period THEN
          UPDATE budgets SET limit_mt = p_limit, updated_at = p_now WHERE wallet_id = w.id AND id = b.id RETURNING * INTO b;
        ELSE
          v_created := NOT FOUND;
          DELETE FROM budgets WHERE wallet_id = w.id AND name = p_name;
          INSERT INTO budgets (wallet_id, name, scope, subject, period, limit_mt, created_at, updated_at)
            VALUES (w.id, p_name, p_scope, p_subject, p_period, p_limit, coalesce(b.created_at, p_now), p_now) RETURNING * INTO b;
          INSERT INTO budget_counters (wallet_id, budget_id, period_start, used)
            SELECT w.id, b.id, v_start, coalesce(sum(CASE WHEN r.status = 'pending' THEN r.reserved ELSE r.settled + r.overage END), 0)
            FROM reservations r
            WHERE r.wallet_id = w.id AND r.created_at >= v_start
              AND ledger_budget_matches(p_scope, p_subject, r.api_key_id, r.spender_id)
            RETURNING id INTO v_counter;
          UPDATE reservations r SET counters = coalesce(r.counters, '{}') || v_counter
            WHERE r.wallet_id = w.id AND r.created_at >= v_start
              AND ledger_budget_matches(p_scope, p_subject, r.api_key_id, r.spender_id);
        END IF;
        PERFORM ledger_eval_budget_alerts(w.id, p_now);
        RETURN json_build_object('created', v_created, 'budget', ledger_budget_view(b, p_now));
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
        v_room bigint;
      BEGIN
        r := ledger_end_hold(w, r, 'settled', least(v_cost, r.reserved), p_now);
        IF v_cost > r.reserved THEN
          -- Above the hold: from the live buckets, in the spending order, up to max_overage; none while the wallet is frozen.
          -- A budget is a limit on what the wallet pays: the overage stops at the least room left in the budgets the hold counts in.
          v_room := r.max_overage;
          IF r.counters IS NOT NULL THEN
            SELECT min(b.limit_mt - c.used) INTO v_room
              FROM budget_counters c JOIN budgets b ON b.wallet_id = c.wallet_id AND b.id = c.budget_id
              WHERE c.wallet_id = w.id AND c.id = ANY (r.counters);
            -- No budget left (deleted since the reserve): no limit but max_overage.
            v_room := least(r.max_overage, greatest(coalesce(v_room, r.max_overage), 0));
          END IF;
          IF v_room > 0 AND w.status <> 'frozen' THEN
            SELECT coalesce(sum(p.amount), 0), array_agg(p.bucket_id ORDER BY p.n), array_agg(-p.amount ORDER BY p.n)
              INTO v_over, v_accounts, v_amounts
              FROM ledger_spend_plan(w.id, least(v_cost - r.reserved, v_room), p_now) AS p;
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
        -- Budgets count what the wallet paid: the overage too, which stayed within them.
        IF v_over > 0 AND r.counters IS NOT NULL THEN
          UPDATE budget_counters SET used = used + v_over WHERE wallet_id = w.id AND id = ANY (r.counters);
          PERFORM ledger_eval_budget_alerts(w.id, p_now);
        END IF;
        RETURN r;
      END $$`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('BudgetOverage1765600002000 is forward only: restore the backup taken before it'));
  }
}
