import type { VerifyReport } from '@app/ledger';
import type { ServiceUsage } from './service-usage.js';
import { percentile, type TimedResult } from './stats.js';

/** One pair scenario's run in one round. */
export interface Row {
  round: number;
  key: string;
  title: string;
  /** What drove the pairs: the HTTP API (a, b), Node over `pg` (c, d), or pgbench (f). */
  kind: 'http' | 'pg' | 'pgbench';
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

/** Lays out a table: the first column left-aligned, the others right-aligned, a rule under the header. */
function table(header: string[], body: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((t) => t[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
}

const perPair = (cpu: number | null | undefined, r: TimedResult) =>
  cpu === null || cpu === undefined || r.pairs === 0 ? '-' : (cpu / r.pairs).toFixed(2);
const label = (r: Row) => `(${r.key}) ${r.title}`;

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
  const body = rows.map((r) => [
    `${label(r)}${rounds > 1 ? ` #${r.round}` : ''}`,
    String(r.result.pairs),
    rate(r.result).toFixed(0),
    ms(percentile(r.result.latenciesMs, 50)),
    ms(percentile(r.result.latenciesMs, 99)),
    ms(percentile(r.result.latenciesMs, 100)),
    String(r.result.errors),
    r.kind === 'http' ? pct(r.usage?.apiElu ?? null) : '-',
    r.kind === 'pgbench' ? '-' : perPair(r.usage?.nodeCpuMs, r.result),
    perPair(r.usage?.pgCpuMs, r.result),
    (r.kind === 'http' && loadgen === 'process') || r.kind === 'pgbench' ? perPair(r.result.cpuMs, r.result) : '-',
    pct(r.cpuBusy),
    r.verify.ok ? 'consistent' : 'INCONSISTENT',
  ]);
  return [
    ...table(header, body),
    '',
    'API loop: event-loop utilisation of the API thread (100% = the API is CPU-bound on its one thread).',
    `node ms/pair: CPU of this process per pair: the API for a/b${loadgen === 'inline' ? ' (load generator included: BENCH_LOADGEN=inline)' : ''}, the pg loops for c/d.`,
    'pg ms/pair: CPU of the PostgreSQL backends serving the bench database per pair (WAL writer, checkpointer not counted).',
    'client ms/pair: CPU of the HTTP load generator process (a/b) or of pgbench (f) per pair. CPUs busy: every CPU of the machine, other tenants included.',
    'All CPU figures are over the measurement window only; ms/pair = CPU ms / pairs completed in the window.',
  ];
}

/** With BENCH_ROUNDS > 1: each scenario's median over its rounds. */
export function mediansReport(rows: Row[], rounds: number): string[] {
  if (rounds < 2 || !rows.length) return [];
  const keys = [...new Set(rows.map((r) => r.key))];
  const body = keys.map((key) => {
    const of = rows.filter((r) => r.key === key);
    const pgKnown = of.flatMap((r) => {
      const cpu = r.usage?.pgCpuMs;
      return cpu === null || cpu === undefined || r.result.pairs === 0 ? [] : [cpu / r.result.pairs];
    });
    return [
      label(of[0]),
      of.map((r) => rate(r.result).toFixed(0)).join(' '),
      median(of.map((r) => rate(r.result))).toFixed(0),
      ms(median(of.map((r) => percentile(r.result.latenciesMs, 50)))),
      ms(median(of.map((r) => percentile(r.result.latenciesMs, 99)))),
      pgKnown.length ? median(pgKnown).toFixed(2) : '-',
    ];
  });
  return table([`median of ${rounds} rounds`, 'pairs/s by round', 'pairs/s', 'p50 ms', 'p99 ms', 'pg ms/pair'], body);
}

const RATIOS = [
  ['a', 'c', 'HTTP / direct pg'],
  ['a', 'f', 'HTTP / pgbench floor'],
  ['c', 'f', 'direct pg / pgbench floor'],
  ['b', 'a', 'hot wallet / spread, HTTP'],
  ['g', 'a', 'with 3 budgets + 2 alerts / without, HTTP'],
  ['p', 'a', 'through PgBouncer / direct, HTTP'],
  ['d', 'c', 'hot wallet / spread, direct pg'],
] as const;

/**
 * The throughput ratios of the scenarios that ran (per round, and of the
 * medians), then the (a)/(c) and p99 (a) aims when (a) and (c) both ran.
 */
export function ratioReport(rows: Row[], rounds: number): string[] {
  const of = (key: string) => rows.filter((r) => r.key === key);
  const fmt = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '-');
  const body: string[][] = [];
  for (const [x, y, what] of RATIOS) {
    const xs = of(x);
    const ys = of(y);
    if (!xs.length || !ys.length) continue;
    const each = Array.from({ length: rounds }, (_, i) => {
      const rx = xs.find((r) => r.round === i + 1);
      const ry = ys.find((r) => r.round === i + 1);
      return rx && ry ? fmt(rate(rx.result) / rate(ry.result)) : '-';
    });
    const ofMedians = fmt(median(xs.map((r) => rate(r.result))) / median(ys.map((r) => rate(r.result))));
    body.push([`(${x})/(${y})  ${what}`, ...(rounds > 1 ? each : []), ofMedians]);
  }
  const lines: string[] = [];
  if (body.length) {
    const roundHeads = rounds > 1 ? Array.from({ length: rounds }, (_, i) => `round ${i + 1}`) : [];
    lines.push(...table(['pairs/s ratio', ...roundHeads, rounds > 1 ? 'of medians' : 'ratio'], body));
  }
  const a = of('a');
  const c = of('c');
  const g = of('g');
  if (a.length && g.length) {
    const ratio = median(g.map((r) => rate(r.result))) / median(a.map((r) => rate(r.result)));
    if (lines.length) lines.push('');
    lines.push(
      `ratio (g)/(a), spend controls on every wallet: ${(ratio * 100).toFixed(0)}%  (aim >= 85%: ${ratio >= 0.85 ? 'met' : 'NOT met'})`,
    );
  }
  if (a.length && c.length) {
    const what = rounds > 1 ? ` (median of ${rounds} rounds)` : '';
    const ratio = median(a.map((r) => rate(r.result))) / median(c.map((r) => rate(r.result)));
    const p99 = median(a.map((r) => percentile(r.result.latenciesMs, 99)));
    if (lines.length) lines.push('');
    lines.push(`ratio (a)/(c) throughput${what}: ${(ratio * 100).toFixed(0)}%  (aim >= 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'})`);
    lines.push(`p99 (a)${what}: ${ms(p99)} ms  (aim < 50 ms: ${p99 < 50 ? 'met' : 'NOT met'})`);
  }
  return lines;
}
