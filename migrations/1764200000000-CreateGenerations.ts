import { MigrationInterface, QueryRunner } from 'typeorm';

/** Generations, batches and outgoing webhook deliveries (spec section 5, Generation). */
export class CreateGenerations1764200000000 implements MigrationInterface {
  name = 'CreateGenerations1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE batches (
        id text PRIMARY KEY,
        wallet_id uuid NOT NULL REFERENCES wallets(id),
        owner_id text NOT NULL,
        variant text NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'completed')),
        total int NOT NULL CHECK (total BETWEEN 1 AND 1000),
        succeeded int NOT NULL DEFAULT 0,
        failed int NOT NULL DEFAULT 0,
        reserved bigint NOT NULL,
        tokens_used bigint NOT NULL DEFAULT 0,
        webhook_url text,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        CHECK (succeeded + failed <= total)
      )`);
    await q.query(`
      CREATE TABLE generations (
        id text PRIMARY KEY,
        wallet_id uuid NOT NULL REFERENCES wallets(id),
        owner_id text NOT NULL,
        reservation_id text NOT NULL UNIQUE REFERENCES reservations(id),
        batch_id text REFERENCES batches(id),
        batch_index int,
        status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
        model text NOT NULL,
        variant text NOT NULL,
        n int NOT NULL CHECK (n BETWEEN 1 AND 10),
        size text,
        quality text,
        seed bigint,
        prompt text NOT NULL,
        webhook_url text,
        metadata jsonb,
        unit_price bigint NOT NULL,
        output jsonb,
        delivered int NOT NULL DEFAULT 0,
        tokens_used bigint NOT NULL DEFAULT 0,
        error jsonb,
        attempts int NOT NULL DEFAULT 0,
        enqueued_at timestamptz,
        started_at timestamptz,
        finished_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `COMMENT ON COLUMN generations.enqueued_at IS 'Set once the BullMQ job exists: a queued generation without it was committed but never enqueued, and the recovery sweeper enqueues it'`,
    );
    await q.query(`CREATE INDEX generations_unenqueued ON generations (created_at) WHERE enqueued_at IS NULL AND status = 'queued'`);
    await q.query(`CREATE INDEX generations_batch ON generations (batch_id, batch_index) WHERE batch_id IS NOT NULL`);
    await q.query(`CREATE INDEX generations_wallet ON generations (wallet_id, created_at DESC)`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id bigserial PRIMARY KEY,
        event_id text NOT NULL,
        event_type text NOT NULL,
        url text NOT NULL,
        attempt int NOT NULL,
        status_code int,
        error text,
        duration_ms int,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, attempt)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE generations`);
    await q.query(`DROP TABLE batches`);
  }
}
