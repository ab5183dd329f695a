import type { WaitMode } from './generation-clients.js';
import { findPgbench } from './pgbench-run.js';

/** The bench's settings, read once from the environment (the table in bench/README.md). */

function envInt(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name}=${raw} must be a number >= ${min}`);
  return n;
}

export const SECONDS = envInt('BENCH_SECONDS', 15, 1);
export const WARMUP_SECONDS = envInt('BENCH_WARMUP_SECONDS', 3, 0);
export const WALLETS = Math.floor(envInt('BENCH_WALLETS', 10_000, 1));
export const CLIENTS = Math.floor(envInt('BENCH_CLIENTS', 64, 1));
export const POOL = Math.floor(envInt('BENCH_POOL', 10, 1));
export const ROUNDS = Math.floor(envInt('BENCH_ROUNDS', 1, 1));
export const SETUP_CONCURRENCY = Math.floor(envInt('BENCH_SETUP_CONCURRENCY', 32, 1));
export const LOG_LEVEL = process.env.BENCH_LOG_LEVEL || 'warn';
export const LOADGEN = (process.env.BENCH_LOADGEN || 'process') as 'process' | 'inline';
// (f): the pgbench floor, in the default list only where pgbench is installed.
export const PGBENCH = findPgbench();
export const PGBENCH_THREADS = 2;
/** pgbench -c: one backend each (no pool), so the default (the clients of (a)) runs 64 backends where (c) runs 20. */
export const PGBENCH_CLIENTS = Math.floor(envInt('BENCH_PGBENCH_CLIENTS', CLIENTS, 1));
/** pgbench -M: `prepared` (the floor), or `extended` (a statement parsed and planned every time, as node-pg sends them). */
export const PGBENCH_MODE = (process.env.BENCH_PGBENCH_MODE || 'prepared') as 'prepared' | 'extended';
export const SCENARIOS_DEFAULTED = !process.env.BENCH_SCENARIOS;
export const SCENARIOS = (process.env.BENCH_SCENARIOS || (PGBENCH ? 'a,b,c,f,g,e' : 'a,b,c,g,e'))
  .split(',')
  .map((s) => s.trim().toLowerCase())
  .filter(Boolean);
export const VACUUM = process.env.BENCH_VACUUM !== '0';
export const PROFILE_DIR = process.env.BENCH_PROFILE || '';
export const PG_ADMIN_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
/** (p): PgBouncer (transaction mode) in front of BENCH_PG_URL's server; the bench database is reached by its name through it. */
export const PGBOUNCER_URL = process.env.BENCH_PGBOUNCER_URL || '';
export const KEEP_DB = process.env.BENCH_KEEP_DB === '1';
export const AMOUNT = '0.010';
export const HOT_TOP_UP_TOKENS = 1_000_000n;
export const OWNER_PREFIX = 'bench-w-';
export const HOT_OWNER = 'bench-hot';
// (g): the wallets of (a) again, each with 3 budgets and 2 alerts, reserved for one spender.
export const CONTROLS_OWNER_PREFIX = 'bench-c-';
export const CONTROLS_SPENDER = 'bench-spender';
// (e): image generations.
export const GEN_SECONDS = envInt('BENCH_GEN_SECONDS', SECONDS, 1);
export const GEN_WALLETS = Math.floor(envInt('BENCH_GEN_WALLETS', 1000, 1));
export const GEN_TOKENS = BigInt(Math.floor(envInt('BENCH_GEN_TOKENS', 10_000, 4)));
export const GEN_WAIT = (process.env.BENCH_GEN_WAIT || 'db') as WaitMode;
export const GEN_POLL_MS = Math.floor(envInt('BENCH_GEN_POLL_MS', 20, 1));
export const GEN_TIMEOUT_S = envInt('BENCH_GEN_TIMEOUT_S', 60, 1);
export const GEN_PROVIDER_LATENCY_MS = Math.floor(envInt('BENCH_GEN_PROVIDER_LATENCY_MS', 0, 0));
export const GEN_OWNER_PREFIX = 'bench-g-';

if (LOADGEN !== 'process' && LOADGEN !== 'inline') throw new Error('BENCH_LOADGEN must be process or inline');
for (const s of SCENARIOS)
  if (!['a', 'b', 'c', 'd', 'e', 'f', 'g', 'p'].includes(s))
    throw new Error(`BENCH_SCENARIOS: unknown scenario ${s} (a, b, c, d, e, f, g, p)`);
if (SCENARIOS.includes('p') && !PGBOUNCER_URL)
  throw new Error('scenario p needs BENCH_PGBOUNCER_URL, e.g. postgres://postgres@127.0.0.1:6432/postgres (PgBouncer in transaction mode)');
if (SCENARIOS.includes('f') && !PGBENCH)
  throw new Error('scenario f needs pgbench (it comes with PostgreSQL): put it on PATH or set BENCH_PGBENCH');
if (PGBENCH_MODE !== 'prepared' && PGBENCH_MODE !== 'extended') throw new Error('BENCH_PGBENCH_MODE must be prepared or extended');
if (GEN_WAIT !== 'db' && GEN_WAIT !== 'http') throw new Error('BENCH_GEN_WAIT must be db or http');
for (const u of [PG_ADMIN_URL, REDIS_URL, ...(PGBOUNCER_URL ? [PGBOUNCER_URL] : [])]) {
  const host = new URL(u).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`the benchmark only talks to 127.0.0.1, not ${host}`);
}
