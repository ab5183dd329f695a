import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Spend controls and the event stream (spec section 9), in the ledger's SQL so
 * that they are atomic with the money they watch:
 *
 * - **Spenders.** A reservation records its `spender_id` (an end user inside
 *   the wallet's owner) and the API key that made it.
 * - **Budgets.** A budget limits what is held or settled per UTC period for
 *   the wallet, one API key or one spender. Its usage lives in one counter row
 *   per (budget, period start), updated by the reservation's own statement
 *   under the wallet lock, so no number of parallel calls passes a limit and
 *   nothing scans history. A reservation remembers the counters it counted in
 *   (`reservations.counters`): its settle, release or expiry gives back there
 *   what was not charged, whatever budgets exist by then.
 * - **Alerts.** `balance_below` and `budget_used` alerts are evaluated by the
 *   statement that changed the balance or the budget, under the wallet lock:
 *   each flips `triggered` and writes `alert.triggered` / `alert.resolved`.
 * - **Events.** Every change of a wallet writes an event in its transaction,
 *   with a per-wallet `seq` without gaps (the wallet lock orders them). The
 *   feed's position (`pos`) is given after commit by `events_sequence`, one
 *   caller at a time, to the committed events in insert order: a transaction
 *   that commits later always gets a later position, so a consumer following
 *   `pos` sees every event once, and each wallet's events in `seq` order
 *   (docs/decisions/005-event-feed-order.md).
 */
export class CreateSpendControls1764700000000 implements MigrationInterface {
  name = 'CreateSpendControls1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE reservations
        ADD COLUMN spender_id text CHECK (spender_id ~ '^[A-Za-z0-9_.:@-]{1,128}$'),
        ADD COLUMN api_key_id uuid,
        ADD COLUMN counters bigint[]`);
    await q.query(
      `COMMENT ON COLUMN reservations.counters IS 'The budget_counters rows this hold counts in; its end gives back there what was not charged'`,
    );
    await q.query(
      `CREATE INDEX reservations_wallet_spender ON reservations (wallet_id, spender_id, created_at) WHERE spender_id IS NOT NULL`,
    );
    await q.query(`CREATE INDEX reservations_wallet_key ON reservations (wallet_id, api_key_id, created_at) WHERE api_key_id IS NOT NULL`);

    await q.query(`
      CREATE TABLE budgets (
        wallet_id uuid NOT NULL REFERENCES wallets(id),
        id bigint GENERATED ALWAYS AS IDENTITY,
        name text NOT NULL CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
        scope text NOT NULL CHECK (scope IN ('wallet', 'api_key', 'spender')),
        subject text CHECK (subject ~ '^[A-Za-z0-9_.:@-]{1,128}$'),
        period text NOT NULL CHECK (period IN ('day', 'week', 'month', 'total')),
        limit_mt bigint NOT NULL CHECK (limit_mt >= 0),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (wallet_id, id),
        UNIQUE (wallet_id, name),
        CHECK ((scope = 'wallet') = (subject IS NULL))
      )`);
    await q.query(`
      CREATE TABLE budget_counters (
        wallet_id uuid NOT NULL,
        id bigint GENERATED ALWAYS AS IDENTITY,
        budget_id bigint NOT NULL,
        period_start timestamptz NOT NULL,
        used bigint NOT NULL CHECK (used >= 0),
        PRIMARY KEY (wallet_id, id),
        UNIQUE (wallet_id, budget_id, period_start),
        FOREIGN KEY (wallet_id, budget_id) REFERENCES budgets (wallet_id, id) ON DELETE CASCADE
      )`);
    await q.query(`
      CREATE TABLE alerts (
        wallet_id uuid NOT NULL REFERENCES wallets(id),
        name text NOT NULL CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
        type text NOT NULL CHECK (type IN ('balance_below', 'budget_used')),
        threshold bigint CHECK (threshold >= 0),
        budget text,
        percent int CHECK (percent BETWEEN 1 AND 100),
        triggered boolean NOT NULL DEFAULT false,
        changed_at timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (wallet_id, name),
        CHECK ((type = 'balance_below' AND threshold IS NOT NULL AND budget IS NULL AND percent IS NULL)
            OR (type = 'budget_used' AND threshold IS NULL AND budget IS NOT NULL AND percent IS NOT NULL))
      )`);
    await q.query(`
      CREATE TABLE events (
        wallet_id uuid NOT NULL,
        seq bigint NOT NULL CHECK (seq > 0),
        n bigint GENERATED ALWAYS AS IDENTITY,
        pos bigint,
        type text NOT NULL,
        data jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (wallet_id, seq)
      )`);
    await q.query(`COMMENT ON COLUMN events.n IS 'Insert order (under the wallet lock, so per wallet it follows seq)'`);
    await q.query(
      `COMMENT ON COLUMN events.pos IS 'Position in the feed, given after commit by events_sequence; the public id is evt_<pos>'`,
    );
    await q.query(`CREATE UNIQUE INDEX events_pos ON events (pos) WHERE pos IS NOT NULL`);
    await q.query(`CREATE INDEX events_wallet_pos ON events (wallet_id, pos) WHERE pos IS NOT NULL`);
    await q.query(`CREATE INDEX events_unsequenced ON events (n) WHERE pos IS NULL`);
    await q.query(`CREATE TABLE event_feed (one boolean PRIMARY KEY DEFAULT true CHECK (one), last_pos bigint NOT NULL)`);
    await q.query(`INSERT INTO event_feed (last_pos) VALUES (0)`);

    // A domain error with extension members for the problem (the HINT carries them as JSON).
    await q.query(`
      CREATE FUNCTION ledger_fail_with(p_code text, p_detail text, p_ext jsonb) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION USING ERRCODE = 'TW001', MESSAGE = p_code, DETAIL = p_detail, HINT = p_ext::text;
      END $$`);

    // Wallets from before the stream open it with their balance, so replaying any wallet's events
    // gives its balance.
    await q.query(`
      INSERT INTO events (wallet_id, seq, type, data, created_at, pos)
      SELECT w.id, 1, 'wallet.created',
        jsonb_build_object('owner_id', w.owner_id, 'opening', true, 'balance_change', jsonb_build_object(
          'available', ledger_tokens((SELECT coalesce(sum(remaining), 0) FROM buckets b WHERE b.wallet_id = w.id)::bigint),
          'held', ledger_tokens((SELECT coalesce(sum(reserved), 0) FROM reservations r WHERE r.wallet_id = w.id AND r.status = 'pending')::bigint))),
        now(), row_number() OVER (ORDER BY w.created_at, w.id)
      FROM wallets w`);
    await q.query(`UPDATE event_feed SET last_pos = (SELECT count(*) FROM events)`);

    // ---- events ---------------------------------------------------------------------------
    // The caller holds the wallet lock: seq is the wallet's last plus one, without gaps.
    await q.query(`
      CREATE FUNCTION ledger_event(p_wallet uuid, p_type text, p_data jsonb, p_at timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE
        v_seq bigint;
      BEGIN
        INSERT INTO events (wallet_id, seq, type, data, created_at)
          SELECT p_wallet, coalesce(max(seq), 0) + 1, p_type, p_data, p_at FROM events WHERE wallet_id = p_wallet
          RETURNING seq INTO v_seq;
        RETURN v_seq;
      END $$`);
    // Positions the committed events that have none, in insert order. One caller at a time (the
    // event_feed row lock); each statement sees every transaction committed before it started,
    // so whatever commits later is positioned later. Per wallet, insert order is seq order, and an
    // event is visible only if the wallet's earlier ones are (they committed first).
    await q.query(`
      CREATE FUNCTION events_sequence(p_limit int) RETURNS int LANGUAGE plpgsql AS $$
      DECLARE
        v_last bigint;
        v_n int;
      BEGIN
        SELECT last_pos INTO v_last FROM event_feed FOR UPDATE;
        WITH todo AS (
          SELECT wallet_id, seq, row_number() OVER (ORDER BY n) AS k
          FROM (SELECT wallet_id, seq, n FROM events WHERE pos IS NULL ORDER BY n LIMIT p_limit) x
        ), u AS (
          UPDATE events e SET pos = v_last + t.k FROM todo t WHERE e.wallet_id = t.wallet_id AND e.seq = t.seq RETURNING 1
        )
        SELECT count(*) INTO v_n FROM u;
        IF v_n > 0 THEN UPDATE event_feed SET last_pos = v_last + v_n; END IF;
        RETURN v_n;
      END $$`);
    await q.query(`ALTER FUNCTION events_sequence(int) SET lock_timeout = '5s'`);

    // ---- periods --------------------------------------------------------------------------
    await q.query(`
      CREATE FUNCTION ledger_period_start(p_period text, p_at timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN p_period = 'total' THEN timestamptz '1970-01-01 00:00:00+00'
                    ELSE date_trunc(p_period, p_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' END
      $$`);
    await q.query(`
      CREATE FUNCTION ledger_period_end(p_period text, p_at timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN p_period = 'total' THEN NULL
                    ELSE (date_trunc(p_period, p_at AT TIME ZONE 'UTC') + ('1 ' || p_period)::interval) AT TIME ZONE 'UTC' END
      $$`);

    // ---- alerts ---------------------------------------------------------------------------
    // Each evaluation is one UPDATE that flips only the alerts whose condition changed (usually
    // none: no row, and the balance is not even summed), then one event per flip.
    await q.query(`
      CREATE FUNCTION ledger_eval_balance_alerts(p_wallet uuid, p_at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        f record;
      BEGIN
        -- The sum is an InitPlan: run only when the wallet has a balance alert.
        FOR f IN UPDATE alerts a SET triggered = NOT a.triggered, changed_at = p_at
                 WHERE a.wallet_id = p_wallet AND a.type = 'balance_below'
                   AND a.triggered <> ((SELECT ledger_available(p_wallet, p_at)) < a.threshold)
                 RETURNING a.name, a.triggered, a.threshold, (SELECT ledger_available(p_wallet, p_at)) AS available LOOP
          PERFORM ledger_event(p_wallet, CASE WHEN f.triggered THEN 'alert.triggered' ELSE 'alert.resolved' END,
            jsonb_build_object('alert', f.name, 'type', 'balance_below', 'threshold', ledger_tokens(f.threshold),
              'available', ledger_tokens(f.available)), p_at);
        END LOOP;
      END $$`);
    await q.query(`
      CREATE FUNCTION ledger_eval_budget_alerts(p_wallet uuid, p_at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        f record;
      BEGIN
        -- used/limit >= percent/100, in integers; a zero limit is used up from the start.
        FOR f IN WITH u AS (
                   SELECT b.name, b.limit_mt, b.period, coalesce(c.used, 0) AS used FROM budgets b
                   LEFT JOIN budget_counters c ON c.wallet_id = b.wallet_id AND c.budget_id = b.id
                     AND c.period_start = ledger_period_start(b.period, p_at)
                   WHERE b.wallet_id = p_wallet)
                 UPDATE alerts a SET triggered = NOT a.triggered, changed_at = p_at FROM u
                 WHERE a.wallet_id = p_wallet AND a.type = 'budget_used' AND u.name = a.budget
                   AND a.triggered <> (u.used * 100 >= u.limit_mt * a.percent)
                 RETURNING a.name, a.triggered, a.budget, a.percent, u.limit_mt, u.used, u.period LOOP
          PERFORM ledger_event(p_wallet, CASE WHEN f.triggered THEN 'alert.triggered' ELSE 'alert.resolved' END,
            jsonb_build_object('alert', f.name, 'type', 'budget_used', 'budget', f.budget, 'percent', f.percent,
              'limit', ledger_tokens(f.limit_mt), 'used', ledger_tokens(f.used), 'resets_at', ledger_ts(ledger_period_end(f.period, p_at))), p_at);
        END LOOP;
      END $$`);

    // ---- transfers now write their event and evaluate balance alerts ------------------------
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_post(p_wallet uuid, p_kind text, p_accounts uuid[], p_amounts bigint[], p_at timestamptz, p_ref text, p_metadata jsonb)
      RETURNS uuid LANGUAGE plpgsql AS $$
      DECLARE
        v_id uuid := gen_random_uuid();
        v_system uuid[] := ARRAY['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002',
          '00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000005',
          '00000000-0000-4000-8000-000000000006', '00000000-0000-4000-8000-000000000007']::uuid[];
        v_sum bigint := 0;
        v_legs int := 0;
        v_available bigint := 0;
        v_held bigint := 0;
        v_revenue bigint := 0;
        v_type text;
        v_data jsonb;
        i int;
      BEGIN
        FOR i IN 1 .. coalesce(array_length(p_accounts, 1), 0) LOOP
          CONTINUE WHEN p_amounts[i] = 0;
          v_sum := v_sum + p_amounts[i];
          v_legs := v_legs + 1;
          IF p_accounts[i] <> ALL (v_system) THEN v_available := v_available + p_amounts[i];
          ELSIF p_accounts[i] = '00000000-0000-4000-8000-000000000004' THEN v_held := v_held + p_amounts[i];
          ELSIF p_accounts[i] = '00000000-0000-4000-8000-000000000003' THEN v_revenue := v_revenue + p_amounts[i];
          END IF;
        END LOOP;
        -- A transfer that creates or destroys value is a bug, never a business outcome.
        IF v_sum <> 0 OR v_legs < 2 THEN
          RAISE EXCEPTION 'unbalanced transfer (% legs summing to %)', v_legs, v_sum USING ERRCODE = 'TW900';
        END IF;
        INSERT INTO transfers (id, wallet_id, kind, amount, ref, metadata, created_at)
          VALUES (v_id, p_wallet, p_kind, v_available, p_ref, p_metadata, p_at);
        INSERT INTO entries (transfer_id, account_id, wallet_id, amount)
          SELECT v_id, a, p_wallet, m FROM unnest(p_accounts, p_amounts) WITH ORDINALITY AS x(a, m, n) WHERE m <> 0 ORDER BY n;
        -- System accounts get entries only, so they never become hot rows; CHECK (remaining >= 0) refuses an overdraft.
        FOR i IN 1 .. array_length(p_accounts, 1) LOOP
          CONTINUE WHEN p_amounts[i] = 0 OR p_accounts[i] = ANY (v_system);
          UPDATE buckets SET remaining = remaining + p_amounts[i] WHERE id = p_accounts[i];
          IF NOT FOUND THEN RAISE EXCEPTION 'transfer names bucket % which does not exist', p_accounts[i] USING ERRCODE = 'TW900'; END IF;
        END LOOP;
        -- The wallet's event: what changed, enough to rebuild its balance from the stream.
        v_type := CASE p_kind WHEN 'reserve' THEN 'reservation.created' WHEN 'settle' THEN 'reservation.settled'
                    WHEN 'release' THEN 'reservation.released'
                    WHEN 'expire' THEN CASE WHEN v_held <> 0 THEN 'reservation.expired' ELSE 'credit.expired' END
                    WHEN 'clawback' THEN 'credit.clawed_back' ELSE 'credit.created' END;
        v_data := jsonb_build_object('transfer_id', v_id, 'kind', p_kind, 'ref', p_ref,
          'balance_change', jsonb_build_object('available', ledger_tokens(v_available), 'held', ledger_tokens(v_held)));
        IF v_type LIKE 'reservation.%' THEN
          v_data := v_data || jsonb_build_object('reservation_id', p_ref, 'reserved', ledger_tokens(abs(v_held)));
          IF v_type <> 'reservation.created' THEN
            v_data := v_data || jsonb_build_object('settled', ledger_tokens(v_revenue), 'released', ledger_tokens(abs(v_held) - v_revenue));
          END IF;
        ELSE
          v_data := v_data || jsonb_build_object('amount', ledger_tokens(v_available), 'metadata', p_metadata);
        END IF;
        PERFORM ledger_event(p_wallet, v_type, v_data, p_at);
        IF v_available <> 0 THEN PERFORM ledger_eval_balance_alerts(p_wallet, p_at); END IF;
        RETURN v_id;
      END $$`);

    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_create_wallet(p_owner text, p_now timestamptz, p_free bigint) RETURNS boolean LANGUAGE plpgsql AS $$
      DECLARE
        v_id uuid;
      BEGIN
        INSERT INTO wallets (owner_id, created_at, updated_at) VALUES (p_owner, p_now, p_now) ON CONFLICT (owner_id) DO NOTHING
          RETURNING id INTO v_id;
        -- The new row is ours until commit, so its first event needs no other lock.
        IF v_id IS NOT NULL THEN PERFORM ledger_event(v_id, 'wallet.created', jsonb_build_object('owner_id', p_owner), p_now); END IF;
        PERFORM ledger_lock(NULL, p_owner, p_now, p_free);
        RETURN v_id IS NOT NULL;
      END $$`);

    // ---- freezes ----------------------------------------------------------------------------
    await q.query(`
      CREATE FUNCTION ledger_freeze(p_wallet uuid, p_cause text, p_freeze boolean, p_at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        w wallets;
        v_freezes text[];
      BEGIN
        SELECT * INTO w FROM wallets WHERE id = p_wallet FOR UPDATE;
        v_freezes := CASE WHEN p_freeze THEN (CASE WHEN p_cause = ANY (w.freezes) THEN w.freezes ELSE array_append(w.freezes, p_cause) END)
                          WHEN p_cause = 'all' THEN '{}'::text[] ELSE array_remove(w.freezes, p_cause) END;
        UPDATE wallets SET freezes = v_freezes, status = CASE WHEN cardinality(v_freezes) = 0 THEN 'active' ELSE 'frozen' END, updated_at = p_at
          WHERE id = p_wallet;
        IF (cardinality(v_freezes) > 0) <> (w.status = 'frozen') THEN
          PERFORM ledger_event(p_wallet, CASE WHEN cardinality(v_freezes) > 0 THEN 'wallet.frozen' ELSE 'wallet.unfrozen' END,
            jsonb_build_object('cause', p_cause, 'causes', to_jsonb(v_freezes)), p_at);
        END IF;
      END $$`);

    // Whether a budget of this scope and subject counts a hold of this API key and spender: the one
    // definition, for the reservation's count and for a new budget's count of its period. A SQL
    // function the planner inlines, so it costs the hot path nothing.
    await q.query(`
      CREATE FUNCTION ledger_budget_matches(p_scope text, p_subject text, p_api_key uuid, p_spender text) RETURNS boolean
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT p_scope = 'wallet' OR (p_scope = 'api_key' AND p_subject = p_api_key::text) OR (p_scope = 'spender' AND p_subject = p_spender)
      $$`);

    // ---- budgets ----------------------------------------------------------------------------
    // Counts p_amount in every budget of the wallet that matches the hold (under the wallet lock);
    // fails budget_exceeded, naming the budget, when one would pass its limit. Returns the counters
    // (the caller evaluates the budget alerts once its own event is written).
    await q.query(`
      CREATE FUNCTION ledger_count_budgets(w wallets, p_amount bigint, p_spender text, p_api_key uuid, p_now timestamptz)
      RETURNS bigint[] LANGUAGE plpgsql AS $$
      DECLARE
        v_counters bigint[];
        v_over bigint;
        b budgets;
        v_used bigint;
      BEGIN
        -- One statement for every matching budget: count the hold, and see whether one is passed.
        WITH m AS (
          SELECT id, limit_mt, period, name FROM budgets WHERE wallet_id = w.id
            AND ledger_budget_matches(scope, subject, p_api_key, p_spender)
        ), up AS (
          INSERT INTO budget_counters (wallet_id, budget_id, period_start, used)
            SELECT w.id, m.id, ledger_period_start(m.period, p_now), p_amount FROM m
            ON CONFLICT (wallet_id, budget_id, period_start) DO UPDATE SET used = budget_counters.used + excluded.used
            RETURNING id, budget_id, used
        )
        SELECT array_agg(up.id ORDER BY up.id), (array_agg(m.id ORDER BY m.name) FILTER (WHERE up.used > m.limit_mt))[1]
          INTO v_counters, v_over
          FROM up JOIN m ON m.id = up.budget_id;
        IF v_over IS NOT NULL THEN
          SELECT * INTO b FROM budgets WHERE wallet_id = w.id AND id = v_over;
          SELECT used - p_amount INTO v_used FROM budget_counters
            WHERE wallet_id = w.id AND budget_id = v_over AND period_start = ledger_period_start(b.period, p_now);
          PERFORM ledger_fail_with('budget_exceeded', format('Budget %s: limit %s per %s, %s used, %s requested; resets at %s',
              b.name, ledger_tokens(b.limit_mt), b.period, ledger_tokens(v_used), ledger_tokens(p_amount),
              coalesce(ledger_ts(ledger_period_end(b.period, p_now)), 'never (period total)')),
            jsonb_build_object('budget', jsonb_build_object('name', b.name, 'scope', b.scope, 'subject', b.subject, 'period', b.period,
              'limit', ledger_tokens(b.limit_mt), 'used', ledger_tokens(v_used), 'requested', ledger_tokens(p_amount),
              'resets_at', ledger_ts(ledger_period_end(b.period, p_now)))));
        END IF;
        RETURN v_counters;
      END $$`);

    await q.query(`
      CREATE FUNCTION ledger_budget_view(b budgets, p_now timestamptz) RETURNS json LANGUAGE sql STABLE AS $$
        SELECT json_build_object('name', b.name, 'scope', b.scope, 'subject', b.subject, 'period', b.period,
          'limit', ledger_tokens(b.limit_mt), 'used', ledger_tokens(u.used), 'remaining', ledger_tokens(greatest(b.limit_mt - u.used, 0)),
          'period_start', ledger_ts(CASE WHEN b.period = 'total' THEN NULL ELSE ledger_period_start(b.period, p_now) END),
          'resets_at', ledger_ts(ledger_period_end(b.period, p_now)),
          'created_at', ledger_ts(b.created_at), 'updated_at', ledger_ts(b.updated_at))
        FROM (SELECT coalesce((SELECT used FROM budget_counters c WHERE c.wallet_id = b.wallet_id AND c.budget_id = b.id
                                 AND c.period_start = ledger_period_start(b.period, p_now)), 0) AS used) u
      $$`);

    // Creates or replaces a budget. The same scope, subject and period keep their counters (only the
    // limit changes); a new definition counts, once, what the wallet already held or settled in the
    // current period, and joins the counters of the holds it counted (so that a counter is always
    // the sum of what its holds hold or took: ledger verify checks it).
    await q.query(`
      CREATE FUNCTION ledger_put_budget(p_owner text, p_name text, p_scope text, p_subject text, p_period text, p_limit bigint, p_now timestamptz, p_free bigint)
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
            SELECT w.id, b.id, v_start, coalesce(sum(CASE WHEN r.status = 'pending' THEN r.reserved ELSE r.settled END), 0)
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
      CREATE FUNCTION ledger_delete_budget(p_owner text, p_name text, p_now timestamptz, p_free bigint) RETURNS boolean LANGUAGE plpgsql AS $$
      DECLARE
        w wallets;
      BEGIN
        w := ledger_lock(NULL, p_owner, p_now, p_free);
        IF EXISTS (SELECT 1 FROM alerts WHERE wallet_id = w.id AND budget = p_name) THEN
          PERFORM ledger_fail('budget_in_use', format('Budget %s has alerts; delete them first', p_name));
        END IF;
        DELETE FROM budgets WHERE wallet_id = w.id AND name = p_name;
        RETURN FOUND;
      END $$`);

    await q.query(`
      CREATE FUNCTION ledger_alert_view(a alerts) RETURNS json LANGUAGE sql STABLE AS $$
        SELECT json_build_object('name', a.name, 'type', a.type, 'threshold', CASE WHEN a.threshold IS NOT NULL THEN ledger_tokens(a.threshold) END,
          'budget', a.budget, 'percent', a.percent, 'state', CASE WHEN a.triggered THEN 'triggered' ELSE 'ok' END,
          'changed_at', ledger_ts(a.changed_at), 'created_at', ledger_ts(a.created_at), 'updated_at', ledger_ts(a.updated_at))
      $$`);
    // Creates or replaces an alert and evaluates it at once: one whose condition already holds fires now.
    await q.query(`
      CREATE FUNCTION ledger_put_alert(p_owner text, p_name text, p_type text, p_threshold bigint, p_budget text, p_percent int, p_now timestamptz, p_free bigint)
      RETURNS json LANGUAGE plpgsql AS $$
      DECLARE
        w wallets;
        a alerts;
        v_created boolean;
      BEGIN
        w := ledger_lock(NULL, p_owner, p_now, p_free);
        IF p_type = 'budget_used' AND NOT EXISTS (SELECT 1 FROM budgets WHERE wallet_id = w.id AND name = p_budget) THEN
          PERFORM ledger_fail('budget_not_found', format('Wallet %s has no budget %s', p_owner, p_budget));
        END IF;
        INSERT INTO alerts (wallet_id, name, type, threshold, budget, percent, created_at, updated_at)
          VALUES (w.id, p_name, p_type, p_threshold, p_budget, p_percent, p_now, p_now)
          ON CONFLICT (wallet_id, name) DO UPDATE SET type = excluded.type, threshold = excluded.threshold, budget = excluded.budget,
            percent = excluded.percent, updated_at = excluded.updated_at
          RETURNING (xmax = 0) INTO v_created;
        IF p_type = 'balance_below' THEN PERFORM ledger_eval_balance_alerts(w.id, p_now); ELSE PERFORM ledger_eval_budget_alerts(w.id, p_now); END IF;
        SELECT * INTO a FROM alerts WHERE wallet_id = w.id AND name = p_name;
        RETURN json_build_object('created', v_created, 'alert', ledger_alert_view(a));
      END $$`);
    await q.query(`
      CREATE FUNCTION ledger_delete_alert(p_owner text, p_name text, p_now timestamptz, p_free bigint) RETURNS boolean LANGUAGE plpgsql AS $$
      DECLARE
        w wallets;
      BEGIN
        w := ledger_lock(NULL, p_owner, p_now, p_free);
        DELETE FROM alerts WHERE wallet_id = w.id AND name = p_name;
        RETURN FOUND;
      END $$`);

    // ---- holds with spenders and budgets --------------------------------------------------------
    await q.query(`DROP FUNCTION ledger_reserve_all(text, text[], bigint[], int[], text[], int, timestamptz, bigint, bigint, int, text)`);
    await q.query(
      `DROP FUNCTION ledger_reserve(uuid, text, text, text, text, bigint, int, timestamptz, bigint, bigint, int, text, int, text, jsonb)`,
    );
    await q.query(`DROP FUNCTION ledger_hold(wallets, text, bigint, timestamptz, timestamptz, bigint, int, text, int, text, jsonb)`);
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_reservation_view(r reservations, p_owner text, p_now timestamptz) RETURNS json LANGUAGE sql STABLE AS $$
        SELECT CASE WHEN r.variant IS NULL THEN
          json_build_object('id', r.id, 'owner_id', p_owner,
            'status', CASE WHEN r.status = 'pending' AND r.expires_at <= p_now THEN 'expired' ELSE r.status END,
            'reserved', ledger_tokens(r.reserved), 'settled', ledger_tokens(r.settled), 'released', ledger_tokens(r.released),
            'expires_at', ledger_ts(r.expires_at), 'created_at', ledger_ts(r.created_at), 'finished_at', ledger_ts(r.finished_at),
            'ref', r.ref, 'metadata', r.metadata, 'spender_id', r.spender_id, 'api_key_id', r.api_key_id)
        ELSE
          json_build_object('id', r.id, 'owner_id', p_owner,
            'status', CASE WHEN r.status = 'pending' AND r.expires_at <= p_now THEN 'expired' ELSE r.status END,
            'reserved', ledger_tokens(r.reserved), 'settled', ledger_tokens(r.settled), 'released', ledger_tokens(r.released),
            'expires_at', ledger_ts(r.expires_at), 'created_at', ledger_ts(r.created_at), 'finished_at', ledger_ts(r.finished_at),
            'ref', r.ref, 'metadata', r.metadata, 'spender_id', r.spender_id, 'api_key_id', r.api_key_id,
            'variant', r.variant, 'quantity', r.quantity, 'price_version', r.price_version)
        END
      $$`);
    await q.query(`
      CREATE FUNCTION ledger_hold(w wallets, p_id text, p_amount bigint, p_expires timestamptz, p_now timestamptz,
                                  p_price_id bigint, p_price_version int, p_variant text, p_quantity int, p_ref text, p_metadata jsonb,
                                  p_spender text, p_api_key uuid)
      RETURNS reservations LANGUAGE plpgsql AS $$
      DECLARE
        v_funding jsonb;
        v_total bigint;
        v_accounts uuid[];
        v_amounts bigint[];
        v_counters bigint[];
        r reservations;
      BEGIN
        IF w.status = 'frozen' THEN PERFORM ledger_fail('wallet_frozen', format('Wallet %s is frozen; spending is blocked', w.owner_id)); END IF;
        SELECT jsonb_agg(jsonb_build_object('bucket_id', p.bucket_id, 'amount', p.amount::text) ORDER BY p.n), sum(p.amount),
               array_agg(p.bucket_id ORDER BY p.n), array_agg(-p.amount ORDER BY p.n)
          INTO v_funding, v_total, v_accounts, v_amounts
          FROM ledger_spend_plan(w.id, p_amount, p_now) WITH ORDINALITY AS p(bucket_id, amount, n);
        IF coalesce(v_total, 0) < p_amount THEN
          PERFORM ledger_fail('insufficient_funds', format('Wallet %s has %s tokens available; %s were requested',
            w.owner_id, ledger_tokens(ledger_available(w.id, p_now)), ledger_tokens(p_amount)));
        END IF;
        v_counters := ledger_count_budgets(w, p_amount, p_spender, p_api_key, p_now);
        INSERT INTO reservations (id, wallet_id, status, reserved, funding, expires_at, price_id, price_version, variant, quantity, ref, metadata,
                                  spender_id, api_key_id, counters, created_at)
          VALUES (p_id, w.id, 'pending', p_amount, v_funding, p_expires, p_price_id, p_price_version, p_variant, p_quantity, p_ref, p_metadata,
                  p_spender, p_api_key, v_counters, p_now)
          RETURNING * INTO r;
        PERFORM ledger_post(w.id, 'reserve', v_accounts || '00000000-0000-4000-8000-000000000004'::uuid, v_amounts || p_amount,
          p_now, p_id, CASE WHEN p_ref IS NOT NULL THEN jsonb_build_object('ref', p_ref) END);
        IF v_counters IS NOT NULL THEN PERFORM ledger_eval_budget_alerts(w.id, p_now); END IF;
        RETURN r;
      END $$`);
    await q.query(`
      CREATE FUNCTION ledger_reserve(p_principal uuid, p_key text, p_fp text, p_owner text, p_id text, p_amount bigint,
                                     p_expires_in int, p_now timestamptz, p_free bigint, p_price_id bigint, p_price_version int,
                                     p_variant text, p_quantity int, p_ref text, p_metadata jsonb, p_spender text, p_api_key uuid)
      RETURNS json LANGUAGE plpgsql SET lock_timeout = '2s' AS $$
      DECLARE
        v_replay json;
        w wallets;
        r reservations;
      BEGIN
        v_replay := idem_claim(p_principal, p_key, p_fp);
        IF v_replay IS NOT NULL THEN RETURN v_replay; END IF;
        w := ledger_lock(NULL, p_owner, p_now, p_free);
        r := ledger_hold(w, p_id, p_amount, p_now + make_interval(secs => p_expires_in), p_now,
          p_price_id, p_price_version, p_variant, p_quantity, p_ref, p_metadata, p_spender, p_api_key);
        RETURN idem_store(p_principal, p_key, 201, ledger_reservation_view(r, w.owner_id, p_now));
      END $$`);
    // A batch: every item reserved under one lock, all or nothing (funds and budgets).
    await q.query(`
      CREATE FUNCTION ledger_reserve_all(p_owner text, p_ids text[], p_amounts bigint[], p_quantities int[], p_refs text[],
                                         p_expires_in int, p_now timestamptz, p_free bigint, p_price_id bigint, p_price_version int, p_variant text,
                                         p_spender text, p_api_key uuid)
      RETURNS TABLE (id text, wallet_id uuid) LANGUAGE plpgsql SET lock_timeout = '2s' AS $$
      DECLARE
        w wallets;
        v_total bigint;
        i int;
      BEGIN
        w := ledger_lock(NULL, p_owner, p_now, p_free);
        SELECT sum(m) INTO v_total FROM unnest(p_amounts) AS m;
        IF w.status <> 'frozen' AND ledger_available(w.id, p_now) < v_total THEN
          PERFORM ledger_fail('insufficient_funds', format('Wallet %s has %s tokens available; %s were requested',
            w.owner_id, ledger_tokens(ledger_available(w.id, p_now)), ledger_tokens(v_total)));
        END IF;
        FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
          PERFORM ledger_hold(w, p_ids[i], p_amounts[i], p_now + make_interval(secs => p_expires_in), p_now,
            p_price_id, p_price_version, p_variant, p_quantities[i], p_refs[i], NULL, p_spender, p_api_key);
          id := p_ids[i];
          wallet_id := w.id;
          RETURN NEXT;
        END LOOP;
      END $$`);

    // Ends a pending hold: the charge to revenue, the rest back to the buckets it came from, and
    // back to the budgets it counted in.
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_end_hold(w wallets, r reservations, p_status text, p_charge bigint, p_now timestamptz)
      RETURNS reservations LANGUAGE plpgsql AS $$
      DECLARE
        v_buckets uuid[];
        v_returned bigint[];
        v_due boolean;
      BEGIN
        SELECT array_agg(s.bucket_id ORDER BY s.n), array_agg(s.returned ORDER BY s.n) INTO v_buckets, v_returned
          FROM ledger_split(r.funding, p_charge) WITH ORDINALITY AS s(bucket_id, funded, charged, returned, n);
        PERFORM ledger_post(w.id, CASE p_status WHEN 'settled' THEN 'settle' WHEN 'released' THEN 'release' ELSE 'expire' END,
          ARRAY['00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000003']::uuid[] || v_buckets,
          ARRAY[-r.reserved, p_charge] || v_returned, p_now, r.id, CASE WHEN r.ref IS NOT NULL THEN jsonb_build_object('ref', r.ref) END);
        -- The conditional UPDATE is the last guard against ending a hold twice.
        UPDATE reservations SET status = p_status, settled = p_charge, released = r.reserved - p_charge, finished_at = p_now
          WHERE id = r.id AND status = 'pending' RETURNING * INTO r;
        IF NOT FOUND THEN RAISE EXCEPTION 'reservation % was finished concurrently despite the wallet lock', r.id USING ERRCODE = 'TW900'; END IF;
        IF r.counters IS NOT NULL AND r.released > 0 THEN
          UPDATE budget_counters SET used = used - r.released WHERE wallet_id = w.id AND id = ANY (r.counters);
          PERFORM ledger_eval_budget_alerts(w.id, p_now);
        END IF;
        SELECT EXISTS (SELECT 1 FROM buckets WHERE id = ANY (v_buckets) AND clawback_due > 0) INTO v_due;
        IF v_due THEN PERFORM ledger_resolve_due(w, v_buckets, v_returned, p_now, r.id); END IF;
        RETURN r;
      END $$`);
  }

  /** Forward only: the ledger's functions of before are not kept here; restore a backup taken before this migration. */
  down(): Promise<void> {
    return Promise.reject(new Error('CreateSpendControls1764700000000 is forward only: restore the backup taken before it'));
  }
}
