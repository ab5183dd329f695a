import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook endpoints for the wallet event feed (spec section 9), owned by
 * libs/events:
 * - webhook_endpoints: where to send which event types, signed with which
 *   secret; `cursor_pos` is the feed position up to which events have been
 *   turned into deliveries (a new endpoint starts at the feed's head).
 * - webhook_endpoint_deliveries: one per (endpoint, event), holding the body
 *   as sent, its state (pending, delivered, failed = given up) and when it is
 *   tried next. A pending row whose attempt is under way has its
 *   next_attempt_at pushed past the attempt's timeout: a lease, so a killed
 *   dispatcher's delivery is tried again by another.
 * - webhook_endpoint_attempts: every attempt, with the status code or error.
 * A finished delivery and its attempts are kept for a week.
 */
export class CreateWebhookEndpoints1764700002000 implements MigrationInterface {
  name = 'CreateWebhookEndpoints1764700002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_endpoints (
        name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
        url text NOT NULL,
        types text[] NOT NULL DEFAULT '{}',
        secret text NOT NULL,
        cursor_pos bigint NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        disabled_at timestamptz
      )`);
    await q.query(`COMMENT ON COLUMN webhook_endpoints.types IS 'The event types delivered; empty: all'`);
    await q.query(`COMMENT ON COLUMN webhook_endpoints.cursor_pos IS 'Events up to this feed position (events.pos) have their deliveries'`);
    await q.query(`
      CREATE TABLE webhook_endpoint_deliveries (
        endpoint text NOT NULL REFERENCES webhook_endpoints(name) ON DELETE CASCADE,
        event_pos bigint NOT NULL,
        owner_id text NOT NULL,
        seq bigint NOT NULL,
        type text NOT NULL,
        body text NOT NULL,
        state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        deadline timestamptz NOT NULL,
        last_status int,
        last_error text,
        created_at timestamptz NOT NULL,
        finished_at timestamptz,
        PRIMARY KEY (endpoint, event_pos),
        CHECK ((state = 'pending') = (finished_at IS NULL))
      )`);
    // What is due, and the head of each wallet's line per endpoint (a wallet's next event waits for the one before).
    await q.query(`CREATE INDEX webhook_endpoint_deliveries_due ON webhook_endpoint_deliveries (next_attempt_at) WHERE state = 'pending'`);
    await q.query(
      `CREATE INDEX webhook_endpoint_deliveries_line ON webhook_endpoint_deliveries (endpoint, owner_id, event_pos) WHERE state = 'pending'`,
    );
    // Finished deliveries are pruned after a week; what was given up is counted per endpoint.
    await q.query(
      `CREATE INDEX webhook_endpoint_deliveries_finished ON webhook_endpoint_deliveries (finished_at) WHERE state <> 'pending'`,
    );
    await q.query(
      `CREATE INDEX webhook_endpoint_deliveries_failed ON webhook_endpoint_deliveries (endpoint, finished_at) WHERE state = 'failed'`,
    );
    await q.query(`
      CREATE TABLE webhook_endpoint_attempts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        endpoint text NOT NULL,
        event_pos bigint NOT NULL,
        attempt int NOT NULL,
        status_code int,
        error text,
        duration_ms int,
        at timestamptz NOT NULL,
        UNIQUE (endpoint, event_pos, attempt),
        FOREIGN KEY (endpoint, event_pos) REFERENCES webhook_endpoint_deliveries (endpoint, event_pos) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX webhook_endpoint_attempts_recent ON webhook_endpoint_attempts (endpoint, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_endpoint_attempts`);
    await q.query(`DROP TABLE webhook_endpoint_deliveries`);
    await q.query(`DROP TABLE webhook_endpoints`);
  }
}
