#!/usr/bin/env bash
# `make bench` (make builds first): the native throughput benchmark, our stack vs the cluster-IPC baseline.
# Starts the private broker on 5673 if it is not running and leaves it running. Prints one JSON line per design
# and one with the ratios (docs/performance.md explains the fields).
# On a shared machine run it as: flock /tmp/relay-stack.lock bash scripts/bench.sh
# Env: BENCH_SECONDS (45), BENCH_CONNECTIONS (100), BENCH_DESIGNS (pm2-rabbitmq,cluster-ipc), API_INSTANCES (1),
#      PREFETCH, BASELINE_INSTANCES (1); BENCH_BROKER_ERL_ARGS: restart the broker with these extra Erlang VM flags
#      (e.g. "+S 1:1") for this run only, and restart it with the committed settings afterwards.
#      BENCH_RATE=<requests/s>: fixed-rate mode, open-loop load at that constant arrival rate for BENCH_SECONDS
#      (accept and end-to-end p50/p95/p99, late and dropped requests per design); BENCH_MAX_INFLIGHT (1000),
#      BENCH_LATE_MS (10). STATUS_TRACKING=false: our stack without delivery status (no reporters, no status
#      service); by default the status service runs and PostgreSQL is started if it is not running.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

[ -f dist/tools/bench.js ] || { echo "bench: dist/tools/bench.js is missing; run make build" >&2; exit 1; }

if [ -n "${BENCH_BROKER_ERL_ARGS:-}" ]; then
  echo "bench: restarting the broker with RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=\"$BENCH_BROKER_ERL_ARGS\"" >&2
  scripts/broker.sh stop >&2
  restore() { echo "bench: restoring the broker's committed settings" >&2; scripts/broker.sh stop >&2 || true; scripts/broker.sh resume >&2; }
  trap restore EXIT
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$BENCH_BROKER_ERL_ARGS" scripts/broker.sh resume >&2
elif ! scripts/broker.sh status >/dev/null 2>&1; then
  scripts/broker.sh start >&2
fi

# The status database, for the status service (STATUS_TRACKING=false leaves both out); left running like the broker.
if [ "${STATUS_TRACKING:-true}" != false ] && ! scripts/postgres.sh status >/dev/null 2>&1; then
  scripts/postgres.sh start >&2
fi

# One HTTP process per design by default: on 2 cores the workers, the broker, the sandbox and the load generator
# need the other core (measured: ours 518 -> 698 delivered/s going from 2 to 1 instance; docs/performance.md).
export API_INSTANCES=${API_INSTANCES:-1} BASELINE_INSTANCES=${BASELINE_INSTANCES:-1}
# 45 s: shorter runs are dominated by start-up and drain noise (20 s runs spread 0.73-1.16 in ratio).
export BENCH_SECONDS=${BENCH_SECONDS:-45}
node dist/tools/bench.js
