import { LOGGER } from '@app/common';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { AUTO_TOP_UP_QUEUE, AutoTopUpService } from './auto-top-up.service.js';

/**
 * Follows the event feed for crossings (every AUTO_TOP_UP_POLL_MS, in every
 * worker process: the jobs are keyed by wallet and crossing, so two followers
 * queue one), and runs the attempt jobs.
 */
@Processor(AUTO_TOP_UP_QUEUE, { concurrency: 4 })
export class AutoTopUpProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopped = false;

  constructor(
    private readonly autoTopUp: AutoTopUpService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    const tick = async () => {
      if (this.running || this.stopped) return;
      this.running = true;
      try {
        await this.autoTopUp.follow();
      } catch (e) {
        this.log.warn({ err: String(e) }, 'auto top-up: reading the event feed failed; retrying');
      } finally {
        this.running = false;
      }
    };
    this.timer = setInterval(() => void tick(), this.autoTopUp.pollMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  async process(job: Job<{ walletId: string; crossing: number }>): Promise<unknown> {
    if (job.name !== 'attempt') throw new Error(`unknown auto top-up job ${job.name}`);
    return { status: await this.autoTopUp.attempt(job.data.walletId, job.data.crossing) };
  }
}
