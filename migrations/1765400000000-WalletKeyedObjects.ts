import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The last wallet tables keyed by wallet, and the global keys moved to tables
 * of their own, so that every unique index of a wallet table holds `wallet_id`
 * (docs/scaling.md, "What remains for Citus"):
 *
 * - Primary keys: `reservations`, `generations`, `batches`, `buckets` and
 *   `subscriptions` are `(id, wallet_id)`, `stripe_payments` is
 *   `(payment_intent, wallet_id)`. The id leads, so a lookup by id alone
 *   still reads one index entry and no index is added. The foreign keys
 *   between them carry the wallet: a generation's reservation and batch, a
 *   generation's inputs, a payment's bucket are `(wallet_id, …)`.
 * - Keys that must be unique across wallets move to a table keyed by them
 *   alone, written first in the same transaction:
 *   - `wallet_owners (owner_id → wallet_id)`: `wallets (owner_id, id)`
 *     references it, so an owner has one wallet. `wallets.owner_id` keeps a
 *     plain index for the lock by owner.
 *   - `stripe_customers (customer_id → wallet_id)`: `wallets
 *     (stripe_customer_id, id)` references it, so a customer has one wallet
 *     and a wallet one customer.
 *   - `grant_claims (grant_key → wallet_id, bucket_id)`: a keyed credit (a
 *     Stripe payment, a weekly grant) claims its key before it opens its
 *     bucket, so a key is credited once across all wallets.
 *     `buckets.grant_key` stays unique with the wallet.
 * - Keys unique by construction keep their index with `wallet_id` added: a
 *   generation's reservation, a payment's source, an auto top-up attempt's
 *   idempotency key (it names the wallet) and payment intent, an event's feed
 *   position (one sequencer gives them, under one row lock).
 *
 * Rows written before it: the three tables are filled from wallets and
 * buckets; a generation, input or payment whose reservation, batch,
 * generation or bucket is another wallet's stops the migration, naming it.
 * Like WalletKeyedLedger it takes ACCESS EXCLUSIVE locks on the tables it
 * re-keys: apply it in a maintenance window (docs/operations.md, Migrations).
 */
export class WalletKeyedObjects1765400000000 implements MigrationInterface {
  name = 'WalletKeyedObjects1765400000000';

