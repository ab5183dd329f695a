import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';

describe('health and metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ RUN_WORKER: 'true' });
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('is live and ready when PostgreSQL, Redis and the migrations are', async () => {
    const live = await call(t, 'GET', '/health/live', undefined, { key: null });
    expect([live.status, live.body.status]).toEqual([200, 'ok']);
    let ready = await call(t, 'GET', '/health/ready', undefined, { key: null });
    for (let i = 0; i < 20 && ready.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100)); // the dedicated Redis connection may still be opening
      ready = await call(t, 'GET', '/health/ready', undefined, { key: null });
    }
    expect(ready.status).toBe(200);
    expect(ready.body.info).toMatchObject({ database: { status: 'up' }, redis: { status: 'up' }, migrations: { status: 'up' } });
  });

  it('exposes request, ledger, reservation and queue metrics', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/metered')).status).toBe(201);
    const r = await call(t, 'POST', '/v1/wallets/metered/reservations', { amount: '1' }, { idem: idemKey() });
    await call(t, 'POST', `/v1/reservations/${r.body.id}/settle`, undefined, { idem: idemKey() });
    await call(t, 'POST', '/v1/wallets/metered/reservations', { amount: '100' }, { idem: idemKey() });
    const m = await call(t, 'GET', '/metrics', undefined, { key: null });
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toContain('text/plain');
    expect(m.text).toMatch(/http_requests_total\{method="POST",route="\/v1\/wallets\/:owner_id\/reservations",status="201"\} \d+/);
    expect(m.text).toMatch(/http_request_duration_seconds_bucket\{le="0.05",method="POST",route="\/v1\/reservations\/:id\/settle"\}/);
    expect(m.text).toMatch(/ledger_operations_total\{type="reserve",outcome="ok"\} [1-9]/);
    expect(m.text).toMatch(/ledger_operations_total\{type="request",outcome="insufficient_funds"\} [1-9]/);
    expect(m.text).toMatch(/reservation_age_seconds_count\{status="settled"\} [1-9]/);
    expect(m.text).toMatch(/queue_jobs_waiting\{queue="ledger-maintenance",state="waiting"\} \d+/);
    expect(m.text).not.toContain(t.gatewayKey);
  });
});

describe('readiness with Redis down', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ RUN_WORKER: 'false', REDIS_URL: 'redis://127.0.0.1:6399' });
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('answers 503 naming Redis, while the ledger keeps working', async () => {
    const ready = await call(t, 'GET', '/health/ready', undefined, { key: null });
    expect(ready.status).toBe(503);
    expect(ready.body.error).toMatchObject({ redis: { status: 'down' } });
    expect(ready.body.info).toMatchObject({ database: { status: 'up' } });
    expect((await call(t, 'PUT', '/v1/wallets/still_works')).status).toBe(201);
  });
});
