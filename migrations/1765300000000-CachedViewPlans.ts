import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Views with cached plans. A LANGUAGE sql function that PostgreSQL cannot
 * inline into its caller runs through the SQL-function executor, which
 * parses, analyses and plans its body again on every call. Measured under the
 * bench (scenario (a), pg_stat_user_functions with track_functions = all and
 * perf): `ledger_reservation_view`, whose metered branch has a sub-select
 * since CreateMeteredReservations, took about 2 ms of PostgreSQL CPU per
 * call, twice per reserve + settle pair, more than the rest of both
 * operations together.
 *
 * Same output, byte for byte; only the language or the form changes:
 * - `ledger_reservation_view`, `ledger_available` and `ledger_budget_view`
 *   (each has a FROM or a sub-select, so none could be inlined) become
 *   PL/pgSQL, whose statements keep their plans per backend;
 * - `ledger_period_end` is IMMUTABLE but cast text to interval (a STABLE
 *   cast), which stops the planner from inlining it: the period's interval
 *   is now a constant per period (day, week, month; the budgets CHECK allows
 *   no other, and total has no end).
 * test/ledger/plan-cache.e2e-spec.ts fails naming any SQL function that the
 * API's routes execute rather than inline.
 */
export class CachedViewPlans1765300000000 implements MigrationInterface {
  name = 'CachedViewPlans1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_reservation_view(r reservations, p_owner text, p_now timestamptz) RETURNS json
      LANGUAGE plpgsql STABLE AS $$
      DECLARE
        v_status text := CASE WHEN r.status = 'pending' AND r.expires_at <= p_now THEN 'expired' ELSE r.status END;
      BEGIN
        IF r.variant IS NULL THEN
          RETURN json_build_object('id', r.id, 'owner_id', p_owner, 'status', v_status,
            'reserved', ledger_tokens(r.reserved), 'settled', ledger_tokens(r.settled), 'released', ledger_tokens(r.released),
            'expires_at', ledger_ts(r.expires_at), 'created_at', ledger_ts(r.created_at), 'finished_at', ledger_ts(r.finished_at),
            'ref', r.ref, 'metadata', r.metadata, 'spender_id', r.spender_id, 'api_key_id', r.api_key_id);
        ELSIF r.meters IS NULL THEN
          RETURN json_build_object('id', r.id, 'owner_id', p_owner, 'status', v_status,
            'reserved', ledger_tokens(r.reserved), 'settled', ledger_tokens(r.settled), 'released', ledger_tokens(r.released),
            'expires_at', ledger_ts(r.expires_at), 'created_at', ledger_ts(r.created_at), 'finished_at', ledger_ts(r.finished_at),
            'ref', r.ref, 'metadata', r.metadata, 'spender_id', r.spender_id, 'api_key_id', r.api_key_id,
            'variant', r.variant, 'quantity', r.quantity, 'price_version', r.price_version);
        END IF;
        RETURN json_build_object('id', r.id, 'owner_id', p_owner, 'status', v_status,
          'reserved', ledger_tokens(r.reserved), 'settled', ledger_tokens(r.settled), 'released', ledger_tokens(r.released),
          'expires_at', ledger_ts(r.expires_at), 'created_at', ledger_ts(r.created_at), 'finished_at', ledger_ts(r.finished_at),
          'ref', r.ref, 'metadata', r.metadata, 'spender_id', r.spender_id, 'api_key_id', r.api_key_id,
          'variant', r.variant,
          'meters', (SELECT json_object_agg(m.unit, json_build_object('price_id', m.v->>'price_id', 'version', (m.v->>'version')::int,
                       'tokens', ledger_tokens((m.v->>'tokens')::bigint)) ORDER BY m.unit) FROM jsonb_each(r.meters) AS m(unit, v)),
          'estimate', r.estimate, 'usage', r.usage, 'max_overage', ledger_tokens(r.max_overage),
          'overage', ledger_tokens(r.overage), 'uncollected', ledger_tokens(r.uncollected));
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_available(p_wallet uuid, p_now timestamptz) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
      BEGIN
        RETURN (SELECT coalesce(sum(remaining), 0)::bigint FROM buckets
                WHERE wallet_id = p_wallet AND remaining > 0 AND (expires_at IS NULL OR expires_at > p_now));
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_budget_view(b budgets, p_now timestamptz) RETURNS json LANGUAGE plpgsql STABLE AS $$
      DECLARE
        v_used bigint;
      BEGIN
        SELECT c.used INTO v_used FROM budget_counters c
        WHERE c.wallet_id = b.wallet_id AND c.budget_id = b.id AND c.period_start = ledger_period_start(b.period, p_now);
        v_used := coalesce(v_used, 0);
        RETURN json_build_object('name', b.name, 'scope', b.scope, 'subject', b.subject, 'period', b.period,
          'limit', ledger_tokens(b.limit_mt), 'used', ledger_tokens(v_used), 'remaining', ledger_tokens(greatest(b.limit_mt - v_used, 0)),
          'period_start', ledger_ts(CASE WHEN b.period = 'total' THEN NULL ELSE ledger_period_start(b.period, p_now) END),
          'resets_at', ledger_ts(ledger_period_end(b.period, p_now)),
          'created_at', ledger_ts(b.created_at), 'updated_at', ledger_ts(b.updated_at));
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_period_end(p_period text, p_at timestamptz) RETURNS timestamptz
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN p_period = 'total' THEN NULL
                    ELSE (date_trunc(p_period, p_at AT TIME ZONE 'UTC')
                          + CASE p_period WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '1 week' WHEN 'month' THEN interval '1 month' END)
                         AT TIME ZONE 'UTC' END
      $$`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('CachedViewPlans1765300000000 is forward only: restore the backup taken before it'));
  }
}
