import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from './config.js';
import { DomainError } from './errors.js';
import { FastRedis } from './fast-redis.js';
import { APP_CONFIG, LOGGER } from './tokens.js';

const WINDOW_S = 60;

/**
 * A fixed one-minute window per API key, counted in Redis so the limit holds
 * across every API instance. If Redis cannot answer within a few ms the
 * request passes: the ledger does not depend on Redis, so neither does
 * taking money.
 */
@Injectable()
export class RateLimiter {
  private warnedAt = 0;

  constructor(
    private readonly redis: FastRedis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Throws a 429 with the seconds until the window resets when `principalId` is over its limit. */
  async check(principalId: string): Promise<void> {
    const limit = this.config.RATE_LIMIT_PER_MINUTE;
    if (limit <= 0) return;
    const now = Math.floor(Date.now() / 1000);
    const window = Math.floor(now / WINDOW_S);
    const key = `${this.config.QUEUE_PREFIX}:rl:${principalId}:${window}`;
    let count: number;
    try {
      const res = await this.redis.client
        .multi()
        .incr(key)
        .expire(key, WINDOW_S * 2)
        .exec();
      count = Number(res?.[0]?.[1] ?? 0);
    } catch (e) {
      if (Date.now() - this.warnedAt > 10_000) {
        this.warnedAt = Date.now();
        this.log.warn({ err: (e as Error).message }, 'rate limiter cannot reach Redis; letting requests through');
      }
      return;
    }
    if (count > limit) {
      const retryAfter = (window + 1) * WINDOW_S - now;
      throw new RateLimited(retryAfter, limit);
    }
  }
}

export class RateLimited extends DomainError {
  constructor(
    readonly retryAfterS: number,
    limit: number,
  ) {
    super(429, 'rate_limited', 'Too many requests', `This API key may make ${limit} requests a minute; retry in ${retryAfterS} s`);
  }
}
