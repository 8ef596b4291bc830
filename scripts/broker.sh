#!/usr/bin/env bash
# Starts or stops a private RabbitMQ node built from the project's own rabbitmq/ files, so `make dev` and the
# tests exercise the real config (the system node on 5672 is never touched).
#   scripts/broker.sh start (fresh data) | stop | resume (keep data) | restart (stop + resume) | status | wait
# Env: RELAY_AMQP_PORT (5673), RELAY_MGMT_PORT (15673), RELAY_PROM_PORT (15693), RELAY_DIST_PORT (25673),
#      RELAY_NODE (relay-<amqp port>), RELAY_BROKER_DIR (/tmp/relay-rabbitmq-<amqp port>),
#      RELAY_BROKER_ERL_ARGS ("+S 1:1": extra Erlang VM flags for the node),
#      RELAY_BROKER_DEFINITIONS (1; 0: no definitions import at boot), RELAY_BROKER_CONF_EXTRA (lines appended to
#      rabbitmq.conf). scripts/cluster.sh uses the last two for the nodes of the native 3-node cluster.
#      RELAY_SECRETS_DIR (.run/secrets): the users' generated passwords are in its broker/ folder, one file per user
#      (scripts/broker-secrets.sh creates the missing ones at start); clients read them there.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
amqp_port=${RELAY_AMQP_PORT:-5673}
mgmt_port=${RELAY_MGMT_PORT:-15673}
prom_port=${RELAY_PROM_PORT:-15693}
dist_port=${RELAY_DIST_PORT:-$((amqp_port + 20000))}
node=${RELAY_NODE:-relay-$amqp_port}@localhost
dir=${RELAY_BROKER_DIR:-/tmp/relay-rabbitmq-$amqp_port}
pid_file=$dir/node.pid
passwords=${RELAY_SECRETS_DIR:-$root/.run/secrets}/broker

# One Erlang scheduler by default: on a 2-core dev box or CI runner the broker's second scheduler competes with the
# Node processes for the same cores (measured: delivered/s 817-900 -> 1120, CPU per message -20 %, docs/performance.md).
# A broker on its own machine or container wants the default (one scheduler per core): set RELAY_BROKER_ERL_ARGS="".
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=${RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS-${RELAY_BROKER_ERL_ARGS-+S 1:1}}
export RABBITMQ_NODENAME=$node RABBITMQ_NODE_PORT=$amqp_port RABBITMQ_DIST_PORT=$dist_port \
  RABBITMQ_MNESIA_BASE=$dir/mnesia RABBITMQ_LOG_BASE=$dir/log RABBITMQ_PID_FILE=$pid_file \
  RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins

ctl() { rabbitmqctl -n "$node" "$@"; }

# A command run as `flock /tmp/relay-stack.lock scripts/broker.sh ...` hands its lock fd (3+) down to every child:
# the detached node would then hold the lock for as long as it runs and every later `flock` waits forever.
# So the node is started with every inherited fd above 2 closed.
start_node() {
  ( for fd in /proc/$BASHPID/fd/*; do
      n=${fd##*/}
      if [ "$n" -gt 2 ] 2>/dev/null; then eval "exec $n>&-" 2>/dev/null || true; fi
    done
    exec rabbitmq-server -detached )
}

running() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

render_config() {
  # The node runs as user rabbitmq (Debian's wrapper drops root), which may not be able to read the checkout:
  # hand it copies in a folder it owns. Only ports and the definitions path are rewritten; the definitions get
  # each user's password hash (the committed file has none that can log in).
  mkdir -p "$dir/log" "$dir/mnesia"
  cp "$root/rabbitmq/enabled_plugins" "$dir/"
  "$root/scripts/broker-secrets.sh" ensure "$passwords"
  "$root/scripts/broker-secrets.sh" render "$passwords" "$dir/definitions.json"
  sed -e "s#^listeners.tcp.default = .*#listeners.tcp.default = 127.0.0.1:$amqp_port#" \
      -e "s#^management.tcp.port = .*#management.tcp.port = $mgmt_port#" \
      -e "s#^prometheus.tcp.port = .*#prometheus.tcp.port = $prom_port#" \
      -e "s#^definitions.local.path = .*#definitions.local.path = $dir/definitions.json#" \
      "$root/rabbitmq/rabbitmq.conf" > "$dir/rabbitmq.conf"
  if [ "${RELAY_BROKER_DEFINITIONS:-1}" = 0 ]; then
    sed -i -e 's/^definitions\./# (imported by scripts\/cluster.sh once the cluster has formed) &/' "$dir/rabbitmq.conf"
  fi
  if [ -n "${RELAY_BROKER_CONF_EXTRA:-}" ]; then printf '\n%s\n' "$RELAY_BROKER_CONF_EXTRA" >> "$dir/rabbitmq.conf"; fi
  if id rabbitmq >/dev/null 2>&1; then chown -R rabbitmq: "$dir"; fi
}

wait_ready() {
  local deadline=$((SECONDS + ${1:-90}))
  until ctl await_startup --timeout 5 >/dev/null 2>&1 \
      && curl -fsS -o /dev/null "http://127.0.0.1:$prom_port/metrics"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "broker: $node not ready after ${1:-90}s; log: $dir/log" >&2
      tail -n 30 "$dir"/log/*.log >&2 2>/dev/null || true
      return 1
    fi
    sleep 1
  done
}

start() {
  if running; then echo "broker: $node already running (pid $(cat "$pid_file"))"; return 0; fi
  # A fresh node every start: stale Mnesia from an older definitions file would hide topology changes.
  rm -rf "$dir"
  render_config
  start_node
  wait_ready 120
  echo "broker: $node ready on amqp 127.0.0.1:$amqp_port, management :$mgmt_port, prometheus :$prom_port"
}

stop() {
  if ! running; then echo "broker: $node not running"; return 0; fi
  local pid; pid=$(cat "$pid_file")
  ctl stop "$pid_file" >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -9 "$pid" 2>/dev/null || true
  echo "broker: $node stopped (pid $pid)"
}

# Resume starts the node on its existing data folder: fault tests use stop + resume (or restart) to prove that
# messages survive a broker outage.
resume() {
  if running; then return 0; fi
  [ -d "$dir/mnesia" ] || { start; return; }
  start_node
  wait_ready 120
  echo "broker: $node resumed"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  resume) resume ;;
  restart) stop; resume ;;
  status) if running; then echo "running pid $(cat "$pid_file")"; else echo "stopped"; exit 1; fi ;;
  wait) wait_ready "${2:-90}" ;;
  *) echo "usage: $0 start|stop|resume|restart|status|wait" >&2; exit 2 ;;
esac
