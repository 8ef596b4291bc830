# Stand-in for the official rabbitmq:<4.x>-management image, built from Debian's rabbitmq-server (3.10) for
# engines without a registry. What the compose files rely on: the config in /etc/rabbitmq/ (rabbitmq.conf,
# enabled_plugins, definitions.json are mounted there), data in /var/lib/rabbitmq (the volume, also HOME, where the
# Erlang cookie lives), the node named after the container's hostname, rabbitmq-diagnostics on PATH, logs on
# stdout, a prompt stop on SIGTERM, and the official entrypoint's contract: `docker-entrypoint.sh rabbitmq-server`
# starts as root, gives /var/lib/rabbitmq to the rabbitmq user and drops to it (rabbitmq-entrypoint.sh; it also
# stands in for the few 4.x-only settings the cluster file uses).
FROM localhost/debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server gosu \
 && rm -rf /var/lib/apt/lists/* /var/lib/rabbitmq/mnesia \
 && chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
# /usr/lib/rabbitmq/bin first: its rabbitmq-server logs to stdout and, as PID 1, stops on SIGTERM; Debian's
# /usr/sbin wrapper of the same name logs to a file and ignores SIGTERM (every stop would wait for SIGKILL).
ENV HOME=/var/lib/rabbitmq PATH=/usr/lib/rabbitmq/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY rabbitmq-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
EXPOSE 5672 15672 15692
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["rabbitmq-server"]
