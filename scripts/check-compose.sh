#!/usr/bin/env bash
# Static check of docker-compose.yml, alone and merged with docker-compose.cluster.yml (no Docker engine needed): schema, interpolation, anchors, profiles.
# Uses .env when present, else a temporary copy of .env.example (removed on exit), so the documented defaults
# are what gets checked. Exits non-zero when the file is invalid.
set -euo pipefail

cd "$(dirname "$0")/.."

if command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  echo "check-compose: neither docker-compose nor the docker compose plugin is installed" >&2
  exit 2
fi

temp_env=""
cleanup() { if [ -n "$temp_env" ]; then rm -f "$temp_env"; fi; }
trap cleanup EXIT

if [ ! -f .env ]; then
  cp .env.example .env
  temp_env=.env
fi

# The loadtest profile too, so the k6 service is validated.
if ! "${compose[@]}" -f docker-compose.yml --profile loadtest config -q; then
  echo "check-compose: docker-compose.yml is invalid (see above)" >&2
  exit 1
fi
echo "check-compose: docker-compose.yml is valid"

# The 3-node broker cluster is an override file, checked merged with the main one (docs/scaling.md).
if ! "${compose[@]}" -f docker-compose.yml -f docker-compose.cluster.yml --profile loadtest config -q; then
  echo "check-compose: docker-compose.yml + docker-compose.cluster.yml is invalid (see above)" >&2
  exit 1
fi
echo "check-compose: docker-compose.yml + docker-compose.cluster.yml is valid"
