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
scripts/broker.sh start
trap 'scripts/broker.sh stop' EXIT

echo "== jest"
npx jest --ci "$@"
