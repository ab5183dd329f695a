import type { Logger } from 'pino';

interface SchedulingQueue {
  upsertJobScheduler(id: string, repeat: { every: number }, template: { name: string; opts?: Record<string, unknown> }): Promise<unknown>;
}

/**
 * Upserts a BullMQ job scheduler now and again every `every` ms (at most a
 * minute apart). Upserting is idempotent, and Redis may lose the scheduler
 * (a restart without persistence): this puts it back without a redeploy.
 * Returns the function that stops it.
 */
export function keepScheduled(
  queue: SchedulingQueue,
  id: string,
  every: number,
  template: { name: string; opts?: Record<string, unknown> },
  log: Logger,
): () => void {
  const upsert = () =>
    queue
      .upsertJobScheduler(id, { every }, template)
      .catch((e: Error) => log.warn({ scheduler: id, err: e.message }, 'could not upsert job scheduler'));
  void upsert();
  const timer = setInterval(() => void upsert(), Math.min(every, 60_000));
  timer.unref();
  return () => clearInterval(timer);
}
