import {
  APP_CONFIG,
  AppConfig,
  backoffDelay,
  checkWebhookUrl,
  Database,
  guardedLookup,
  LOGGER,
  postWebhook,
  SIGNATURE_HEADER,
  signPayload,
  webhookDeliveries,
} from '@app/common';
import { eventId, EventsService } from '@app/ledger';
import { Inject, Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { attemptOutcome, errorText } from './delivery-outcome.js';

export const EVENT_WEBHOOK_USER_AGENT = 'token-wallet-events/1';

/** Events read from the feed per endpoint per transaction. */
const FAN_OUT_PAGE = 500;
/** Deliveries claimed (and POSTed in parallel) at a time by one process. */
const CLAIM_BATCH = 16;
/** Claim rounds per run; a wallet's events go one per round, so a backlog drains over several runs. */
const MAX_ROUNDS = 100;
/** How far past the POST timeout a claimed delivery stays claimed: a dispatcher killed mid-attempt is retried after this. */
const LEASE_MARGIN_MS = 30_000;

interface Claimed {
  endpoint: string;
  event_pos: string;
  attempt: number;
  body: string;
  url: string;
  secret: string;
}

export interface DispatchRun {
  /** Deliveries created from new events. */
  queued: number;
  /** Attempts made. */
  attempted: number;
}

/**
 * Delivers the wallet event feed to the webhook endpoints (spec section 9).
 * Owns webhook_endpoint_deliveries and webhook_endpoint_attempts.
 *
 * Each run (any number of processes at once):
 * 1. positions newly committed events (EventsService.sequence), so the feed
 *    moves even when nobody reads GET /v1/events;
 * 2. per endpoint, under its row lock (SKIP LOCKED: one process at a time),
 *    turns the feed after the endpoint's cursor into delivery rows and moves
 *    the cursor, in one transaction: no event is missed or queued twice;
 * 3. claims due deliveries that head their wallet's line for their endpoint
 *    (no earlier pending delivery of the same wallet), FOR UPDATE SKIP LOCKED,
 *    pushing next_attempt_at past the POST timeout (the lease); POSTs them
 *    signed; records the attempt and the new state. A wallet's next event is
 *    claimable only once the one before is delivered or given up, so each
 *    endpoint sees each wallet's events in seq order, at least once.
 */
@Injectable()
export class WebhookDispatcher {
  constructor(
    private readonly db: Database,
    private readonly events: EventsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** One run: new events become deliveries, then due deliveries are attempted until none is left or `stop()` says so. */
  async runOnce(stop: () => boolean = () => false): Promise<DispatchRun> {
    await this.events.sequence();
    let queued = 0;
    const endpoints = await this.db.query<{ name: string }>(`SELECT name FROM webhook_endpoints WHERE disabled_at IS NULL ORDER BY name`);
    for (const { name } of endpoints) {
      for (;;) {
        const r = await this.fanOut(name);
        queued += r.queued;
        if (!r.more || stop()) break;
      }
    }
    let attempted = 0;
    for (let round = 0; round < MAX_ROUNDS && !stop(); round++) {
      const batch = await this.claim();
      if (batch.length === 0) break;
      await Promise.all(batch.map((d) => this.attempt(d)));
      attempted += batch.length;
    }
    await this.prune();
    return { queued, attempted };
  }

  /** Finished deliveries (and their attempts) older than a week go, a bounded batch per run. */
  private async prune(): Promise<void> {
    await this.db.query(
      `DELETE FROM webhook_endpoint_deliveries WHERE (endpoint, event_pos) IN (
         SELECT endpoint, event_pos FROM webhook_endpoint_deliveries
         WHERE state <> 'pending' AND finished_at < now() - interval '7 days' LIMIT 1000)`,
    );
  }

  /** Turns the next page of the feed after the endpoint's cursor into its deliveries; `more` when the page was full. */
  private fanOut(name: string): Promise<{ queued: number; more: boolean }> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.sql.query<{ cursor_pos: string; types: string[] }>(
        `SELECT cursor_pos::text, types FROM webhook_endpoints WHERE name = $1 AND disabled_at IS NULL FOR UPDATE SKIP LOCKED`,
        [name],
      );
      // Another process is fanning out this endpoint, or it went away.
      if (!rows[0]) return { queued: 0, more: false };
      const { cursor_pos: cursor, types } = rows[0];
      const page = await this.events.list({ after: eventId(cursor), limit: FAN_OUT_PAGE });
      if (page.data.length === 0) return { queued: 0, more: false };
      const wanted = page.data.filter((e) => types.length === 0 || types.includes(e.type));
      if (wanted.length > 0) {
        await tx.sql.query(
          `INSERT INTO webhook_endpoint_deliveries (endpoint, event_pos, owner_id, seq, type, body, next_attempt_at, deadline, created_at)
           SELECT $1, x.pos, x.owner_id, x.seq, x.type, x.body, now(), now() + $7::int * interval '1 second', now()
           FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS x (pos, owner_id, seq, type, body)
           ON CONFLICT DO NOTHING`,
          [
            name,
            wanted.map((e) => e.id.slice(4)),
            wanted.map((e) => e.owner_id),
            wanted.map((e) => e.seq),
            wanted.map((e) => e.type),
            // The event exactly as GET /v1/events shows it, serialised once: every attempt signs the same bytes.
            wanted.map((e) => JSON.stringify(e)),
            this.config.WEBHOOK_MAX_AGE_S,
          ],
        );
      }
      const last = page.data[page.data.length - 1].id.slice(4);
      await tx.sql.query(`UPDATE webhook_endpoints SET cursor_pos = $2 WHERE name = $1`, [name, last]);
      return { queued: wanted.length, more: page.data.length === FAN_OUT_PAGE };
    });
  }

  /** Takes the due deliveries at the head of their wallet's line, each claimed for one attempt. */
  private async claim(): Promise<Claimed[]> {
    const { rows } = await this.db.run<Claimed>(
      `WITH due AS (
         SELECT d.endpoint, d.event_pos
         FROM webhook_endpoint_deliveries d JOIN webhook_endpoints e ON e.name = d.endpoint
         WHERE d.state = 'pending' AND d.next_attempt_at <= now() AND e.disabled_at IS NULL
           AND NOT EXISTS (
             SELECT 1 FROM webhook_endpoint_deliveries p
             WHERE p.endpoint = d.endpoint AND p.owner_id = d.owner_id AND p.state = 'pending' AND p.event_pos < d.event_pos)
         ORDER BY d.next_attempt_at, d.event_pos
         LIMIT $1
         FOR UPDATE OF d SKIP LOCKED
       )
       UPDATE webhook_endpoint_deliveries d
       SET attempts = d.attempts + 1, next_attempt_at = now() + $2::int * interval '1 millisecond'
       FROM due, webhook_endpoints e
       WHERE d.endpoint = due.endpoint AND d.event_pos = due.event_pos AND e.name = d.endpoint
       RETURNING d.endpoint, d.event_pos::text, d.attempts AS attempt, d.body, e.url, e.secret`,
      [CLAIM_BATCH, this.config.WEBHOOK_TIMEOUT_MS + LEASE_MARGIN_MS],
    );
    return rows;
  }

  /** One POST of a claimed delivery; never throws (a failure is recorded and retried). */
  private async attempt(d: Claimed): Promise<void> {
    const allowPrivate = this.config.ALLOW_PRIVATE_WEBHOOK_URLS;
    let status: number | null = null;
    let error: string | null = null;
    const started = performance.now();
    try {
      // Checked at every attempt: the URL was accepted long ago and its DNS may point elsewhere now.
      const check = await checkWebhookUrl(d.url, allowPrivate);
      if (!check.ok) {
        error = `refused: ${check.reason}`;
      } else {
        const headers = {
          'content-type': 'application/json',
          'user-agent': EVENT_WEBHOOK_USER_AGENT,
          [SIGNATURE_HEADER]: signPayload(d.secret, Math.floor(Date.now() / 1000), d.body),
          'Webhook-Id': eventId(d.event_pos),
        };
        status = await postWebhook(check.url, d.body, headers, {
          timeoutMs: this.config.WEBHOOK_TIMEOUT_MS,
          // The connection's own DNS answer is checked too, closing the gap a rebinding attack would use.
          lookup: allowPrivate ? undefined : guardedLookup,
        });
      }
    } catch (e) {
      error = errorText(e);
    }
    const durationMs = Math.round(performance.now() - started);
    const outcome = attemptOutcome(status, error);
    webhookDeliveries.inc({ outcome: outcome.delivered ? 'delivered' : error?.startsWith('refused') ? 'refused' : 'failed' });
    try {
      const state = await this.record(d, outcome.delivered, status, outcome.error, durationMs);
      if (!outcome.delivered) {
        this.log.warn(
          { endpoint: d.endpoint, event_id: eventId(d.event_pos), attempt: d.attempt, status, err: outcome.error, state },
          'event webhook not accepted',
        );
      }
    } catch (e) {
      // The lease runs out and another attempt follows: at least once, never lost.
      this.log.error(
        { endpoint: d.endpoint, event_id: eventId(d.event_pos), attempt: d.attempt, err: errorText(e) },
        'event webhook attempt not recorded',
      );
    }
  }

  /**
   * Records the attempt and moves the delivery on: delivered; or retried after
   * the backoff; or given up (failed) when the next attempt would fall after its
   * deadline. Only the holder of the claim (same attempt number) moves it.
   */
  private async record(
    d: Claimed,
    delivered: boolean,
    status: number | null,
    error: string | null,
    durationMs: number,
  ): Promise<string | null> {
    const delayMs = backoffDelay(d.attempt, this.config.WEBHOOK_BACKOFF_BASE_MS);
    const { rows } = await this.db.run<{ state: string | null }>(
      `WITH upd AS (
         UPDATE webhook_endpoint_deliveries SET
           state = CASE WHEN $4::boolean THEN 'delivered' WHEN now() + $5::int * interval '1 millisecond' > deadline THEN 'failed' ELSE 'pending' END,
           finished_at = CASE WHEN $4::boolean OR now() + $5::int * interval '1 millisecond' > deadline THEN now() END,
           next_attempt_at = CASE WHEN $4::boolean THEN next_attempt_at ELSE now() + $5::int * interval '1 millisecond' END,
           last_status = $6, last_error = $7
         WHERE endpoint = $1 AND event_pos = $2 AND attempts = $3 AND state = 'pending'
         RETURNING state
       ), ins AS (
         INSERT INTO webhook_endpoint_attempts (endpoint, event_pos, attempt, status_code, error, duration_ms, at)
         SELECT $1, $2, $3, $6, $7, $8, now()
         WHERE EXISTS (SELECT 1 FROM webhook_endpoint_deliveries WHERE endpoint = $1 AND event_pos = $2)
         ON CONFLICT DO NOTHING
         RETURNING 1
       )
       SELECT (SELECT state FROM upd) AS state, (SELECT count(*) FROM ins) AS recorded`,
      [d.endpoint, d.event_pos, d.attempt, delivered, delayMs, status, error, durationMs],
    );
    return rows[0]?.state ?? null;
  }
}
