#!/usr/bin/env bash
# Builds, once, the images `make compose-test` needs where no registry can be reached: a Debian bookworm base
# made with debootstrap, and stand-ins for the official node, rabbitmq, prometheus, alertmanager and postgres
# images (stand-ins/*.Dockerfile say what each keeps of the official one). An image already present is not
# rebuilt; the Debian-built ones are tagged with a hash of their Dockerfile and entrypoint, so a change to either
# builds a new one. COMPOSE_TEST_REBUILD=1 rebuilds them all. Prints the image names as shell exports for compose:
#   NODE_IMAGE, RABBITMQ_IMAGE, PROMETHEUS_IMAGE, ALERTMANAGER_IMAGE, POSTGRES_IMAGE
# Needs: podman (engine.sh's containers.conf in CONTAINERS_CONF), debootstrap, npm (for Node and npm themselves).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
state=${COMPOSE_TEST_STATE:-$root/.run/compose-test}
node_version=${RELAY_NODE_VERSION:-24.22.3}
npm_version=${STAND_IN_NPM_VERSION:-11}

base=localhost/debian:bookworm-slim
node_image=localhost/relay-stand-in/node:$node_version-bookworm-slim
# The inputs of a Debian-built stand-in: its Dockerfile and the entrypoint it copies, if any.
inputs_hash() {
  { cat "$here/stand-ins/$1.Dockerfile"; cat "$here/stand-ins/$1-entrypoint.sh" 2>/dev/null || true; } | sha256sum | cut -c1-12
}
rabbitmq_image=localhost/relay-stand-in/rabbitmq:3.10-debian-$(inputs_hash rabbitmq)
prometheus_image=localhost/relay-stand-in/prometheus:debian-$(inputs_hash prometheus)
alertmanager_image=localhost/relay-stand-in/alertmanager:debian-$(inputs_hash alertmanager)
postgres_image=localhost/relay-stand-in/postgres:15-debian-$(inputs_hash postgres)

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

# The context holds the stand-in's entrypoint (stand-ins/<name>-entrypoint.sh) when it has one.
build_from_debian() {
  local image=$1 name=$2
  have "$image" && return 0
  local t=$SECONDS ctx=$state/$name-context
  rm -rf "$ctx"; mkdir -p "$ctx"
  if [ -f "$here/stand-ins/$name-entrypoint.sh" ]; then cp "$here/stand-ins/$name-entrypoint.sh" "$ctx/"; fi
  podman build -q -t "$image" -f "$here/stand-ins/$name.Dockerfile" "$ctx" >/dev/null
  rm -rf "$ctx"
  took "$image" "$t"
}

mkdir -p "$state"
build_base
build_node
build_from_debian "$rabbitmq_image" rabbitmq
build_from_debian "$prometheus_image" prometheus
build_from_debian "$alertmanager_image" alertmanager
build_from_debian "$postgres_image" postgres
echo "export NODE_IMAGE='$node_image' RABBITMQ_IMAGE='$rabbitmq_image' PROMETHEUS_IMAGE='$prometheus_image'\
 ALERTMANAGER_IMAGE='$alertmanager_image' POSTGRES_IMAGE='$postgres_image'"
