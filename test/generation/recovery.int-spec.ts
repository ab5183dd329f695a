import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@app/common';
import { GENERATION_QUEUE, RecoveryService } from '@app/generation';
import { MaintenanceService } from '@app/ledger';
import { getQueueToken } from '@nestjs/bullmq';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Queue } from 'bullmq';
import pg from 'pg';
import { WorkerModule } from '../../apps/worker/src/worker.module.js';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { controlClock } from '../support/clock.js';
import { generationEnv, waitFinished } from './support.js';

const MODEL = 'models/openai/gpt-image';

describe('recovery: a generation committed but never enqueued', () => {
  let t: TestApp;
  let worker: INestApplicationContext | undefined;
  beforeAll(async () => {
    t = await startApp(generationEnv({ RUN_WORKER: 'false' }));
  });
  afterAll(async () => {
    await worker?.close();
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('is found by the sweeper, enqueued, run by a standalone worker and charged once', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/orphan')).status).toBe(201);
    const r = await call(t, 'POST', '/v1/image/generate', { owner_id: 'orphan', model: MODEL, prompt: 'lost job' }, { idem: idemKey() });
    expect(r.status).toBe(202);
    // Make it look like the API died between commit and enqueue: no job, no enqueued_at.
    const queue = t.app.get<Queue>(getQueueToken(GENERATION_QUEUE));
    await (await queue.getJob(r.body.id))?.remove();
    const db = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await db.connect();
    await db.query(`UPDATE generations SET enqueued_at = NULL, created_at = now() - interval '1 minute' WHERE id = $1`, [r.body.id]);
    await db.end();
    expect(await queue.getJob(r.body.id)).toBeUndefined();

    const recovered = await t.app.get(RecoveryService).recover();
    expect(recovered.enqueued).toBe(1);
    expect(await (await queue.getJob(r.body.id))?.getState()).toBe('waiting');
    expect((await t.app.get(RecoveryService).recover()).enqueued).toBe(0);

    worker = await NestFactory.createApplicationContext(
      WorkerModule.register({ ...t.config, RUN_WORKER: true } as typeof t.config, createLogger('silent')),
      { logger: false },
    );
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    expect(g).toMatchObject({ status: 'succeeded', tokens_used: '3.540' });
    expect((await call(t, 'GET', '/v1/wallets/orphan')).body.balance).toEqual({ available: '11.460', held: '0.000' });
  });
});

describe('recovery: the hold expires under a running job', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(generationEnv({ FAKE_PROVIDER_LATENCY_MS: '1500' }));
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('does not charge twice: the images go unbilled once the hold was released', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/slowpoke')).status).toBe(201);
    const r = await call(t, 'POST', '/v1/image/generate', { owner_id: 'slowpoke', model: MODEL, prompt: 'slow one' }, { idem: idemKey() });
    expect(r.status).toBe(202);
    await new Promise((res) => setTimeout(res, 300));
    const clock = controlClock(t, new Date(Date.now() + 2 * 3_600_000));
    expect(await t.app.get(MaintenanceService).releaseExpiredReservations()).toBe(1);
    const g = await waitFinished(t, `/v1/generations/${r.body.id}`);
    clock.restore();
    expect(g.tokens_used).toBe('0.000');
    expect((await call(t, 'GET', '/v1/wallets/slowpoke')).body.balance).toEqual({ available: '15.000', held: '0.000' });
    const tx = (await call(t, 'GET', '/v1/wallets/slowpoke/transactions?limit=50')).body.data.map((d: { type: string }) => d.type);
    expect(tx.filter((x: string) => x === 'settle')).toHaveLength(0);
    expect(tx.filter((x: string) => x === 'expire')).toHaveLength(1);
  });
});

describe('Redis down at request time', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Nothing listens on this port: the queue connection never becomes ready.
    t = await startApp(generationEnv({ RUN_WORKER: 'false', REDIS_URL: 'redis://127.0.0.1:6399' }));
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('answers 503 and holds no tokens', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/no_redis')).status).toBe(201);
    const r = await call(t, 'POST', '/v1/image/generate', { owner_id: 'no_redis', model: MODEL, prompt: 'x' }, { idem: idemKey() });
    expect([r.status, r.body.code]).toEqual([503, 'queue_unavailable']);
    expect((await call(t, 'GET', '/v1/wallets/no_redis')).body.balance).toEqual({ available: '15.000', held: '0.000' });
    const b = await call(
      t,
      'POST',
      '/v1/batches',
      { owner_id: 'no_redis', variant: 'gpt-image-2-cloudflare', items: [{ prompt: 'x' }] },
      { idem: idemKey() },
    );
    expect([b.status, b.body.code]).toEqual([503, 'queue_unavailable']);
  });
});
