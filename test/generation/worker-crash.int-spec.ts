import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChildProcess, spawn } from 'node:child_process';
import pg from 'pg';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv, waitFinished } from './support.js';

/** A standalone worker process (the built `npm run start:worker`), sharing the suite's database and queue. */
function startWorker(t: TestApp, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['dist/apps/worker/src/main.js'], {
    env: {
      ...process.env,
      ...env,
      DATABASE_URL: t.config.DATABASE_URL,
      REDIS_URL: t.config.REDIS_URL,
      QUEUE_PREFIX: t.config.QUEUE_PREFIX,
      LOG_LEVEL: 'silent',
    },
    stdio: 'ignore',
  });
}

describe('a worker killed with SIGKILL mid-job', () => {
  let t: TestApp;
  const env = generationEnv({ RUN_WORKER: 'false', WORKER_LOCK_MS: '2000' });
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    t = await startApp(env);
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('ends with the generation finished and charged exactly once', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/crashy')).status).toBe(201);
    const r = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'crashy', model: 'models/openai/gpt-image', prompt: 'slow [fake:delay_ms=4000]', n: 2 },
      { idem: idemKey() },
    );
    expect(r.status).toBe(202);
    const first = startWorker(t, env);
    workers.push(first);
    const db = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await db.connect();
    try {
      // Wait until the first worker has taken the job and is inside the provider call.
      for (let i = 0; i < 150; i++) {
        const { rows } = await db.query(`SELECT status, attempts FROM generations WHERE id = $1`, [r.body.id]);
        if (rows[0].status === 'running') break;
        await new Promise((res) => setTimeout(res, 100));
      }
      expect((await db.query(`SELECT status FROM generations WHERE id = $1`, [r.body.id])).rows[0].status).toBe('running');
      first.kill('SIGKILL');
      await new Promise((res) => first.once('exit', res));

      workers.push(startWorker(t, env));
      const g = await waitFinished(t, `/v1/generations/${r.body.id}`, 60_000);
      expect(g).toMatchObject({ status: 'succeeded', tokens_used: '7.080' });
      const { rows } = await db.query(`SELECT attempts FROM generations WHERE id = $1`, [r.body.id]);
      expect(rows[0].attempts).toBeGreaterThanOrEqual(2);
    } finally {
      await db.end();
    }
    const tx = (await call(t, 'GET', '/v1/wallets/crashy/transactions?limit=50')).body.data.map((d: { type: string }) => d.type);
    expect(tx.filter((x: string) => x === 'settle')).toHaveLength(1);
    expect((await call(t, 'GET', '/v1/wallets/crashy')).body.balance).toEqual({ available: '7.920', held: '0.000' });
  });
});
