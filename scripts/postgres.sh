#!/usr/bin/env bash
# Starts or stops a private PostgreSQL from Debian's binaries for `make dev` and the tests (the machine's own server
# on 5432 is never touched), then applies the schema (db/migrations, node-pg-migrate).
#   scripts/postgres.sh start (fresh data) | stop | resume (keep data) | status | migrate
# Env: RELAY_PG_PORT (5433), RELAY_PG_DIR (.run/postgres-<port>), RELAY_PG_BIN (/usr/lib/postgresql/15/bin).
# Role and database `relay`, trusted on 127.0.0.1 only: DATABASE_URL=postgres://relay@127.0.0.1:<port>/relay.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
port=${RELAY_PG_PORT:-5433}
dir=${RELAY_PG_DIR:-$root/.run/postgres-$port}
bin=${RELAY_PG_BIN:-/usr/lib/postgresql/15/bin}
data=$dir/data
log=$dir/postgres.log
url="postgres://relay@127.0.0.1:$port/relay"

# PostgreSQL refuses to run as root: as root, the server runs as the machine's `postgres` user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { [ -f "$data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

# The same fd hygiene as broker.sh: a server started under `flock` must not inherit the lock.
start_server() {
  ( for fd in /proc/$BASHPID/fd/*; do
      n=${fd##*/}
      if [ "$n" -gt 2 ] 2>/dev/null; then eval "exec $n>&-" 2>/dev/null || true; fi
    done
    # listen on 127.0.0.1 only; the unix socket lives in the data folder, not /var/run/postgresql (the system's).
    as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$data -c fsync=${RELAY_PG_FSYNC:-on}" start >/dev/null )
}

migrate() {
  DATABASE_URL=$url node "$root/node_modules/node-pg-migrate/bin/node-pg-migrate.js" up \
    --migrations-dir "$root/db/migrations" --migrations-table pgmigrations >/dev/null
  echo "postgres: schema up to date (db/migrations)"
}

start() {
  if running; then echo "postgres: already running on 127.0.0.1:$port"; migrate; return 0; fi
  rm -rf "$dir"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  start_server
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qAt -c "CREATE ROLE relay LOGIN" -c "CREATE DATABASE relay OWNER relay" >/dev/null
  migrate
  echo "postgres: ready on 127.0.0.1:$port ($url)"
}

stop() {
  if ! running; then echo "postgres: not running on $port"; return 0; fi
  as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null
  echo "postgres: stopped ($port)"
}

resume() {
  if running; then return 0; fi
  [ -d "$data" ] || { start; return; }
  start_server
  echo "postgres: resumed on 127.0.0.1:$port"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  resume) resume ;;
  status) if running; then echo "running on 127.0.0.1:$port"; else echo "stopped"; exit 1; fi ;;
  migrate) migrate ;;
  *) echo "usage: $0 start|stop|resume|status|migrate" >&2; exit 2 ;;
esac
