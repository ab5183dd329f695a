import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { cpuMsBetween, measureWindow, procCpuMs } from './stats.js';

/** What the service side used over the measurement window: the API thread, this process, the PostgreSQL backends. */
export interface ServiceUsage {
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
export function sampleService(dbUrlForStats: string, dbName: string, warmupMs: number, durationMs: number): Promise<ServiceUsage | null> {
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
