import { genRate, type GenRow, METRICS } from './generation-analysis.js';
import { percentile } from './stats.js';

/** The (e) report: one summary line per run, then the per-generation breakdown of each run. */
export function formatGenerationReport(rows: GenRow[], rounds: number): string[] {
  const lines: string[] = [];
  const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
  const pct = (x: number | null) => (x === null ? '-' : `${Math.round(x * 100)}%`);
  const per = (cpu: number | null | undefined, n: number) => (cpu === null || cpu === undefined || n === 0 ? '-' : (cpu / n).toFixed(2));
  const header = [
    'scenario',
    'gens',
    'gens/s',
    'failed',
    'errors',
    'worker slots',
    'API loop',
    'node ms/gen',
    'pg ms/gen',
    'stmts/gen',
    'fake ms/gen',
    'client ms/gen',
    'redis ms/gen',
    'CPUs busy',
    'ledger',
  ];
  const table = rows.map((r) => [
    `(e) generation, ${r.clients} clients${rounds > 1 ? ` #${r.round}` : ''}`,
    String(r.completed),
    genRate(r).toFixed(1),
    String(r.failed + r.unfinished),
    String(r.clientErrors),
    `${r.busySlots.toFixed(1)}/${r.concurrency}`,
    pct(r.usage?.apiElu ?? null),
    per(r.usage?.nodeCpuMs, r.completed),
    per(r.usage?.pgCpuMs, r.completed),
    r.statements === null || r.completed === 0 ? '-' : (r.statements / r.completed).toFixed(1),
    per(r.fakeCpuMs, r.completed),
    per(r.clientCpuMs, r.completed),
    per(r.redisCpuMs, r.completed),
    pct(r.cpuBusy),
    r.verify.ok && r.badCharges === 0 ? 'consistent' : 'INCONSISTENT',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  lines.push(line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...table.map(line), '');
  lines.push('gens: generations that succeeded with finished_at inside the window; gens/s = gens / window.');
  lines.push('worker slots: mean jobs in progress over the window (started_at -> settlement committed) / GENERATION_CONCURRENCY.');
  lines.push('API loop, node ms/gen: the thread and CPU of this process, which runs the API and its worker.');
  lines.push('stmts/gen: statements the API + worker sent to PostgreSQL over the window, per generation completed in it.');
  lines.push('fake ms/gen: CPU of the fake provider process. redis ms/gen: CPU of the whole Redis server (other users included).');

  for (const r of rows) {
    lines.push('');
    lines.push(
      `(e)${rounds > 1 ? ` #${r.round}` : ''}: per generation, ms (${r.measured} generations enqueued inside the window; client rows: POSTs sent inside it)`,
    );
    const labelWidth = Math.max(...METRICS.map(([, t]) => t.length));
    lines.push(
      `${''.padEnd(labelWidth)}  ${'min'.padStart(8)}  ${'p50'.padStart(8)}  ${'p99'.padStart(8)}  ${'max'.padStart(8)}  ${'n'.padStart(6)}`,
    );
    for (const [key, title] of METRICS) {
      const v = r.metrics[key];
      lines.push(
        `${title.padEnd(labelWidth)}  ${f1(percentile(v, 0)).padStart(8)}  ${f1(percentile(v, 50)).padStart(8)}  ${f1(percentile(v, 99)).padStart(8)}  ${f1(percentile(v, 100)).padStart(8)}  ${String(v.length).padStart(6)}`,
      );
    }
    lines.push(
      `generations ${r.generations} in all: ${r.succeeded} succeeded, ${r.failed} failed, ${r.unfinished} unfinished, ${r.badCharges} charged wrongly; ` +
        `${r.clientErrors} client errors; seen by the clients in the window: ${r.clientCompleted}`,
    );
    lines.push(
      `provider calls ${r.providerCalls} (${r.providerNon200} not 200), ${r.unmatched} succeeded generations without one; ` +
        `started_at < enqueued_at for ${r.startedBeforeEnqueued} of ${r.measured}`,
    );
    lines.push(
      `completion: wait=${r.wait}, poll every ${r.pollMs} ms; ${r.watcherQueries} watcher queries, ${r.gets} GET /v1/generations/{id}`,
    );
  }
  return lines;
}
