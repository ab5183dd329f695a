import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A generation's hold is settled by its generation only.
 *
 * The gateway could settle a generation's reservation itself (POST
 * /v1/reservations/{id}/settle with the reservation_id the 202 returned):
 * the tokens went to revenue, then the finisher found the hold no longer
 * pending, failed the generation with its images withheld and recorded
 * nothing charged, so a refund found nothing to refund. An image is never
 * delivered unbilled, and nothing is billed that was not delivered: a hold
 * now carries its `holder` ('generation' for a generation's or a batch
 * item's, NULL for the gateway's own), and ledger_finish settles a held
 * reservation only when the caller names the same holder (p_holder, the
 * finisher's). Any caller may still release it: that cancels the
 * generation, which then fails and charges nothing. ledger_reserve and
 * ledger_reserve_all take p_holder too; all three keep their bodies of
 * before (CreateMeteredReservations, LeanHotPath, WalletKeyedLookups) with
 * the holder added, and a new last parameter that defaults to NULL, so a
 * call with the old arguments means the same. reservation_valid (the one
 * CHECK of RowChecks) allows 'generation' or nothing as the holder.
 */
export class GenerationHolds1765600000000 implements MigrationInterface {
  name = 'GenerationHolds1765600000000';

  async up(q: QueryRunner): Promise<void> {
    // A nullable column without a default: no table rewrite.
    await q.query(`ALTER TABLE reservations ADD COLUMN holder text`);
    // The row rule stays one CHECK (RowChecks): reservation_valid gains the holder's values. Every row there is has none.
    await q.query(`
      CREATE OR REPLACE FUNCTION reservation_valid(r reservations) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
      BEGIN
        RETURN least(r.reserved - 1, r.settled, r.released, r.overage, r.uncollected, r.max_overage - r.overage) >= 0
          AND r.status IN ('pending', 'settled', 'released', 'expired')
          AND CASE WHEN r.status = 'pending' THEN r.settled + r.released = 0 AND r.finished_at IS NULL
                   ELSE r.settled + r.released = r.reserved AND r.finished_at IS NOT NULL END
          AND (r.meters IS NULL) = (r.estimate IS NULL)
          AND (r.meters IS NOT NULL OR (r.usage IS NULL AND r.max_overage + r.overage + r.uncollected = 0))
          AND coalesce(r.holder = 'generation', true)
          AND r.spender_id ~ '^[A-Za-z0-9_.:@-]{1,128}$';
      END $$`);

    await q.query(
      `DROP FUNCTION ledger_reserve(uuid, text, text, text, text, bigint, integer, timestamptz, bigint, bigint, integer, text, integer, text, jsonb, text, uuid, jsonb, jsonb, bigint)`,
    );
    await q.query(`
      CREATE FUNCTION ledger_reserve(p_principal uuid, p_key text, p_fp text, p_owner text, p_id text, p_amount bigint, p_expires_in integer,
        p_now timestamptz, p_free bigint, p_price_id bigint, p_price_version integer, p_variant text, p_quantity integer, p_ref text,
        p_metadata jsonb, p_spender text, p_api_key uuid, p_meters jsonb DEFAULT NULL, p_estimate jsonb DEFAULT NULL,
        p_max_overage bigint DEFAULT 0, p_holder text DEFAULT NULL)
      RETURNS json LANGUAGE plpgsql SET lock_timeout TO '2s' AS $$
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
        -- A generation's hold: only its generation settles it (ledger_finish's p_holder).
        IF p_holder IS NOT NULL THEN
          UPDATE reservations SET holder = p_holder WHERE id = r.id AND wallet_id = w.id RETURNING * INTO r;
        END IF;
        RETURN idem_store(p_principal, p_key, 201, ledger_reservation_view(r, w.owner_id, p_now));
      END $$`);

    await q.query(
      `DROP FUNCTION ledger_reserve_all(text, text[], bigint[], integer[], text[], integer, timestamptz, bigint, bigint, integer, text, text, uuid)`,
    );
    await q.query(`
      CREATE FUNCTION ledger_reserve_all(p_owner text, p_ids text[], p_amounts bigint[], p_quantities integer[], p_refs text[], p_expires_in integer,
        p_now timestamptz, p_free bigint, p_price_id bigint, p_price_version integer, p_variant text, p_spender text, p_api_key uuid,
        p_holder text DEFAULT NULL)
      RETURNS TABLE(id text, wallet_id uuid) LANGUAGE plpgsql SET lock_timeout TO '2s' AS $$
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
        IF p_holder IS NOT NULL THEN
          UPDATE reservations r SET holder = p_holder WHERE r.wallet_id = w.id AND r.id = ANY (p_ids);
        END IF;
      END $$`);

    await q.query(`DROP FUNCTION ledger_finish(uuid, text, text, text, text, bigint, timestamptz, jsonb)`);
    await q.query(`
      CREATE FUNCTION ledger_finish(p_principal uuid, p_key text, p_fp text, p_id text, p_action text, p_amount bigint, p_now timestamptz,
        p_usage jsonb DEFAULT NULL, p_holder text DEFAULT NULL)
      RETURNS json LANGUAGE plpgsql SET lock_timeout TO '2s' AS $$
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
          -- A generation settles for the images it delivered; a charge from outside would bill what it never delivered.
          IF p_action = 'settle' AND r.holder IS NOT NULL AND p_holder IS DISTINCT FROM r.holder THEN
            PERFORM ledger_fail('reservation_held', format('Reservation %s is held by %s %s, which settles it for what it delivers; release it to cancel',
              p_id, r.holder, r.ref));
          END IF;
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
    return Promise.reject(new Error('GenerationHolds1765600000000 is forward only: restore the backup taken before it'));
  }
}
