import { APP_CONFIG, AppConfig } from '@app/common';
import { InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { GENERATION_MAINTENANCE_QUEUE } from './queues.js';
import { RecoveryService } from './recovery.service.js';

@Processor(GENERATION_MAINTENANCE_QUEUE, { concurrency: 1 })
export class RecoveryProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly recovery: RecoveryService,
    @InjectQueue(GENERATION_MAINTENANCE_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.upsertJobScheduler(
      'generation-recovery',
      { every: this.config.RECOVERY_INTERVAL_MS },
      { name: 'recover', opts: { removeOnComplete: 100, removeOnFail: 500 } },
    );
  }

  process(): Promise<unknown> {
    return this.recovery.recover();
  }
}
