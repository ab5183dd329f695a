import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../support/database.js';
import { waitLive } from '../support/api-process.js';
import { freePort } from '../support/ports.js';

/**
 * Calm failure (issue 14): the built API with its Redis unreachable, at start
 * or later. The machine's Redis is never touched: "down" is a port nothing
 * listens on, or a private redis-server this test starts and kills.
 */
interface Api {
  url: string;
  proc: ChildProcess;
  out: string[];
  err: string[];
  env: NodeJS.ProcessEnv;
}

async function env(db: string, redisUrl: string): Promise<NodeJS.ProcessEnv> {
  return {
    ...process.env,
    DATABASE_URL: db,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: `twdown${process.pid}`,
    STORAGE_DIR: mkdtempSync(join(tmpdir(), 'tw-images-')),
    PROVIDER_MODE: 'fake',
    RUN_WORKER: 'true',
    LOG_LEVEL: 'info',
    PORT: String(await freePort()),
  };
}

async function startApi(e: NodeJS.ProcessEnv): Promise<Api> {
  const proc = spawn(process.execPath, ['dist/apps/api/src/main.js'], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const err: string[] = [];
  const lines = (into: string[]) => (b: Buffer) => into.push(...b.toString().split('\n').filter(Boolean));
  proc.stdout?.on('data', lines(out));
  proc.stderr?.on('data', lines(err));
  const url = `http://127.0.0.1:${e.PORT}`;
  if (await waitLive(url, proc)) return { url, proc, out, err, env: e };
  throw new Error(`API did not start:\n${[...out, ...err].join('\n')}`);
}

/** One SIGTERM; resolves to the seconds it took to exit. */
async function sigterm(api: Api): Promise<number> {
  if (api.proc.exitCode !== null) return 0;
  const started = Date.now();
  const exited = new Promise<void>((r) => api.proc.once('exit', () => r()));
  api.proc.kill('SIGTERM');
  await exited;
  return (Date.now() - started) / 1000;
}

function newKey(e: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((done, fail) =>
    execFile(
      process.execPath,
      ['dist/apps/cli/src/main.js', 'api-key', 'create', '--name', 'redis-down', '--scope', 'gateway'],
      { env: { ...e, LOG_LEVEL: 'silent' } },
      (error, stdout) => (error ? fail(new Error(error.message)) : done(stdout.trim().split('\n').at(-1) as string)),
    ),
  );
}

async function send(api: Api, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': `rd-${Math.random()}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const GENERATE = { owner_id: 'rd_1', model: 'models/openai/gpt-image', prompt: 'a lighthouse' };
const BATCH = { owner_id: 'rd_1', variant: 'gpt-image-1-min', items: [{ prompt: 'a boat' }] };

/** What must hold while Redis is down: the ledger works, readiness and generations say Redis. */
async function expectDegraded(api: Api, key: string, redisUrl: string): Promise<void> {
  const ready = await send(api, key, 'GET', '/health/ready');
  expect(ready.status).toBe(503);
  expect(ready.body.error.redis.status).toBe('down');
  expect(ready.body.error.redis.message).toContain(`Redis at ${redisUrl}`);
  expect(ready.body.info.database.status).toBe('up');

  expect([200, 201]).toContain((await send(api, key, 'PUT', '/v1/wallets/rd_1')).status);
  const hold = await send(api, key, 'POST', '/v1/wallets/rd_1/reservations', { amount: '1.000' });
  expect(hold.status).toBe(201);
  const settled = await send(api, key, 'POST', `/v1/reservations/${hold.body.id}/settle`);
  expect([settled.status, settled.body.status]).toEqual([200, 'settled']);
  const gen = await send(api, key, 'POST', '/v1/image/generate', GENERATE);
  expect([gen.status, gen.body.code]).toEqual([503, 'queue_unavailable']);
  const batch = await send(api, key, 'POST', '/v1/batches', BATCH);
  expect([batch.status, batch.body.code]).toEqual([503, 'queue_unavailable']);
  // Nothing is held for the refused generation and batch.
  expect((await send(api, key, 'GET', '/v1/wallets/rd_1')).body.balance.held).toBe('0.000');
}

/** Every line is JSON; Redis warnings come at most once per 10 s (plus the first). */
function expectCalmLogs(api: Api, seconds: number): void {
  expect(api.err).toEqual([]);
  for (const line of api.out) expect(() => JSON.parse(line) as unknown).not.toThrow();
  const warnings = api.out.filter((l) => l.includes('Redis is unreachable'));
  expect(warnings.length).toBeGreaterThan(0);
  expect(warnings.length).toBeLessThanOrEqual(Math.ceil(seconds / 10) + 1);
}

describe('Redis down at start', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let api: Api;
  let redisUrl: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    redisUrl = `redis://127.0.0.1:${await freePort()}`;
  });
  afterAll(async () => {
    if (api) await sigterm(api);
    await db.drop();
  });

  it('opens the port, serves the ledger, answers 503 for readiness and generations, logs calmly, exits on one SIGTERM', async () => {
    const started = Date.now();
    api = await startApi(await env(db.url, redisUrl));
    const startLine = api.out.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'token-wallet API listening');
    expect(startLine).toMatchObject({
      url: expect.stringMatching(/^http:\/\/localhost:\d+$/),
      docs: expect.any(String),
      admin: expect.any(String),
    });
    expect(startLine?.make_a_key).toContain('api-key create');

    const key = await newKey(api.env);
    await expectDegraded(api, key, `${redisUrl}`);
    // Long enough for the retry warnings to repeat.
    await new Promise((r) => setTimeout(r, 12_000));
    expectCalmLogs(api, (Date.now() - started) / 1000);
    // One SIGTERM is enough, within the 10 s drain deadline (and a little for the exit itself).
    expect(await sigterm(api)).toBeLessThan(13);
    expect(api.out.some((l) => l.includes('"signal":"SIGTERM"'))).toBe(true);
  });
});

describe('Redis lost while running', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let api: Api;
  let redis: ChildProcess;
  let redisUrl: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    const port = await freePort();
    redisUrl = `redis://127.0.0.1:${port}`;
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
  });
  afterAll(async () => {
    if (api) await sigterm(api);
    if (redis.exitCode === null) redis.kill('SIGKILL');
    await db.drop();
  });

  it('keeps the ledger serving and says Redis is down once it goes', async () => {
    api = await startApi(await env(db.url, redisUrl));
    const key = await newKey(api.env);
    expect((await send(api, key, 'GET', '/health/ready')).status).toBe(200);
    expect((await send(api, key, 'PUT', '/v1/wallets/rd_1')).status).toBe(201);

    const lost = Date.now();
    const gone = new Promise<void>((r) => redis.once('exit', () => r()));
    redis.kill('SIGKILL');
    await gone;
    // Readiness notices within a few seconds.
    let status = 200;
    for (let i = 0; i < 50 && status === 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await send(api, key, 'GET', '/health/ready')).status;
    }
    expect(status).toBe(503);
    await expectDegraded(api, key, redisUrl);
    await new Promise((r) => setTimeout(r, 11_000));
    expectCalmLogs(api, (Date.now() - lost) / 1000 + 1);
    expect(await sigterm(api)).toBeLessThan(13);
  });
});
