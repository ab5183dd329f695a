import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import type { AppConfig } from './config.js';
import { redisClient } from './redis-target.js';
import { APP_CONFIG } from './tokens.js';

/**
 * A Redis connection that fails fast instead of queueing commands while Redis
 * is away: readiness must answer "down" and the rate limiter must fail open,
 * neither may wait for Redis to come back. (BullMQ keeps its own connections,
 * which do wait.)
 */
@Injectable()
export class FastRedis implements OnModuleDestroy {
  /** One server's client, or a Redis Cluster's (REDIS_URL redis+cluster://). */
  readonly client: Redis | Cluster;
  /** Why the connection is down (connect ECONNREFUSED ...), while it is. */
  lastError: string | null = null;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // CommonModule.forRoot refuses a config whose REDIS_URL is not resolved.
    this.client = redisClient(config.REDIS_URL ?? '', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
    });
    this.client.on('error', (e: Error) => {
      this.lastError = e.message;
    });
    this.client.on('ready', () => {
      this.lastError = null;
    });
    this.client.connect().catch(() => undefined);
  }

  onModuleDestroy(): void {
    this.client.disconnect();
  }
}