  async up(q: QueryRunner): Promise<void> {
    // ---- rows that the new foreign keys would refuse, named ----------------------------
    await q.query(`
      DO $$
      DECLARE
        v text;
      BEGIN
        SELECT g.id INTO v FROM generations g JOIN reservations r ON r.id = g.reservation_id WHERE r.wallet_id <> g.wallet_id LIMIT 1;
        IF FOUND THEN RAISE EXCEPTION 'generation % holds another wallet''s reservation: fix it before WalletKeyedObjects', v; END IF;
        SELECT g.id INTO v FROM generations g JOIN batches b ON b.id = g.batch_id WHERE b.wallet_id <> g.wallet_id LIMIT 1;
        IF FOUND THEN RAISE EXCEPTION 'generation % is in another wallet''s batch: fix it before WalletKeyedObjects', v; END IF;
        SELECT i.generation_id INTO v FROM generation_inputs i JOIN generations g ON g.id = i.generation_id WHERE g.wallet_id <> i.wallet_id LIMIT 1;
        IF FOUND THEN RAISE EXCEPTION 'an input of generation % is booked to another wallet: fix it before WalletKeyedObjects', v; END IF;
        SELECT p.payment_intent INTO v FROM stripe_payments p JOIN buckets b ON b.id = p.bucket_id WHERE b.wallet_id <> p.wallet_id LIMIT 1;
        IF FOUND THEN RAISE EXCEPTION 'payment % credited another wallet''s bucket: fix it before WalletKeyedObjects', v; END IF;
      END $$`);

    // ---- primary keys that hold the wallet ---------------------------------------------
    await q.query(`ALTER TABLE generation_inputs DROP CONSTRAINT generation_inputs_generation_id_fkey`);
    await q.query(`ALTER TABLE generations DROP CONSTRAINT generations_reservation_id_fkey, DROP CONSTRAINT generations_batch_id_fkey`);
    await q.query(`ALTER TABLE stripe_payments DROP CONSTRAINT stripe_payments_bucket_id_fkey`);
    for (const t of ['reservations', 'generations', 'batches', 'buckets', 'subscriptions']) {
      await q.query(`ALTER TABLE ${t} DROP CONSTRAINT ${t}_pkey, ADD CONSTRAINT ${t}_pkey PRIMARY KEY (id, wallet_id)`);
    }
    await q.query(
      `ALTER TABLE stripe_payments DROP CONSTRAINT stripe_payments_pkey, ADD CONSTRAINT stripe_payments_pkey PRIMARY KEY (payment_intent, wallet_id)`,
    );
    await q.query(`
      ALTER TABLE generations
        ADD CONSTRAINT generations_reservation_fkey FOREIGN KEY (wallet_id, reservation_id) REFERENCES reservations (wallet_id, id),
        ADD CONSTRAINT generations_batch_fkey FOREIGN KEY (wallet_id, batch_id) REFERENCES batches (wallet_id, id)`);
    await q.query(`
      ALTER TABLE generation_inputs ADD CONSTRAINT generation_inputs_generation_fkey
        FOREIGN KEY (wallet_id, generation_id) REFERENCES generations (wallet_id, id) ON DELETE CASCADE`);
    await q.query(`
      ALTER TABLE stripe_payments ADD CONSTRAINT stripe_payments_bucket_fkey FOREIGN KEY (wallet_id, bucket_id) REFERENCES buckets (wallet_id, id)`);

    // ---- keys unique by construction: the same index, with the wallet ------------------
    await q.query(`
      ALTER TABLE generations DROP CONSTRAINT generations_reservation_id_key,
        ADD CONSTRAINT generations_reservation_key UNIQUE (reservation_id, wallet_id)`);
    await q.query(`
      ALTER TABLE stripe_payments DROP CONSTRAINT stripe_payments_source_id_key,
        ADD CONSTRAINT stripe_payments_source_key UNIQUE (source_id, wallet_id)`);
    await q.query(`
      ALTER TABLE auto_top_up_attempts DROP CONSTRAINT auto_top_up_attempts_idempotency_key_key,
        DROP CONSTRAINT auto_top_up_attempts_payment_intent_key,
        ADD CONSTRAINT auto_top_up_attempts_idempotency_key UNIQUE (idempotency_key, wallet_id),
        ADD CONSTRAINT auto_top_up_attempts_payment_intent UNIQUE (payment_intent, wallet_id)`);
    await q.query(`DROP INDEX events_pos`);
    await q.query(`CREATE UNIQUE INDEX events_pos ON events (pos, wallet_id) WHERE pos IS NOT NULL`);

    // ---- an owner has one wallet: wallet_owners --------------------------------------
    await q.query(`
      CREATE TABLE wallet_owners (
        owner_id text PRIMARY KEY,
        wallet_id uuid NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT wallet_owners_pair UNIQUE (owner_id, wallet_id)
      )`);
    await q.query(
      `COMMENT ON TABLE wallet_owners IS 'owner_id to wallet id, written once with the wallet: what makes an owner''s wallet unique'`,
    );
    await q.query(`INSERT INTO wallet_owners (owner_id, wallet_id, created_at) SELECT owner_id, id, created_at FROM wallets`);
    await q.query(`ALTER TABLE wallets DROP CONSTRAINT wallets_owner_id_key`);
    await q.query(`CREATE INDEX wallets_owner ON wallets (owner_id)`);
    await q.query(
      `ALTER TABLE wallets ADD CONSTRAINT wallets_owner_fkey FOREIGN KEY (owner_id, id) REFERENCES wallet_owners (owner_id, wallet_id)`,
    );
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_create_wallet(p_owner text, p_now timestamptz, p_free bigint) RETURNS boolean LANGUAGE plpgsql AS $$
      DECLARE
        v_id uuid;
      BEGIN
        -- The owner is claimed first: a second creator waits here, then finds it taken.
        INSERT INTO wallet_owners (owner_id, wallet_id, created_at) VALUES (p_owner, gen_random_uuid(), p_now)
          ON CONFLICT (owner_id) DO NOTHING RETURNING wallet_id INTO v_id;
        IF v_id IS NOT NULL THEN
          INSERT INTO wallets (id, owner_id, created_at, updated_at) VALUES (v_id, p_owner, p_now, p_now);
          -- The new row is ours until commit, so its first event needs no other lock.
          PERFORM ledger_event(v_id, 'wallet.created', jsonb_build_object('owner_id', p_owner), p_now);
        END IF;
        PERFORM ledger_lock(NULL, p_owner, p_now, p_free);
        RETURN v_id IS NOT NULL;
      END $$`);

    // ---- a Stripe customer has one wallet: stripe_customers ------------------------------
    await q.query(`
      CREATE TABLE stripe_customers (
        customer_id text PRIMARY KEY,
        wallet_id uuid NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT stripe_customers_pair UNIQUE (customer_id, wallet_id)
      )`);
    await q.query(`COMMENT ON TABLE stripe_customers IS 'Stripe customer to wallet id, written once with wallets.stripe_customer_id'`);
    await q.query(
      `INSERT INTO stripe_customers (customer_id, wallet_id) SELECT stripe_customer_id, id FROM wallets WHERE stripe_customer_id IS NOT NULL`,
    );
    await q.query(`ALTER TABLE wallets DROP CONSTRAINT wallets_stripe_customer_id_key`);
    await q.query(`
      ALTER TABLE wallets ADD CONSTRAINT wallets_stripe_customer_fkey
        FOREIGN KEY (stripe_customer_id, id) REFERENCES stripe_customers (customer_id, wallet_id)`);

    // ---- a grant key is credited once across wallets: grant_claims ----------------------
    await q.query(`
      CREATE TABLE grant_claims (
        grant_key text PRIMARY KEY,
        wallet_id uuid NOT NULL,
        bucket_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `COMMENT ON TABLE grant_claims IS 'A keyed credit''s key (a Stripe payment, a weekly grant), claimed before its bucket opens: credited once across wallets'`,
    );
    await q.query(`
      INSERT INTO grant_claims (grant_key, wallet_id, bucket_id, created_at)
      SELECT grant_key, wallet_id, id, created_at FROM buckets WHERE grant_key IS NOT NULL`);
    await q.query(`
      ALTER TABLE buckets DROP CONSTRAINT buckets_grant_key_key, ADD CONSTRAINT buckets_grant_key UNIQUE (grant_key, wallet_id)`);
    await q.query(`
      CREATE OR REPLACE FUNCTION ledger_credit(p_wallet uuid, p_source text, p_amount bigint, p_expires timestamptz, p_grant_key text,
                                               p_from uuid, p_kind text, p_at timestamptz, p_ref text, p_metadata jsonb)
      RETURNS uuid LANGUAGE plpgsql AS $$
      DECLARE
        v_id uuid := gen_random_uuid();
      BEGIN
        IF p_grant_key IS NOT NULL THEN
          -- A concurrent credit of the same key waits here, then finds it claimed.
          INSERT INTO grant_claims (grant_key, wallet_id, bucket_id, created_at) VALUES (p_grant_key, p_wallet, v_id, p_at)
            ON CONFLICT (grant_key) DO NOTHING;
          IF NOT FOUND THEN RETURN NULL; END IF;
        END IF;
        INSERT INTO buckets (id, wallet_id, source, granted, remaining, expires_at, grant_key, created_at)
          VALUES (v_id, p_wallet, p_source, p_amount, 0, p_expires, p_grant_key, p_at);
        PERFORM ledger_post(p_wallet, p_kind, ARRAY[p_from, v_id], ARRAY[-p_amount, p_amount], p_at, coalesce(p_ref, p_grant_key),
          jsonb_build_object('source', p_source, 'bucket_id', v_id) || coalesce(p_metadata, '{}'::jsonb));
        RETURN v_id;
      END $$`);
  }

  down(): Promise<void> {
    return Promise.reject(new Error('WalletKeyedObjects1765400000000 is forward only: restore the backup taken before it'));
  }
}
