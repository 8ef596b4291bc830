#!/usr/bin/env bash
# `make cluster-test` (make builds first): the native 3-node cluster (scripts/cluster.sh) under the stack and a
# steady load while nodes are stopped and brought back (tools/cluster/main.ts); exits non-zero on any lost message.
# Starts the cluster if it is not running and stops it afterwards only if this script started it. The stack uses
# the fixed native ports (8080, 8025, 2525, 9101-9103): on a shared machine run it as
#   flock /tmp/relay-e2e.lock make cluster-test
# Env: the CLUSTER_* variables of tools/cluster/main.ts (the stack gets a load API key of its own).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

[ -f dist/tools/cluster/main.js ] || { echo "cluster-test: dist/tools/cluster/main.js is missing; run make build" >&2; exit 1; }

if ! scripts/cluster.sh status >/dev/null 2>&1; then
  scripts/cluster.sh start
  trap 'scripts/cluster.sh stop' EXIT
fi

export CHAOS_ADMIN_AMQP_URL=${CHAOS_ADMIN_AMQP_URL:-$(scripts/cluster.sh urls relay-admin)}
status=0
node dist/tools/cluster/main.js || status=$?
exit "$status"
