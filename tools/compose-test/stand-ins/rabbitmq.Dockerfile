# Stand-in for the official rabbitmq:<4.x>-management image, built from Debian's rabbitmq-server (3.10) for
# engines without a registry. What docker-compose.yml relies on: the config in /etc/rabbitmq/ (rabbitmq.conf,
# enabled_plugins, definitions.json are mounted there), data in /var/lib/rabbitmq (the volume), the node named
# after the container's hostname, rabbitmq-diagnostics on PATH, logs on stdout and a prompt stop on SIGTERM.
FROM localhost/debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* /var/lib/rabbitmq/mnesia \
 && chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
ENV HOME=/var/lib/rabbitmq
USER rabbitmq
EXPOSE 5672 15672 15692
# Not /usr/sbin/rabbitmq-server: Debian's wrapper logs to a file and, as PID 1, ignores SIGTERM (every stop
# would wait for SIGKILL). The script it wraps logs to stdout and stops on SIGTERM.
ENTRYPOINT ["/usr/lib/rabbitmq/bin/rabbitmq-server"]
