# Stand-in for the official prom/prometheus image, built from Debian's prometheus package for engines without a
# registry. What docker-compose.yml relies on: the binary as entrypoint (compose passes the flags), a /prometheus
# data folder the service user owns, and wget for the healthcheck (the official image has busybox's).
FROM localhost/debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus wget \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus && chown prometheus:prometheus /prometheus
USER prometheus
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
