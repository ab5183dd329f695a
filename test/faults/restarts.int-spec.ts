import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exec, execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { call, expectLedgerConsistent, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv } from '../generation/support.js';

/**
 * Restarts the machine's own PostgreSQL and Redis under load. They run alone
 * (`npm run test:faults`, after `npm test` in .ci/run): a restart would break
 * any other suite running at the same time. The restarts run as child
 * processes while the load goes on (never a synchronous exec, which would
 * stop this process, and the in-process API with it, for the whole restart).
 */
const cluster = readdirSync('/etc/postgresql')[0];
const run = promisify(execFile);
const sh = promisify(exec);
const restartPostgres = () => run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster, 'main', 'restart', '-m', 'fast']);
const restartRedis = async () => {
  await sh('redis-cli -h 127.0.0.1 -p 6379 shutdown nosave || true');
  await sh(
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
  );
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilReady(t: TestApp): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await call(t, 'GET', '/health/ready', undefined, { key: null }).catch(() => ({ status: 0 }))).status === 200) return;
    await sleep(200);
  }
  throw new Error('never ready again');
}

describe('PostgreSQL restarted under load', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('keeps every acknowledged operation and applies nothing by halves', async () => {
    const owners = Array.from({ length: 8 }, (_, i) => `pg_load_${i}`);
    for (const o of owners) expect((await call(t, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
    const acked: string[] = [];
    const failed: { owner: string; key: string }[] = [];
    const statuses = new Map<number, number>();
    let running = true;
    const loops = owners.map(async (owner) => {
      while (running) {
        const key = idemKey('pg');
        const r = await call(t, 'POST', `/v1/wallets/${owner}/reservations`, { amount: '0.010' }, { idem: key }).catch(() => ({
          status: 0,
          body: null,
        }));
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 201) acked.push(r.body.id as string);
        else failed.push({ owner, key });
      }
    });
    await sleep(1_000);
    await restartPostgres();
    await sleep(1_500);
    running = false;
    await Promise.all(loops);
    await untilReady(t);
    expect(failed.length).toBeGreaterThan(0); // the restart was felt
    expect([...statuses.keys()].filter((s) => ![0, 201, 503].includes(s))).toEqual([]);
    const db = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await db.connect();
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM reservations WHERE id = ANY($1)`, [acked]);
    expect(rows[0].n).toBe(acked.length);
    // Retrying what failed, with the same keys, applies each once.
    for (const f of failed.slice(0, 50)) {
      const a = await call(t, 'POST', `/v1/wallets/${f.owner}/reservations`, { amount: '0.010' }, { idem: f.key });
      const b = await call(t, 'POST', `/v1/wallets/${f.owner}/reservations`, { amount: '0.010' }, { idem: f.key });
      expect([a.status, b.status, b.body.id]).toEqual([201, 201, a.body.id]);
    }
    const count = await db.query(`SELECT count(*)::int AS n FROM reservations`);
    await db.end();
    expect(count.rows[0].n).toBe(acked.length + Math.min(failed.length, 50));
  });
});

describe('Redis restarted under load (its data lost)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(
      generationEnv({
        FAKE_PROVIDER_LATENCY_MS: '400',
        GENERATION_STUCK_AFTER_S: '2',
        RECOVERY_INTERVAL_MS: '1000',
        GENERATION_CONCURRENCY: '4',
      }),
    );
  });
  afterAll(async () => {
    await expectLedgerConsistent(t);
    await t.close();
  });

  it('ends every generation, charged at most once, after the jobs resume', async () => {
    const owners = Array.from({ length: 4 }, (_, i) => `redis_load_${i}`);
    for (const o of owners) expect((await call(t, 'PUT', `/v1/wallets/${o}`)).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await call(
        t,
        'POST',
        '/v1/image/generate',
        { owner_id: owners[i % 4], model: 'models/openai/gpt-image', variant: 'gpt-image-2-cloudflare', prompt: `redis drill ${i}` },
        { idem: idemKey('rd') },
      );
      expect(r.status).toBe(202);
      ids.push(r.body.id as string);
    }
    await sleep(300);
    await restartRedis();
    const db = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await db.connect();
    let open = ids.length;
    for (let i = 0; i < 300 && open > 0; i++) {
      await sleep(200);
      open = (await db.query(`SELECT count(*)::int AS n FROM generations WHERE id = ANY($1) AND status IN ('queued', 'running')`, [ids]))
        .rows[0].n;
    }
    expect(open).toBe(0);
    const settles = await db.query(
      `SELECT g.id, g.status, g.tokens_used::text, count(t.id)::int AS settles FROM generations g
       LEFT JOIN transfers t ON t.ref = g.reservation_id AND t.kind = 'settle' WHERE g.id = ANY($1) GROUP BY g.id, g.wallet_id`,
      [ids],
    );
    await db.end();
    for (const g of settles.rows) {
      expect(g.settles).toBeLessThanOrEqual(1);
      if (g.status === 'succeeded') expect([g.tokens_used, g.settles]).toEqual(['850', 1]);
    }
    expect(settles.rows.filter((g) => g.status === 'succeeded').length).toBe(20);
    for (const o of owners) expect((await call(t, 'GET', `/v1/wallets/${o}`)).body.balance).toEqual({ available: '10.750', held: '0.000' });
  });
});
