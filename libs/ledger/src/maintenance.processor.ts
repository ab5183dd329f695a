import { APP_CONFIG, AppConfig, keepScheduled, LOGGER, MAINTENANCE_QUEUE } from '@app/common';
import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { EventsService } from './events.service.js';
import { MaintenanceService } from './maintenance.service.js';

export const SWEEP_JOB = 'sweep';

/**
 * Runs the ledger's periodic sweep from a BullMQ job scheduler: whichever
 * worker takes the job does it, and the upsert is idempotent across instances.
 */
@Processor(MAINTENANCE_QUEUE, { concurrency: 1 })
export class MaintenanceProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly maintenance: MaintenanceService,
    private readonly events: EventsService,
    @InjectQueue(MAINTENANCE_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  private stopScheduling?: () => void;

  onApplicationBootstrap(): void {
    this.stopScheduling = keepScheduled(
      this.queue,
      'ledger-sweep',
      this.config.SWEEP_INTERVAL_MS,
      { name: SWEEP_JOB, opts: { removeOnComplete: 100, removeOnFail: 500 } },
      this.log,
    );
  }

  onModuleDestroy(): void {
    this.stopScheduling?.();
  }

  async process(job: Job): Promise<unknown> {
    if (job.name !== SWEEP_JOB) throw new Error(`unknown maintenance job ${job.name}`);
    const released = await this.maintenance.releaseExpiredReservations();
    const expired = await this.maintenance.expireLapsedBuckets();
    await this.maintenance.pruneIdempotencyKeys();
    // The feed's positions, for when nobody reads GET /v1/events (its readers sequence first).
    let sequenced = 0;
    for (let n = await this.events.sequence(); n > 0; n = await this.events.sequence()) sequenced += n;
    this.log.debug({ released, expired: expired.buckets, sequenced }, 'ledger sweep done');
    return { released, expired_buckets: expired.buckets, expired_amount: expired.amount.toString(), sequenced };
  }
}
