import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyService, AppConfig, createLogger, FastRedis, RateLimited, RateLimiter } from '@app/common';
import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createApi } from '../../apps/api/src/app.js';
import { call, expectLedgerConsistent, startApp, TestApp } from '../support/app.js';

describe('rate limiting per API key, held across instances', () => {
  let t: TestApp;
  let second: INestApplication;
  let secondUrl: string;
  beforeAll(async () => {
    t = await startApp({ RATE_LIMIT_PER_MINUTE: '6' });
    // A second API instance on the same database and Redis.
    second = await createApi(t.config, createLogger('silent'));
    await second.listen(0, '127.0.0.1');
    secondUrl = `http://127.0.0.1:${(second.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await second.close();
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('answers 429 with Retry-After once a key passes its limit on any instance', async () => {
    const { key } = await t.app.get(ApiKeyService).create('limited', 'gateway');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const base = i % 2 === 0 ? t.baseUrl : secondUrl;
      statuses.push((await fetch(`${base}/v1/prices`, { headers: { authorization: `Bearer ${key}` } })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const limited = await fetch(`${secondUrl}/v1/prices`, { headers: { authorization: `Bearer ${key}` } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { code: string }).code).toBe('rate_limited');
    // Another key has its own budget.
    expect((await call(t, 'GET', '/v1/prices')).status).toBe(200);
  });

  it('a large limit is counted in batches, without a Redis round trip per request, and still holds', async () => {
    const prefix = `rlt${randomBytes(4).toString('hex')}`;
    const limit = 12_000;
    const limiter = new RateLimiter(
      t.app.get(FastRedis),
      { ...t.config, RATE_LIMIT_PER_MINUTE: limit, QUEUE_PREFIX: prefix } as AppConfig,
      createLogger('silent'),
    );
    const redis = t.app.get(FastRedis).client;
    // The minute may turn over during the test: count against the window the first call opens.
    const window = Math.floor(Date.now() / 60_000);
    let refused = 0;
    for (let i = 0; i < limit + 50; i++) {
      // Synchronous checks: no request waits for Redis.
      await limiter.check('gateway-key').catch((e: unknown) => {
        if (!(e instanceof RateLimited)) throw e;
        refused++;
      });
    }
    if (Math.floor(Date.now() / 60_000) !== window) return; // a minute boundary fell inside the loop: nothing to assert
    expect(refused).toBe(50);
    await new Promise((r) => setTimeout(r, 300));
    // Every request was added to Redis, where other instances see it.
    expect(Number(await redis.get(`${prefix}:rl:gateway-key:${window}`))).toBe(limit + 50);
  });
});
