#!/usr/bin/env bash
# The native 3-node RabbitMQ cluster (docs/contract.md ports: AMQP 5674-5676, management 15674-15676, prometheus
# 15694-15696, distribution 25674-25676), each node a private node of scripts/broker.sh built from rabbitmq/.
#   scripts/cluster.sh start (fresh data) | stop | status | urls USER | stop-node N | resume-node N | leader QUEUE
#                      | node-of-connection NAME
# How it forms (docs/scaling.md): classic-config peer discovery lists the three node names in each rabbitmq.conf;
# node 1 boots alone, nodes 2 and 3 boot next, find it and join (join_cluster if one did not). The three run as user
# rabbitmq on one host, so they share its Erlang cookie (/var/lib/rabbitmq/.erlang.cookie). The definitions are
# imported ONCE, into node 1, after all three are members: quorum queues are then declared with three members
# (their initial group size is the cluster size). Imported at each node's boot, they would be declared on a
# one-node cluster with one member each and need `rabbitmq-queues grow`. start ends by checking that every
# quorum queue of vhost relay has three members and prints `cluster: ... ready`.
# A stopped node resumes on its data and rejoins by itself; its queue members catch up from the Raft log.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
nodes=(1 2 3)
name() { echo "relay-c$1@localhost"; }
amqp_port() { echo $((5673 + $1)); }
mgmt_port() { echo $((15673 + $1)); }
admin=relay-admin:relay-admin

peers=$(for i in "${nodes[@]}"; do echo "cluster_formation.classic_config.nodes.$i = $(name "$i")"; done)
extra="# Native 3-node cluster (scripts/cluster.sh): classic-config peer discovery.
# https://www.rabbitmq.com/docs/cluster-formation#peer-discovery-classic-config
cluster_formation.peer_discovery_backend = classic_config
$peers"

node_broker() {
  local i=$1; shift
  RELAY_AMQP_PORT=$(amqp_port "$i") RELAY_MGMT_PORT=$(mgmt_port "$i") RELAY_PROM_PORT=$((15693 + i)) \
    RELAY_DIST_PORT=$((25673 + i)) RELAY_NODE=relay-c$i RELAY_BROKER_DIR=/tmp/relay-cluster-$(amqp_port "$i") \
    RELAY_BROKER_DEFINITIONS=0 RELAY_BROKER_CONF_EXTRA=$extra "$root/scripts/broker.sh" "$@"
}

ctl() { rabbitmqctl -n "$(name 1)" "$@"; }

# JSON on stdin as `d`, the JavaScript expression $1 printed (node is there; jq may not be). Extra args: `a`.
json() { node -e 'let t = ""; process.stdin.on("data", (c) => (t += c)).on("end", () => { const d = JSON.parse(t), a = process.argv.slice(2); const v = eval(process.argv[1]); if (v === undefined || v === false) process.exit(1); console.log(v); });' "$@"; }

# Management API as relay-admin on the first node that answers.
api() {
  local i
  for i in "${nodes[@]}"; do
    if curl -fsS -u "$admin" "http://127.0.0.1:$(mgmt_port "$i")/api/$1" 2>/dev/null; then return 0; fi
  done
  return 1
}

running_nodes() {
  local i
  for i in "${nodes[@]}"; do
    if rabbitmqctl -n "$(name "$i")" cluster_status --formatter json 2>/dev/null | json 'd.running_nodes.length'; then return 0; fi
  done
  echo 0
}

start() {
  local i
  for i in "${nodes[@]}"; do
    if node_broker "$i" status >/dev/null 2>&1; then echo "cluster: node $i already running; scripts/cluster.sh stop first" >&2; exit 1; fi
  done
  node_broker 1 start
  local pids=()
  for i in 2 3; do node_broker "$i" start & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
  for i in 2 3; do
    if ! rabbitmqctl -n "$(name "$i")" cluster_status --formatter json | json 'd.running_nodes.includes(a[0])' "$(name 1)" >/dev/null; then
      echo "cluster: node $i did not join by peer discovery; join_cluster"
      rabbitmqctl -n "$(name "$i")" stop_app
      rabbitmqctl -n "$(name "$i")" join_cluster "$(name 1)"
      rabbitmqctl -n "$(name "$i")" start_app
    fi
  done
  [ "$(running_nodes)" = 3 ] || { echo "cluster: not 3 running nodes" >&2; exit 1; }
  cp "$root/rabbitmq/definitions.json" /tmp/relay-cluster-5674/definitions.json
  chown rabbitmq: /tmp/relay-cluster-5674/definitions.json 2>/dev/null || true
  ctl import_definitions /tmp/relay-cluster-5674/definitions.json >/dev/null
  # The node booted without definitions, so with the default guest user; the project has none.
  ctl delete_user guest >/dev/null 2>&1 || true
  check_members
  echo "cluster: $(name 1) $(name 2) $(name 3) ready on amqp 5674-5676, management 15674-15676, prometheus 15694-15696"
}

# Every quorum queue of vhost relay has a member on each of the three nodes.
check_members() {
  local short
  short=$(api 'queues/relay?columns=name,type,members' | json 'd.filter((q) => q.type === "quorum" && q.members.length !== 3).map((q) => q.name).join(" ")')
  if [ -n "$short" ]; then echo "cluster: quorum queues without 3 members: $short" >&2; return 1; fi
  echo "cluster: $(api 'queues/relay?columns=name,type' | json 'd.filter((q) => q.type === "quorum").length') quorum queues, 3 members each"
}

stop() {
  local pids=() i
  for i in "${nodes[@]}"; do node_broker "$i" stop & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

status() {
  local i down=0
  for i in "${nodes[@]}"; do
    echo "node $i $(name "$i"): $(node_broker "$i" status || true)"
    node_broker "$i" status >/dev/null 2>&1 || down=1
  done
  echo "running nodes (as the cluster sees them): $(running_nodes)"
  if [ "$down" = 0 ]; then check_members; fi
  return "$down"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  # AMQP_URL for a user: the three nodes, comma-separated (host:port items share the first one's login and vhost).
  urls) echo "amqp://${2:?user}:$2@127.0.0.1:5674/relay,127.0.0.1:5675,127.0.0.1:5676" ;;
  stop-node) node_broker "${2:?node 1-3}" stop ;;
  resume-node) node_broker "${2:?node 1-3}" resume ;;
  # The node (1-3) that leads a quorum queue, and the one a named client connection is on.
  leader) api "queues/relay/${2:?queue}" | json 'd.leader' | sed -E 's/^relay-c([0-9])@.*/\1/' ;;
  node-of-connection) api 'connections?columns=name,node,client_properties' \
    | json 'd.find((c) => c.client_properties.connection_name === a[0])?.node ?? ""' "${2:?connection name}" | sed -E 's/^relay-c([0-9])@.*/\1/' ;;
  *) echo "usage: $0 start|stop|status|urls USER|stop-node N|resume-node N|leader QUEUE|node-of-connection NAME" >&2; exit 2 ;;
esac
