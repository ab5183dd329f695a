import { backoffDelay } from '@app/common';
import type { BackoffStrategy } from 'bullmq';

/** The custom BullMQ backoff type of webhook jobs, served by {@link webhookBackoffStrategy}. */
export const WEBHOOK_BACKOFF = 'webhook';

/** Bounds the attempt count whatever the configuration says; the deadline is what really ends retrying. */
const MAX_ATTEMPTS = 500;

/**
 * How many attempts it takes for the waits between them to span `windowMs`
 * even with the shortest jitter. The job's deadline stops retries at the end of
 * the window; this only makes sure the attempt budget never runs out first.
 */
export function attemptsForWindow(windowMs: number, baseMs: number): number {
  let waited = 0;
  let attempts = 1;
  while (waited < windowMs && attempts < MAX_ATTEMPTS) {
    waited += backoffDelay(attempts, baseMs, 1);
    attempts++;
  }
  return attempts;
}

/** What a webhook job carries: the body is serialised once, so every retry sends and signs the same bytes. */
export interface WebhookJobData {
  event_id: string;
  event_type: string;
  url: string;
  body: string;
  /** Epoch ms after which no retry is scheduled. */
  deadline: number;
}

/**
 * Exponential backoff capped at an hour (backoffDelay), which BullMQ's built-in
 * `exponential` type cannot do. Returning -1 tells BullMQ not to retry: once
 * the next attempt would fall after the job's deadline, the job fails for good.
 */
export const webhookBackoffStrategy: BackoffStrategy = (attemptsMade, _type, _err, job) => {
  const backoff = job?.opts.backoff;
  const baseMs = typeof backoff === 'object' && backoff.delay ? backoff.delay : 2_000;
  const delay = backoffDelay(attemptsMade, baseMs);
  const deadline = (job?.data as Partial<WebhookJobData> | undefined)?.deadline;
  if (typeof deadline === 'number' && Date.now() + delay > deadline) return -1;
  return delay;
};
