import { loadConfig, PinoNestLogger, REDACT } from '@app/common';
import { GenerationFinisher } from '@app/generation';
import type { VerifyReport } from '@app/ledger';
import { type INestApplication, Logger } from '@nestjs/common';
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { createApi } from '../apps/api/src/app.js';
import {
  epochMs,
  type FakeCommand,
  type FakeReply,
  type GenLoadResult,
  type GenLoadSpec,
  type ProviderCall,
  runGenerationClients,
  type WaitMode,
} from './generation-clients.js';
import { HttpClient, HttpError } from './http-client.js';
import { topUpWallet } from './pg-load.js';
import { measureWindow, percentile, procCpuMs, type Progress, readCpuTimes } from './stats.js';

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

/** What run.ts measures for the service over the window (see sampleService there). */
export interface ServiceUsage {
  apiElu: number;
  nodeCpuMs: number;
  pgCpuMs: number | null;
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
  /** Starts run.ts's service sampler (API thread, this process, PostgreSQL backends) now, for warm-up + window. */
  sampleService: (warmupMs: number, durationMs: number) => Promise<ServiceUsage | null>;
  /** BENCH_PROFILE: starts a CPU profile of this process over the window (armed now); resolves with the file. */
  profile?: (warmupMs: number, durationMs: number) => Promise<string | null>;
  verify: () => Promise<VerifyReport>;
  log: (line: string) => void;
}

const METRICS = [
  ['post', 'POST /v1/image/generate answered (client)'],
  ['reserve', 'created_at -> enqueued_at (reserve tx + addBulk + UPDATE)'],
  ['queue', 'queue wait: started_at - enqueued_at'],
  ['pre', 'started_at -> request at the provider'],
  ['provider', 'provider: fake request in -> response out'],
  ['postProvider', 'provider response out -> finished_at'],
  ['overhead', 'BILLING OVERHEAD: finished_at - enqueued_at - provider'],
  ['overheadNoQueue', '  same without the queue wait'],
  ['overheadCommit', '  same up to the COMMIT of the settlement'],
  ['settle', 'finisher tx: finish() called -> committed'],
  ['commitLag', 'finished_at -> finish() committed'],
  ['e2e', 'client: POST sent -> seen finished'],
] as const;
type MetricKey = (typeof METRICS)[number][0];

export interface GenRow {
  label: string;
  round: number;
  clients: number;
  concurrency: number;
  wait: WaitMode;
  pollMs: number;
  providerLatencyMs: number;
  windowMs: number;
  /** Generations of the run that succeeded with finished_at inside the window. */
  completed: number;
  /** Completions the clients saw inside the window. */
  clientCompleted: number;
  generations: number;
  succeeded: number;
  failed: number;
  unfinished: number;
  /** Succeeded generations whose charge is not one image, or whose reservation is not settled for exactly that. */
  badCharges: number;
  clientErrors: number;
  errorSamples: string[];
  metrics: Record<MetricKey, Float64Array>;
  /** Generations (of those measured) whose started_at is earlier than their enqueued_at. */
  startedBeforeEnqueued: number;
  measured: number;
  providerCalls: number;
  providerNon200: number;
  /** Succeeded generations with no provider call found for their prompt. */
  unmatched: number;
  /** Mean worker jobs in progress over the window (started_at -> settle committed). */
  busySlots: number;
  usage: ServiceUsage | null;
  fakeCpuMs: number | null;
  redisCpuMs: number | null;
  /** Statements this process sent to PostgreSQL over the window. */
  statements: number | null;
  clientCpuMs: number;
  clientElu: number;
  cpuBusy: number | null;
  gets: number;
  watcherQueries: number;
  verify: VerifyReport;
}

const nowS = () => performance.now() / 1000;

/** Creates `count` wallets `${prefix}<i>` through the API and tops each up with `tokens` (ledger credit(), as run.ts does for the hot wallet). */
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

