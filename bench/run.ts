import 'reflect-metadata';
import { ApiKeyService, createLogger, loadConfig, prepareDatabase } from '@app/common';
import { VerifyService, type VerifyReport } from '@app/ledger';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createApi } from '../apps/api/src/app.js';
import {
  formatGenerationReport,
  genFailed,
  genRate,
  type GenRow,
  prepareGenerationWallets,
  runGenerationScenario,
  workerConcurrency,
} from './generation-load.js';
import type { WaitMode } from './generation-clients.js';
import { HttpClient, HttpError } from './http-client.js';
import { type HttpLoadSpec, runHttpLoad } from './http-load.js';
import { runPgLoad, topUpWallet } from './pg-load.js';
import { WindowProfiler } from './profile.js';
import {
  cpuBusySince,
  cpuMsBetween,
  measureWindow,
  percentile,
  procCpuMs,
  type Progress,
  readCpuTimes,
  type TimedResult,
} from './stats.js';

/**
 * `npm run bench`: reserve+settle pairs per second and pair latency
 *   (a) through the real HTTP API over 10,000 wallets,
 *   (b) through the HTTP API with every client on one hot wallet,
 *   (c) the very same ledger statements issued straight over `pg`,
 * plus (d), opt-in, the hot wallet straight over `pg`, and
 *   (e) image generations end to end (API + in-process worker + fake provider),
 * with the billing overhead per generation. See bench/README.md.
 */

