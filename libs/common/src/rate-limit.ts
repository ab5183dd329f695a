import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from './config.js';
import { DomainError } from './errors.js';
import { FastRedis } from './fast-redis.js';
import { APP_CONFIG, LOGGER } from './tokens.js';

const WINDOW_S = 60;
/** Above this many requests a minute, counts go to Redis in batches (no round trip per request). */
const EXACT_UP_TO = 10_000;
const FLUSH_MS = 100;

interface Window {
  key: string;
  window: number;
  /** The key's count across all instances at the last flush. */
  global: number;
  /** Requests of this instance not yet added to Redis. */
  pending: number;
  flushing: boolean;
}

/**
 * A fixed one-minute window per API key, counted in Redis so the limit holds
 * across every API instance. Small limits are counted exactly (one INCR per
 * request); large ones (the default) are counted here and added to Redis
 * every 100 ms, so a request costs no Redis round trip and the limit can be
 * overrun by at most what the instances serve in 100 ms. If Redis cannot
 * answer the request passes: the ledger does not depend on Redis, so neither
 * does taking money.
 */
@Injectable()
export class RateLimiter {
  private warnedAt = 0;
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly redis: FastRedis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /**
   * Counts a request of `principalId`: its window's state (for the RateLimit-* headers), or null when
   * limiting is off. Throws a 429 with the seconds until the window resets when it is over its limit.
   */
  async check(principalId: string): Promise<RateLimitState | null> {
    const limit = this.config.RATE_LIMIT_PER_MINUTE;
    if (limit <= 0) return null;
    const now = Math.floor(Date.now() / 1000);
    const window = Math.floor(now / WINDOW_S);
    const key = `${this.config.QUEUE_PREFIX}:rl:${principalId}:${window}`;
    const count = limit <= EXACT_UP_TO ? await this.exact(key) : this.batched(principalId, key, window);
    const state = { limit, remaining: Math.max(0, limit - count), resetS: (window + 1) * WINDOW_S - now };
    if (count > limit) throw new RateLimited(state);
    return state;
  }

  private async exact(key: string): Promise<number> {
    try {
      const res = await this.redis.client
        .multi()
        .incr(key)
        .expire(key, WINDOW_S * 2)
        .exec();
      return Number(res?.[0]?.[1] ?? 0);
    } catch (e) {
      this.warn(e);
      return 0;
    }
  }

  private batched(principalId: string, key: string, window: number): number {
    let w = this.windows.get(principalId);
    if (!w || w.window !== window) {
      w = { key, window, global: 0, pending: 0, flushing: false };
      this.windows.set(principalId, w);
    }
    w.pending++;
    if (!w.flushing) {
      w.flushing = true;
      setTimeout(() => void this.flush(w), FLUSH_MS).unref();
    }
    return w.global + w.pending;
  }

  private async flush(w: Window): Promise<void> {
    const delta = w.pending;
    try {
      const res = await this.redis.client
        .multi()
        .incrby(w.key, delta)
        .expire(w.key, WINDOW_S * 2)
        .exec();
      w.global = Number(res?.[0]?.[1] ?? w.global + delta);
      w.pending -= delta;
    } catch (e) {
      this.warn(e);
      w.pending = 0;
    } finally {
      w.flushing = false;
    }
  }

  private warn(e: unknown): void {
    if (Date.now() - this.warnedAt > 10_000) {
      this.warnedAt = Date.now();
      this.log.warn({ err: (e as Error).message }, 'rate limiter cannot reach Redis; letting requests through');
    }
  }
}

/** A key's window: its limit, what is left of it, and the seconds until it resets. */
export interface RateLimitState {
  limit: number;
  remaining: number;
  resetS: number;
}

/**
 * The IETF draft's headers (draft-ietf-httpapi-ratelimit-headers, the
 * RateLimit-Limit / -Remaining / -Reset form most clients read), on every
 * response of a limited route, the 429 included.
 */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(state.resetS),
  };
}

export class RateLimited extends DomainError {
  readonly retryAfterS: number;
  constructor(readonly state: RateLimitState) {
    super(429, 'rate_limited', 'Too many requests', `This API key may make ${state.limit} requests a minute; retry in ${state.resetS} s`);
    this.retryAfterS = state.resetS;
  }
}
