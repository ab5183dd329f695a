import { loadConfig, PinoNestLogger, REDACT } from '@app/common';
import type { VerifyReport } from '@app/ledger';
import { type INestApplication, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { createApi } from '../apps/api/src/app.js';
import { withClient } from './db.js';
import { analyse, type DbRow, type GenRow, RUN_ROWS } from './generation-analysis.js';
import { FakeChild, runClientsInChild } from './generation-children.js';
import { type GenLoadSpec, runGenerationClients, type WaitMode } from './generation-clients.js';
import { countStatements, redisCpuMs, type SideUsage, timeFinisher } from './generation-sampling.js';
import { HttpClient, HttpError } from './http-client.js';
import { topUpWallet } from './pg-load.js';
import type { ServiceUsage } from './service-usage.js';
import { measureWindow, procCpuMs, type Progress, readCpuTimes } from './stats.js';

/**
 * Scenario (e): image generations per second end to end, and what the
 * billing path adds to each generation on top of the provider's own time.
 *
 * A second API instance runs with its worker in-process (RUN_WORKER=true)
 * and the real OpenAI adapter (PROVIDER_MODE=live) pointed at the bundled fake
 * provider, which runs in a child process of its own (fake-provider-child.ts)
 * and times every request it serves. 64 closed-loop clients (generation-child.ts)
 * POST /v1/image/generate n=1 and wait for the generation to finish. The
 * per-generation breakdown comes from the generations row (created_at,
 * enqueued_at, started_at, finished_at), the fake's request timings (keyed by
 * the generation's unique prompt) and a timing wrapper around
 * GenerationFinisher.finish installed for the run (see bench/README.md).
 */

export const GEN_MODEL = 'models/openai/gpt-image';
const ORPHAN_WAIT_MS = 30_000;

/** The worker's job concurrency as GenerationProcessor reads it (process.env, when its module loads). */
export function workerConcurrency(): number {
  return Number(process.env.GENERATION_CONCURRENCY) || 8;
}

export interface GenScenarioSpec {
  label: string;
  round: number;
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  logLevel: string;
  poolSize: number;
  apiKey: string;
  clients: number;
  warmupMs: number;
  durationMs: number;
  ownerPrefix: string;
  walletCount: number;
  providerLatencyMs: number;
  wait: WaitMode;
  pollMs: number;
  timeoutMs: number;
  loadgen: 'process' | 'inline';
  /** Starts the service sampler (service-usage.ts: API thread, this process, PostgreSQL backends) now, for warm-up + window. */
  sampleService: (warmupMs: number, durationMs: number) => Promise<ServiceUsage | null>;
  /** BENCH_PROFILE: starts a CPU profile of this process over the window (armed now); resolves with the file. */
  profile?: (warmupMs: number, durationMs: number) => Promise<string | null>;
  verify: () => Promise<VerifyReport>;
  log: (line: string) => void;
}

const nowS = () => performance.now() / 1000;

/** Creates `count` wallets `${prefix}<i>` through the API and tops each up with `tokens` (ledger credit(), as scenarios.ts does for the hot wallet). */
export async function prepareGenerationWallets(o: {
  baseUrl: string;
  apiKey: string;
  databaseUrl: string;
  prefix: string;
  count: number;
  tokens: bigint;
  concurrency: number;
  grantTag: string;
  log: (line: string) => void;
}): Promise<void> {
  const t0 = nowS();
  const client = new HttpClient(o.baseUrl, o.apiKey, o.concurrency);
  const pool = new pg.Pool({ connectionString: o.databaseUrl, max: 4, application_name: 'token-wallet-bench-setup' });
  let next = 0;
  let done = 0;
  const ticker = setInterval(() => o.log(`[setup] generation wallets ${done}/${o.count}`), 1000);
  try {
    await Promise.all(
      Array.from({ length: Math.min(o.concurrency, o.count) }, async () => {
        while (next < o.count) {
          const owner = `${o.prefix}${next++}`;
          const r = await client.request('PUT', `/v1/wallets/${owner}`);
          if (r.status !== 201 && r.status !== 200) throw new HttpError(`PUT wallet ${owner}`, r);
          await topUpWallet(pool, owner, o.tokens, `${o.grantTag}:${owner}`);
          done++;
        }
      }),
    );
  } finally {
    clearInterval(ticker);
    client.close();
    await pool.end();
  }
  o.log(
    `[setup] ${o.count} generation wallets ${o.prefix}<i> created and topped up with ${o.tokens} tokens each in ${(nowS() - t0).toFixed(1)}s`,
  );
}

/** Waits (bounded) until no generation of the run is queued or running; returns how many still are. */
async function waitRunIdle(url: string, like: string, log: (line: string) => void): Promise<number> {
  return withClient(url, async (c) => {
    const until = performance.now() + ORPHAN_WAIT_MS;
    for (;;) {
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM generations WHERE prompt LIKE $1 AND status IN ('queued', 'running')`,
        [like],
      );
      if (rows[0].n === 0 || performance.now() > until) return rows[0].n;
      log(`[e] waiting for ${rows[0].n} generations still in flight`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });
}

export async function runGenerationScenario(spec: GenScenarioSpec, progress: (p: Progress) => void): Promise<GenRow> {
  const storageDir = mkdtempSync(join(tmpdir(), 'tw-bench-images-'));
  // Also on Ctrl-C (run.ts exits the process from its SIGINT handler).
  const removeStorage = () => rmSync(storageDir, { recursive: true, force: true });
  process.once('exit', removeStorage);
  // No '_' or '%': the run's prompts are found with LIKE '<run> %'.
  const run = `bench-${spec.label}${spec.round}-${randomBytes(4).toString('hex')}`;
  const like = `${run} %`;
  const concurrency = workerConcurrency();
  const hook = timeFinisher();
  const statements = countStatements();
  let fake: FakeChild | null = null;
  let app: INestApplication | null = null;
  const redis = new Redis(spec.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    fake = await FakeChild.start(spec.providerLatencyMs);
    const config = loadConfig({
      DATABASE_URL: spec.databaseUrl,
      REDIS_URL: spec.redisUrl,
      QUEUE_PREFIX: spec.queuePrefix,
      RUN_WORKER: 'true',
      PROVIDER_MODE: 'live',
      OPENAI_BASE_URL: `${fake.url}/v1`,
      OPENAI_API_KEY: 'bench-fake-key',
      CLOUDFLARE_BASE_URL: `${fake.url}/client/v4`,
      CLOUDFLARE_ACCOUNT_ID: 'bench-fake-account',
      CLOUDFLARE_API_TOKEN: 'bench-fake-token',
      STORAGE_DIR: storageDir,
      LOG_LEVEL: spec.logLevel,
      DB_POOL_SIZE: String(spec.poolSize),
      GENERATION_CONCURRENCY: String(concurrency),
      WORKER_LOCK_MS: process.env.WORKER_LOCK_MS,
    });
    // createLogger's settings, but to stderr: stdout carries the report. Nest's static logger too, from
    // now on: building this second app's module tree logs, through it, a warning that a TypeORM data
    // source named 'default' is already registered (the first app's). Each app has its own container
    // and data source, so nothing is overridden.
    const log = pino(
      { level: config.LOG_LEVEL, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'token-wallet' } },
      pino.destination(2),
    );
    Logger.overrideLogger(new PinoNestLogger(log));
    app = await createApi(config, log);
    await app.listen(0, '127.0.0.1');
    const baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    spec.log(
      `[e] API with in-process worker (concurrency ${concurrency}) on ${baseUrl}, OpenAI adapter -> fake provider ${fake.url} (pid ${fake.pid}, latency ${spec.providerLatencyMs} ms)`,
    );

    const clientSpec: GenLoadSpec = {
      baseUrl,
      apiKey: spec.apiKey,
      databaseUrl: spec.databaseUrl,
      clients: spec.clients,
      warmupMs: spec.warmupMs,
      durationMs: spec.durationMs,
      ownerPrefix: spec.ownerPrefix,
      walletCount: spec.walletCount,
      model: GEN_MODEL,
      run,
      wait: spec.wait,
      pollMs: spec.pollMs,
      timeoutMs: spec.timeoutMs,
    };
    const fakePid = fake.pid;
    // Armed when the clients' clock starts, so that the samples bracket their measurement window.
    const sampling: { done: Promise<[ServiceUsage | null, SideUsage | null]> | null; profile: Promise<string | null> | null } = {
      done: null,
      profile: null,
    };
    const onStarted = () => {
      sampling.profile = spec.profile?.(spec.warmupMs, spec.durationMs) ?? null;
      const sample = async () => ({
        statements: statements.count(),
        fake: procCpuMs(fakePid),
        redis: await redisCpuMs(redis),
        cpu: readCpuTimes(),
      });
      sampling.done = Promise.all([
        spec.sampleService(spec.warmupMs, spec.durationMs),
        measureWindow(spec.warmupMs, spec.durationMs, sample).then((w): SideUsage | null => {
          if (!w) return null;
          const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
          const { cpu: c0 } = w.start;
          const { cpu: c1 } = w.end;
          return {
            statements: w.end.statements - w.start.statements,
            fakeCpuMs: diff(w.start.fake, w.end.fake),
            redisCpuMs: diff(w.start.redis, w.end.redis),
            cpuBusy: c0 && c1 && c1.total > c0.total ? (c1.busy - c0.busy) / (c1.total - c0.total) : null,
          };
        }),
      ]);
    };
    const result =
      spec.loadgen === 'process'
        ? await runClientsInChild(clientSpec, progress, onStarted)
        : await runGenerationClients(clientSpec, progress, onStarted);
    const [usage, side] = sampling.done ? await sampling.done : [null, null];
    const profile = sampling.profile ? await sampling.profile : null;
    if (profile) spec.log(`[e] CPU profile of this process over the window: ${profile}`);

    // Every client has stopped; a generation a client gave up on may still be in flight.
    const leftover = await waitRunIdle(spec.databaseUrl, like, spec.log);
    const { calls } = await fake.collect();
    hook.restore();
    statements.restore();
    const settles = hook.records;
    await app.close();
    app = null;
    await fake.close();
    fake = null;

    const rows = await withClient(spec.databaseUrl, async (c) => (await c.query<DbRow>(RUN_ROWS, [like])).rows);
    const verify = await spec.verify();
    return analyse({ spec, concurrency, result, rows, calls, settles, usage, side, leftover, verify });
  } finally {
    hook.restore();
    statements.restore();
    if (app) await app.close().catch((e: unknown) => spec.log(`[e] app.close failed: ${String(e)}`));
    if (fake) await fake.close();
    redis.disconnect();
    process.off('exit', removeStorage);
    removeStorage();
  }
}
