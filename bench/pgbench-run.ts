import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { measureWindow, procCpuMs, type TimedResult } from './stats.js';

/**
 * Runs a pgbench custom script (scenario (f), see pgbench-floor.ts) for
 * warm-up + window in one go, so that its backends are connected when the
 * window opens, as every other scenario's are. pgbench's own `tps` covers
 * its whole run; the window's figures come from its per-transaction log
 * (-l: when each script iteration ended and how long it took), counted as
 * stats.ts runTimed counts: throughput over pairs that end inside the
 * window, latency over pairs that start inside it.
 */

/** `BENCH_PGBENCH`, else pgbench on PATH, else the newest /usr/lib/postgresql/<v>/bin/pgbench (Debian keeps it there). */
export function findPgbench(): string | null {
  if (process.env.BENCH_PGBENCH) return process.env.BENCH_PGBENCH;
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    if (existsSync(join(dir, 'pgbench'))) return join(dir, 'pgbench');
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(`/usr/lib/postgresql/${v}/bin/pgbench`)) return `/usr/lib/postgresql/${v}/bin/pgbench`;
  } catch {
    // no such directory: not a Debian-style install
  }
  return null;
}

export function pgbenchVersion(path: string): string {
  return execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
}

export interface PgbenchSpec {
  pgbench: string;
  databaseUrl: string;
  clients: number;
  threads: number;
  mode: 'prepared' | 'extended';
  warmupMs: number;
  durationMs: number;
  script: string;
  variables: Record<string, string>;
  label: string;
  log: (line: string) => void;
}

export interface PgbenchResult {
  /** The window's figures; cpuMs is pgbench's own CPU (all its threads) over the window. */
  timed: TimedResult;
  /** What pgbench printed as `tps = ...` for its whole run, warm-up included. */
  tps: number | null;
}

/** The connection as libpq environment variables, so no password shows in the process list. */
function libpqEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  return {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username) || 'postgres',
    ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
    PGAPPNAME: 'token-wallet-bench-pgbench',
  };
}

/** Reads pgbench's per-transaction log files: client, transaction, latency (µs, or failed/skipped), script, end (s, µs). */
function readTransactionLog(dir: string, windowStartMs: number, windowEndMs: number) {
  const lat: number[] = [];
  let pairs = 0;
  let pairsTotal = 0;
  let failed = 0;
  for (const file of readdirSync(dir).filter((f) => f.startsWith('tx.'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f.length < 6) continue;
      if (f[2] === 'failed' || f[2] === 'skipped') {
        failed++;
        continue;
      }
      const latencyMs = Number(f[2]) / 1000;
      const endMs = Number(f[4]) * 1000 + Number(f[5]) / 1000;
      const startMs = endMs - latencyMs;
      pairsTotal++;
      if (endMs >= windowStartMs && endMs <= windowEndMs) pairs++;
      if (startMs >= windowStartMs && startMs <= windowEndMs) lat.push(latencyMs);
    }
  }
  return { pairs, pairsTotal, failed, latenciesMs: Float64Array.from(lat) };
}

export async function runPgbench(spec: PgbenchSpec): Promise<PgbenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tw-bench-pgbench-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove); // also on Ctrl-C (run.ts exits from its SIGINT handler)
  const scriptFile = join(dir, 'floor.sql');
  writeFileSync(scriptFile, spec.script);
  const seconds = Math.ceil((spec.warmupMs + spec.durationMs) / 1000);
  const threads = Math.min(spec.threads, spec.clients);
  const args = ['-n', '-M', spec.mode, '-c', String(spec.clients), '-j', String(threads), '-T', String(seconds)];
  args.push('-P', '1', '-l', '--log-prefix', join(dir, 'tx'), '-f', scriptFile);
  for (const [name, value] of Object.entries(spec.variables)) args.push('-D', `${name}=${value}`);
  try {
    const startMs = Date.now();
    const child = spawn(spec.pgbench, args, { env: libpqEnv(spec.databaseUrl), stdio: ['ignore', 'pipe', 'pipe'] });
    const killChild = () => child.kill();
    process.once('exit', killChild);
    const cpu = measureWindow(spec.warmupMs, spec.durationMs, () => (child.pid === undefined ? null : procCpuMs(child.pid)));
    const errorSamples: string[] = [];
    // pgbench ends a client at its first error ("error: client 3 script 0 command 4 query 0: ..."); the others go on.
    const abortedClients = new Set<string>();
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.startsWith('progress:')) return spec.log(`[${spec.label}] pgbench ${line}`);
      spec.log(`[${spec.label}] pgbench: ${line}`);
      const client = /error: client (\d+) /.exec(line);
      if (client) abortedClients.add(client[1]);
      if (/error/i.test(line) && errorSamples.length < 5) errorSamples.push(line);
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    process.off('exit', killChild);
    // pgbench exits 2 when clients aborted (errors, below), 1 on bad options or a failed setup.
    if (code !== 0 && code !== 2) throw new Error(`pgbench exited with code ${code}: ${errorSamples.join('; ') || stdout.trim()}`);
    const window = await cpu;
    const tps = /^tps = ([0-9.]+)/m.exec(stdout);
    const windowStartMs = startMs + spec.warmupMs;
    const log = readTransactionLog(dir, windowStartMs, windowStartMs + spec.durationMs);
    const cpuMs = window && window.start !== null && window.end !== null ? window.end - window.start : 0;
    return {
      timed: {
        clients: spec.clients,
        warmupMs: spec.warmupMs,
        measuredMs: spec.durationMs,
        pairs: log.pairs,
        pairsTotal: log.pairsTotal,
        // Exit code 2 is a run with aborted clients even if no line named one.
        errors: log.failed + Math.max(abortedClients.size, code === 2 ? 1 : 0),
        errorSamples,
        latenciesMs: log.latenciesMs,
        loopElu: 0,
        cpuMs,
      },
      tps: tps ? Number(tps[1]) : null,
    };
  } finally {
    process.off('exit', remove);
    remove();
  }
}
