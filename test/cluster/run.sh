#!/usr/bin/env bash
# npm run test:cluster. Starts, on free ports under one temporary directory:
#   - a Redis Cluster of 3 masters and 3 replicas (Debian's redis-server, cluster mode);
#   - PgBouncer in transaction mode in front of the PostgreSQL at 127.0.0.1:5432;
#   - a PostgreSQL primary (its own initdb, wal_level=replica) and a streaming replica of it
#     (pg_basebackup -R);
# then runs the "cluster" Jest project against them, and on exit (pass, fail or interrupt)
# stops every process it started and removes the directory.
set -euo pipefail
cd "$(dirname "$0")/../.."

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
for bin in redis-server redis-cli pgbouncer "$PGBIN/initdb" "$PGBIN/pg_ctl" "$PGBIN/pg_basebackup"; do
  command -v "$bin" >/dev/null || { echo "test:cluster needs $bin (apt-get install redis-server pgbouncer postgresql-15)" >&2; exit 1; }
done

DIR=$(mktemp -d /tmp/tw-cluster.XXXXXX)
chmod 755 "$DIR"
# PgBouncer and PostgreSQL refuse to run as root: they run as the postgres user when this runs as root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

JEST_PID=
cleanup() {
  local rc=$?
  set +e
  trap '' PIPE INT TERM
  if [ -n "$JEST_PID" ]; then pkill -TERM -P "$JEST_PID" 2>/dev/null; kill -9 "$JEST_PID" 2>/dev/null; fi
  for pidfile in "$DIR"/redis-*/redis.pid "$DIR"/pgbouncer/pgbouncer.pid; do
    [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null
  done
  for data in "$DIR"/pg/replica "$DIR"/pg/primary; do
    [ -f "$data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1
  done
  if [ "$rc" != 0 ] && [ -z "${TW_CLUSTER_KEEP_LOGS:-}" ]; then
    for log in "$DIR"/redis-*/redis.log "$DIR"/pgbouncer/pgbouncer.log "$DIR"/pg/*.log; do
      [ -f "$log" ] && { echo "--- tail of $log"; tail -n 15 "$log"; } >&2
    done
  fi
  rm -rf "$DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Free ports (and, for Redis, free cluster-bus ports at port + 10000).
read -r -a PORTS <<<"$(node -e '
const net = require("node:net");
const free = (p) => new Promise((r) => { const s = net.createServer().once("error", () => r(false)).listen(p, "127.0.0.1", () => s.close(() => r(true))); });
(async () => {
  const out = [];
  for (let p = 20000 + Math.floor(Math.random() * 20000); out.length < 9; p++) {
    if (await free(p) && await free(p + 10000)) out.push(p);
  }
  console.log(out.join(" "));
})();')"
REDIS_PORTS=("${PORTS[@]:0:6}")
PGBOUNCER_PORT=${PORTS[6]}
PRIMARY_PORT=${PORTS[7]}
REPLICA_PORT=${PORTS[8]}

echo "Redis Cluster on ${REDIS_PORTS[*]}"
NODES=()
for p in "${REDIS_PORTS[@]}"; do
  mkdir -p "$DIR/redis-$p"
  # start.sh starts the node (again: a test that killed it brings it back, and it rejoins from nodes.conf).
  printf '%s\n' "exec redis-server --port $p --bind 127.0.0.1 --daemonize yes --dir '$DIR/redis-$p'" \
    " --pidfile '$DIR/redis-$p/redis.pid' --logfile '$DIR/redis-$p/redis.log'" \
    " --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 --save '' --appendonly no" \
    | tr -d '\n' >"$DIR/redis-$p/start.sh"
  sh "$DIR/redis-$p/start.sh"
  NODES+=("127.0.0.1:$p")
done
for p in "${REDIS_PORTS[@]}"; do
  for _ in $(seq 1 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create "${NODES[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/cluster-create.log"
for p in "${REDIS_PORTS[@]}"; do
  for i in $(seq 1 100); do
    redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok' && break
    [ "$i" = 100 ] && { echo "Redis Cluster not ok on $p" >&2; exit 1; }
    sleep 0.1
  done
done

echo "PgBouncer (transaction mode) on $PGBOUNCER_PORT in front of 127.0.0.1:5432"
mkdir -p "$DIR/pgbouncer"
echo '"postgres" ""' >"$DIR/pgbouncer/userlist.txt"
cat >"$DIR/pgbouncer/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=5432
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/pgbouncer/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
pidfile = $DIR/pgbouncer/pgbouncer.pid
logfile = $DIR/pgbouncer/pgbouncer.log
EOF
chown -R postgres "$DIR/pgbouncer" 2>/dev/null || true
as_pg pgbouncer -d -q "$DIR/pgbouncer/pgbouncer.ini"

echo "PostgreSQL primary on $PRIMARY_PORT, streaming replica on $REPLICA_PORT"
mkdir -p "$DIR/pg"
chown postgres "$DIR/pg" 2>/dev/null || true
as_pg "$PGBIN/initdb" -D "$DIR/pg/primary" -U postgres --auth=trust >"$DIR/pg/initdb.log"
cat >>"$DIR/pg/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR/pg'
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
shared_buffers = 32MB
max_connections = 60
EOF
as_pg "$PGBIN/pg_ctl" -D "$DIR/pg/primary" -l "$DIR/pg/primary.log" -o "-p $PRIMARY_PORT" -w start >/dev/null
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DIR/pg/replica" -R -X stream
as_pg "$PGBIN/pg_ctl" -D "$DIR/pg/replica" -l "$DIR/pg/replica.log" -o "-p $REPLICA_PORT" -w start >/dev/null

export TW_CLUSTER=1
export TW_CLUSTER_DIR="$DIR"
export TW_REDIS_CLUSTER_URL="redis+cluster://127.0.0.1:${REDIS_PORTS[0]},127.0.0.1:${REDIS_PORTS[1]},127.0.0.1:${REDIS_PORTS[2]}"
export TW_PGBOUNCER_URL="postgres://postgres@127.0.0.1:$PGBOUNCER_PORT/postgres"
export TW_PG_PRIMARY_URL="postgres://postgres@127.0.0.1:$PRIMARY_PORT/postgres"
export TW_PG_REPLICA_URL="postgres://postgres@127.0.0.1:$REPLICA_PORT/postgres"

# In the background, so that a signal to this script stops the suite and runs the cleanup at once.
# --forceExit: these suites kill servers on purpose; a client left reconnecting must not keep the run (and so
# every server) alive. A suite whose teardown does not finish still fails, on Jest's hook timeout.
node --experimental-vm-modules --no-warnings=ExperimentalWarning node_modules/jest/bin/jest.js --selectProjects cluster --runInBand --forceExit "$@" &
JEST_PID=$!
wait "$JEST_PID"
