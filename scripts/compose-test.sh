#!/usr/bin/env bash
# `make compose-test`: builds the project's image from the real Dockerfile and runs the real docker-compose.yml,
# then proves it against the containers (tools/compose-test/main.ts: healthy, each channel, definitions,
# `make scale`, a replica SIGKILLed under load, the app stopped under load, down and up again with messages kept).
# `scripts/compose-test.sh cluster` (make compose-cluster-test) runs docker-compose.cluster.yml on top instead
# (tools/compose-test/cluster-main.ts: three brokers, quorum queues with three members, a broker killed under load).
# Engine: podman's Docker API driven by docker-compose where no Docker daemon runs (tools/compose-test/engine.sh;
# installed here when missing), or the host's Docker with COMPOSE_TEST_ENGINE=docker.
# Images: the official ones where a registry can be reached; COMPOSE_TEST_STAND_INS=1 (the default with podman)
# builds local stand-ins (tools/compose-test/stand-ins.sh). Host ports are shifted (APP_PORT=28080, ...) so a
# running `make dev` or `make up` is not disturbed. Everything started here is stopped on exit, by PID.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
engine=${COMPOSE_TEST_ENGINE:-podman}
suite=${1:-single}
case "$suite" in
  single) compose_files="-f docker-compose.yml"; proofs=dist/tools/compose-test/main.js ;;
  cluster) compose_files="-f docker-compose.yml -f docker-compose.cluster.yml"; proofs=dist/tools/compose-test/cluster-main.js ;;
  *) echo "usage: $0 [single|cluster]" >&2; exit 2 ;;
esac
started=$SECONDS

if [ "$engine" = podman ]; then
  missing=()
  for pkg in podman runc uidmap debootstrap catatonit docker-compose; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  tools/compose-test/engine.sh start
  eval "$(tools/compose-test/engine.sh env)"
  export COMPOSE_TEST_ENGINE_CLI=podman
else
  export COMPOSE_TEST_ENGINE_CLI=docker
fi

export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-relay-ct}
if command -v docker-compose >/dev/null 2>&1; then compose_bin=docker-compose; else compose_bin="docker compose"; fi
export COMPOSE="$compose_bin -p $COMPOSE_PROJECT_NAME $compose_files -f tools/compose-test/compose.test-override.yml"
# Below the ephemeral range (32768-60999): a port there may be held by any outgoing connection at that moment.
export APP_PORT=${APP_PORT:-28080} SANDBOX_HTTP_PORT=${SANDBOX_HTTP_PORT:-28025} SANDBOX_SMTP_PORT=${SANDBOX_SMTP_PORT:-22525} \
  RABBITMQ_MANAGEMENT_PORT=${RABBITMQ_MANAGEMENT_PORT:-29672} PROMETHEUS_PORT=${PROMETHEUS_PORT:-29090} \
  ALERTMANAGER_PORT=${ALERTMANAGER_PORT:-29093} \
  COMPOSE_TEST_AMQP_PORT=${COMPOSE_TEST_AMQP_PORT:-29682}
# One CPU for the app, below the host's count: the proof that PM2 starts one instance per CPU of the limit.
export APP_CPUS=${APP_CPUS:-1}
export CHAOS_APP_URL=http://127.0.0.1:$APP_PORT CHAOS_SANDBOX_URL=http://127.0.0.1:$SANDBOX_HTTP_PORT \
  COMPOSE_TEST_PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT

cleanup() {
  local rc=$?
  echo "== cleanup"
  if [ $rc -ne 0 ]; then $COMPOSE ps 2>/dev/null || true; $COMPOSE logs --tail=40 2>/dev/null | tail -n 200 || true; fi
  $COMPOSE down -v --remove-orphans >/dev/null 2>&1 || true
  if [ "$engine" = podman ]; then tools/compose-test/engine.sh stop; fi
  exit $rc
}
trap cleanup EXIT
# A previous run that was interrupted may have left the project behind.
$COMPOSE down -v --remove-orphans >/dev/null 2>&1 || true

if [ "${COMPOSE_TEST_STAND_INS:-$([ "$engine" = podman ] && echo 1 || echo 0)}" = 1 ]; then
  echo "== stand-in images (no registry here)"
  eval "$(tools/compose-test/stand-ins.sh)"
  export NODE_IMAGE RABBITMQ_IMAGE PROMETHEUS_IMAGE ALERTMANAGER_IMAGE POSTGRES_IMAGE
  echo "   NODE_IMAGE=$NODE_IMAGE RABBITMQ_IMAGE=$RABBITMQ_IMAGE PROMETHEUS_IMAGE=$PROMETHEUS_IMAGE"
  echo "   ALERTMANAGER_IMAGE=$ALERTMANAGER_IMAGE POSTGRES_IMAGE=$POSTGRES_IMAGE"
fi

echo "== build: the project's Dockerfile"
t=$SECONDS
$COMPOSE build app
echo "   image built in $((SECONDS - t)) s"

echo "== proofs against the running containers"
node "$proofs"
echo "== compose-test ($suite) done in $((SECONDS - started)) s"
