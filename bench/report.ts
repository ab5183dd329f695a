import type { VerifyReport } from '@app/ledger';
import type { ServiceUsage } from './service-usage.js';
import { percentile, type TimedResult } from './stats.js';

/** One pair scenario's run in one round. */
export interface Row {
  round: number;
  key: string;
  title: string;
  http: boolean;
  result: TimedResult;
  usage: ServiceUsage | null;
  cpuBusy: number | null;
  verify: VerifyReport;
}

export const rate = (r: TimedResult) => r.pairs / (r.measuredMs / 1000);
export const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
export const pct = (x: number | null) => (x === null ? '-' : `${Math.round(x * 100)}%`);

export function median(xs: number[]): number {
  const v = [...xs].sort((x, y) => x - y);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** The pair scenarios' table (one line per scenario and round) and what its columns mean. */
export function pairReport(rows: Row[], rounds: number, loadgen: 'process' | 'inline'): string[] {
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
    `(${r.key}) ${r.title}${rounds > 1 ? ` #${r.round}` : ''}`,
    String(r.result.pairs),
    rate(r.result).toFixed(0),
    ms(percentile(r.result.latenciesMs, 50)),
    ms(percentile(r.result.latenciesMs, 99)),
    ms(percentile(r.result.latenciesMs, 100)),
    String(r.result.errors),
    r.http ? pct(r.usage?.apiElu ?? null) : '-',
    perPair(r.usage?.nodeCpuMs, r.result),
    perPair(r.usage?.pgCpuMs, r.result),
    r.http && loadgen === 'process' ? perPair(r.result.cpuMs, r.result) : '-',
    pct(r.cpuBusy),
    r.verify.ok ? 'consistent' : 'INCONSISTENT',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.map(line),
    '',
    'API loop: event-loop utilisation of the API thread (100% = the API is CPU-bound on its one thread).',
    `node ms/pair: CPU of this process per pair: the API for a/b${loadgen === 'inline' ? ' (load generator included: BENCH_LOADGEN=inline)' : ''}, the pg loops for c/d.`,
    'pg ms/pair: CPU of the PostgreSQL backends serving the bench database per pair (WAL writer, checkpointer not counted).',
    'client ms/pair: CPU of the HTTP load generator process per pair. CPUs busy: every CPU of the machine, other tenants included.',
    'All CPU figures are over the measurement window only; ms/pair = CPU ms / pairs completed in the window.',
  ];
}

/** The (a)/(c) throughput ratio and the p99 of (a), against the aims; empty unless both ran. */
export function ratioReport(rows: Row[], rounds: number): string[] {
  const of = (key: string) => rows.filter((r) => r.key === key);
  const a = of('a');
  const c = of('c');
  if (!a.length || !c.length) return [];
  const lines: string[] = [];
  const what = rounds > 1 ? ` (median of ${rounds} rounds)` : '';
  if (rounds > 1) {
    const each = a.map((r, i) => (c[i] ? `${((rate(r.result) / rate(c[i].result)) * 100).toFixed(0)}%` : '-'));
    lines.push(`ratio (a)/(c) per round: ${each.join(' ')}`);
  }
  const ratio = median(a.map((r) => rate(r.result))) / median(c.map((r) => rate(r.result)));
  const p99 = median(a.map((r) => percentile(r.result.latenciesMs, 99)));
  lines.push(`ratio (a)/(c) throughput${what}: ${(ratio * 100).toFixed(0)}%  (aim >= 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'})`);
  lines.push(`p99 (a)${what}: ${ms(p99)} ms  (aim < 50 ms: ${p99 < 50 ? 'met' : 'NOT met'})`);
  return lines;
}
