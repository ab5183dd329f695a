#!/usr/bin/env bash
# Measures this checkout against a baseline checkout (a `git worktree` of an
# earlier commit, built with `npm ci && npm run build`) in one session: the
# rounds alternate (baseline, this, baseline, this, ...) with the same
# settings, and the medians and their ratios are printed at the end.
#
#   git worktree add --detach /tmp/tw-prev <commit> && (cd /tmp/tw-prev && npm ci && npm run build)
#   bench/compare.sh /tmp/tw-prev [rounds]            # BENCH_SCENARIOS, BENCH_SECONDS, ... as for npm run bench
set -euo pipefail
cd "$(dirname "$0")/.."
baseline="${1:?usage: bench/compare.sh <baseline checkout> [rounds]}"
rounds="${2:-3}"
scenarios="${BENCH_SCENARIOS:-a,b,c}"
out="$(mktemp -d)"
npm run -s build
for r in $(seq 1 "$rounds"); do
  for side in baseline this; do
    dir=$([ "$side" = baseline ] && echo "$baseline" || pwd)
    # The baseline may not know every scenario (f is newer): it runs those it has.
    s=$([ "$side" = baseline ] && echo "$scenarios" | tr ',' '\n' | grep -v '^f$' | paste -sd, || echo "$scenarios")
    echo "[compare] round $r/$rounds: $side ($s)" >&2
    (cd "$dir" && BENCH_SCENARIOS="$s" BENCH_ROUNDS=1 node dist/bench/run.js >"$out/$side.$r.txt" 2>"$out/$side.$r.err") ||
      { echo "[compare] $side round $r failed; see $out/$side.$r.err" >&2; exit 1; }
  done
done
# Rows: "(a) HTTP, 10000 wallets  pairs  pairs/s  p50  p99  max  errors  loop  node  pg  client ..."
node --input-type=module - "$out" "$rounds" <<'EOF'
import { readFileSync } from 'node:fs';
const [dir, rounds] = process.argv.slice(2);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };
const rows = {};
for (const side of ['baseline', 'this']) {
  for (let r = 1; r <= Number(rounds); r++) {
    for (const line of readFileSync(`${dir}/${side}.${r}.txt`, 'utf8').split('\n')) {
      const m = line.match(/^\(([a-f])\) .*? wallets?\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)/);
      if (!m) continue;
      const key = `${side}.${m[1]}`;
      (rows[key] ??= []).push({ pairs: +m[3], p50: +m[4], p99: +m[5], node: +m[9], pg: +m[10] });
    }
  }
}
const med = (key, f) => median((rows[key] ?? []).map((x) => x[f]).filter((x) => !Number.isNaN(x)));
console.log(`medians of ${rounds} rounds (pairs/s, p50 ms, p99 ms, node ms/pair, pg ms/pair)`);
for (const s of ['a', 'b', 'c', 'd', 'f']) {
  const b = `baseline.${s}`, t = `this.${s}`;
  if (!rows[b] && !rows[t]) continue;
  const fmt = (k) => (rows[k] ? ['pairs', 'p50', 'p99', 'node', 'pg'].map((f) => String(med(k, f))).join(' / ') : '-');
  const ratio = rows[b] && rows[t] ? `${(med(t, 'pairs') / med(b, 'pairs')).toFixed(2)}x` : '-';
  console.log(`(${s})  baseline ${fmt(b).padEnd(34)} this ${fmt(t).padEnd(34)} this/baseline ${ratio}`);
}
if (rows['this.f']) for (const s of ['a', 'c']) if (rows[`this.${s}`]) console.log(`(${s})/floor ${(100 * med(`this.${s}`, 'pairs') / med('this.f', 'pairs')).toFixed(0)}%`);
console.log(`raw outputs: ${dir}`);
EOF
