#!/usr/bin/env bash
# `make up`: build and start the compose stack, then return once every started container is healthy.
# Compose v2 waits itself (`up --wait`); the v1 tool (`make up COMPOSE=docker-compose`) has no --wait, so this
# polls `ps` until no container is starting, unhealthy or exited.
# Env: COMPOSE (the compose command, default `docker compose`), SERVICES (default: all but the profiles'),
#      UP_TIMEOUT (seconds, 300).
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a compose <<< "${COMPOSE:-docker compose}"
read -r -a services <<< "${SERVICES:-}"
timeout=${UP_TIMEOUT:-300}

if "${compose[@]}" up --help 2>/dev/null | grep -q -- '--wait'; then
  exec "${compose[@]}" up -d --build --wait --wait-timeout "$timeout" "${services[@]}"
fi

"${compose[@]}" up -d --build "${services[@]}"
deadline=$((SECONDS + timeout))
while true; do
  states=$("${compose[@]}" ps | tail -n +3)
  if [ -n "$states" ] && ! grep -Eq 'starting|unhealthy|Exit|Restarting' <<< "$states"; then
    echo "compose-up: every container healthy after $SECONDS s"
    exit 0
  fi
  if [ $SECONDS -ge $deadline ]; then
    echo "compose-up: not healthy after ${timeout} s:" >&2
    echo "$states" >&2
    exit 1
  fi
  sleep 2
done
