import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** What one timed scenario produced (plain data: it crosses the worker_thread boundary). */
export interface TimedResult {
  clients: number;
  warmupMs: number;
  /** Length of the measurement window. */
  measuredMs: number;
  /** Pairs completed inside the measurement window. */
  pairs: number;
  /** Pairs completed in total (warm-up and tail included). */
  pairsTotal: number;
  errors: number;
  errorSamples: string[];
  /** Latency (ms) of every pair started inside the measurement window. */
  latenciesMs: Float64Array;
  /** Event-loop utilisation (0..1) of the thread that ran the loops, over the window. */
  loopElu: number;
  /** CPU time (user + system, ms) of the process that ran the loops, over the window. */
  cpuMs: number;
}

export interface Progress {
  elapsedS: number;
  phase: 'warm-up' | 'measuring' | 'draining';
  pairsTotal: number;
  pairsMeasured: number;
  errors: number;
}

export interface TimedOptions {
  clients: number;
  warmupMs: number;
  durationMs: number;
  /** One reserve+settle pair for client `client`; throws on any failure. */
  pair: (client: number) => Promise<void>;
  progress?: (p: Progress) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `clients` closed loops of `pair` for warm-up + duration. No pair starts
 * after the window ends; throughput counts pairs completed inside the window,
 * latency covers pairs started inside it (so the tail of the last pairs is kept).
 */
export async function runTimed(o: TimedOptions): Promise<TimedResult> {
  const start = performance.now();
  const measureStart = start + o.warmupMs;
  const measureEnd = measureStart + o.durationMs;
  const lat: number[] = [];
  let pairs = 0;
  let pairsTotal = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  const window = measureWindow(o.warmupMs, o.durationMs, () => ({ elu: performance.eventLoopUtilization(), cpu: process.cpuUsage() }));
  const ticker = o.progress
    ? setInterval(() => {
        const now = performance.now();
        o.progress!({
          elapsedS: (now - start) / 1000,
          phase: now < measureStart ? 'warm-up' : now < measureEnd ? 'measuring' : 'draining',
          pairsTotal,
          pairsMeasured: pairs,
          errors,
        });
      }, 1000)
    : null;

  const loop = async (client: number) => {
    while (performance.now() < measureEnd) {
      const t0 = performance.now();
      try {
        await o.pair(client);
      } catch (e) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(e instanceof Error ? e.message : String(e));
        await sleep(20);
        continue;
      }
      const t1 = performance.now();
      pairsTotal++;
      if (t1 >= measureStart && t1 <= measureEnd) pairs++;
      if (t0 >= measureStart) lat.push(t1 - t0);
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, i) => loop(i)));
  if (ticker) clearInterval(ticker);
  const w = await window;
  return {
    clients: o.clients,
    warmupMs: o.warmupMs,
    measuredMs: o.durationMs,
    pairs,
    pairsTotal,
    errors,
    errorSamples,
    latenciesMs: Float64Array.from(lat),
    loopElu: w ? performance.eventLoopUtilization(w.end.elu, w.start.elu).utilization : 0,
    cpuMs: w ? cpuMsBetween(w.start.cpu, w.end.cpu) : 0,
  };
}

/** Nearest-rank percentile of an unsorted sample (sorted copy). */
export function percentile(sample: Float64Array, p: number): number {
  if (sample.length === 0) return Number.NaN;
  const sorted = Float64Array.from(sample).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** Busy share (0..1) of all CPUs between two /proc/stat readings; null off Linux. */
export interface CpuTimes {
  busy: number;
  total: number;
}

export function readCpuTimes(): CpuTimes | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((s, x) => s + x, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

export function cpuBusySince(a: CpuTimes | null): number | null {
  const b = readCpuTimes();
  if (!a || !b || b.total === a.total) return null;
  return (b.busy - a.busy) / (b.total - a.total);
}

export function cpuMsBetween(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number {
  return (b.user - a.user + (b.system - a.system)) / 1000;
}

/**
 * Samples `sample()` when the warm-up ends and again when the measurement
 * window ends; resolves with both (null if the window never started).
 */
export function measureWindow<T>(warmupMs: number, durationMs: number, sample: () => T | Promise<T>): Promise<{ start: T; end: T } | null> {
  return new Promise((resolve, reject) => {
    let start: { value: T } | null = null;
    setTimeout(() => {
      Promise.resolve(sample()).then((value) => (start = { value }), reject);
    }, warmupMs);
    setTimeout(() => {
      if (start === null) return resolve(null);
      const s0 = start.value;
      Promise.resolve(sample()).then((end) => resolve({ start: s0, end }), reject);
    }, warmupMs + durationMs);
  });
}

const CLK_TCK = 100;

/** CPU time (ms) a Linux process has used so far, from /proc/<pid>/stat; null when unreadable. */
export function procCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}
