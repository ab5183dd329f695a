import type { VerifyReport } from '@app/ledger';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { genRate, type GenRow } from './generation-analysis.js';
import { runGenerationScenario } from './generation-load.js';
import { HttpClient, HttpError } from './http-client.js';
import { type HttpLoadSpec, runHttpLoad } from './http-load.js';
import { runPgLoad, topUpWallet } from './pg-load.js';
import { floorScript, floorVariables } from './pgbench-floor.js';
import { runPgbench } from './pgbench-run.js';
import { WindowProfiler } from './profile.js';
import { err, progressPrinter } from './progress.js';
import { ms, pct, rate, type Row } from './report.js';
import { sampleService } from './service-usage.js';
import * as S from './settings.js';
import { cpuBusySince, measureWindow, percentile, type Progress, readCpuTimes, type TimedResult } from './stats.js';

/** What every scenario runs against: the bench database and the API that run.ts started on it. */
export interface BenchContext {
  baseUrl: string;
  apiKey: string;
  principalId: string;
  databaseUrl: string;
  dbName: string;
  queuePrefix: string;
  freeWeeklyMt: bigint;
  reservationTtlS: number;
  verify: () => Promise<VerifyReport>;
  /** (p): a second API on the same database through PgBouncer (unnamed statements), when asked for. */
  pgbouncerBaseUrl?: string;
}

interface PairScenario {
  key: string;
  title: string;
  kind: Row['kind'];
  clients: number;
  run: (p: (x: Progress) => void) => Promise<TimedResult>;
}

