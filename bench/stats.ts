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
  let eluStart: ReturnType<typeof performance.eventLoopUtilization> | null = null;
  let eluWindow: ReturnType<typeof performance.eventLoopUtilization> | null = null;
  const eluTimers = [
    setTimeout(() => (eluStart = performance.eventLoopUtilization()), Math.max(0, o.warmupMs)),
    setTimeout(() => {
      if (eluStart) eluWindow = performance.eventLoopUtilization(eluStart);
    }, o.warmupMs + o.durationMs),
  ];
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
  for (const t of eluTimers) clearTimeout(t);
  const elu = eluWindow ?? (eluStart ? performance.eventLoopUtilization(eluStart) : null);
  return {
    clients: o.clients,
    warmupMs: o.warmupMs,
    measuredMs: o.durationMs,
    pairs,
    pairsTotal,
    errors,
    errorSamples,
    latenciesMs: Float64Array.from(lat),
    loopElu: elu ? elu.utilization : 0,
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
