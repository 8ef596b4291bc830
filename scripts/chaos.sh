#!/usr/bin/env bash
# `make chaos` (make builds first): the long fault run (tools/chaos). Starts the private broker on 5673 if it is
# not running, and stops it afterwards only if this script started it; everything else the run starts is stopped
# by the tool itself. Exits with the tool's code: 1 if any accepted message was lost.
# On a shared machine run it as: flock /tmp/relay-stack.lock make chaos
# Env: CHAOS_MESSAGES (12000) and the other CHAOS_* variables listed in tools/chaos/main.ts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

[ -f dist/tools/chaos/main.js ] || { echo "chaos: dist/tools/chaos/main.js is missing; run make build" >&2; exit 1; }

if ! scripts/broker.sh status >/dev/null 2>&1; then
  scripts/broker.sh start
  trap 'scripts/broker.sh stop' EXIT
else
  # The run restarts the broker; whatever happens, leave it running as it was found.
  trap 'scripts/broker.sh resume >/dev/null' EXIT
fi

status=0
node dist/tools/chaos/main.js || status=$?
exit "$status"