/** Creates `${prefix}0..WALLETS-1` over HTTP, then runs `then` for each (its budgets and alerts, for g). */
async function createWallets(client: HttpClient, prefix: string, then?: (owner: string) => Promise<void>): Promise<void> {
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const ticker = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    err(`[setup] wallets ${prefix}* ${done}/${S.WALLETS} (${Math.round(done / s)}/s)`);
  }, 1000);
  try {
    await Promise.all(
      Array.from({ length: Math.min(S.SETUP_CONCURRENCY, S.WALLETS) }, async () => {
        while (next < S.WALLETS) {
          const owner = `${prefix}${next++}`;
          const r = await client.request('PUT', `/v1/wallets/${owner}`);
          if (r.status !== 201 && r.status !== 200) throw new HttpError(`PUT wallet ${owner}`, r);
          if (then) await then(owner);
          done++;
        }
      }),
    );
  } finally {
    clearInterval(ticker);
  }
  err(`[setup] wallets ${prefix}* ${done}/${S.WALLETS} created in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
}

/**
 * Scenario g's spend controls on one wallet: budgets for the wallet (day), the bench's API key
 * (month) and its spender (week), all far above what a round spends, and two alerts that are
 * evaluated on every change and never fire (the balance stays above 0.5; the day budget far
 * from 90%).
 */
async function addControls(client: HttpClient, owner: string, principalId: string): Promise<void> {
  const puts: [string, unknown][] = [
    ['budgets/day', { limit: '1000000', period: 'day', scope: 'wallet' }],
    ['budgets/key-month', { limit: '1000000', period: 'month', scope: 'api_key', subject: principalId }],
    ['budgets/spender-week', { limit: '1000000', period: 'week', scope: 'spender', subject: S.CONTROLS_SPENDER }],
    ['alerts/low', { type: 'balance_below', threshold: '0.5' }],
    ['alerts/day-90', { type: 'budget_used', budget: 'day', percent: 90 }],
  ];
  for (const [path, body] of puts) {
    const r = await client.request('PUT', `/v1/wallets/${owner}/${path}`, body);
    if (r.status !== 201 && r.status !== 200) throw new HttpError(`PUT ${path} of ${owner}`, r);
  }
}

/** The pair scenarios' wallets: `bench-w-<i>` with their weekly free tokens, and the topped-up hot wallet. */
export async function preparePairWallets(ctx: BenchContext): Promise<void> {
  const setupClient = new HttpClient(ctx.baseUrl, ctx.apiKey, S.SETUP_CONCURRENCY);
  await createWallets(setupClient, S.OWNER_PREFIX);
  if (S.SCENARIOS.includes('g'))
    await createWallets(setupClient, S.CONTROLS_OWNER_PREFIX, (o) => addControls(setupClient, o, ctx.principalId));
  const hot = await setupClient.request('PUT', `/v1/wallets/${S.HOT_OWNER}`);
  if (hot.status !== 201) throw new HttpError('PUT hot wallet', hot);
  setupClient.close();
  const setupPool = new pg.Pool({ connectionString: ctx.databaseUrl, max: 1 });
  await topUpWallet(setupPool, S.HOT_OWNER, S.HOT_TOP_UP_TOKENS, `bench:hot:${ctx.dbName}`);
  await setupPool.end();
  err(`[setup] hot wallet ${S.HOT_OWNER} topped up with ${S.HOT_TOP_UP_TOKENS} tokens`);
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

/** Scenarios (a) to (d), (f), (g) and (p). */
export function pairScenarios(ctx: BenchContext): PairScenario[] {
  const common = {
    clients: S.CLIENTS,
    warmupMs: S.WARMUP_SECONDS * 1000,
    durationMs: S.SECONDS * 1000,
    amount: S.AMOUNT,
    ownerPrefix: S.OWNER_PREFIX,
    walletCount: S.WALLETS,
  };
  const http =
    (label: string, hotOwner: string | null, controls = false, baseUrl = ctx.baseUrl) =>
    (p: (x: Progress) => void) => {
      const spec: HttpLoadSpec = {
        ...common,
        ...(controls ? { ownerPrefix: S.CONTROLS_OWNER_PREFIX, spenderId: S.CONTROLS_SPENDER } : {}),
        baseUrl,
        apiKey: ctx.apiKey,
        hotOwner,
        label,
      };
      return S.LOADGEN === 'process' ? runHttpInChild(spec, p) : runHttpLoad(spec, p);
    };
  const direct = (label: string, hotOwner: string | null) => (p: (x: Progress) => void) =>
    runPgLoad(
      {
        ...common,
        databaseUrl: ctx.databaseUrl,
        poolSize: S.POOL,
        principalId: ctx.principalId,
        hotOwner,
        label,
        freeWeeklyMt: ctx.freeWeeklyMt,
        reservationTtlS: ctx.reservationTtlS,
      },
      p,
    );
  const floor = async () => {
    const r = await runPgbench({
      pgbench: S.PGBENCH!,
      databaseUrl: ctx.databaseUrl,
      clients: S.PGBENCH_CLIENTS,
      threads: S.PGBENCH_THREADS,
      mode: S.PGBENCH_MODE,
      warmupMs: common.warmupMs,
      durationMs: common.durationMs,
      script: floorScript(),
      variables: floorVariables({
        principalId: ctx.principalId,
        ownerPrefix: S.OWNER_PREFIX,
        walletCount: S.WALLETS,
        amount: S.AMOUNT,
        reservationTtlS: ctx.reservationTtlS,
        freeWeeklyMt: ctx.freeWeeklyMt,
        run: `f${randomBytes(6).toString('hex')}`,
      }),
      label: 'f',
      log: err,
    });
    err(`[f] pgbench's own tps over its whole run (warm-up included): ${r.tps === null ? 'not printed' : r.tps.toFixed(1)}`);
    return r.timed;
  };
  return [
    { key: 'a', title: `HTTP, ${S.WALLETS} wallets`, kind: 'http', clients: S.CLIENTS, run: http('a', null) },
    { key: 'b', title: 'HTTP, 1 hot wallet', kind: 'http', clients: S.CLIENTS, run: http('b', S.HOT_OWNER) },
    { key: 'c', title: `direct pg, ${S.WALLETS} wallets`, kind: 'pg', clients: S.CLIENTS, run: direct('c', null) },
    {
      key: 'g',
      title: `HTTP, ${S.WALLETS} wallets, 3 budgets + 2 alerts each`,
      kind: 'http',
      clients: S.CLIENTS,
      run: http('g', null, true),
    },
    { key: 'd', title: 'direct pg, 1 hot wallet', kind: 'pg', clients: S.CLIENTS, run: direct('d', S.HOT_OWNER) },
    ...(ctx.pgbouncerBaseUrl
      ? [
          {
            key: 'p',
            title: `HTTP through PgBouncer, ${S.WALLETS} wallets`,
            kind: 'http' as const,
            clients: S.CLIENTS,
            run: http('p', null, false, ctx.pgbouncerBaseUrl),
          },
        ]
      : []),
    {
      key: 'f',
      title: `pgbench floor${S.PGBENCH_MODE === 'prepared' ? '' : ` (-M ${S.PGBENCH_MODE})`}, ${S.WALLETS} wallets`,
      kind: 'pgbench',
      clients: S.PGBENCH_CLIENTS,
      run: floor,
    },
  ];
}

