import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyService } from '@app/common';
import { ChildProcess, spawn } from 'node:child_process';
import { waitLive } from '../support/api-process.js';
import { freePort } from '../support/ports.js';
import { expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv } from '../generation/support.js';

/** Two API processes and two worker processes (the built entry points) on one database and Redis. */
describe('multi-instance: 2 APIs and 2 workers', () => {
  let t: TestApp;
  const procs: ChildProcess[] = [];
  const apis: string[] = [];
  const metricsPorts: number[] = [];
  let key: string;

  beforeAll(async () => {
    t = await startApp(generationEnv({ RUN_WORKER: 'false' }));
    key = (await t.app.get(ApiKeyService).create('multi', 'gateway')).key;
    const env = {
      ...process.env,
      DATABASE_URL: t.config.DATABASE_URL,
      REDIS_URL: t.config.REDIS_URL,
      QUEUE_PREFIX: t.config.QUEUE_PREFIX,
      PROVIDER_MODE: 'fake',
      LOG_LEVEL: 'silent',
      STORAGE_DIR: t.config.STORAGE_DIR,
    };
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      procs.push(
        spawn(process.execPath, ['dist/apps/api/src/main.js'], {
          env: { ...env, PORT: String(port), RUN_WORKER: 'false' },
          stdio: 'ignore',
        }),
      );
      metricsPorts.push(await freePort());
      procs.push(
        spawn(process.execPath, ['dist/apps/worker/src/main.js'], {
          env: { ...env, WORKER_METRICS_PORT: String(metricsPorts[i]) },
          stdio: 'ignore',
        }),
      );
      apis.push(`http://127.0.0.1:${port}`);
    }
    for (const base of apis) expect([base, await waitLive(base, undefined, 200)]).toEqual([base, true]);
  });
  afterAll(async () => {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise<void>((r) => (p.exitCode !== null ? r() : p.once('exit', () => r())))));
    await expectLedgerConsistent(t);
    await t.close();
  });

  const send = async (i: number, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${apis[i % 2]}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idemKey('multi') },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('keeps the books through concurrent reservations, settlements and generations on both', async () => {
    const owners = ['mi_0', 'mi_1', 'mi_2'];
    for (const [i, o] of owners.entries()) expect((await send(i, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
    // 60 reservations of 0.5 across both APIs: 10 tokens of each wallet's 15.
    const holds = await Promise.all(
      Array.from({ length: 60 }, (_, i) => send(i, 'POST', `/v1/wallets/${owners[i % 3]}/reservations`, { amount: '0.5' })),
    );
    expect(holds.every((h) => h.status === 201)).toBe(true);
    // Settle half through the other instance, release the rest.
    const ends = await Promise.all(
      holds.map((h, i) => send(i + 1, 'POST', `/v1/reservations/${h.body.id}/${i % 2 ? 'release' : 'settle'}`)),
    );
    expect(ends.every((e) => e.status === 200)).toBe(true);
    // 6 generations, picked up by either worker.
    const gens = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        send(i, 'POST', '/v1/image/generate', {
          owner_id: owners[i % 3],
          model: 'models/openai/gpt-image',
          variant: 'gpt-image-2-cloudflare',
          prompt: `multi ${i}`,
        }),
      ),
    );
    expect(gens.every((g) => g.status === 202)).toBe(true);
    for (const g of gens) {
      let status = 'queued';
      for (let i = 0; i < 200 && (status === 'queued' || status === 'running'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await send(i, 'GET', `/v1/generations/${g.body.id}`)).body.status;
      }
      expect(status).toBe('succeeded');
    }
    // Each wallet: 15 - 10 x 0.5 settled (5.000) - 2 x 0.850.
    for (const [i, o] of owners.entries()) {
      expect((await send(i, 'GET', `/v1/wallets/${o}`)).body.balance).toEqual({ available: '8.300', held: '0.000' });
    }
    expect((await t.verify()).violations).toEqual([]);
    // Worker-only processes serve their own metrics: together they completed the six jobs.
    let completed = 0;
    for (const port of metricsPorts) {
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
      const m = /queue_jobs_total\{queue="generations",outcome="completed"\} (\d+)/.exec(text);
      completed += m ? Number(m[1]) : 0;
      expect(text).toMatch(
        /provider_request_duration_seconds_count\{provider="cloudflare",outcome="ok"\} \d+|# HELP provider_request_duration_seconds/,
      );
    }
    expect(completed).toBe(6);
  });
});
