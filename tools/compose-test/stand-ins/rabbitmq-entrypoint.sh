#!/usr/bin/env bash
# docker-entrypoint.sh of the rabbitmq stand-in (rabbitmq.Dockerfile). Keeps the official image's contract:
# started as root with `rabbitmq-server`, it gives /var/lib/rabbitmq (the volume, and the Erlang cookie a compose
# file may have put there) to the rabbitmq user and runs itself again as that user; anything else is exec'd as is.
#
# RabbitMQ 3.10 refuses settings it does not know, and the compose cluster's rabbitmq.cluster.conf uses one 4.x
# feature: continuous membership reconciliation of quorum queues (quorum_queue.continuous_membership_reconciliation.*,
# 3.13+), which gives each node that joins a member of every quorum queue. The stand-in drops those lines from a
# copy of the config and, when they enable it, does what 4.x does on a join: once this node runs, it adds itself as
# a member of every quorum queue (`rabbitmq-queues grow <this node> all`; a member it already has is left alone;
# with three nodes that is the target group size of 3).
# Nothing else of the config is changed; the production file stays the one 4.x reads.
set -euo pipefail

if [[ "${1:-}" == rabbitmq* ]] && [ "$(id -u)" = 0 ]; then
  if [ "$1" = rabbitmq-server ]; then find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +; fi
  exec gosu rabbitmq "$0" "$@"
fi

conf=/etc/rabbitmq/rabbitmq.conf
reconcile_key=quorum_queue.continuous_membership_reconciliation
if [ "${1:-}" = rabbitmq-server ] && [ -f "$conf" ] && grep -q "^$reconcile_key\." "$conf"; then
  translated=/tmp/rabbitmq-3.10.conf
  grep -v "^$reconcile_key\." "$conf" > "$translated"
  export RABBITMQ_CONFIG_FILE=$translated
  echo "stand-in: $conf uses $reconcile_key (4.x); 3.10 reads $translated without it" >&2
  if grep -Eq "^$reconcile_key\.enabled *= *true" "$conf"; then
    node="rabbit@$(hostname)"
    (
      for _ in $(seq 1 150); do rabbitmq-diagnostics -q check_running >/dev/null 2>&1 && break; sleep 2; done
      rabbitmq-queues grow "$node" all >&2 || echo "stand-in: rabbitmq-queues grow $node all failed" >&2
      echo "stand-in: membership reconciliation: $node is a member of every quorum queue" >&2
    ) &
  fi
fi
exec "$@"
