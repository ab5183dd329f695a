#!/usr/bin/env bash
# Instructions PostgreSQL executes per reserve + settle pair, counted by
# valgrind's callgrind: repeatable to about 0.3% whatever else the machine is
# doing, where CPU time on a shared 2-core box moves by 10-25% between runs.
#
#   npm run bench:pg-instructions                 # this checkout (npm run build first)
#   bench/pg-instructions.sh /tmp/tw-prev         # another checkout (built), same ledger_reserve/ledger_finish signatures
#   PGI_VARIANT=try.sql bench/pg-instructions.sh   # SQL applied after the migrations (a function body to try)
#   PGI_KEEP=1 bench/pg-instructions.sh            # keep the cluster and callgrind's files (callgrind_annotate cg.250.out)
#
# How: a private PostgreSQL cluster in a temporary directory (initdb, a Unix
# socket only), the checkout's migrations, an API key and 1,000 wallets with
# the weekly 15 tokens, 2,000 pairs of history and VACUUM ANALYZE (the
# statistics of a ledger in use: on empty tables the planner picks scans that
# grow with every row). Then PostgreSQL in single-user mode under callgrind
# runs N pairs, each the two statements the service sends (ledger_reserve of
# 0.010 on a random wallet, ledger_finish 'settle' of all of it), once with
# 50 pairs and once with 250 from copies of the same data directory: the
# difference / 200 is one pair's steady-state cost (start-up, catalog loading
# and the first plans cancel out). One backend, so nothing waits on a lock.
# Needs valgrind and PostgreSQL's server binaries (Debian: postgresql-NN);
# as root it runs PostgreSQL as the postgres user.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
checkout="$(cd "${1:-$here}" && pwd)"
pgbin="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}"
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
[ -x "$pgbin/initdb" ] || { echo "no PostgreSQL server binaries under $pgbin (set PG_BIN)" >&2; exit 1; }
[ -f "$checkout/dist/apps/cli/src/main.js" ] || { echo "$checkout is not built (npm run build)" >&2; exit 1; }

work="$(mktemp -d /tmp/tw-pgi.XXXXXX)"
trap 'as_pg "$pgbin/pg_ctl -D $work/data -m immediate stop" >/dev/null 2>&1 || true; [ -n "${PGI_KEEP:-}" ] && echo "[pg-instructions] kept $work" >&2 || rm -rf "$work"' EXIT
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$work"
port=$((20000 + RANDOM % 20000))
progress() { echo "[pg-instructions] $*" >&2; }

pairs() { # N RUN -> the statements of N pairs, one per line (single-user mode runs each line as a statement)
  node --input-type=module - "$1" "$2" "$principal" <<'EOF'
const [n, run, principal] = process.argv.slice(2);
let seed = 42;
const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
const fp = 'pgi-fingerprint';
for (let k = 0; k < Number(n); k++) {
  const id = `res_${run}_${k}`;
  console.log(`SELECT ledger_reserve('${principal}', '${run}-${k}-r', '${fp}', 'bench-w-${next() % 1000}', '${id}', 10, 900, now(), 15000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '${principal}') IS NOT NULL;`);
  console.log(`SELECT ledger_finish('${principal}', '${run}-${k}-s', '${fp}', '${id}', 'settle', NULL, now()) IS NOT NULL;`);
}
EOF
}

progress "cluster in $work (port $port, socket only)"
as_pg "$pgbin/initdb -D $work/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >"$work/initdb.log" 2>&1
as_pg "$pgbin/pg_ctl -D $work/data -o '-p $port -k $work -c listen_addresses=' -l $work/server.log -w start" >/dev/null
psql=(psql -h "$work" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt)
"${psql[@]}" -c "CREATE DATABASE tw" postgres
progress "migrations of $checkout"
(cd "$checkout" && DATABASE_URL="postgres://postgres@localhost:$port/tw?host=$work" LOG_LEVEL=warn node dist/apps/cli/src/main.js migration run >/dev/null)
if [ -n "${PGI_VARIANT:-}" ]; then progress "variant: $PGI_VARIANT"; "${psql[@]}" -f "$PGI_VARIANT" tw >/dev/null; fi
progress "an API key and 1,000 wallets"
principal="$("${psql[@]}" -c "INSERT INTO api_keys (name, scope, key_hash, key_prefix) VALUES ('pgi', 'gateway', 'pgi', 'pgi') RETURNING id" tw)"
"${psql[@]}" -c "SELECT count(ledger_create_wallet('bench-w-' || i, now(), 15000)) FROM generate_series(0, 999) i" tw >/dev/null
progress "2,000 pairs of history, then VACUUM ANALYZE (statistics of a ledger in use, not of empty tables)"
pairs 2000 hist | "${psql[@]}" tw >/dev/null
"${psql[@]}" -c "VACUUM ANALYZE" tw
as_pg "$pgbin/pg_ctl -D $work/data -w stop" >/dev/null

declare -A ir
for n in 50 250; do
  progress "callgrind: $n pairs"
  pairs "$n" pgi >"$work/pairs$n.sql"
  rm -rf "$work/run" && cp -a "$work/data" "$work/run"
  as_pg "cd $work && valgrind --tool=callgrind --callgrind-out-file=$work/cg.$n.out $pgbin/postgres --single -D $work/run tw" \
    <"$work/pairs$n.sql" >"$work/out.$n.log" 2>&1
  ok="$(grep -c '= "t"' "$work/out.$n.log" || true)"
  [ "$ok" = "$((2 * n))" ] || { echo "[pg-instructions] $((2 * n - ok)) of $((2 * n)) statements failed; see:" >&2; grep ERROR "$work/out.$n.log" | head -3 >&2; exit 1; }
  ir[$n]="$(awk '/^(summary|totals):/ {print $2; exit}' "$work/cg.$n.out")"
done
per_pair=$(((ir[250] - ir[50]) / 200))
echo "checkout      $checkout ($(git -C "$checkout" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "postgres      $("$pgbin/postgres" --version)"
echo "instructions  50 pairs ${ir[50]}, 250 pairs ${ir[250]}"
echo "per pair      $per_pair instructions ($(awk -v x="$per_pair" 'BEGIN {printf "%.2f", x / 1e6}') M)"
