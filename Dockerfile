# syntax=docker/dockerfile:1
# One image for every Node service (app, sms/email/notif workers, status service, sandbox); the compose `command` picks the
# service by naming its PM2 ecosystem file, e.g. `command: ["services/sms-worker/ecosystem.config.js"]`.
# test/compose/production-layout.test.ts rebuilds the runtime layout below without Docker: keep them in step.

# Pinned to the Node release the project is developed and tested on: Node 24 LTS, the same release that
# scripts/node-runtime.sh runs natively (`make dev`, `make test`, CI). docs/containers.md says why 24.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# --- build: all dependencies, TypeScript -> dist/ ---------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
# .dockerignore keeps the context to what `npm run build` needs (sources, tsconfig*, ecosystem files).
COPY . .
# /out is exactly what the runtime stage gets: package.json, dist/, the ecosystem files and the plain-JS helpers
# they require (services/shared/pm2/): PM2 reads those before anything is compiled, so every .js file under
# services/ goes in, paths preserved, and so does the sandbox's static inbox page (services/sandbox/public), and the
# status schema's migrations (db/migrations, applied by the status service at start). `ls`
# fails the build if no services/*/ecosystem.config.js exists; the root dev ecosystem is optional.
RUN npm run build \
 && ls services/*/ecosystem.config.js \
 && mkdir -p /out \
 && cp package.json /out/ \
 && cp -R dist /out/dist \
 && find services -name '*.js' -not -path '*/node_modules/*' -exec cp --parents {} /out/ \; \
 && cp -R --parents services/sandbox/public /out/ \
 && cp -R --parents db/migrations /out/ \
 && if [ -f ecosystem.dev.config.js ]; then cp ecosystem.dev.config.js /out/; fi

# --- deps: production dependencies only (pm2 is one of them) ----------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No production dependency has install scripts; --ignore-scripts keeps it that way by construction.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime ----------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only for the service user: the processes cannot rewrite their own code.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /out/ ./
# The image's unprivileged `node` user (uid 1000). PM2 keeps its state (pid files, sockets) under /tmp, the one
# folder that stays writable when compose runs the container with a read-only root and a tmpfs on /tmp (a tmpfs
# on /home/node/.pm2 is not writable by node on every engine: podman gives it the image folder's root owner).
ENV PM2_HOME=/tmp/pm2
USER node
# app 8080; workers' /metrics + /healthz 9100; sandbox HTTP 8025 and SMTP 2525 (docs/architecture.md).
EXPOSE 8080 9100 8025 2525
# pm2-runtime stays in the foreground, streams the apps' logs to stdout and, on SIGTERM, stops them with each
# app's kill_timeout: compose's stop_grace_period must be longer. https://pm2.keymetrics.io/docs/usage/docker-pm2-nodejs/
ENTRYPOINT ["/app/node_modules/.bin/pm2-runtime"]
CMD ["services/app/ecosystem.config.js"]
