import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createTestDatabase } from '../support/database.js';
import { waitLive } from '../support/api-process.js';
import { freePort } from '../support/ports.js';

/**
 * `npm start` with no REDIS_URL and no Redis at REDIS_PROBE_URL: the built
 * entry points start their own redis-server, or, without one on PATH, say how
 * to get Redis and start degraded.
 */
interface Started {
  url: string;
  proc: ChildProcess;
  logs: string[];
  env: NodeJS.ProcessEnv;
}

async function baseEnv(db: string, extra: Record<string, string>): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: db,
    // A port nothing listens on: the machine's own Redis must not be found.
    REDIS_PROBE_URL: `redis://127.0.0.1:${await freePort()}`,
    EMBEDDED_REDIS_PORT: String(await freePort()),
    EMBEDDED_REDIS_DIR: mkdtempSync(join(tmpdir(), 'tw-redis-')),
    STORAGE_DIR: mkdtempSync(join(tmpdir(), 'tw-images-')),
    PROVIDER_MODE: 'fake',
    RUN_WORKER: 'true',
    ALLOW_PRIVATE_WEBHOOK_URLS: 'true',
    LOG_LEVEL: 'info',
    PORT: String(await freePort()),
    ...extra,
  };
  delete env.REDIS_URL;
  return env;
}

async function startApi(env: NodeJS.ProcessEnv): Promise<Started> {
  const proc = spawn(process.execPath, ['dist/apps/api/src/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  proc.stdout?.on('data', (b: Buffer) => logs.push(...b.toString().split('\n')));
  proc.stderr?.on('data', (b: Buffer) => logs.push(...b.toString().split('\n')));
  const url = `http://127.0.0.1:${env.PORT}`;
  if (await waitLive(url, proc, 150)) return { url, proc, logs, env };
  throw new Error(`API did not start:\n${logs.join('\n')}`);
}

function cli(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['dist/apps/cli/src/main.js', ...args], { env: { ...env, LOG_LEVEL: 'warn' } }, (err, stdout) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });
}

async function stop(s: Started): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise<void>((r) => s.proc.once('exit', () => r()));
  s.proc.kill('SIGTERM');
  await exited;
}

async function ping(port: string | undefined): Promise<string> {
  const client = new Redis(Number(port), '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } catch (e) {
    return (e as Error).message;
  } finally {
    client.disconnect();
  }
}

/** True when nothing listens on the port (the connection is refused). */
function refused(port: string | undefined): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(false);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED'));
  });
}

async function send(s: Started, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': `er-${Math.random()}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const generate = { owner_id: 'er_1', model: 'models/openai/gpt-image', variant: 'gpt-image-2-cloudflare', prompt: 'a lighthouse' };

describe('embedded Redis', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let api: Started;
  beforeAll(async () => {
    db = await createTestDatabase();
    api = await startApi(await baseEnv(db.url, {}));
  });
  afterAll(async () => {
    await stop(api);
    await db.drop();
  });

  it('starts a private redis-server, runs a generation on it, lets the CLI reuse it and stops it on SIGTERM', async () => {
    const port = api.env.EMBEDDED_REDIS_PORT;
    expect(await ping(port)).toBe('PONG');
    expect(api.logs.some((l) => l.includes('embedded Redis started'))).toBe(true);

    // The CLI finds the API's Redis answering and reuses it, without stopping it when it exits.
    const created = await cli(api.env, ['api-key', 'create', '--name', 'er', '--scope', 'gateway']);
    expect(created.code).toBe(0);
    const key = created.stdout.trim().split('\n').at(-1) as string;
    expect(await ping(port)).toBe('PONG');

    expect((await send(api, key, 'PUT', '/v1/wallets/er_1')).status).toBe(201);
    const gen = await send(api, key, 'POST', '/v1/image/generate', generate);
    expect(gen.status).toBe(202);
    let status = 'queued';
    for (let i = 0; i < 200 && (status === 'queued' || status === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await send(api, key, 'GET', `/v1/generations/${gen.body.id}`)).body.status;
    }
    expect(status).toBe('succeeded');
    expect((await send(api, key, 'GET', '/health/ready')).status).toBe(200);
    expect((await cli(api.env, ['ledger', 'verify'])).code).toBe(0);

    await stop(api);
    expect(await refused(port)).toBe(true);
  });
});

describe('no redis-server on PATH', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let api: Started;
  beforeAll(async () => {
    db = await createTestDatabase();
    // PATH holds node and nothing else: no redis-server.
    const bin = mkdtempSync(join(tmpdir(), 'tw-path-'));
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, 'node'));
    api = await startApi(await baseEnv(db.url, { PATH: bin }));
  });
  afterAll(async () => {
    await stop(api);
    await db.drop();
  });

  it('says how to get Redis and serves the ledger without it', async () => {
    const line = api.logs.find((l) => l.includes('no redis-server is on PATH'));
    expect(line).toMatch(/apt-get install redis-server.*brew install redis.*docker compose up redis/);
    expect(await refused(api.env.EMBEDDED_REDIS_PORT)).toBe(true);

    const created = await cli(api.env, ['api-key', 'create', '--name', 'er', '--scope', 'gateway']);
    expect(created.code).toBe(0);
    const key = created.stdout.trim().split('\n').at(-1) as string;

    const ready = await send(api, key, 'GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.redis.status).toBe('down');
    expect((await send(api, key, 'PUT', '/v1/wallets/er_1')).status).toBe(201);
    const gen = await send(api, key, 'POST', '/v1/image/generate', generate);
    expect([gen.status, gen.body.code]).toEqual([503, 'queue_unavailable']);
    const hold = await send(api, key, 'POST', '/v1/wallets/er_1/reservations', { amount: '1' });
    expect(hold.status).toBe(201);
    expect((await send(api, key, 'POST', `/v1/reservations/${hold.body.id}/settle`)).status).toBe(200);
    expect((await send(api, key, 'GET', '/v1/wallets/er_1')).body.balance).toEqual({ available: '14.000', held: '0.000' });
    expect((await cli(api.env, ['ledger', 'verify'])).code).toBe(0);
  });
});
