#!/usr/bin/env bash
# An OCI engine for `make compose-test` on a machine without a Docker daemon: podman serving the Docker Engine API
# on a private unix socket, which docker-compose (v1 or v2) drives like dockerd. On a machine with Docker, set
# COMPOSE_TEST_ENGINE=docker and this script is not used.
#   engine.sh start | stop | status | env
# `start` writes a containers.conf for this host's limits, starts `podman system service` and a health loop in
# the background, and records both PIDs; `stop` stops them by those PIDs. `env` prints the exports to use.
# State (PIDs, socket, containers.conf, npmrc) lives in $COMPOSE_TEST_STATE (default .run/compose-test).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
state=${COMPOSE_TEST_STATE:-$root/.run/compose-test}
sock=$state/podman.sock
conf=$state/containers.conf

write_containers_conf() {
  mkdir -p "$state"
  # 1. Podman asks the runtime for nofile=1048576, above this VM's hard limit (no CAP_SYS_RESOURCE to raise it):
  #    every container would fail with "setrlimit RLIMIT_NOFILE: Operation not permitted". Stay at the hard limit.
  # 2. crun refuses this cgroup v1/hybrid host; runc works. No systemd: cgroupfs and a file events log.
  local hard; hard=$(ulimit -Hn)
  [ "$hard" = unlimited ] && hard=1048576
  local nofile=$(( hard < 65536 ? hard : 65536 ))
  local volumes=()
  # Builds run `npm ci` inside the image; on a host whose HTTPS goes through an inspecting proxy (a CA of its own
  # in NODE_EXTRA_CA_CERTS, or installed in the system bundle) npm needs that CA and the host's registry. Buildah
  # mounts these into every build step and leaves nothing in the image, so the project's Dockerfile stays as a
  # user's Docker host runs it.
  local ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
  if [ -f "$ca" ]; then
    local registry; registry=$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)
    printf 'registry=%s\ncafile=/etc/ssl/certs/ca-certificates.crt\n' "$registry" > "$state/npmrc"
    volumes+=("\"$ca:/etc/ssl/certs/ca-certificates.crt:ro\"" "\"$state/npmrc:/usr/local/etc/npmrc:ro\"")
  fi
  {
    echo '[containers]'
    echo "default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=32768:32768\"]"
    if [ ${#volumes[@]} -gt 0 ]; then (IFS=,; echo "volumes = [${volumes[*]}]"); fi
    echo '[engine]'
    echo 'runtime = "runc"'
    echo 'cgroup_manager = "cgroupfs"'
    echo 'events_logger = "file"'
  } > "$conf"
}

running() { [ -f "$state/$1.pid" ] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

# Podman 4.3 runs healthchecks from systemd timers; without systemd no container ever leaves "starting" and
# `depends_on: service_healthy` waits forever. This loop runs the healthcheck of each container still "starting"
# every 2 s and of every other running one every 10 s, so health also turns "unhealthy" as on Docker.
health_loop() {
  export CONTAINERS_CONF=$conf
  local tick=0 id
  while true; do
    if [ $((tick % 5)) -eq 0 ]; then ids=$(podman ps -q 2>/dev/null); else ids=$(podman ps -q --filter health=starting 2>/dev/null); fi
    for id in $ids; do podman healthcheck run "$id" >/dev/null 2>&1 || true; done
    tick=$((tick + 1))
    sleep 2
  done
}

start() {
  if running service; then echo "engine: podman service already running (pid $(cat "$state/service.pid"))"; return 0; fi
  for tool in podman runc docker-compose; do
    command -v "$tool" >/dev/null || { echo "engine: $tool is not installed (scripts/compose-test.sh installs it)" >&2; exit 1; }
  done
  write_containers_conf
  rm -f "$sock"
  CONTAINERS_CONF=$conf setsid podman system service --time=0 "unix://$sock" >"$state/service.log" 2>&1 < /dev/null &
  echo $! > "$state/service.pid"
  for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.2; done
  [ -S "$sock" ] || { echo "engine: podman service did not open $sock; see $state/service.log" >&2; exit 1; }
  health_loop >/dev/null 2>&1 < /dev/null &
  echo $! > "$state/health.pid"
  echo "engine: podman $(podman --version | awk '{print $3}') serving the Docker API on $sock (pid $(cat "$state/service.pid"))"
}

stop_pid() {
  local name=$1
  running "$name" || { rm -f "$state/$name.pid"; return 0; }
  local pid; pid=$(cat "$state/$name.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$state/$name.pid"
  echo "engine: stopped $name (pid $pid)"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid health; stop_pid service ;;
  status) running service && echo "running pid $(cat "$state/service.pid")" || { echo stopped; exit 1; } ;;
  env) echo "export CONTAINERS_CONF='$conf' DOCKER_HOST='unix://$sock'" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
