import 'reflect-metadata';
import { ApiKeyService, createLogger, loadConfig, prepareDatabase } from '@app/common';
import { VerifyService } from '@app/ledger';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { createApi } from '../apps/api/src/app.js';
import { createDatabase, dbUrl, dropDatabase, dropQueueKeys, vacuumAndCheckpoint } from './db.js';
import { formatGenerationReport } from './generation-report.js';
import { genFailed, type GenRow } from './generation-analysis.js';
import { prepareGenerationWallets, workerConcurrency } from './generation-load.js';
import { err, out } from './progress.js';
import { pgbenchVersion } from './pgbench-run.js';
import { mediansReport, pairReport, ratioReport, type Row } from './report.js';
import { type BenchContext, pairScenarios, preparePairWallets, runGenerationRound, runPairScenario } from './scenarios.js';
import * as S from './settings.js';

/**
 * `npm run bench`: reserve+settle pairs per second and pair latency
 *   (a) through the real HTTP API over 10,000 wallets,
 *   (b) through the HTTP API with every client on one hot wallet,
 *   (c) the very same ledger statements issued straight over `pg`,
 *   (f) the same statements driven by pgbench: the floor,
 * plus (d), opt-in, the hot wallet straight over `pg`, and
 *   (e) image generations end to end (API + in-process worker + fake provider),
 *   (p), opt-in, (a) through PgBouncer in transaction mode (BENCH_PGBOUNCER_URL),
 * with the billing overhead per generation. See bench/README.md.
 */

