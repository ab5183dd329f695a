import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyService, Database, parseRedisUrl, verifySignature } from '@app/common';
import { Cluster, Redis } from 'ioredis';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiEnv, spawnApi } from '../support/api-process.js';
import { call, expectLedgerConsistent, grantTokens, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv, waitFinished } from '../generation/support.js';
import { freePort } from '../support/ports.js';
import { clusterEnv, sleep, stopAll, until } from './support.js';

/**
 * The service on a Redis Cluster of 3 masters and 3 replicas (test/cluster/run.sh): one API with
 * its worker in this process and a worker process beside it. Queues, workers, the rate limiter,
 * readiness, the sweeper and recovery all go through the cluster; then the master holding the
 * queues' slot is killed under load and its replica takes over.
 */
describe('on a Redis Cluster', () => {
  const url = clusterEnv('TW_REDIS_CLUSTER_URL');
  const prefix = `{twc_${randomBytes(3).toString('hex')}}`;
  let t: TestApp;
  let admin: Cluster;
  let receiver: Server;
  let hookUrl: string;
  const hooks: { type: string; valid: boolean }[] = [];
  const procs: ChildProcess[] = [];
  // Warnings of this process's app and of the worker process: a worker close cut short is one.
  const logs: string[] = [];
  const workerLogs: string[] = [];

  beforeAll(async () => {
    admin = new Cluster(parseRedisUrl(url).nodes);
    t = await startApp(
      generationEnv({
        REDIS_URL: url,
        QUEUE_PREFIX: prefix,
        SWEEP_INTERVAL_MS: '1000',
        RECOVERY_INTERVAL_MS: '1000',
        GENERATION_STUCK_AFTER_S: '5',
        WORKER_LOCK_MS: '5000',
        FAKE_PROVIDER_LATENCY_MS: '30',
        GENERATION_CONCURRENCY: '4',
        LOG_LEVEL: 'warn',
      }),
      logs,
    );
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const sig = req.headers['webhook-signature'];
        const body = JSON.parse(raw) as { type: string };
        hooks.push({ type: body.type, valid: typeof sig === 'string' && verifySignature(t.config.WEBHOOK_SIGNING_SECRET, sig, raw) });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    const worker = spawn(process.execPath, ['dist/apps/worker/src/main.js'], {
      env: apiEnv(t, {
        ...generationEnv({
          STORAGE_DIR: t.config.STORAGE_DIR,
          WORKER_LOCK_MS: '5000',
          FAKE_PROVIDER_LATENCY_MS: '30',
          GENERATION_CONCURRENCY: '4',
        }),
        WORKER_METRICS_PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
      }),
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    worker.stdout?.on('data', (chunk: Buffer) => workerLogs.push(...chunk.toString().split('\n').filter(Boolean)));
    procs.push(worker);
  });
  afterAll(async () => {
    // The worker and API processes exit on one SIGTERM after the failover (not on the SIGKILL 15 s later),
    // and every worker, in them and here, closes by itself: none is cut short by its bound (worker-shutdown.ts).
    const exits = await stopAll(procs);
    try {
      if (t) {
        await expectLedgerConsistent(t);
        await t.close();
      }
      const cutShort = (lines: string[]) => lines.filter((l) => l.includes('worker did not close'));
      expect([cutShort(logs), cutShort(workerLogs)]).toEqual([[], []]);
      expect(exits).toEqual(procs.map((p) => ({ pid: p.pid, code: 0, signal: null })));
    } finally {
      admin?.disconnect();
      await new Promise((r) => receiver?.close(r));
    }
  });

  it('keeps every queue key of the prefix in one slot, and is ready', async () => {
    const ready = await call(t, 'GET', '/health/ready');
    expect([ready.status, ready.body.info?.redis?.status]).toEqual([200, 'up']);
    expect((await call(t, 'PUT', '/v1/wallets/cl_first')).status).toBe(201);
    const g = await call(
      t,
      'POST',
      '/v1/image/generate',
      { owner_id: 'cl_first', model: 'models/openai/gpt-image', variant: 'gpt-image-2-cloudflare', prompt: 'on a cluster' },
      { idem: idemKey('cl') },
    );
    expect(g.status).toBe(202);
    expect((await waitFinished(t, `/v1/generations/${g.body.id}`)).status).toBe('succeeded');
    // The queues' keys live on the node that owns the prefix's slot, and nowhere else.
    const slot = (await admin.call('CLUSTER', 'KEYSLOT', prefix)) as number;
    const owner = await masterOf(admin, slot);
    const nodeKeys: string[] = [];
    for (const node of admin.nodes('master')) nodeKeys.push(...(await node.keys(`${prefix}*`)).map((k) => `${node.options.port}:${k}`));
    expect(nodeKeys.length).toBeGreaterThan(3);
    expect(nodeKeys.every((k) => k.startsWith(`${owner.port}:`))).toBe(true);
  });

  it('runs generations and a batch with their webhooks through the cluster', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/cl_gen')).status).toBe(201);
    const gens = await Promise.all(
      [1, 2, 3].map((i) =>
        call(
          t,
          'POST',
          '/v1/image/generate',
          {
            owner_id: 'cl_gen',
            model: 'models/openai/gpt-image',
            variant: 'gpt-image-2-cloudflare',
            prompt: `g${i}`,
            webhook_url: hookUrl,
          },
          { idem: idemKey('cl') },
        ),
      ),
    );
    expect(gens.map((g) => g.status)).toEqual([202, 202, 202]);
    const batch = await call(
      t,
      'POST',
      '/v1/batches',
      {
        owner_id: 'cl_gen',
        variant: 'gpt-image-2-cloudflare',
        items: [{ prompt: 'a' }, { prompt: 'b' }, { prompt: 'c' }],
        webhook_url: hookUrl,
      },
      { idem: idemKey('cl') },
    );
    expect(batch.status).toBe(202);
    for (const g of gens) expect((await waitFinished(t, `/v1/generations/${g.body.id}`)).status).toBe('succeeded');
    expect(await waitFinished(t, `/v1/batches/${batch.body.id}`)).toMatchObject({
      status: 'completed',
      succeeded: 3,
      tokens_used: '2.550',
    });
    // 15 - 6 x 0.850
    expect((await call(t, 'GET', '/v1/wallets/cl_gen')).body.balance).toEqual({ available: '9.900', held: '0.000' });
    await until(
      'the webhooks',
      () => Promise.resolve(hooks.map((h) => h.type).sort()),
      (types) => types.filter((x) => x === 'generation.succeeded').length >= 3 && types.includes('batch.completed'),
    );
    expect(hooks.every((h) => h.valid)).toBe(true);
  });

  it('has the sweeper release a lapsed hold', async () => {
    expect((await call(t, 'PUT', '/v1/wallets/cl_sweep')).status).toBe(201);
    const r = await call(t, 'POST', '/v1/wallets/cl_sweep/reservations', { amount: '4', expires_in: 1 }, { idem: idemKey('cl') });
    expect(r.status).toBe(201);
    await until(
      'the sweep',
      async () => (await call(t, 'GET', '/v1/wallets/cl_sweep')).body.balance.held,
      (held) => held === '0.000',
    );
    expect((await call(t, 'GET', `/v1/reservations/${r.body.id}`)).body).toMatchObject({ status: 'expired', released: '4.000' });
    expect((await call(t, 'GET', '/v1/wallets/cl_sweep')).body.balance).toEqual({ available: '15.000', held: '0.000' });
  });

  it('counts requests per key in the cluster: a second API with a limit of 5 answers the 6th with 429', async () => {
    const api = await spawnApi(t, { RATE_LIMIT_PER_MINUTE: '5' });
    procs.push(api.proc);
    const limited = await t.app.get(ApiKeyService).create('cl-limited', 'gateway');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${api.url}/v1/prices`, { headers: { authorization: `Bearer ${limited.key}` } });
      statuses.push(res.status);
    }
    // The limiter lets requests through when Redis does not answer: the 429 is the cluster's count.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    // The counter itself, read back from the cluster (a window may have turned over in between: both are summed).
    const id = await apiKeyId(t, 'cl-limited');
    const window = Math.floor(Date.now() / 60_000);
    const counts = await Promise.all([window - 1, window].map((w) => admin.get(`${prefix}:rl:${id}:${w}`)));
    expect(counts.reduce((n, c) => n + Number(c ?? 0), 0)).toBeGreaterThanOrEqual(6);
  });

  it('loses no generation and charges none twice when the queues’ master dies under load', async () => {
    const owners = Array.from({ length: 8 }, (_, i) => `cl_load_${i}`);
    for (const o of owners) {
      expect((await call(t, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
      await grantTokens(t, o, 1_000_000n);
    }
    const slot = (await admin.call('CLUSTER', 'KEYSLOT', prefix)) as number;
    const victim = await masterOf(admin, slot);
    const pid = Number(readFileSync(join(clusterEnv('TW_CLUSTER_DIR'), `redis-${victim.port}`, 'redis.pid'), 'utf8'));

    const accepted: { id: string; owner: string; at: number }[] = [];
    const refused: { status: number; code?: string; at: number }[] = [];
    const start = Date.now();
    let killedAt = 0;
    const client = async (c: number) => {
      for (let i = 0; Date.now() - start < 14_000; i++) {
        const owner = owners[(c + i) % owners.length];
        const r = await call(
          t,
          'POST',
          '/v1/image/generate',
          { owner_id: owner, model: 'models/openai/gpt-image', variant: 'gpt-image-2-cloudflare', prompt: `load ${c}.${i}` },
          { idem: idemKey('load') },
        );
        if (r.status === 202) accepted.push({ id: r.body.id, owner, at: Date.now() - start });
        else refused.push({ status: r.status, code: r.body?.code, at: Date.now() - start });
      }
    };
    const killer = (async () => {
      await sleep(3_000);
      process.kill(pid, 'SIGKILL');
      killedAt = Date.now() - start;
    })();
    await Promise.all([killer, ...Array.from({ length: 12 }, (_, c) => client(c))]);

    // A replica took the dead master's slots.
    const after = await until(
      'the failover',
      () => masterOf(admin, slot).catch(() => null),
      (m) => m !== null && m.port !== victim.port,
    );
    expect(after?.port).not.toBe(victim.port);
    // Only 503 queue_unavailable while the slot had no master (nothing held then), and work accepted after it.
    expect(refused.filter((r) => r.status !== 503 || r.code !== 'queue_unavailable')).toEqual([]);
    expect(accepted.filter((a) => a.at < killedAt).length).toBeGreaterThan(10);
    expect(accepted.filter((a) => a.at > killedAt + 8_000).length).toBeGreaterThan(10);

    // Every accepted generation finishes (the recovery loop enqueues again what the failover lost).
    const db = t.app.get(Database);
    const ids = accepted.map((a) => a.id);
    const states = await until(
      'every accepted generation to finish',
      () =>
        db.query<{ status: string; n: string }>(`SELECT status, count(*)::text AS n FROM generations WHERE id = ANY ($1) GROUP BY status`, [
          ids,
        ]),
      (rows) => rows.every((r) => r.status === 'succeeded' || r.status === 'failed'),
      120_000,
    );
    expect(states).toEqual([{ status: 'succeeded', n: String(ids.length) }]);
    // The dead master comes back and rejoins as a replica of the node that took its slots.
    execFileSync('sh', [join(clusterEnv('TW_CLUSTER_DIR'), `redis-${victim.port}`, 'start.sh')]);
    await until(
      'the old master to rejoin as a replica',
      async () => {
        const back = new Redis({ port: victim.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
        back.on('error', () => undefined);
        try {
          await back.connect();
          const info = await back.info('replication');
          return /role:slave/.test(info) && /master_link_status:up/.test(info);
        } catch {
          return false;
        } finally {
          back.disconnect();
        }
      },
      (ok) => ok,
    );
    if (process.env.TW_CLUSTER_VERBOSE) console.info({ accepted: accepted.length, refused: refused.length, killedAt });
    // Each generation settled once, for its one image.
    const charges = await db.query<{ id: string; settles: string; settled: string; status: string }>(
      `SELECT g.id, count(t.id)::text AS settles, r.settled::text AS settled, r.status
       FROM generations g JOIN reservations r ON r.id = g.reservation_id
       LEFT JOIN transfers t ON t.ref = r.id AND t.kind = 'settle'
       WHERE g.id = ANY ($1) GROUP BY g.id, r.settled, r.status`,
      [accepted.map((a) => a.id)],
    );
    expect(charges).toHaveLength(accepted.length);
    expect(charges.filter((c) => c.settles !== '1' || c.settled !== '850' || c.status !== 'settled')).toEqual([]);
    for (const o of owners) {
      const n = accepted.filter((a) => a.owner === o).length;
      const balance = (await call(t, 'GET', `/v1/wallets/${o}`)).body.balance;
      expect([o, balance]).toEqual([o, { available: tokens(15_000n + 1_000_000n - BigInt(n) * 850n), held: '0.000' }]);
    }
    expect((await t.verify()).violations).toEqual([]);
  }, 240_000);
});

function tokens(mt: bigint): string {
  return `${mt / 1000n}.${(mt % 1000n).toString().padStart(3, '0')}`;
}

/** The master that serves `slot` now, from the cluster's own slot map. */
async function masterOf(admin: Cluster, slot: number): Promise<{ host: string; port: number }> {
  const slots = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  if (!range) throw new Error(`no master serves slot ${slot}`);
  return { host: range[2][0], port: range[2][1] };
}

async function apiKeyId(t: TestApp, name: string): Promise<string> {
  const rows = await t.app.get(Database).query<{ id: string }>(`SELECT id FROM api_keys WHERE name = $1`, [name]);
  return rows[0].id;
}
