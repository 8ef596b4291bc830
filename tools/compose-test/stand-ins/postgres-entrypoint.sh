#!/usr/bin/env bash
# docker-entrypoint.sh of the postgres stand-in (postgres.Dockerfile): the official image's environment contract,
# written for this stand-in (https://hub.docker.com/_/postgres, "Environment Variables"):
#   POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (one of them; required for a new database),
#   POSTGRES_USER (default postgres: the superuser initdb creates), POSTGRES_DB (default: POSTGRES_USER), PGDATA.
# On an empty PGDATA it runs initdb with that user and password, lets every other host in with a password
# (`host all all all scram-sha-256`), creates POSTGRES_DB on a socket-only temporary server, then starts the server.
# Started as root it gives PGDATA and the socket folder to postgres and runs itself again as postgres; started as
# postgres (compose `user: postgres`) it needs no capability at all.
set -Eeuo pipefail

if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi
if [ "${1:-}" != postgres ]; then exec "$@"; fi

if [ -n "${POSTGRES_PASSWORD:-}" ] && [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  echo 'error: both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set (but are exclusive)' >&2
  exit 1
fi
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then POSTGRES_PASSWORD=$(< "$POSTGRES_PASSWORD_FILE"); fi
export POSTGRES_USER=${POSTGRES_USER:-postgres}
export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}

mkdir -p "$PGDATA"
chmod 700 "$PGDATA" 2>/dev/null || true
if [ "$(id -u)" = 0 ]; then
  find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
  exec gosu postgres "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo 'error: the database is uninitialized and no superuser password is set (POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE)' >&2
    exit 1
  fi
  # The password reaches initdb through a pipe, never a file or the command line.
  # initdb's default authentication (trust) for the socket and loopback inside the container, as the official
  # image has it; every other client needs the password.
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD")
  printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc --dbname postgres \
      --set db="$POSTGRES_DB" <<< 'CREATE DATABASE :"db";'
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo 'stand-in: PostgreSQL init process complete; ready for start up.'
fi
unset POSTGRES_PASSWORD
exec "$@"