function envInt(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name}=${raw} must be a number >= ${min}`);
  return n;
}

const SECONDS = envInt('BENCH_SECONDS', 15, 1);
const WARMUP_SECONDS = envInt('BENCH_WARMUP_SECONDS', 3, 0);
const WALLETS = Math.floor(envInt('BENCH_WALLETS', 10_000, 1));
const CLIENTS = Math.floor(envInt('BENCH_CLIENTS', 64, 1));
const POOL = Math.floor(envInt('BENCH_POOL', 20, 1));
const ROUNDS = Math.floor(envInt('BENCH_ROUNDS', 1, 1));
const SETUP_CONCURRENCY = Math.floor(envInt('BENCH_SETUP_CONCURRENCY', 32, 1));
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL || 'warn';
const LOADGEN = (process.env.BENCH_LOADGEN || 'process') as 'process' | 'inline';
const SCENARIOS = (process.env.BENCH_SCENARIOS || 'a,b,c,e')
  .split(',')
  .map((s) => s.trim().toLowerCase())
  .filter(Boolean);
const VACUUM = process.env.BENCH_VACUUM !== '0';
const PROFILE_DIR = process.env.BENCH_PROFILE || '';
const PG_ADMIN_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
const AMOUNT = '0.010';
const HOT_TOP_UP_TOKENS = 1_000_000n;
const OWNER_PREFIX = 'bench-w-';
const HOT_OWNER = 'bench-hot';
// (e): image generations.
const GEN_SECONDS = envInt('BENCH_GEN_SECONDS', SECONDS, 1);
const GEN_WALLETS = Math.floor(envInt('BENCH_GEN_WALLETS', 1000, 1));
const GEN_TOKENS = BigInt(Math.floor(envInt('BENCH_GEN_TOKENS', 10_000, 4)));
const GEN_WAIT = (process.env.BENCH_GEN_WAIT || 'db') as WaitMode;
const GEN_POLL_MS = Math.floor(envInt('BENCH_GEN_POLL_MS', 20, 1));
const GEN_TIMEOUT_S = envInt('BENCH_GEN_TIMEOUT_S', 60, 1);
const GEN_PROVIDER_LATENCY_MS = Math.floor(envInt('BENCH_GEN_PROVIDER_LATENCY_MS', 0, 0));
const GEN_OWNER_PREFIX = 'bench-g-';

if (LOADGEN !== 'process' && LOADGEN !== 'inline') throw new Error('BENCH_LOADGEN must be process or inline');
for (const s of SCENARIOS)
  if (!['a', 'b', 'c', 'd', 'e'].includes(s)) throw new Error(`BENCH_SCENARIOS: unknown scenario ${s} (a, b, c, d, e)`);
if (GEN_WAIT !== 'db' && GEN_WAIT !== 'http') throw new Error('BENCH_GEN_WAIT must be db or http');
for (const u of [PG_ADMIN_URL, REDIS_URL]) {
  const host = new URL(u).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`the benchmark only talks to 127.0.0.1, not ${host}`);
}

const err = (line: string) => process.stderr.write(`${line}\n`);
const out = (line = '') => process.stdout.write(`${line}\n`);

function dbUrl(name: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: 'token-wallet-bench' });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** What the service side used over the measurement window: the API thread, this process, the PostgreSQL backends. */
interface ServiceUsage {
  apiElu: number;
  nodeCpuMs: number;
  pgCpuMs: number | null;
}

/**
 * Samples this process (event loop, CPU) and the CPU of every PostgreSQL
 * backend connected to the bench database (from /proc, Linux only) when the
 * warm-up ends and when the window ends. The backends are listed at the start
 * (the pools are full by then) and read again synchronously at the end, before
 * the scenario can close its pool.
 */
function sampleService(dbUrlForStats: string, dbName: string, warmupMs: number, durationMs: number): Promise<ServiceUsage | null> {
  const stats = new pg.Client({ connectionString: dbUrlForStats, application_name: 'token-wallet-bench-stats' });
  let pids: number[] = [];
  const readPg = () => {
    const m = new Map<number, number>();
    for (const pid of pids) {
      const cpu = procCpuMs(pid);
      if (cpu !== null) m.set(pid, cpu);
    }
    return m;
  };
  const sample = () => ({ elu: performance.eventLoopUtilization(), cpu: process.cpuUsage(), pg: readPg() });
  let first = true;
  const connected = stats.connect();
  connected.catch(() => undefined); // awaited (and reported) by the first sample
  // The window's timers are armed now, before the scenario arms its own: at the end this
  // sample runs first, so the scenario cannot have closed its pool yet.
  return measureWindow(warmupMs, durationMs, async () => {
    if (!first) return sample();
    first = false;
    await connected;
    const { rows } = await stats.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [
      dbName,
    ]);
    pids = rows.map((r) => r.pid);
    return sample();
  })
    .then((w) => {
      if (!w) return null;
      let pgCpuMs: number | null = null;
      if (w.start.pg.size > 0) {
        // A backend gone by the end is an idle connection of the API's pool that timed out
        // (pg.Pool idleTimeoutMillis); the scenario's own connections are all still open.
        pgCpuMs = 0;
        for (const [pid, cpu] of w.end.pg) pgCpuMs += cpu - (w.start.pg.get(pid) ?? cpu);
      }
      return {
        apiElu: performance.eventLoopUtilization(w.end.elu, w.start.elu).utilization,
        nodeCpuMs: cpuMsBetween(w.start.cpu, w.end.cpu),
        pgCpuMs,
      };
    })
    .finally(() => stats.end().catch(() => undefined));
}

function genProgressPrinter(label: string): (p: Progress) => void {
  let last = 0;
  return (p) => {
    const perSecond = p.pairsTotal - last;
    last = p.pairsTotal;
    err(
      `[${label}] ${p.elapsedS.toFixed(0).padStart(3)}s ${p.phase.padEnd(9)} generations=${p.pairsTotal} measured=${p.pairsMeasured} errors=${p.errors} (${perSecond}/s)`,
    );
  };
}

function progressPrinter(label: string): (p: Progress) => void {
  let last = 0;
  return (p) => {
    const perSecond = p.pairsTotal - last;
    last = p.pairsTotal;
    err(
      `[${label}] ${p.elapsedS.toFixed(0).padStart(3)}s ${p.phase.padEnd(9)} pairs=${p.pairsTotal} measured=${p.pairsMeasured} errors=${p.errors} (${perSecond}/s)`,
    );
  };
}

/** Runs the HTTP load generator in a child process (see loadgen-child.ts). */
function runHttpInChild(spec: HttpLoadSpec, progress: (p: Progress) => void): Promise<TimedResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./loadgen-child.js', import.meta.url)), [], { serialization: 'advanced', stdio: 'inherit' });
    let result: TimedResult | null = null;
    let failure: Error | null = null;
    child.on(
      'message',
      (m: { type: 'progress'; progress: Progress } | { type: 'done'; result: TimedResult } | { type: 'failed'; error: string }) => {
        if (m.type === 'progress') progress(m.progress);
        else if (m.type === 'done') result = m.result;
        else failure = new Error(`load generator failed: ${m.error}`);
      },
    );
    child.on('error', reject);
    child.on('exit', (code) => {
      if (result) resolve(result);
      else reject(failure ?? new Error(`load generator exited with code ${code} and no result`));
    });
    child.send(spec);
  });
}

interface Row {
  round: number;
  key: string;
  title: string;
  http: boolean;
  result: TimedResult;
  usage: ServiceUsage | null;
  cpuBusy: number | null;
  verify: VerifyReport;
}

const rate = (r: TimedResult) => r.pairs / (r.measuredMs / 1000);
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const pct = (x: number | null) => (x === null ? '-' : `${Math.round(x * 100)}%`);

async function createWallets(client: HttpClient): Promise<void> {
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const ticker = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    err(`[setup] wallets ${done}/${WALLETS} (${Math.round(done / s)}/s)`);
  }, 1000);
  try {
    await Promise.all(
      Array.from({ length: Math.min(SETUP_CONCURRENCY, WALLETS) }, async () => {
        while (next < WALLETS) {
          const owner = `${OWNER_PREFIX}${next++}`;
          const r = await client.request('PUT', `/v1/wallets/${owner}`);
          if (r.status !== 201 && r.status !== 200) throw new HttpError(`PUT wallet ${owner}`, r);
          done++;
        }
      }),
    );
  } finally {
    clearInterval(ticker);
  }
  err(`[setup] wallets ${done}/${WALLETS} created in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
}

