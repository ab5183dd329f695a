import { APP_CONFIG, AppConfig, LOGGER } from '@app/common';
import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { WebhookDispatcher } from './dispatcher.js';

/**
 * Runs the dispatcher every EVENT_DISPATCH_INTERVAL_MS in this process (the
 * worker, and the API when RUN_WORKER is on), and again at once while it finds
 * work. Every process runs one; the database's locks share the work out, so
 * the loop needs no leader and nothing is lost when a process dies.
 */
@Injectable()
export class DispatchLoop implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopping = false;

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    // An attempt under way finishes (bounded by WEBHOOK_TIMEOUT_MS) and is recorded before the pool closes.
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.running = this.tick();
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let busy = false;
    try {
      const r = await this.dispatcher.runOnce(() => this.stopping);
      busy = r.queued + r.attempted > 0;
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'event dispatch run failed');
    }
    this.schedule(busy ? 0 : this.config.EVENT_DISPATCH_INTERVAL_MS);
  }
}
