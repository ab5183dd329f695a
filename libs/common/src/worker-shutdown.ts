import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Logger } from 'pino';
import { LOGGER } from './tokens.js';

/** How long a worker's close may take once none of its jobs is running. */
export const WORKER_CLOSE_GRACE_MS = 10_000;
/** How often a closing worker is asked whether a job still runs. */
const POLL_MS = 100;

/** A raw Redis client of a worker, as far as this needs it. */
interface RawClient {
  status?: string;
  disconnect(): void;
}

/** What this needs of a BullMQ worker: by shape, since @nestjs/bullmq and this file may load different builds. */
export interface ClosableWorker {
  name: string;
  close(force?: boolean): Promise<void>;
  getBackend?(): { client?: Promise<unknown>; blockingClient?: Promise<unknown> };
}

/**
 * Bounds `worker.close()`. Running jobs are waited for as long as they take,
 * as BullMQ does; what comes after them (writing the last results, closing
 * the connections) gets `graceMs`. A close still pending then is waiting on
 * Redis, not on work: the worker's Redis connections are disconnected, a
 * warning says what was cut short, and the close returns. Nothing is marked
 * done by it: a job whose result was not written stays active in Redis, its
 * lock expires, and BullMQ's stalled-job check gives it to a worker again.
 */
export function boundWorkerClose(worker: ClosableWorker, log: Logger, graceMs = WORKER_CLOSE_GRACE_MS): void {
  const close = worker.close.bind(worker);
  let closing: Promise<void> | undefined;
  worker.close = (force = false) => (closing ??= closeWithin(worker, close(force), log, graceMs));
}

async function closeWithin(worker: ClosableWorker, closing: Promise<void>, log: Logger, graceMs: number): Promise<void> {
  const closed = closing.then(() => 'closed' as const);
  // Its rejection is seen by the awaits below; until then it must not count as unhandled.
  closed.catch(() => undefined);
  while (runningJobs(worker) > 0) {
    if ((await within(closed, POLL_MS)) === 'closed') return;
  }
  if ((await within(closed, graceMs)) === 'closed') return;
  const clients = await rawClients(worker);
  log.warn(
    {
      queue: worker.name,
      after_ms: graceMs,
      running_jobs: runningJobs(worker),
      redis: clients.map((c) => c.status ?? 'unknown'),
    },
    'worker did not close within the grace after its last job; its Redis connections were disconnected (a job whose result was not written is given to a worker again by BullMQ stalled-job recovery)',
  );
  for (const c of clients) c.disconnect();
}

/** `p`'s outcome, or 'late' after `ms` (the timer cleared either way). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Jobs whose processor runs now (BullMQ tracks them to renew their locks). */
function runningJobs(worker: ClosableWorker): number {
  const locks = (worker as { lockManager?: { getActiveJobCount?: () => number } }).lockManager;
  return typeof locks?.getActiveJobCount === 'function' ? locks.getActiveJobCount() : 0;
}

/** The worker's regular and blocking clients, those that exist (a connection that never came up has none). */
async function rawClients(worker: ClosableWorker): Promise<RawClient[]> {
  const backend = worker.getBackend?.();
  const pending = [backend?.client, backend?.blockingClient].filter((p): p is Promise<unknown> => p !== undefined);
  const found = await Promise.all(
    pending.map((p) =>
      within(
        p.catch(() => undefined),
        POLL_MS,
      ),
    ),
  );
  return found.filter((c): c is RawClient => typeof (c as RawClient | undefined)?.disconnect === 'function');
}

/** Bounds the close of every BullMQ worker of the app (see boundWorkerClose). */
@Injectable()
export class WorkerShutdown implements OnApplicationBootstrap {
  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** After @nestjs/bullmq has created the workers (its module init). */
  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const worker = (wrapper.instance as { worker?: Partial<ClosableWorker> } | undefined)?.worker;
      if (!worker || typeof worker.close !== 'function' || typeof worker.name !== 'string') continue;
      boundWorkerClose(worker as ClosableWorker, this.log);
    }
  }
}
