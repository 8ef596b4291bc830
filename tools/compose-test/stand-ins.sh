#!/usr/bin/env bash
# Builds, once, the images `make compose-test` needs where no registry can be reached: a Debian bookworm base
# made with debootstrap, and stand-ins for the official node, rabbitmq, prometheus and alertmanager images
# (stand-ins/*.Dockerfile say what each keeps of the official one). An image already present is not rebuilt;
# COMPOSE_TEST_REBUILD=1 rebuilds them all. Prints the image names as shell exports for compose:
#   NODE_IMAGE, RABBITMQ_IMAGE, PROMETHEUS_IMAGE, ALERTMANAGER_IMAGE
# Needs: podman (engine.sh's containers.conf in CONTAINERS_CONF), debootstrap, npm (for Node and npm themselves).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
state=${COMPOSE_TEST_STATE:-$root/.run/compose-test}
node_version=${RELAY_NODE_VERSION:-24.22.3}
npm_version=${STAND_IN_NPM_VERSION:-11}

base=localhost/debian:bookworm-slim
node_image=localhost/relay-stand-in/node:$node_version-bookworm-slim
rabbitmq_image=localhost/relay-stand-in/rabbitmq:3.10-debian
prometheus_image=localhost/relay-stand-in/prometheus:debian
alertmanager_image=localhost/relay-stand-in/alertmanager:debian

have() { [ "${COMPOSE_TEST_REBUILD:-0}" != 1 ] && podman image exists "$1"; }
took() { echo "stand-ins: $1 in $((SECONDS - $2)) s" >&2; }

build_base() {
  have "$base" && return 0
  local t=$SECONDS rootfs=$state/rootfs mirror
  # The host's own Debian mirror (sources.list.d deb822 or sources.list), so the base's apt reaches the same one.
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  rm -rf "$rootfs"; mkdir -p "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$state/debootstrap.log" 2>&1 \
    || { echo "stand-ins: debootstrap failed; see $state/debootstrap.log" >&2; tail -5 "$state/debootstrap.log" >&2; exit 1; }
  rm -f "$rootfs/etc/apt/sources.list"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/"; fi
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
  # Like the official slim image: no apt caches, no docs in later installs.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  tar --numeric-owner -C "$rootfs" -c . | podman import -q \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["bash"]' \
    - "$base" >/dev/null
  rm -rf "$rootfs"
  took "$base (debootstrap)" "$t"
}

build_node() {
  have "$node_image" && return 0
  local t=$SECONDS ctx=$state/node-context bin
  bin=$(RELAY_NODE_VERSION=$node_version "$root/scripts/node-runtime.sh")
  rm -rf "$ctx"; mkdir -p "$ctx/npm-prefix"
  cp "$bin/node" "$ctx/node"
  npm install --prefix "$ctx/npm-prefix" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error "npm@$npm_version" >&2
  mv "$ctx/npm-prefix/node_modules/npm" "$ctx/npm"; rm -rf "$ctx/npm-prefix"
  podman build -q -t "$node_image" -f "$here/stand-ins/node.Dockerfile" "$ctx" >/dev/null
  rm -rf "$ctx"
  took "$node_image" "$t"
}

build_from_debian() {
  local image=$1 file=$2
  have "$image" && return 0
  local t=$SECONDS ctx=$state/empty-context
  mkdir -p "$ctx"
  podman build -q -t "$image" -f "$here/stand-ins/$file" "$ctx" >/dev/null
  took "$image" "$t"
}

mkdir -p "$state"
build_base
build_node
build_from_debian "$rabbitmq_image" rabbitmq.Dockerfile
build_from_debian "$prometheus_image" prometheus.Dockerfile
build_from_debian "$alertmanager_image" alertmanager.Dockerfile
echo "export NODE_IMAGE='$node_image' RABBITMQ_IMAGE='$rabbitmq_image' PROMETHEUS_IMAGE='$prometheus_image'\
 ALERTMANAGER_IMAGE='$alertmanager_image'"
