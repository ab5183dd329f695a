import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ledger core v2: every money rule of the ledger as PL/pgSQL, so that a
 * reserve, a settle, a release, an expiry or a credit is one statement (one
 * round trip) whose idempotency claim, wallet lock, weekly grant, spend,
 * transfer, entries, hold and stored response commit together or not at all.
 * docs/decisions/004-ledger-in-plpgsql.md says why; libs/ledger/src/ledger.ts is
 * the only caller. Domain errors are raised with SQLSTATE TW001, the message
 * being the problem `code` and the detail its text.
 *
 * The hot path's helpers (spend plan, split, post) are PL/pgSQL, so their
 * plans are cached per connection: a SQL-language set-returning function that
 * cannot be inlined is planned again on every call.
 *
 * Reversals of Stripe payments (refunds, disputes) are tracked per bucket:
 * `reversed` is the tokens the payment's reversals take back; they are
 * `clawed` from what is left in the bucket, held as `clawback_due` while a
 * pending hold has them (a release or expiry then claws them instead of
 * returning them), and booked as `lost` (chargeback losses) only when they
 * were really spent. `clawed + lost + clawback_due = reversed` always.
 */
export class CreateLedgerFunctions1764500000000 implements MigrationInterface {
  name = 'CreateLedgerFunctions1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE buckets
        ADD COLUMN reversed bigint NOT NULL DEFAULT 0 CHECK (reversed >= 0),
        ADD COLUMN clawed bigint NOT NULL DEFAULT 0 CHECK (clawed >= 0),
        ADD COLUMN lost bigint NOT NULL DEFAULT 0 CHECK (lost >= 0),
        ADD COLUMN clawback_due bigint NOT NULL DEFAULT 0 CHECK (clawback_due >= 0),
        ADD CONSTRAINT buckets_reversal_parts CHECK (clawed + lost + clawback_due = reversed),
        ADD CONSTRAINT buckets_reversal_bound CHECK (reversed <= granted)`);
    // Existing clawbacks (before this migration) were booked in full at once; they stay as they are.
    await q.query(`ALTER TABLE wallets ADD COLUMN freezes text[] NOT NULL DEFAULT '{}'`);
    await q.query(`UPDATE wallets SET freezes = '{admin}' WHERE status = 'frozen'`);
    await q.query(
      `COMMENT ON COLUMN wallets.freezes IS 'Why the wallet is frozen (admin, dispute:<id>): status is frozen while any cause remains'`,
    );

    // ---- formatting, errors ---------------------------------------------------------------
    await q.query(`
      CREATE FUNCTION ledger_tokens(mt bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN mt < 0 THEN '-' ELSE '' END || (abs(mt) / 1000)::text || '.' || lpad((abs(mt) % 1000)::text, 3, '0')
      $$`);
    await q.query(`
      CREATE FUNCTION ledger_ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      $$`);
    await q.query(`
      CREATE FUNCTION ledger_fail(p_code text, p_detail text) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION USING ERRCODE = 'TW001', MESSAGE = p_code, DETAIL = p_detail;
      END $$`);

    // ---- idempotency (the table is common's; these are its SQL forms) ------------------
    await q.query(`
      CREATE FUNCTION idem_claim(p_principal uuid, p_key text, p_fp text) RETURNS json LANGUAGE plpgsql AS $$
      DECLARE
        k idempotency_keys;
      BEGIN
        IF p_principal IS NULL THEN RETURN NULL; END IF;
        -- A concurrent duplicate waits here on the unique index until the first commits.
        INSERT INTO idempotency_keys (principal_id, key, fingerprint) VALUES (p_principal, p_key, p_fp)
          ON CONFLICT (principal_id, key) DO NOTHING;
        IF FOUND THEN RETURN NULL; END IF;
        SELECT * INTO k FROM idempotency_keys WHERE principal_id = p_principal AND key = p_key;
        IF k.status_code IS NULL THEN
          PERFORM ledger_fail('idempotency_key_in_flight', 'A request with this Idempotency-Key is still being processed');
        END IF;
        IF k.fingerprint <> p_fp THEN
          PERFORM ledger_fail('idempotency_key_reused', 'This Idempotency-Key was already used with a different request');
        END IF;
        RETURN json_build_object('status', k.status_code, 'replayed', true, 'body', k.response::json);
      END $$`);
    await q.query(`
      CREATE FUNCTION idem_store(p_principal uuid, p_key text, p_status int, p_body json) RETURNS json LANGUAGE plpgsql AS $$
      BEGIN
        IF p_principal IS NOT NULL THEN
          UPDATE idempotency_keys SET status_code = p_status, response = p_body::text WHERE principal_id = p_principal AND key = p_key;
        END IF;
        RETURN json_build_object('status', p_status, 'body', p_body);
      END $$`);

    // ---- transfers --------------------------------------------------------------------
    await q.query(`
      CREATE FUNCTION ledger_post(p_wallet uuid, p_kind text, p_accounts uuid[], p_amounts bigint[], p_at timestamptz, p_ref text, p_metadata jsonb)
      RETURNS uuid LANGUAGE plpgsql AS $$
      DECLARE
        v_id uuid := gen_random_uuid();
        v_system uuid[] := ARRAY['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002',
          '00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000005',
          '00000000-0000-4000-8000-000000000006', '00000000-0000-4000-8000-000000000007']::uuid[];
        v_sum bigint := 0;
        v_legs int := 0;
        v_available bigint := 0;
        i int;
      BEGIN
        FOR i IN 1 .. coalesce(array_length(p_accounts, 1), 0) LOOP
          CONTINUE WHEN p_amounts[i] = 0;
          v_sum := v_sum + p_amounts[i];
          v_legs := v_legs + 1;
          IF p_accounts[i] <> ALL (v_system) THEN v_available := v_available + p_amounts[i]; END IF;
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
        RETURN v_id;
      END $$`);

    await q.query(`
      CREATE FUNCTION ledger_credit(p_wallet uuid, p_source text, p_amount bigint, p_expires timestamptz, p_grant_key text,
                                    p_from uuid, p_kind text, p_at timestamptz, p_ref text, p_metadata jsonb)
      RETURNS uuid LANGUAGE plpgsql AS $$
      DECLARE
        v_id uuid := gen_random_uuid();
      BEGIN
        -- The account row is inserted only for a bucket that was (buckets.id -> accounts.id is checked at the end of the statement).
        WITH b AS (
          INSERT INTO buckets (id, wallet_id, source, granted, remaining, expires_at, grant_key, created_at)
          VALUES (v_id, p_wallet, p_source, p_amount, 0, p_expires, p_grant_key, p_at)
          ON CONFLICT (grant_key) DO NOTHING RETURNING id
        )
        INSERT INTO accounts (id, kind, wallet_id) SELECT id, 'bucket', p_wallet FROM b;
        IF NOT FOUND THEN RETURN NULL; END IF;
        PERFORM ledger_post(p_wallet, p_kind, ARRAY[p_from, v_id], ARRAY[-p_amount, p_amount], p_at, coalesce(p_ref, p_grant_key),
          jsonb_build_object('source', p_source, 'bucket_id', v_id) || coalesce(p_metadata, '{}'::jsonb));
        RETURN v_id;
      END $$`);

    // ---- the wallet lock, with the weekly grant -----------------------------------------
    await q.query(`
      CREATE FUNCTION ledger_lock(p_wallet uuid, p_owner text, p_now timestamptz, p_free bigint) RETURNS wallets LANGUAGE plpgsql AS $$
      DECLARE
        w wallets;
        v_week text := to_char(p_now AT TIME ZONE 'UTC', 'IYYY-"W"IW');
      BEGIN
        IF p_wallet IS NOT NULL THEN
          SELECT * INTO w FROM wallets WHERE id = p_wallet FOR UPDATE;
        ELSE
          SELECT * INTO w FROM wallets WHERE owner_id = p_owner FOR UPDATE;
        END IF;
        IF NOT FOUND THEN PERFORM ledger_fail('wallet_not_found', format('No wallet for owner %s', coalesce(p_owner, p_wallet::text))); END IF;
        -- The weekly free grant, lazily: the first locked operation of an ISO week credits it,
        -- keyed by wallet and week so it can never be given twice; free_week lets later ones skip it.
        IF p_free > 0 AND w.free_week IS DISTINCT FROM v_week THEN
          PERFORM ledger_credit(w.id, 'free_weekly', p_free,
            (date_trunc('week', p_now AT TIME ZONE 'UTC') + interval '7 days') AT TIME ZONE 'UTC',
            format('free_weekly:%s:%s', w.id, v_week), '00000000-0000-4000-8000-000000000002', 'grant', p_now,
            'free_weekly:' || v_week, NULL);
          UPDATE wallets SET free_week = v_week, updated_at = p_now WHERE id = w.id;
          w.free_week := v_week;
        END IF;
        RETURN w;
      END $$`);

    await q.query(`
      CREATE FUNCTION ledger_create_wallet(p_owner text, p_now timestamptz, p_free bigint) RETURNS boolean LANGUAGE plpgsql AS $$
      DECLARE
        v_created boolean;
      BEGIN
        INSERT INTO wallets (owner_id, created_at, updated_at) VALUES (p_owner, p_now, p_now) ON CONFLICT (owner_id) DO NOTHING;
        v_created := FOUND;
        PERFORM ledger_lock(NULL, p_owner, p_now, p_free);
        RETURN v_created;
      END $$`);

    // ---- the spending order: the one definition -------------------------------------------
    // Soonest expiry first (no expiry last); then free and promotional tokens (given away, they
    // lapse), refunds and adjustments (they replace tokens the customer had), plan tokens (they
    // lapse at period end), purchases last (paid for, and what a refund claws back); then oldest;
    // then id, for a total order.
    await q.query(`
      CREATE FUNCTION ledger_source_rank(p_source text) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE p_source WHEN 'free_weekly' THEN 0 WHEN 'promo' THEN 0 WHEN 'refund' THEN 1 WHEN 'adjustment' THEN 1
                             WHEN 'plan' THEN 2 ELSE 3 END
      $$`);
    await q.query(`
      CREATE FUNCTION ledger_spend_plan(p_wallet uuid, p_amount bigint, p_now timestamptz)
      RETURNS TABLE (bucket_id uuid, amount bigint) LANGUAGE plpgsql STABLE AS $$
      DECLARE
        b record;
        v_left bigint := p_amount;
      BEGIN
        FOR b IN SELECT id, remaining FROM buckets
                 WHERE wallet_id = p_wallet AND remaining > 0 AND (expires_at IS NULL OR expires_at > p_now)
                 ORDER BY expires_at ASC NULLS LAST, ledger_source_rank(source), created_at, id LOOP
          EXIT WHEN v_left <= 0;
          bucket_id := b.id;
          amount := least(b.remaining, v_left);
          v_left := v_left - amount;
          RETURN NEXT;
        END LOOP;
      END $$`);
    // Which part of a hold's funding a charge takes: the fundings in the order they were taken,
    // so the settled part is what the spending order would have spent; the rest goes back.
    await q.query(`
      CREATE FUNCTION ledger_split(p_funding jsonb, p_charge bigint)
      RETURNS TABLE (bucket_id uuid, funded bigint, charged bigint, returned bigint) LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE
        f jsonb;
        v_left bigint := p_charge;
      BEGIN
        -- The charge takes the fundings in the order they were taken; the rest goes back.
        FOR f IN SELECT e FROM jsonb_array_elements(p_funding) AS x(e) LOOP
          bucket_id := (f->>'bucket_id')::uuid;
          funded := (f->>'amount')::bigint;
          charged := least(funded, greatest(v_left, 0));
          returned := funded - charged;
          v_left := v_left - charged;
          RETURN NEXT;
        END LOOP;
      END $$`);

    await q.query(`
      CREATE FUNCTION ledger_available(p_wallet uuid, p_now timestamptz) RETURNS bigint LANGUAGE sql STABLE AS $$
        SELECT coalesce(sum(remaining), 0)::bigint FROM buckets
        WHERE wallet_id = p_wallet AND remaining > 0 AND (expires_at IS NULL OR expires_at > p_now)
      $$`);

    // ---- holds ----------------------------------------------------------------------------
    await q.query(`
      CREATE FUNCTION ledger_reservation_view(r reservations, p_owner text, p_now timestamptz) RETURNS json LANGUAGE sql STABLE AS $$
        SELECT CASE WHEN r.variant IS NULL THEN
          json_build_object('id', r.id, 'owner_id', p_owner,
            'status', CASE WHEN r.status = 'pending' AND r.expires_at <= p_now THEN 'expired' ELSE r.status END,
            'reserved', ledger_tokens(r.reserved), 'settled', ledger_tokens(r.settled), 'released', ledger_tokens(r.released),
            'expires_at', ledger_ts(r.expires_at), 'created_at', ledger_ts(r.created_at), 'finished_at', ledger_ts(r.finished_at),
            'ref', r.ref, 'metadata', r.metadata)
        ELSE
          json_build_object('id', r.id, 'owner_id', p_owner,
            'status', CASE WHEN r.status = 'pending' AND r.expires_at <= p_now THEN 'expired' ELSE r.status END,
            'reserved', ledger_tokens(r.reserved), 'settled', ledger_tokens(r.settled), 'released', ledger_tokens(r.released),
            'expires_at', ledger_ts(r.expires_at), 'created_at', ledger_ts(r.created_at), 'finished_at', ledger_ts(r.finished_at),
            'ref', r.ref, 'metadata', r.metadata, 'variant', r.variant, 'quantity', r.quantity, 'price_version', r.price_version)
        END
      $$`);

    await q.query(`
      CREATE FUNCTION ledger_hold(w wallets, p_id text, p_amount bigint, p_expires timestamptz, p_now timestamptz,
                                  p_price_id bigint, p_price_version int, p_variant text, p_quantity int, p_ref text, p_metadata jsonb)
      RETURNS reservations LANGUAGE plpgsql AS $$
      DECLARE
        v_funding jsonb;
        v_total bigint;
        v_accounts uuid[];
        v_amounts bigint[];
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
        PERFORM ledger_post(w.id, 'reserve', v_accounts || '00000000-0000-4000-8000-000000000004'::uuid, v_amounts || p_amount,
          p_now, p_id, CASE WHEN p_ref IS NOT NULL THEN jsonb_build_object('ref', p_ref) END);
        INSERT INTO reservations (id, wallet_id, status, reserved, funding, expires_at, price_id, price_version, variant, quantity, ref, metadata, created_at)
          VALUES (p_id, w.id, 'pending', p_amount, v_funding, p_expires, p_price_id, p_price_version, p_variant, p_quantity, p_ref, p_metadata, p_now)
          RETURNING * INTO r;
        RETURN r;
      END $$`);

    await q.query(`
      CREATE FUNCTION ledger_reserve(p_principal uuid, p_key text, p_fp text, p_owner text, p_id text, p_amount bigint,
                                     p_expires_in int, p_now timestamptz, p_free bigint, p_price_id bigint, p_price_version int,
                                     p_variant text, p_quantity int, p_ref text, p_metadata jsonb)
      RETURNS json LANGUAGE plpgsql AS $$
      DECLARE
        v_replay json;
        w wallets;
        r reservations;
      BEGIN
        v_replay := idem_claim(p_principal, p_key, p_fp);
        IF v_replay IS NOT NULL THEN RETURN v_replay; END IF;
        w := ledger_lock(NULL, p_owner, p_now, p_free);
        r := ledger_hold(w, p_id, p_amount, p_now + make_interval(secs => p_expires_in), p_now,
          p_price_id, p_price_version, p_variant, p_quantity, p_ref, p_metadata);
        RETURN idem_store(p_principal, p_key, 201, ledger_reservation_view(r, w.owner_id, p_now));
      END $$`);

    // A batch: every item reserved under one lock, all or nothing.
    await q.query(`
      CREATE FUNCTION ledger_reserve_all(p_owner text, p_ids text[], p_amounts bigint[], p_quantities int[], p_refs text[],
                                         p_expires_in int, p_now timestamptz, p_free bigint, p_price_id bigint, p_price_version int, p_variant text)
      RETURNS TABLE (id text, wallet_id uuid) LANGUAGE plpgsql AS $$
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
            p_price_id, p_price_version, p_variant, p_quantities[i], p_refs[i], NULL);
          id := p_ids[i];
          wallet_id := w.id;
          RETURN NEXT;
        END LOOP;
      END $$`);

    // Claws back what a hold returns to a bucket whose tokens were reversed while held, and books
    // as lost what such a bucket can no longer get back (the hold that had it was settled).
    await q.query(`
      CREATE FUNCTION ledger_resolve_due(w wallets, p_buckets uuid[], p_returned bigint[], p_at timestamptz, p_ref text) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        b record;
        v_claw bigint;
        v_lost bigint;
        v_held bigint;
        v_accounts uuid[] := '{}';
        v_amounts bigint[] := '{}';
        v_total_lost bigint := 0;
        v_total bigint := 0;
      BEGIN
        FOR b IN SELECT bk.id, bk.clawback_due, coalesce(x.r, 0) AS returned FROM buckets bk
                 LEFT JOIN (SELECT a, sum(m) AS r FROM unnest(p_buckets, p_returned) AS u(a, m) GROUP BY a) x ON x.a = bk.id
                 WHERE bk.id = ANY (p_buckets) AND bk.clawback_due > 0 ORDER BY bk.id LOOP
          v_claw := least(b.returned, b.clawback_due);
          SELECT coalesce(sum((f->>'amount')::bigint), 0) INTO v_held
            FROM reservations r, jsonb_array_elements(r.funding) f
            WHERE r.wallet_id = w.id AND r.status = 'pending' AND (f->>'bucket_id')::uuid = b.id;
          v_lost := greatest(b.clawback_due - v_claw - v_held, 0);
          UPDATE buckets SET clawed = clawed + v_claw, lost = lost + v_lost, clawback_due = clawback_due - v_claw - v_lost WHERE id = b.id;
          IF v_claw > 0 THEN
            v_accounts := v_accounts || b.id;
            v_amounts := v_amounts || -v_claw;
          END IF;
          v_total := v_total + v_claw + v_lost;
          v_total_lost := v_total_lost + v_lost;
        END LOOP;
        IF v_total > 0 THEN
          PERFORM ledger_post(w.id, 'clawback',
            v_accounts || ARRAY['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000006']::uuid[],
            v_amounts || ARRAY[v_total, -v_total_lost], p_at, p_ref,
            jsonb_build_object('clawed', v_total - v_total_lost, 'lost', v_total_lost, 'reason', 'reversed tokens returned by a hold'));
        END IF;
        IF v_total_lost > 0 THEN UPDATE wallets SET flagged = true, updated_at = p_at WHERE id = w.id; END IF;
      END $$`);

    // Ends a pending hold: the charge to revenue, the rest back to the buckets it came from.
    await q.query(`
      CREATE FUNCTION ledger_end_hold(w wallets, r reservations, p_status text, p_charge bigint, p_now timestamptz)
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
        SELECT EXISTS (SELECT 1 FROM buckets WHERE id = ANY (v_buckets) AND clawback_due > 0) INTO v_due;
        IF v_due THEN PERFORM ledger_resolve_due(w, v_buckets, v_returned, p_now, r.id); END IF;
        RETURN r;
      END $$`);

    // settle | release | expire. An expiry that is not due returns NULL (the sweeper skips it).
    await q.query(`
      CREATE FUNCTION ledger_finish(p_principal uuid, p_key text, p_fp text, p_id text, p_action text, p_amount bigint, p_now timestamptz)
      RETURNS json LANGUAGE plpgsql AS $$
      DECLARE
        v_replay json;
        v_wallet uuid;
        w wallets;
        r reservations;
        v_charge bigint;
      BEGIN
        v_replay := idem_claim(p_principal, p_key, p_fp);
        IF v_replay IS NOT NULL THEN RETURN v_replay; END IF;
        SELECT wallet_id INTO v_wallet FROM reservations WHERE id = p_id;
        IF NOT FOUND THEN PERFORM ledger_fail('reservation_not_found', format('No reservation %s', p_id)); END IF;
        -- Wallet lock first, then the reservation is read and checked under it.
        SELECT * INTO w FROM wallets WHERE id = v_wallet FOR UPDATE;
        SELECT * INTO r FROM reservations WHERE id = p_id;
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
          v_charge := CASE WHEN p_action = 'settle' THEN coalesce(p_amount, r.reserved) ELSE 0 END;
          IF v_charge > r.reserved THEN
            PERFORM ledger_fail('amount_exceeds_reservation', format('Cannot settle %s of a reservation of %s',
              ledger_tokens(v_charge), ledger_tokens(r.reserved)));
          END IF;
        END IF;
        r := ledger_end_hold(w, r, CASE p_action WHEN 'settle' THEN 'settled' WHEN 'release' THEN 'released' ELSE 'expired' END, v_charge, p_now);
        RETURN idem_store(p_principal, p_key, 200, ledger_reservation_view(r, w.owner_id, p_now));
      END $$`);

    // Moves a pending hold's expiry later (never earlier), at most p_max_s after it was made.
    await q.query(`
      CREATE FUNCTION ledger_extend(p_principal uuid, p_key text, p_fp text, p_id text, p_expires timestamptz, p_max_s int, p_now timestamptz)
      RETURNS json LANGUAGE plpgsql AS $$
      DECLARE
        v_replay json;
        v_wallet uuid;
        w wallets;
        r reservations;
      BEGIN
        v_replay := idem_claim(p_principal, p_key, p_fp);
        IF v_replay IS NOT NULL THEN RETURN v_replay; END IF;
        SELECT wallet_id INTO v_wallet FROM reservations WHERE id = p_id;
        IF NOT FOUND THEN PERFORM ledger_fail('reservation_not_found', format('No reservation %s', p_id)); END IF;
        SELECT * INTO w FROM wallets WHERE id = v_wallet FOR UPDATE;
        SELECT * INTO r FROM reservations WHERE id = p_id;
        IF r.status NOT IN ('pending', 'expired') THEN
          PERFORM ledger_fail('reservation_not_pending', format('Reservation %s is already %s', p_id, r.status));
        END IF;
        IF r.status = 'expired' OR r.expires_at <= p_now THEN
          PERFORM ledger_fail('reservation_expired', format('Reservation %s expired at %s', p_id, ledger_ts(r.expires_at)));
        END IF;
        UPDATE reservations SET expires_at = greatest(expires_at, least(p_expires, created_at + make_interval(secs => p_max_s)))
          WHERE id = p_id RETURNING * INTO r;
        RETURN idem_store(p_principal, p_key, 200, ledger_reservation_view(r, w.owner_id, p_now));
      END $$`);

    // Debits live buckets in spending order to a system account; NULL when they hold too little.
    await q.query(`
      CREATE FUNCTION ledger_debit(p_wallet uuid, p_amount bigint, p_to uuid, p_kind text, p_at timestamptz, p_ref text, p_metadata jsonb)
      RETURNS uuid LANGUAGE plpgsql AS $$
      DECLARE
        v_total bigint;
        v_accounts uuid[];
        v_amounts bigint[];
      BEGIN
        SELECT sum(p.amount), array_agg(p.bucket_id ORDER BY p.n), array_agg(-p.amount ORDER BY p.n) INTO v_total, v_accounts, v_amounts
          FROM ledger_spend_plan(p_wallet, p_amount, p_at) WITH ORDINALITY AS p(bucket_id, amount, n);
        IF coalesce(v_total, 0) < p_amount THEN RETURN NULL; END IF;
        RETURN ledger_post(p_wallet, p_kind, v_accounts || p_to, v_amounts || p_amount, p_at, p_ref, p_metadata);
      END $$`);

    // Sets how many of a bucket's tokens its payment's reversals take back (absolute, so a
    // repeated or reordered event changes nothing twice). Up: claw from what is left, mark the
    // held share due, book the really spent share as lost. Down (a won dispute): cancel what is
    // due, then undo losses, then return clawed tokens to the bucket.
    await q.query(`
      CREATE FUNCTION ledger_set_reversed(p_bucket uuid, p_reversed bigint, p_at timestamptz, p_ref text, p_metadata jsonb)
      RETURNS json LANGUAGE plpgsql AS $$
      DECLARE
        b buckets;
        w wallets;
        v_wallet uuid;
        v_delta bigint;
        v_take bigint := 0;
        v_due bigint := 0;
        v_lost bigint := 0;
        v_held bigint;
        v_target bigint;
      BEGIN
        SELECT wallet_id INTO v_wallet FROM buckets WHERE id = p_bucket;
        IF v_wallet IS NULL THEN RAISE EXCEPTION 'no bucket %', p_bucket USING ERRCODE = 'TW900'; END IF;
        SELECT * INTO w FROM wallets WHERE id = v_wallet FOR UPDATE;
        SELECT * INTO b FROM buckets WHERE id = p_bucket;
        v_target := least(greatest(p_reversed, 0), b.granted);
        v_delta := v_target - b.reversed;
        IF v_delta > 0 THEN
          v_take := least(v_delta, b.remaining);
          SELECT coalesce(sum((f->>'amount')::bigint), 0) INTO v_held
            FROM reservations r, jsonb_array_elements(r.funding) f
            WHERE r.wallet_id = w.id AND r.status = 'pending' AND (f->>'bucket_id')::uuid = b.id;
          v_due := least(v_delta - v_take, greatest(v_held - b.clawback_due, 0));
          v_lost := v_delta - v_take - v_due;
          UPDATE buckets SET reversed = v_target, clawed = clawed + v_take, lost = lost + v_lost, clawback_due = clawback_due + v_due
            WHERE id = b.id;
          IF v_take + v_lost > 0 THEN
            PERFORM ledger_post(w.id, 'clawback',
              ARRAY[b.id, '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000006']::uuid[],
              ARRAY[-v_take, v_take + v_lost, -v_lost], p_at, p_ref,
              coalesce(p_metadata, '{}'::jsonb) || jsonb_build_object('clawed', v_take, 'lost', v_lost, 'due', v_due,
                'shortfall', (v_delta - v_take)::text));
          END IF;
          IF v_lost > 0 THEN UPDATE wallets SET flagged = true, updated_at = p_at WHERE id = w.id; END IF;
        ELSIF v_delta < 0 THEN
          v_delta := -v_delta;
          v_due := least(v_delta, b.clawback_due);
          v_lost := least(v_delta - v_due, b.lost);
          v_take := least(v_delta - v_due - v_lost, b.clawed);
          UPDATE buckets SET reversed = v_target, clawed = clawed - v_take, lost = lost - v_lost, clawback_due = clawback_due - v_due
            WHERE id = b.id;
          IF v_take + v_lost > 0 THEN
            PERFORM ledger_post(w.id, 'restore',
              ARRAY[b.id, '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000006']::uuid[],
              ARRAY[v_take, -(v_take + v_lost), v_lost], p_at, p_ref,
              coalesce(p_metadata, '{}'::jsonb) || jsonb_build_object('restored', v_take, 'recovered', v_lost, 'due_cancelled', v_due));
          END IF;
        END IF;
        RETURN json_build_object('wallet_id', w.id, 'clawed', v_take, 'lost', v_lost, 'due', v_due, 'direction', sign(v_target - b.reversed));
      END $$`);

    // A lapsed bucket's remainder goes to breakage.
    await q.query(`
      CREATE FUNCTION ledger_expire_bucket(p_bucket uuid, p_now timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE
        v_wallet uuid;
        b buckets;
      BEGIN
        SELECT wallet_id INTO v_wallet FROM buckets WHERE id = p_bucket;
        IF NOT FOUND THEN RETURN 0; END IF;
        PERFORM 1 FROM wallets WHERE id = v_wallet FOR UPDATE;
        SELECT * INTO b FROM buckets WHERE id = p_bucket;
        IF b.remaining <= 0 OR b.expires_at IS NULL OR b.expires_at > p_now THEN RETURN 0; END IF;
        PERFORM ledger_post(v_wallet, 'expire', ARRAY[b.id, '00000000-0000-4000-8000-000000000005']::uuid[],
          ARRAY[-b.remaining, b.remaining], p_now, b.id::text, jsonb_build_object('bucket_id', b.id));
        RETURN b.remaining;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const f of [
      'ledger_expire_bucket(uuid, timestamptz)',
      'ledger_set_reversed(uuid, bigint, timestamptz, text, jsonb)',
      'ledger_debit(uuid, bigint, uuid, text, timestamptz, text, jsonb)',
      'ledger_extend(uuid, text, text, text, timestamptz, int, timestamptz)',
      'ledger_finish(uuid, text, text, text, text, bigint, timestamptz)',
      'ledger_end_hold(wallets, reservations, text, bigint, timestamptz)',
      'ledger_resolve_due(wallets, uuid[], bigint[], timestamptz, text)',
      'ledger_reserve_all(text, text[], bigint[], int[], text[], int, timestamptz, bigint, bigint, int, text)',
      'ledger_reserve(uuid, text, text, text, text, bigint, int, timestamptz, bigint, bigint, int, text, int, text, jsonb)',
      'ledger_hold(wallets, text, bigint, timestamptz, timestamptz, bigint, int, text, int, text, jsonb)',
      'ledger_reservation_view(reservations, text, timestamptz)',
      'ledger_available(uuid, timestamptz)',
      'ledger_split(jsonb, bigint)',
      'ledger_spend_plan(uuid, bigint, timestamptz)',
      'ledger_source_rank(text)',
      'ledger_create_wallet(text, timestamptz, bigint)',
      'ledger_lock(uuid, text, timestamptz, bigint)',
      'ledger_credit(uuid, text, bigint, timestamptz, text, uuid, text, timestamptz, text, jsonb)',
      'ledger_post(uuid, text, uuid[], bigint[], timestamptz, text, jsonb)',
      'idem_store(uuid, text, int, json)',
      'idem_claim(uuid, text, text)',
      'ledger_fail(text, text)',
      'ledger_ts(timestamptz)',
      'ledger_tokens(bigint)',
    ]) {
      await q.query(`DROP FUNCTION ${f}`);
    }
    await q.query(`ALTER TABLE wallets DROP COLUMN freezes`);
    await q.query(`
      ALTER TABLE buckets DROP CONSTRAINT buckets_reversal_bound, DROP CONSTRAINT buckets_reversal_parts,
        DROP COLUMN clawback_due, DROP COLUMN lost, DROP COLUMN clawed, DROP COLUMN reversed`);
  }
}
