import { APP_CONFIG, AppConfig, LOGGER } from '@app/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { attemptsForWindow, WEBHOOK_BACKOFF, type WebhookJobData } from './retry-policy.js';

export const WEBHOOK_QUEUE = 'webhooks';

export type WebhookEventType = 'generation.succeeded' | 'generation.failed' | 'batch.completed';

/** An outgoing webhook event (spec section 6): sent as JSON `{id, type, created_at, data}`. */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  created_at: string;
  data: unknown;
}

const DEV_SECRET = 'whsec_dev_change_me';

/** Queues webhook deliveries; {@link WebhookProcessor} sends them. */
@Injectable()
export class WebhookService {
  constructor(
    @InjectQueue(WEBHOOK_QUEUE) private readonly queue: Queue<WebhookJobData>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    if (config.WEBHOOK_SIGNING_SECRET === DEV_SECRET && process.env.NODE_ENV === 'production') {
      log.warn('WEBHOOK_SIGNING_SECRET is the development default: receivers cannot trust webhook signatures');
    }
  }

  /**
   * Queues one delivery of `event` to `url`. The event id is the job id, so
   * queueing the same event again while its job is kept is a no-op, and the
   * worker also skips an event already delivered. Event ids must therefore be
   * stable per event, and may not contain ':' or be all digits (BullMQ job id rules).
   * `data` must be JSON-serialisable (no bigint).
   */
  async enqueue(event: WebhookEvent, url: string): Promise<void> {
    if (!event.id || event.id.includes(':') || /^[0-9]+$/.test(event.id)) {
      throw new Error(`webhook event id ${JSON.stringify(event.id)} cannot be a BullMQ job id`);
    }
    const body = JSON.stringify({ id: event.id, type: event.type, created_at: event.created_at, data: event.data });
    const windowMs = this.config.WEBHOOK_MAX_AGE_S * 1000;
    const baseMs = this.config.WEBHOOK_BACKOFF_BASE_MS;
    await this.queue.add(
      event.type,
      { event_id: event.id, event_type: event.type, url, body, deadline: Date.now() + windowMs },
      {
        jobId: event.id,
        attempts: attemptsForWindow(windowMs, baseMs),
        backoff: { type: WEBHOOK_BACKOFF, delay: baseMs },
        // Completed jobs are kept as long as a duplicate enqueue is plausible, so the job id dedups it;
        // failed ones a week longer, for whoever investigates. The counts bound Redis memory.
        removeOnComplete: { age: this.config.WEBHOOK_MAX_AGE_S, count: 100_000 },
        removeOnFail: { age: this.config.WEBHOOK_MAX_AGE_S + 7 * 86_400, count: 100_000 },
      },
    );
    this.log.debug({ event_id: event.id, type: event.type }, 'webhook queued');
  }
}
