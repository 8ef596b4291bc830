# Stand-in for the official prom/alertmanager image, built from Debian's prometheus-alertmanager package (0.25) for
# engines without a registry. What docker-compose.yml relies on: the binary as entrypoint (compose passes the
# flags), a /alertmanager data folder the service user owns, and wget for the healthcheck (the official image has
# busybox's). Debian's package runs as its `prometheus` user, which its install script creates.
FROM localhost/debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus-alertmanager wget \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /alertmanager && chown prometheus:prometheus /alertmanager
USER prometheus
WORKDIR /alertmanager
EXPOSE 9093
ENTRYPOINT ["/usr/bin/prometheus-alertmanager"]
