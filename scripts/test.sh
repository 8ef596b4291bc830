#!/usr/bin/env bash
# `make test`: static checks, then a private broker from rabbitmq/ for the integration and end-to-end tests.
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

echo "== private broker"
# Stop the broker at the end only if this run started it.
if ! scripts/broker.sh status >/dev/null 2>&1; then
  scripts/broker.sh start
  trap 'scripts/broker.sh stop' EXIT
fi

echo "== jest"
npx jest --ci "$@"
