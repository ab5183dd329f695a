import type { Progress } from './stats.js';

/** Progress and diagnostics go to stderr; stdout carries only the report. */
export const err = (line: string) => process.stderr.write(`${line}\n`);
export const out = (line = '') => process.stdout.write(`${line}\n`);

/** A once-a-second progress line for scenario `label`, counting `noun` (pairs, generations). */
export function progressPrinter(label: string, noun = 'pairs'): (p: Progress) => void {
  let last = 0;
  return (p) => {
    const perSecond = p.pairsTotal - last;
    last = p.pairsTotal;
    err(
      `[${label}] ${p.elapsedS.toFixed(0).padStart(3)}s ${p.phase.padEnd(9)} ${noun}=${p.pairsTotal} measured=${p.pairsMeasured} errors=${p.errors} (${perSecond}/s)`,
    );
  };
}