/** The fake provider's child process. */
class FakeChild {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static start(latencyMs: number): Promise<FakeChild> {
    const child = fork(fileURLToPath(new URL('./fake-provider-child.js', import.meta.url)), [], {
      serialization: 'advanced',
      stdio: 'inherit',
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error('the fake provider did not start within 15 s'));
      }, 15_000);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the fake provider exited with code ${code}`)));
      child.once('message', (m: FakeReply) => {
        clearTimeout(timer);
        if (m.type === 'ready') resolve(new FakeChild(child, m.url));
        else reject(new Error(`the fake provider failed to start: ${m.type === 'failed' ? m.error : m.type}`));
      });
      child.send({ type: 'start', latencyMs } satisfies FakeCommand);
    });
  }

  collect(): Promise<{ calls: ProviderCall[]; requests: number }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the fake provider did not hand over its timings')), 15_000);
      this.child.once('message', (m: FakeReply) => {
        clearTimeout(timer);
        if (m.type === 'calls') resolve({ calls: m.calls, requests: m.requests });
        else reject(new Error(`unexpected message from the fake provider: ${m.type}`));
      });
      this.child.send({ type: 'collect' } satisfies FakeCommand);
    });
  }

  close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.send({ type: 'close' } satisfies FakeCommand);
    });
  }
}

/** Runs the clients in a child process (generation-child.ts). */
function runClientsInChild(
  spec: GenLoadSpec,
  progress: (p: Progress) => void,
  onStarted: (startedMs: number) => void,
): Promise<GenLoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./generation-child.js', import.meta.url)), [], {
      serialization: 'advanced',
      stdio: 'inherit',
    });
    let result: GenLoadResult | null = null;
    let failure: Error | null = null;
    child.on(
      'message',
      (
        m:
          | { type: 'progress'; progress: Progress }
          | { type: 'started'; startedMs: number }
          | { type: 'done'; result: GenLoadResult }
          | { type: 'failed'; error: string },
      ) => {
        if (m.type === 'progress') progress(m.progress);
        else if (m.type === 'started') onStarted(m.startedMs);
        else if (m.type === 'done') result = m.result;
        else failure = new Error(`generation load generator failed: ${m.error}`);
      },
    );
    child.on('error', reject);
    child.on('exit', (code) => {
      if (result) resolve(result);
      else reject(failure ?? new Error(`generation load generator exited with code ${code} and no result`));
    });
    child.send(spec);
  });
}

/**
 * Times every GenerationFinisher.finish call (by generation id) from the
 * outside: the product's class is wrapped at runtime for the run and restored
 * after; its code is untouched. finished_at is now() of the finisher's
 * transaction, i.e. its start, so the settlement's own time (wallet lock,
 * settle, UPDATE, COMMIT) is only visible this way.
 */
function timeFinisher(): { records: Map<string, { callMs: number; doneMs: number }>; restore: () => void } {
  const proto = GenerationFinisher.prototype;
  const original = Object.getOwnPropertyDescriptor(proto, 'finish')!;
  const finish = original.value as GenerationFinisher['finish'];
  const records = new Map<string, { callMs: number; doneMs: number }>();
  Object.defineProperty(proto, 'finish', {
    ...original,
    value: async function (this: GenerationFinisher, ...args: Parameters<GenerationFinisher['finish']>) {
      const callMs = epochMs();
      const result = await finish.apply(this, args);
      if (!records.has(args[0])) records.set(args[0], { callMs, doneMs: epochMs() });
      return result;
    },
  });
  let restored = false;
  return {
    records,
    restore: () => {
      if (!restored) Object.defineProperty(proto, 'finish', original);
      restored = true;
    },
  };
}

/** CPU time (ms) the Redis server has used so far (INFO cpu), or null. */
/**
 * Counts the statements this process sends to PostgreSQL (the API and its worker; the
 * bench's own few sampling queries included) by wrapping pg.Client.prototype.query for the run.
 */
function countStatements(): { count: () => number; restore: () => void } {
  const proto = pg.Client.prototype;
  const original = Object.getOwnPropertyDescriptor(proto, 'query')!;
  const query = original.value as (...args: unknown[]) => unknown;
  let n = 0;
  Object.defineProperty(proto, 'query', {
    ...original,
    value: function (this: pg.Client, ...args: unknown[]) {
      n++;
      return query.apply(this, args);
    },
  });
  let restored = false;
  return {
    count: () => n,
    restore: () => {
      if (!restored) Object.defineProperty(proto, 'query', original);
      restored = true;
    },
  };
}

async function redisCpuMs(redis: Redis): Promise<number | null> {
  try {
    const info = await redis.info('cpu');
    const sys = /^used_cpu_sys:([0-9.]+)/m.exec(info);
    const user = /^used_cpu_user:([0-9.]+)/m.exec(info);
    return sys && user ? (Number(sys[1]) + Number(user[1])) * 1000 : null;
  } catch {
    return null;
  }
}

/** What the scenario samples itself over the window, besides run.ts's ServiceUsage. */
interface SideUsage {
  statements: number;
  fakeCpuMs: number | null;
  redisCpuMs: number | null;
  cpuBusy: number | null;
}

interface DbRow {
  id: string;
  prompt: string;
  status: string;
  attempts: number;
  bad_charge: boolean;
  created_ms: number;
  enqueued_ms: number | null;
  started_ms: number | null;
  finished_ms: number | null;
}

const RUN_ROWS = `
  SELECT g.id, g.prompt, g.status, g.attempts,
         (g.status = 'succeeded' AND (g.delivered <> 1 OR g.tokens_used <> g.unit_price
           OR r.status <> 'settled' OR r.settled <> g.tokens_used OR r.released <> 0)) AS bad_charge,
         extract(epoch FROM g.created_at)::float8 * 1000 AS created_ms,
         extract(epoch FROM g.enqueued_at)::float8 * 1000 AS enqueued_ms,
         extract(epoch FROM g.started_at)::float8 * 1000 AS started_ms,
         extract(epoch FROM g.finished_at)::float8 * 1000 AS finished_ms
    FROM generations g JOIN reservations r ON r.id = g.reservation_id
   WHERE g.prompt LIKE $1`;

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: 'token-wallet-bench' });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
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

function analyse(o: {
  spec: GenScenarioSpec;
  concurrency: number;
  result: GenLoadResult;
  rows: DbRow[];
  calls: ProviderCall[];
  settles: Map<string, { callMs: number; doneMs: number }>;
  usage: ServiceUsage | null;
  side: SideUsage | null;
  leftover: number;
  verify: VerifyReport;
}): GenRow {
  const { spec, result, rows } = o;
  const ws = result.startedMs + spec.warmupMs;
  const we = ws + spec.durationMs;
  const inWindow = (t: number | null) => t !== null && t >= ws && t <= we;

  const byPrompt = new Map<string, ProviderCall[]>();
  for (const c of o.calls) {
    if (c.prompt === null) continue;
    const list = byPrompt.get(c.prompt) ?? [];
    list.push(c);
    byPrompt.set(c.prompt, list);
  }
  const clientById = new Map(result.records.map((r) => [r.id, r]));
  const m: Record<MetricKey, number[]> = {
    post: [],
    reserve: [],
    queue: [],
    pre: [],
    provider: [],
    postProvider: [],
    overhead: [],
    overheadNoQueue: [],
    overheadCommit: [],
    settle: [],
    commitLag: [],
    e2e: [],
  };
  let startedBeforeEnqueued = 0;
  let measured = 0;
  let unmatched = 0;
  let busy = 0;
  for (const g of rows) {
    if (g.status !== 'succeeded' || g.started_ms === null || g.finished_ms === null || g.enqueued_ms === null) continue;
    const settle = o.settles.get(g.id);
    // Worker slot occupancy inside the window: the job runs from started_at until its settlement commits.
    const busyEnd = settle?.doneMs ?? g.finished_ms;
    busy += Math.max(0, Math.min(busyEnd, we) - Math.max(g.started_ms, ws));
    const calls = byPrompt.get(g.prompt);
    if (!calls?.length) {
      unmatched++;
      continue;
    }
    const client = clientById.get(g.id);
    if (client && inWindow(client.sentMs)) {
      m.post.push(client.acceptedMs - client.sentMs);
      m.e2e.push(client.seenMs - client.sentMs);
    }
    if (!inWindow(g.enqueued_ms)) continue;
    measured++;
    const provider = calls.reduce((s, c) => s + (c.endMs - c.startMs), 0);
    const first = Math.min(...calls.map((c) => c.startMs));
    const last = Math.max(...calls.map((c) => c.endMs));
    const queue = g.started_ms - g.enqueued_ms;
    if (queue < 0) startedBeforeEnqueued++;
    const overhead = g.finished_ms - g.enqueued_ms - provider;
    m.reserve.push(g.enqueued_ms - g.created_ms);
    m.queue.push(queue);
    m.pre.push(first - g.started_ms);
    m.provider.push(provider);
    m.postProvider.push(g.finished_ms - last);
    m.overhead.push(overhead);
    m.overheadNoQueue.push(overhead - queue);
    if (settle) {
      m.settle.push(settle.doneMs - settle.callMs);
      m.commitLag.push(settle.doneMs - g.finished_ms);
      m.overheadCommit.push(settle.doneMs - g.enqueued_ms - provider);
    }
  }
  const metrics = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Float64Array.from(v)])) as Record<MetricKey, Float64Array>;
  return {
    label: spec.label,
    round: spec.round,
    clients: spec.clients,
    concurrency: o.concurrency,
    wait: spec.wait,
    pollMs: spec.pollMs,
    providerLatencyMs: spec.providerLatencyMs,
    windowMs: spec.durationMs,
    completed: rows.filter((g) => g.status === 'succeeded' && inWindow(g.finished_ms)).length,
    clientCompleted: result.timed.pairs,
    generations: rows.length,
    succeeded: rows.filter((g) => g.status === 'succeeded').length,
    failed: rows.filter((g) => g.status === 'failed').length,
    unfinished: o.leftover,
    badCharges: rows.filter((g) => g.bad_charge).length,
    clientErrors: result.timed.errors,
    errorSamples: result.timed.errorSamples,
    metrics,
    startedBeforeEnqueued,
    measured,
    providerCalls: o.calls.length,
    providerNon200: o.calls.filter((c) => c.status !== 200).length,
    unmatched,
    busySlots: busy / spec.durationMs,
    usage: o.usage,
    fakeCpuMs: o.side?.fakeCpuMs ?? null,
    redisCpuMs: o.side?.redisCpuMs ?? null,
    statements: o.side?.statements ?? null,
    clientCpuMs: result.timed.cpuMs,
    clientElu: result.timed.loopElu,
    cpuBusy: o.side?.cpuBusy ?? null,
    gets: result.gets,
    watcherQueries: result.watcherQueries,
    verify: o.verify,
  };
}

export const genRate = (r: GenRow) => r.completed / (r.windowMs / 1000);

/** True when the run must fail the bench: an inconsistent ledger, or any generation that did not end succeeded and charged once. */
export function genFailed(r: GenRow): boolean {
  return !r.verify.ok || r.clientErrors > 0 || r.failed > 0 || r.unfinished > 0 || r.badCharges > 0;
}

/** The (e) report: one summary line per run, then the per-generation breakdown of each run. */
export function formatGenerationReport(rows: GenRow[], rounds: number): string[] {
  const lines: string[] = [];
  const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
  const pct = (x: number | null) => (x === null ? '-' : `${Math.round(x * 100)}%`);
  const per = (cpu: number | null | undefined, n: number) => (cpu === null || cpu === undefined || n === 0 ? '-' : (cpu / n).toFixed(2));
  const header = [
    'scenario',
    'gens',
    'gens/s',
    'failed',
    'errors',
    'worker slots',
    'API loop',
    'node ms/gen',
    'pg ms/gen',
    'stmts/gen',
    'fake ms/gen',
    'client ms/gen',
    'redis ms/gen',
    'CPUs busy',
    'ledger',
  ];
  const table = rows.map((r) => [
    `(e) generation, ${r.clients} clients${rounds > 1 ? ` #${r.round}` : ''}`,
    String(r.completed),
    genRate(r).toFixed(1),
    String(r.failed + r.unfinished),
    String(r.clientErrors),
    `${r.busySlots.toFixed(1)}/${r.concurrency}`,
    pct(r.usage?.apiElu ?? null),
    per(r.usage?.nodeCpuMs, r.completed),
    per(r.usage?.pgCpuMs, r.completed),
    r.statements === null || r.completed === 0 ? '-' : (r.statements / r.completed).toFixed(1),
    per(r.fakeCpuMs, r.completed),
    per(r.clientCpuMs, r.completed),
    per(r.redisCpuMs, r.completed),
    pct(r.cpuBusy),
    r.verify.ok && r.badCharges === 0 ? 'consistent' : 'INCONSISTENT',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  lines.push(line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...table.map(line), '');
  lines.push('gens: generations that succeeded with finished_at inside the window; gens/s = gens / window.');
  lines.push('worker slots: mean jobs in progress over the window (started_at -> settlement committed) / GENERATION_CONCURRENCY.');
  lines.push('API loop, node ms/gen: the thread and CPU of this process, which runs the API and its worker.');
  lines.push('stmts/gen: statements the API + worker sent to PostgreSQL over the window, per generation completed in it.');
  lines.push('fake ms/gen: CPU of the fake provider process. redis ms/gen: CPU of the whole Redis server (other users included).');

  for (const r of rows) {
    lines.push('');
    lines.push(
      `(e)${rounds > 1 ? ` #${r.round}` : ''}: per generation, ms (${r.measured} generations enqueued inside the window; client rows: POSTs sent inside it)`,
    );
    const labelWidth = Math.max(...METRICS.map(([, t]) => t.length));
    lines.push(
      `${''.padEnd(labelWidth)}  ${'min'.padStart(8)}  ${'p50'.padStart(8)}  ${'p99'.padStart(8)}  ${'max'.padStart(8)}  ${'n'.padStart(6)}`,
    );
    for (const [key, title] of METRICS) {
      const v = r.metrics[key];
      lines.push(
        `${title.padEnd(labelWidth)}  ${f1(percentile(v, 0)).padStart(8)}  ${f1(percentile(v, 50)).padStart(8)}  ${f1(percentile(v, 99)).padStart(8)}  ${f1(percentile(v, 100)).padStart(8)}  ${String(v.length).padStart(6)}`,
      );
    }
    lines.push(
      `generations ${r.generations} in all: ${r.succeeded} succeeded, ${r.failed} failed, ${r.unfinished} unfinished, ${r.badCharges} charged wrongly; ` +
        `${r.clientErrors} client errors; seen by the clients in the window: ${r.clientCompleted}`,
    );
    lines.push(
      `provider calls ${r.providerCalls} (${r.providerNon200} not 200), ${r.unmatched} succeeded generations without one; ` +
        `started_at < enqueued_at for ${r.startedBeforeEnqueued} of ${r.measured}`,
    );
    lines.push(
      `completion: wait=${r.wait}, poll every ${r.pollMs} ms; ${r.watcherQueries} watcher queries, ${r.gets} GET /v1/generations/{id}`,
    );
  }
  return lines;
}