/** The API registers its BullMQ queue (a meta key) under the bench's own prefix: remove what it left. */
async function dropQueueKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<number> {
  const started = new Date();
  const cpus = os.cpus();
  const dbName = `tw_bench_${randomBytes(4).toString('hex')}`;
  const url = dbUrl(dbName);
  const queuePrefix = `twbench_${randomBytes(4).toString('hex')}`;
  let app: INestApplication | null = null;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    if (process.env.BENCH_KEEP_DB === '1') {
      err(`[cleanup] keeping database ${dbName} (BENCH_KEEP_DB=1)`);
      return;
    }
    await admin(PG_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
    err(`[cleanup] dropped database ${dbName}`);
  };
  process.once('SIGINT', () => {
    err('[cleanup] interrupted');
    void drop().finally(() => process.exit(130));
  });

  const pgVersion = await admin(PG_ADMIN_URL, async (c) => {
    const v = await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    await c.query(`CREATE DATABASE ${dbName}`);
    return v.rows[0].v;
  });
  try {
    const config = loadConfig({
      DATABASE_URL: url,
      REDIS_URL,
      QUEUE_PREFIX: queuePrefix,
      RUN_WORKER: 'false',
      LOG_LEVEL,
      DB_POOL_SIZE: String(POOL),
    });
    const log = createLogger(config.LOG_LEVEL);
    await prepareDatabase(config, log);
    app = await createApi(config, log);
    await app.listen(0, '127.0.0.1');
    const port = (app.getHttpServer().address() as AddressInfo).port;
    const baseUrl = `http://127.0.0.1:${port}`;
    const { key: apiKey, principal } = await app.get(ApiKeyService).create('bench-gateway', 'gateway');
    const verifier = app.get(VerifyService);

    out(
      `token-wallet benchmark: ${[
        SCENARIOS.some((k) => k !== 'e') ? 'reserve+settle pairs' : '',
        SCENARIOS.includes('e') ? 'image generations end to end' : '',
      ]
        .filter(Boolean)
        .join(', ')}`,
    );
    out(`date      ${started.toISOString()}`);
    out(
      `machine   ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}, load avg ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    out(`runtime   node ${process.version}, PostgreSQL ${pgVersion} (127.0.0.1), API + load generator + PostgreSQL share this machine`);
    out(
      `settings  ${WALLETS} wallets, ${CLIENTS} clients, pool ${POOL}, ${WARMUP_SECONDS}s warm-up + ${SECONDS}s measured, amount ${AMOUNT}, LOG_LEVEL=${LOG_LEVEL}, load generator: ${LOADGEN === 'process' ? 'child process' : 'same thread as the API'}`,
    );
    out();

    const pairScenarios = SCENARIOS.some((k) => k !== 'e');
    const genScenario = SCENARIOS.includes('e');
    if (genScenario) {
      out(
        `(e)       ${GEN_WALLETS} wallets, ${CLIENTS} clients, ${WARMUP_SECONDS}s warm-up + ${GEN_SECONDS}s measured, n=1 per generation, ` +
          `worker concurrency ${workerConcurrency()} (GENERATION_CONCURRENCY), fake provider latency ${GEN_PROVIDER_LATENCY_MS} ms, ` +
          `completion: ${GEN_WAIT === 'db' ? `DB watcher every ${GEN_POLL_MS} ms + one GET` : `GET every ${GEN_POLL_MS} ms`}`,
      );
      out();
    }

    if (pairScenarios) {
      const setupClient = new HttpClient(baseUrl, apiKey, SETUP_CONCURRENCY);
      await createWallets(setupClient);
      const hot = await setupClient.request('PUT', `/v1/wallets/${HOT_OWNER}`);
      if (hot.status !== 201) throw new HttpError('PUT hot wallet', hot);
      setupClient.close();
      const setupPool = new pg.Pool({ connectionString: url, max: 1 });
      await topUpWallet(setupPool, HOT_OWNER, HOT_TOP_UP_TOKENS, `bench:hot:${dbName}`);
      await setupPool.end();
      err(`[setup] hot wallet ${HOT_OWNER} topped up with ${HOT_TOP_UP_TOKENS} tokens`);
    }
    if (genScenario) {
      await prepareGenerationWallets({
        baseUrl,
        apiKey,
        databaseUrl: url,
        prefix: GEN_OWNER_PREFIX,
        count: GEN_WALLETS,
        tokens: GEN_TOKENS,
        concurrency: SETUP_CONCURRENCY,
        grantTag: `bench:gen:${dbName}`,
        log: err,
      });
    }

    const rows: Row[] = [];
    const common = {
      clients: CLIENTS,
      warmupMs: WARMUP_SECONDS * 1000,
      durationMs: SECONDS * 1000,
      amount: AMOUNT,
      ownerPrefix: OWNER_PREFIX,
      walletCount: WALLETS,
    };
    const scenarios: { key: string; title: string; run: (p: (x: Progress) => void) => Promise<TimedResult> }[] = [
      {
        key: 'a',
        title: `HTTP, ${WALLETS} wallets`,
        run: (p) => {
          const spec: HttpLoadSpec = { ...common, baseUrl, apiKey, hotOwner: null, label: 'a' };
          return LOADGEN === 'process' ? runHttpInChild(spec, p) : runHttpLoad(spec, p);
        },
      },
      {
        key: 'b',
        title: 'HTTP, 1 hot wallet',
        run: (p) => {
          const spec: HttpLoadSpec = { ...common, baseUrl, apiKey, hotOwner: HOT_OWNER, label: 'b' };
          return LOADGEN === 'process' ? runHttpInChild(spec, p) : runHttpLoad(spec, p);
        },
      },
      {
        key: 'c',
        title: `direct pg, ${WALLETS} wallets`,
        run: (p) =>
          runPgLoad(
            {
              ...common,
              databaseUrl: url,
              poolSize: POOL,
              principalId: principal.id,
              hotOwner: null,
              label: 'c',
              freeWeeklyMt: config.freeWeeklyMt,
              reservationTtlS: config.RESERVATION_DEFAULT_TTL_S,
            },
            p,
          ),
      },
      {
        key: 'd',
        title: 'direct pg, 1 hot wallet',
        run: (p) =>
          runPgLoad(
            {
              ...common,
              databaseUrl: url,
              poolSize: POOL,
              principalId: principal.id,
              hotOwner: HOT_OWNER,
              label: 'd',
              freeWeeklyMt: config.freeWeeklyMt,
              reservationTtlS: config.RESERVATION_DEFAULT_TTL_S,
            },
            p,
          ),
      },
    ];

    const genRows: GenRow[] = [];
    const plan = Array.from({ length: ROUNDS }, (_, round) => [...new Set(SCENARIOS)].map((key) => ({ key, round: round + 1 }))).flat();
    for (const step of plan) {
      if (VACUUM) {
        // The same starting line for every scenario: no autovacuum or checkpoint debt from the last one.
        await admin(url, async (c) => {
          await c.query('VACUUM ANALYZE');
          await c.query('CHECKPOINT');
        });
      }
      if (step.key === 'e') {
        err(
          `[e] image generation end to end${ROUNDS > 1 ? ` (round ${step.round}/${ROUNDS})` : ''}: ${CLIENTS} clients, ${WARMUP_SECONDS}s warm-up, ${GEN_SECONDS}s measured`,
        );
        const g = await runGenerationScenario(
          {
            label: 'e',
            round: step.round,
            databaseUrl: url,
            redisUrl: REDIS_URL,
            queuePrefix,
            logLevel: LOG_LEVEL,
            poolSize: POOL,
            apiKey,
            clients: CLIENTS,
            warmupMs: WARMUP_SECONDS * 1000,
            durationMs: GEN_SECONDS * 1000,
            ownerPrefix: GEN_OWNER_PREFIX,
            walletCount: GEN_WALLETS,
            providerLatencyMs: GEN_PROVIDER_LATENCY_MS,
            wait: GEN_WAIT,
            pollMs: GEN_POLL_MS,
            timeoutMs: GEN_TIMEOUT_S * 1000,
            loadgen: LOADGEN,
            sampleService: (warmupMs, durationMs) => sampleService(url, dbName, warmupMs, durationMs),
            profile: PROFILE_DIR
              ? (warmupMs, durationMs) => {
                  const profiler = new WindowProfiler(PROFILE_DIR);
                  let toggles = 0;
                  return measureWindow(warmupMs, durationMs, async () =>
                    toggles++ === 0 ? (await profiler.start(), null) : profiler.stop(ROUNDS > 1 ? `e${step.round}` : 'e'),
                  ).then((w) => w?.end ?? null);
                }
              : undefined,
            verify: () => verifier.verify(),
            log: err,
          },
          genProgressPrinter('e'),
        );
        const p = (k: 'overhead' | 'queue') => `${ms(percentile(g.metrics[k], 50))}/${ms(percentile(g.metrics[k], 99))}`;
        err(
          `[e] ${genRate(g).toFixed(1)} generations/s, billing overhead p50/p99 ${p('overhead')} ms (queue wait ${p('queue')} ms), ` +
            `errors ${g.clientErrors}, failed ${g.failed}; ledger ${g.verify.ok ? 'consistent' : 'INCONSISTENT'}`,
        );
        for (const e of g.errorSamples) err(`[e]   error: ${e}`);
        for (const v of g.verify.violations.slice(0, 10)) err(`[e]   violation [${v.invariant}] ${v.detail}`);
        genRows.push(g);
        continue;
      }
      const s = { ...scenarios.find((x) => x.key === step.key)!, round: step.round };
      err(
        `[${s.key}] ${s.title}${ROUNDS > 1 ? ` (round ${s.round}/${ROUNDS})` : ''}: ${CLIENTS} clients, ${WARMUP_SECONDS}s warm-up, ${SECONDS}s measured`,
      );
      const cpu0 = readCpuTimes();
      const usage = sampleService(url, dbName, WARMUP_SECONDS * 1000, SECONDS * 1000);
      const profiler = PROFILE_DIR ? new WindowProfiler(PROFILE_DIR) : null;
      let toggles = 0;
      const profiled = profiler
        ? measureWindow(WARMUP_SECONDS * 1000, SECONDS * 1000, async () =>
            toggles++ === 0 ? (await profiler.start(), null) : profiler.stop(ROUNDS > 1 ? `${s.key}${s.round}` : s.key),
          )
        : null;
      const result = await s.run(progressPrinter(s.key));
      const cpuBusy = cpuBusySince(cpu0);
      const used = await usage;
      const profile = profiled ? await profiled : null;
      if (profile?.end) err(`[${s.key}] CPU profile of this process over the window: ${profile.end}`);
      const verify = await verifier.verify();
      err(
        `[${s.key}] ${rate(result).toFixed(0)} pairs/s, p50 ${ms(percentile(result.latenciesMs, 50))} ms, p99 ${ms(percentile(result.latenciesMs, 99))} ms, ` +
          `errors ${result.errors}; ledger ${verify.ok ? 'consistent' : 'INCONSISTENT'} (${verify.counts.reservations} reservations, ${verify.counts.transfers} transfers)`,
      );
      if ((s.key === 'a' || s.key === 'b') && LOADGEN === 'process' && result.loopElu > 0.9)
        err(`[${s.key}] warning: the load generator's own event loop was ${pct(result.loopElu)} busy: it may be the bottleneck`);
      for (const e of result.errorSamples) err(`[${s.key}]   error: ${e}`);
      for (const v of verify.violations.slice(0, 10)) err(`[${s.key}]   violation [${v.invariant}] ${v.detail}`);
      rows.push({ round: s.round, key: s.key, title: s.title, http: s.key === 'a' || s.key === 'b', result, usage: used, cpuBusy, verify });
    }

    if (rows.length) {
      out();
      const header = [
        'scenario',
        'pairs',
        'pairs/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'errors',
        'API loop',
        'node ms/pair',
        'pg ms/pair',
        'client ms/pair',
        'CPUs busy',
        'ledger',
      ];
      const perPair = (cpu: number | null | undefined, r: TimedResult) =>
        cpu === null || cpu === undefined || r.pairs === 0 ? '-' : (cpu / r.pairs).toFixed(2);
      const table = rows.map((r) => [
        `(${r.key}) ${r.title}${ROUNDS > 1 ? ` #${r.round}` : ''}`,
        String(r.result.pairs),
        rate(r.result).toFixed(0),
        ms(percentile(r.result.latenciesMs, 50)),
        ms(percentile(r.result.latenciesMs, 99)),
        ms(percentile(r.result.latenciesMs, 100)),
        String(r.result.errors),
        r.http ? pct(r.usage?.apiElu ?? null) : '-',
        perPair(r.usage?.nodeCpuMs, r.result),
        perPair(r.usage?.pgCpuMs, r.result),
        r.http && LOADGEN === 'process' ? perPair(r.result.cpuMs, r.result) : '-',
        pct(r.cpuBusy),
        r.verify.ok ? 'consistent' : 'INCONSISTENT',
      ]);
      const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
      const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
      out(line(header));
      out(widths.map((w) => '-'.repeat(w)).join('  '));
      for (const t of table) out(line(t));
      out();
      out('API loop: event-loop utilisation of the API thread (100% = the API is CPU-bound on its one thread).');
      out(
        `node ms/pair: CPU of this process per pair: the API for a/b${LOADGEN === 'inline' ? ' (load generator included: BENCH_LOADGEN=inline)' : ''}, the pg loops for c/d.`,
      );
      out('pg ms/pair: CPU of the PostgreSQL backends serving the bench database per pair (WAL writer, checkpointer not counted).');
      out('client ms/pair: CPU of the HTTP load generator process per pair. CPUs busy: every CPU of the machine, other tenants included.');
      out('All CPU figures are over the measurement window only; ms/pair = CPU ms / pairs completed in the window.');
    }
    if (genRows.length) {
      out();
      for (const l of formatGenerationReport(genRows, ROUNDS)) out(l);
    }

    const median = (xs: number[]) => {
      const v = [...xs].sort((x, y) => x - y);
      return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    };
    const of = (key: string) => rows.filter((r) => r.key === key);
    const a = of('a');
    const c = of('c');
    if (a.length && c.length) {
      out();
      const what = ROUNDS > 1 ? ` (median of ${ROUNDS} rounds)` : '';
      if (ROUNDS > 1) {
        const each = a.map((r, i) => (c[i] ? `${((rate(r.result) / rate(c[i].result)) * 100).toFixed(0)}%` : '-'));
        out(`ratio (a)/(c) per round: ${each.join(' ')}`);
      }
      const ratio = median(a.map((r) => rate(r.result))) / median(c.map((r) => rate(r.result)));
      const p99 = median(a.map((r) => percentile(r.result.latenciesMs, 99)));
      out(`ratio (a)/(c) throughput${what}: ${(ratio * 100).toFixed(0)}%  (aim >= 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'})`);
      out(`p99 (a)${what}: ${ms(p99)} ms  (aim < 50 ms: ${p99 < 50 ? 'met' : 'NOT met'})`);
    }

    const errors = rows.reduce((s, r) => s + r.result.errors, 0);
    const inconsistent = [...rows.filter((r) => !r.verify.ok).map((r) => r.key), ...genRows.filter((r) => !r.verify.ok).map(() => 'e')];
    if (inconsistent.length) {
      out(`LEDGER INCONSISTENT after: ${inconsistent.map((k) => `(${k})`).join(', ')}`);
      return 1;
    }
    if (errors) {
      out(`${errors} pairs failed (see stderr)`);
      return 1;
    }
    const badGen = genRows.filter(genFailed);
    if (badGen.length) {
      out(`(e): ${badGen.length} run(s) had failed, unfinished, wrongly charged or erroring generations (see above and stderr)`);
      return 1;
    }
    return 0;
  } finally {
    if (app) await app.close().catch((e: unknown) => err(`[cleanup] app.close failed: ${String(e)}`));
    await dropQueueKeys(queuePrefix).catch((e: unknown) => err(`[cleanup] could not delete Redis keys ${queuePrefix}:*: ${String(e)}`));
    await drop().catch((e: unknown) => err(`[cleanup] could not drop ${dbName}: ${String(e)}`));
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
