#!/usr/bin/env bash
# `make test`: static checks, then a private broker from rabbitmq/ and a private PostgreSQL (scripts/postgres.sh)
# for the integration and end-to-end tests.
# Every process started here or by a test is stopped by its PID before this script exits.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "== typecheck"
npm run --silent typecheck
for check in scripts/check-prometheus.sh scripts/check-compose.sh scripts/check-loadtest.sh; do
  echo "== $check"
  bash "$check"
done

# Stop the broker and PostgreSQL at the end only if this run started them.
stop_at_exit=()
cleanup() { for command in "${stop_at_exit[@]}"; do $command || true; done; }
trap cleanup EXIT

echo "== private broker"
if ! scripts/broker.sh status >/dev/null 2>&1; then
  scripts/broker.sh start
  stop_at_exit+=("scripts/broker.sh stop")
fi

echo "== private PostgreSQL (RELAY_PG_PORT, default 5433)"
if ! scripts/postgres.sh status >/dev/null 2>&1; then
  # The test database is thrown away at the end: no fsync, like a tmpfs.
  RELAY_PG_FSYNC=off scripts/postgres.sh start
  stop_at_exit+=("scripts/postgres.sh stop")
else
  scripts/postgres.sh migrate
fi

echo "== jest"
npx jest --ci "$@"