/** One round of one pair scenario: the run, its service usage and profile over the window, then the ledger check. */
export async function runPairScenario(ctx: BenchContext, s: PairScenario, round: number): Promise<Row> {
  err(
    `[${s.key}] ${s.title}${S.ROUNDS > 1 ? ` (round ${round}/${S.ROUNDS})` : ''}: ${s.clients} clients, ${S.WARMUP_SECONDS}s warm-up, ${S.SECONDS}s measured`,
  );
  const cpu0 = readCpuTimes();
  const usage = sampleService(ctx.databaseUrl, ctx.dbName, S.WARMUP_SECONDS * 1000, S.SECONDS * 1000);
  const profiler = S.PROFILE_DIR ? new WindowProfiler(S.PROFILE_DIR) : null;
  let toggles = 0;
  const profiled = profiler
    ? measureWindow(S.WARMUP_SECONDS * 1000, S.SECONDS * 1000, async () =>
        toggles++ === 0 ? (await profiler.start(), null) : profiler.stop(S.ROUNDS > 1 ? `${s.key}${round}` : s.key),
      )
    : null;
  const result = await s.run(progressPrinter(s.key));
  const cpuBusy = cpuBusySince(cpu0);
  const used = await usage;
  const profile = profiled ? await profiled : null;
  if (profile?.end) err(`[${s.key}] CPU profile of this process over the window: ${profile.end}`);
  const verify = await ctx.verify();
  err(
    `[${s.key}] ${rate(result).toFixed(0)} pairs/s, p50 ${ms(percentile(result.latenciesMs, 50))} ms, p99 ${ms(percentile(result.latenciesMs, 99))} ms, ` +
      `errors ${result.errors}; ledger ${verify.ok ? 'consistent' : 'INCONSISTENT'} (${verify.counts.reservations} reservations, ${verify.counts.transfers} transfers)`,
  );
  if (s.kind === 'http' && S.LOADGEN === 'process' && result.loopElu > 0.9)
    err(`[${s.key}] warning: the load generator's own event loop was ${pct(result.loopElu)} busy: it may be the bottleneck`);
  for (const e of result.errorSamples) err(`[${s.key}]   error: ${e}`);
  for (const v of verify.violations.slice(0, 10)) err(`[${s.key}]   violation [${v.invariant}] ${v.detail}`);
  return { round, key: s.key, title: s.title, kind: s.kind, result, usage: used, cpuBusy, verify };
}

/** One round of scenario (e), image generations end to end (generation-load.ts). */
export async function runGenerationRound(ctx: BenchContext, round: number): Promise<GenRow> {
  err(
    `[e] image generation end to end${S.ROUNDS > 1 ? ` (round ${round}/${S.ROUNDS})` : ''}: ${S.CLIENTS} clients, ${S.WARMUP_SECONDS}s warm-up, ${S.GEN_SECONDS}s measured`,
  );
  const g = await runGenerationScenario(
    {
      label: 'e',
      round,
      databaseUrl: ctx.databaseUrl,
      redisUrl: S.REDIS_URL,
      queuePrefix: ctx.queuePrefix,
      logLevel: S.LOG_LEVEL,
      poolSize: S.POOL,
      apiKey: ctx.apiKey,
      clients: S.CLIENTS,
      warmupMs: S.WARMUP_SECONDS * 1000,
      durationMs: S.GEN_SECONDS * 1000,
      ownerPrefix: S.GEN_OWNER_PREFIX,
      walletCount: S.GEN_WALLETS,
      providerLatencyMs: S.GEN_PROVIDER_LATENCY_MS,
      wait: S.GEN_WAIT,
      pollMs: S.GEN_POLL_MS,
      timeoutMs: S.GEN_TIMEOUT_S * 1000,
      loadgen: S.LOADGEN,
      sampleService: (warmupMs, durationMs) => sampleService(ctx.databaseUrl, ctx.dbName, warmupMs, durationMs),
      profile: S.PROFILE_DIR
        ? (warmupMs, durationMs) => {
            const profiler = new WindowProfiler(S.PROFILE_DIR);
            let toggles = 0;
            return measureWindow(warmupMs, durationMs, async () =>
              toggles++ === 0 ? (await profiler.start(), null) : profiler.stop(S.ROUNDS > 1 ? `e${round}` : 'e'),
            ).then((w) => w?.end ?? null);
          }
        : undefined,
      verify: ctx.verify,
      log: err,
    },
    progressPrinter('e', 'generations'),
  );
  const p = (k: 'overhead' | 'queue') => `${ms(percentile(g.metrics[k], 50))}/${ms(percentile(g.metrics[k], 99))}`;
  err(
    `[e] ${genRate(g).toFixed(1)} generations/s, billing overhead p50/p99 ${p('overhead')} ms (queue wait ${p('queue')} ms), ` +
      `errors ${g.clientErrors}, failed ${g.failed}; ledger ${g.verify.ok ? 'consistent' : 'INCONSISTENT'}`,
  );
  for (const e of g.errorSamples) err(`[e]   error: ${e}`);
  for (const v of g.verify.violations.slice(0, 10)) err(`[e]   violation [${v.invariant}] ${v.detail}`);
  return g;
}
