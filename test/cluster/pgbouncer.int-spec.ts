import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyService } from '@app/common';
import { ChildProcess, spawn } from 'node:child_process';
import pg from 'pg';
import { apiEnv, spawnApi } from '../support/api-process.js';
import { expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv } from '../generation/support.js';
import { freePort } from '../support/ports.js';
import { clusterEnv, stopAll, until } from './support.js';

/** `url`'s database, reached through PgBouncer instead. */
function throughBouncer(url: string): string {
  const u = new URL(clusterEnv('TW_PGBOUNCER_URL'));
  u.pathname = new URL(url).pathname;
  return u.toString();
}

/**
 * PgBouncer 1.18 in transaction mode (test/cluster/run.sh) in front of the test database: two API
 * and two worker processes reach PostgreSQL only through it, with DATABASE_PREPARED_STATEMENTS=false.
 */
describe('through PgBouncer in transaction mode', () => {
  let t: TestApp;
  let key: string;
  const procs: ChildProcess[] = [];
  const apis: string[] = [];

  beforeAll(async () => {
    t = await startApp(generationEnv({ RUN_WORKER: 'false' }));
    key = (await t.app.get(ApiKeyService).create('bounced', 'gateway')).key;
    const env = {
      DATABASE_URL: throughBouncer(t.config.DATABASE_URL!),
      DATABASE_PREPARED_STATEMENTS: 'false',
      DB_POOL_SIZE: '8',
      PROVIDER_MODE: 'fake',
      STORAGE_DIR: t.config.STORAGE_DIR,
    };
    for (let i = 0; i < 2; i++) {
      const api = await spawnApi(t, env);
      procs.push(api.proc);
      apis.push(api.url);
      procs.push(
        spawn(process.execPath, ['dist/apps/worker/src/main.js'], {
          env: apiEnv(t, { ...env, WORKER_METRICS_PORT: String(await freePort()) }),
          stdio: 'ignore',
        }),
      );
    }
  });
  afterAll(async () => {
    await stopAll(procs);
    if (t) {
      await expectLedgerConsistent(t);
      await t.close();
    }
  });

  const send = async (i: number, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${apis[i % 2]}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idemKey('pgb') },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('is really transaction pooling: named statements of one client land on server connections that never saw them', async () => {
    // What the switch avoids: node-pg prepares a name once per client connection, PgBouncer then runs
    // the next execution on whichever server connection is free.
    const pool = new pg.Pool({ connectionString: throughBouncer(t.config.DATABASE_URL!), max: 6 });
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        pool.query({ name: 'tw_probe', text: 'SELECT $1::int AS n, pg_sleep(0.001)', values: [i] }).then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      ),
    );
    await pool.end();
    expect(outcomes.filter((o) => /prepared statement "tw_probe" (does not exist|already exists)/.test(o)).length).toBeGreaterThan(0);
  });

  it('serves the hot path, generations and a batch from two APIs and two workers, and the books hold', async () => {
    const owners = ['pgb_0', 'pgb_1', 'pgb_2', 'pgb_3'];
    for (const [i, o] of owners.entries()) expect((await send(i, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
    // 120 holds of 0.1 across both APIs (3 tokens of each wallet's 15), then settled or released through the other.
    const holds = await Promise.all(
      Array.from({ length: 120 }, (_, i) => send(i, 'POST', `/v1/wallets/${owners[i % 4]}/reservations`, { amount: '0.1' })),
    );
    expect(holds.filter((h) => h.status !== 201)).toEqual([]);
    const ends = await Promise.all(
      holds.map((h, i) => send(i + 1, 'POST', `/v1/reservations/${h.body.id}/${i % 8 < 4 ? 'settle' : 'release'}`)),
    );
    expect(ends.filter((e) => e.status !== 200)).toEqual([]);
    const gens = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        send(i, 'POST', '/v1/image/generate', {
          owner_id: owners[i % 4],
          model: 'models/openai/gpt-image',
          variant: 'gpt-image-2-cloudflare',
          prompt: `bounced ${i}`,
        }),
      ),
    );
    expect(gens.map((g) => g.status)).toEqual(Array(8).fill(202));
    const batch = await send(0, 'POST', '/v1/batches', {
      owner_id: 'pgb_0',
      variant: 'gpt-image-2-cloudflare',
      items: [{ prompt: 'a' }, { prompt: 'b' }],
    });
    expect(batch.status).toBe(202);
    for (const g of gens) {
      const done = await until(
        'a generation',
        async () => (await send(0, 'GET', `/v1/generations/${g.body.id}`)).body,
        (b) => b.status === 'succeeded' || b.status === 'failed',
      );
      expect(done.status).toBe('succeeded');
    }
    expect(
      await until(
        'the batch',
        async () => (await send(1, 'GET', `/v1/batches/${batch.body.id}`)).body,
        (b) => b.status === 'completed',
      ),
    ).toMatchObject({
      succeeded: 2,
      tokens_used: '1.700',
    });
    // Each wallet: 15 - 15 x 0.1 settled - 2 x 0.850; pgb_0 also paid the batch's 2 x 0.850.
    const balances = await Promise.all(owners.map(async (o, i) => (await send(i, 'GET', `/v1/wallets/${o}`)).body.balance));
    expect(balances).toEqual([
      { available: '10.100', held: '0.000' },
      { available: '11.800', held: '0.000' },
      { available: '11.800', held: '0.000' },
      { available: '11.800', held: '0.000' },
    ]);
    expect((await fetch(`${apis[1]}/health/ready`)).status).toBe(200);
    expect((await t.verify()).violations).toEqual([]);
  });
});
