import { APP_CONFIG, AppConfig, keepScheduled, LOGGER } from '@app/common';
import type { Logger } from 'pino';
import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { GENERATION_MAINTENANCE_QUEUE } from './queues.js';
import { RecoveryService } from './recovery.service.js';

@Processor(GENERATION_MAINTENANCE_QUEUE, { concurrency: 1 })
export class RecoveryProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly recovery: RecoveryService,
    @InjectQueue(GENERATION_MAINTENANCE_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  private stopScheduling?: () => void;

  onApplicationBootstrap(): void {
    this.stopScheduling = keepScheduled(
      this.queue,
      'generation-recovery',
      this.config.RECOVERY_INTERVAL_MS,
      { name: 'recover', opts: { removeOnComplete: 100, removeOnFail: 500 } },
      this.log,
    );
  }

  onModuleDestroy(): void {
    this.stopScheduling?.();
  }

  process(): Promise<unknown> {
    return this.recovery.recover();
  }
}
