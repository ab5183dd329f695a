import type { VerifyReport } from '@app/ledger';
import type { GenLoadResult, ProviderCall, WaitMode } from './generation-clients.js';
import type { SideUsage } from './generation-sampling.js';
import type { ServiceUsage } from './service-usage.js';

/**
 * Scenario (e)'s per-generation breakdown: the run's generations rows joined
 * with the fake provider's request timings (by prompt) and the finisher's
 * timings (by generation id), over the measurement window.
 */

export const METRICS = [
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
export type MetricKey = (typeof METRICS)[number][0];

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

export interface DbRow {
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

export const RUN_ROWS = `
  SELECT g.id, g.prompt, g.status, g.attempts,
         (g.status = 'succeeded' AND (g.delivered <> 1 OR g.tokens_used <> g.unit_price
           OR r.status <> 'settled' OR r.settled <> g.tokens_used OR r.released <> 0)) AS bad_charge,
         extract(epoch FROM g.created_at)::float8 * 1000 AS created_ms,
         extract(epoch FROM g.enqueued_at)::float8 * 1000 AS enqueued_ms,
         extract(epoch FROM g.started_at)::float8 * 1000 AS started_ms,
         extract(epoch FROM g.finished_at)::float8 * 1000 AS finished_ms
    FROM generations g JOIN reservations r ON r.id = g.reservation_id
   WHERE g.prompt LIKE $1`;

/** What the analysis needs to know of the run (GenScenarioSpec has it all). */
export interface RunShape {
  label: string;
  round: number;
  clients: number;
  warmupMs: number;
  durationMs: number;
  wait: WaitMode;
  pollMs: number;
  providerLatencyMs: number;
}

export function analyse(o: {
  spec: RunShape;
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
