import { keepScheduled, LOGGER } from '@app/common';
import { Processor, WorkerHost, InjectQueue } from '@nestjs/bullmq';
import type { Logger } from 'pino';
import { Inject, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { ReconcileService } from './reconcile.service.js';

export const BILLING_QUEUE = 'billing-maintenance';
const DAY_MS = 86_400_000;

/** The daily reconcile: two days back, so a run that failed yesterday is covered today. */
@Processor(BILLING_QUEUE, { concurrency: 1 })
export class ReconcileProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly reconcile: ReconcileService,
    @InjectQueue(BILLING_QUEUE) private readonly queue: Queue,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  private stopScheduling?: () => void;

  onApplicationBootstrap(): void {
    this.stopScheduling = keepScheduled(
      this.queue,
      'stripe-reconcile',
      DAY_MS,
      { name: 'reconcile', opts: { removeOnComplete: 30, removeOnFail: 100 } },
      this.log,
    );
  }

  onModuleDestroy(): void {
    this.stopScheduling?.();
  }

  async process(): Promise<unknown> {
    // Without Stripe configured there is nothing to reconcile; a failing job every day would only be noise.
    if (!this.reconcile.configured) return { skipped: 'stripe_not_configured' };
    const report = await this.reconcile.reconcile(new Date(Date.now() - 2 * DAY_MS));
    return { ...report.checked, matched: report.matched.length, repaired: report.repaired.length, odd: report.odd };
  }
}