function printHeader(started: Date, pgVersion: string): void {
  const cpus = os.cpus();
  out(
    `token-wallet benchmark: ${[
      S.SCENARIOS.some((k) => k !== 'e') ? 'reserve+settle pairs' : '',
      S.SCENARIOS.includes('e') ? 'image generations end to end' : '',
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
    `settings  ${S.WALLETS} wallets, ${S.CLIENTS} clients, pool ${S.POOL}, ${S.WARMUP_SECONDS}s warm-up + ${S.SECONDS}s measured, amount ${S.AMOUNT}, LOG_LEVEL=${S.LOG_LEVEL}, load generator: ${S.LOADGEN === 'process' ? 'child process' : 'same thread as the API'}`,
  );
  out();
  if (S.SCENARIOS.includes('f') && S.PGBENCH) {
    out(
      `(f)       ${S.PGBENCH}: ${pgbenchVersion(S.PGBENCH)}, -M ${S.PGBENCH_MODE} -n -c ${S.PGBENCH_CLIENTS} -j ${Math.min(S.PGBENCH_THREADS, S.PGBENCH_CLIENTS)}, ` +
        `one backend per client (no pool), script: floorScript() in bench/pgbench-floor.ts`,
    );
    out();
  } else if (S.SCENARIOS_DEFAULTED) {
    err('[setup] no pgbench found (BENCH_PGBENCH, PATH, /usr/lib/postgresql/*/bin): scenario (f), the floor, is left out');
  }
  if (S.SCENARIOS.includes('e')) {
    out(
      `(e)       ${S.GEN_WALLETS} wallets, ${S.CLIENTS} clients, ${S.WARMUP_SECONDS}s warm-up + ${S.GEN_SECONDS}s measured, n=1 per generation, ` +
        `worker concurrency ${workerConcurrency()} (GENERATION_CONCURRENCY), fake provider latency ${S.GEN_PROVIDER_LATENCY_MS} ms, ` +
        `completion: ${S.GEN_WAIT === 'db' ? `DB watcher every ${S.GEN_POLL_MS} ms + one GET` : `GET every ${S.GEN_POLL_MS} ms`}`,
    );
    out();
  }
}

/** The exit code: 1 if the ledger is inconsistent after any scenario, or any pair or generation failed. */
function verdict(rows: Row[], genRows: GenRow[]): number {
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
}

/** The API's environment on the bench database. */
function configEnv(url: string, queuePrefix: string): Record<string, string> {
  return {
    DATABASE_URL: url,
    REDIS_URL: S.REDIS_URL,
    QUEUE_PREFIX: queuePrefix,
    RUN_WORKER: 'false',
    LOG_LEVEL: S.LOG_LEVEL,
    DB_POOL_SIZE: String(S.POOL),
  };
}

async function main(): Promise<number> {
  const started = new Date();
  const dbName = `tw_bench_${randomBytes(4).toString('hex')}`;
  const url = dbUrl(S.PG_ADMIN_URL, dbName);
  const queuePrefix = `twbench_${randomBytes(4).toString('hex')}`;
  let app: INestApplication | null = null;
  let bouncedApp: INestApplication | null = null;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    if (S.KEEP_DB) {
      err(`[cleanup] keeping database ${dbName} (BENCH_KEEP_DB=1)`);
      return;
    }
    await dropDatabase(S.PG_ADMIN_URL, dbName);
    err(`[cleanup] dropped database ${dbName}`);
  };
  process.once('SIGINT', () => {
    err('[cleanup] interrupted');
    void drop().finally(() => process.exit(130));
  });

  const pgVersion = await createDatabase(S.PG_ADMIN_URL, dbName);
  try {
    const config = loadConfig(configEnv(url, queuePrefix));
    const log = createLogger(config.LOG_LEVEL);
    await prepareDatabase(config, log);
    app = await createApi(config, log);
    await app.listen(0, '127.0.0.1');
    const port = (app.getHttpServer().address() as AddressInfo).port;
    const { key: apiKey, principal } = await app.get(ApiKeyService).create('bench-gateway', 'gateway');
    const verifier = app.get(VerifyService);
    // (p): the same API, its pool through PgBouncer in transaction mode, so its ledger calls go unnamed.
    if (S.SCENARIOS.includes('p')) {
      const bounced = loadConfig({
        ...configEnv(url, queuePrefix),
        DATABASE_URL: dbUrl(S.PGBOUNCER_URL, dbName),
        DATABASE_PREPARED_STATEMENTS: 'false',
      });
      bouncedApp = await createApi(bounced, createLogger(bounced.LOG_LEVEL));
      await bouncedApp.listen(0, '127.0.0.1');
    }
    const ctx: BenchContext = {
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey,
      principalId: principal.id,
      databaseUrl: url,
      dbName,
      queuePrefix,
      freeWeeklyMt: config.freeWeeklyMt,
      reservationTtlS: config.RESERVATION_DEFAULT_TTL_S,
      verify: () => verifier.verify(),
      pgbouncerBaseUrl: bouncedApp ? `http://127.0.0.1:${(bouncedApp.getHttpServer().address() as AddressInfo).port}` : undefined,
    };

    printHeader(started, pgVersion);
    if (S.SCENARIOS.some((k) => k !== 'e')) await preparePairWallets(ctx);
    if (S.SCENARIOS.includes('e')) {
      await prepareGenerationWallets({
        baseUrl: ctx.baseUrl,
        apiKey,
        databaseUrl: url,
        prefix: S.GEN_OWNER_PREFIX,
        count: S.GEN_WALLETS,
        tokens: S.GEN_TOKENS,
        concurrency: S.SETUP_CONCURRENCY,
        grantTag: `bench:gen:${dbName}`,
        log: err,
      });
    }

    const rows: Row[] = [];
    const genRows: GenRow[] = [];
    const scenarios = pairScenarios(ctx);
    const plan = Array.from({ length: S.ROUNDS }, (_, round) => [...new Set(S.SCENARIOS)].map((key) => ({ key, round: round + 1 }))).flat();
    for (const step of plan) {
      if (S.VACUUM) await vacuumAndCheckpoint(url);
      if (step.key === 'e') genRows.push(await runGenerationRound(ctx, step.round));
      else
        rows.push(
          await runPairScenario(
            ctx,
            scenarios.find((x) => x.key === step.key)!,
            step.round,
          ),
        );
    }

    if (rows.length) {
      out();
      for (const l of pairReport(rows, S.ROUNDS, S.LOADGEN)) out(l);
    }
    if (genRows.length) {
      out();
      for (const l of formatGenerationReport(genRows, S.ROUNDS)) out(l);
    }
    const medians = mediansReport(rows, S.ROUNDS);
    if (medians.length) {
      out();
      for (const l of medians) out(l);
    }
    const ratios = ratioReport(rows, S.ROUNDS);
    if (ratios.length) {
      out();
      for (const l of ratios) out(l);
    }
    return verdict(rows, genRows);
  } finally {
    if (bouncedApp) await bouncedApp.close().catch((e: unknown) => err(`[cleanup] app.close (p) failed: ${String(e)}`));
    if (app) await app.close().catch((e: unknown) => err(`[cleanup] app.close failed: ${String(e)}`));
    await dropQueueKeys(S.REDIS_URL, queuePrefix).catch((e: unknown) =>
      err(`[cleanup] could not delete Redis keys ${queuePrefix}:*: ${String(e)}`),
    );
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
