import {
  APP_CONFIG,
  AppConfig,
  checkWebhookUrl,
  Database,
  guardedLookup,
  LOGGER,
  postWebhook,
  SIGNATURE_HEADER,
  signPayload,
  WebhookAddressRefusedError,
  webhookDeliveries,
} from '@app/common';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { webhookBackoffStrategy, type WebhookJobData } from './retry-policy.js';
import { WEBHOOK_QUEUE } from './webhook.service.js';

export const WEBHOOK_USER_AGENT = 'token-wallet-webhooks/1';

export interface WebhookDeliveryResult {
  status: number | null;
  /** True when an earlier attempt had already delivered the event. */
  skipped?: boolean;
}

interface AttemptRecord {
  status: number | null;
  error: string | null;
  durationMs: number;
}

function errorText(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? `${err.code}: ` : '';
  const message = typeof err?.message === 'string' ? err.message : String(e);
  return `${code}${message}`.slice(0, 1000);
}

/**
 * Sends webhook jobs: signs the stored body afresh per attempt, POSTs it, and
 * records every attempt in webhook_deliveries. A non-2xx answer or a network
 * error throws so BullMQ retries on the webhook backoff; a URL that points
 * inward fails the job for good.
 */
@Processor(WEBHOOK_QUEUE, { concurrency: 8, settings: { backoffStrategy: webhookBackoffStrategy } })
export class WebhookProcessor extends WorkerHost {
  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  async process(job: Job<WebhookJobData>): Promise<WebhookDeliveryResult> {
    const d = job.data;
    const attempt = job.attemptsMade + 1;
    // A job that stalled after its POST, or an event re-queued after its job was removed, must not be sent twice.
    if (await this.alreadyDelivered(d.event_id)) return { status: null, skipped: true };

    const allowPrivate = this.config.ALLOW_PRIVATE_WEBHOOK_URLS;
    // Checked again at delivery: the URL was accepted long ago and its DNS may point elsewhere now.
    const check = await checkWebhookUrl(d.url, allowPrivate);
    if (!check.ok) {
      await this.record(d, attempt, { status: null, error: `refused: ${check.reason}`, durationMs: 0 });
      this.log.warn({ event_id: d.event_id, attempt, reason: check.reason }, 'webhook URL refused');
      if (check.retryable) throw new Error(check.reason);
      throw new UnrecoverableError(check.reason);
    }

    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': WEBHOOK_USER_AGENT,
      [SIGNATURE_HEADER]: signPayload(this.config.WEBHOOK_SIGNING_SECRET, timestamp, d.body),
      'Webhook-Id': d.event_id,
    };
    const started = performance.now();
    let status: number;
    try {
      status = await postWebhook(check.url, d.body, headers, {
        timeoutMs: this.config.WEBHOOK_TIMEOUT_MS,
        // The connection's own DNS answer is checked too, closing the gap a rebinding attack would use.
        lookup: allowPrivate ? undefined : guardedLookup,
      });
    } catch (e) {
      const durationMs = Math.round(performance.now() - started);
      const refused = e instanceof WebhookAddressRefusedError || (e as { code?: unknown })?.code === 'EWEBHOOKADDR';
      await this.record(d, attempt, { status: null, error: errorText(e), durationMs });
      this.log.warn({ event_id: d.event_id, attempt, host: check.url.host, err: errorText(e) }, 'webhook delivery failed');
      if (refused) throw new UnrecoverableError(errorText(e));
      throw e;
    }
    const durationMs = Math.round(performance.now() - started);

    if (status >= 200 && status < 300) {
      try {
        await this.record(d, attempt, { status, error: null, durationMs });
      } catch (e) {
        // Delivered is delivered: failing the job now would only send it again.
        this.log.error({ event_id: d.event_id, attempt, err: errorText(e) }, 'webhook delivered but not recorded');
      }
      this.log.debug({ event_id: d.event_id, attempt, status, duration_ms: durationMs }, 'webhook delivered');
      return { status };
    }

    const error = status >= 300 && status < 400 ? 'redirects are not followed' : null;
    await this.record(d, attempt, { status, error, durationMs });
    this.log.warn({ event_id: d.event_id, attempt, host: check.url.host, status }, 'webhook endpoint did not accept');
    throw new Error(`webhook endpoint answered ${status}`);
  }

  private async alreadyDelivered(eventId: string): Promise<boolean> {
    const rows = await this.db.query(`SELECT 1 FROM webhook_deliveries WHERE event_id = $1 AND status_code BETWEEN 200 AND 299 LIMIT 1`, [
      eventId,
    ]);
    return rows.length > 0;
  }

  private async record(d: WebhookJobData, attempt: number, r: AttemptRecord): Promise<void> {
    webhookDeliveries.inc({
      outcome: r.status !== null && r.status >= 200 && r.status < 300 ? 'delivered' : r.error?.startsWith('refused') ? 'refused' : 'failed',
    });
    await this.db.query(
      `INSERT INTO webhook_deliveries (event_id, event_type, url, attempt, status_code, error, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [d.event_id, d.event_type, d.url, attempt, r.status, r.error, r.durationMs],
    );
  }
}
