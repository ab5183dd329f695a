import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyService, createLogger } from '@app/common';
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
});
