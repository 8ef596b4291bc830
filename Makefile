# relay-stack: `make help` lists the targets.
SHELL := /bin/bash
SERVICE ?= sms-worker
N ?= 2
# `make up SERVICES="app sms-worker"` starts only those (and what they depend on); empty: every service.
SERVICES ?=
COMPOSE ?= docker compose

# Native targets run on the Node major of the Dockerfile (scripts/node-runtime.sh installs it once when the system
# Node is another major). Recursive (=) on purpose: compose-only targets such as `make up` never evaluate it.
NODE_VERSION ?= 24.22.3
SYSTEM_PATH := $(PATH)
NATIVE_TARGETS := node_modules install build dev test bench chaos replay-dead dashboards compose-test compose-cluster-test cluster-test api-key
$(NATIVE_TARGETS): export PATH = $(shell RELAY_NODE_VERSION=$(NODE_VERSION) scripts/node-runtime.sh):$(SYSTEM_PATH)

.DEFAULT_GOAL := help
.PHONY: help install build up down logs ps scale loadtest dev test compose-test compose-cluster-test cluster-test bench chaos replay-dead api-key dashboards clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

install: node_modules ## install npm dependencies (npm ci)

build: node_modules ## compile TypeScript into dist/
	npm run build

up: ## docker compose: build and start the whole stack, healthy, dashboards provisioned (COMPOSE=docker-compose for v1)
	scripts/compose-secrets.sh
	COMPOSE="$(COMPOSE)" SERVICES="$(SERVICES)" scripts/compose-up.sh

down: ## docker compose: stop and remove the stack (volumes kept)
	$(COMPOSE) down

logs: ## docker compose: follow all logs
	$(COMPOSE) logs -f

ps: ## docker compose: list services and health
	$(COMPOSE) ps

scale: ## more replicas of one worker, others untouched: make scale SERVICE=sms-worker N=4
	$(COMPOSE) up -d --no-recreate --scale $(SERVICE)=$(N) $(SERVICE)

loadtest: ## k6 in compose (profile loadtest) against the running stack; prints end-to-end throughput
	$(COMPOSE) --profile loadtest run --rm k6

dev: build ## the same services without Docker, in the foreground; Ctrl-C stops everything
	scripts/dev.sh

test: build ## install deps, start a private broker, run every test, stop the broker
	scripts/test.sh

compose-test: build ## the real Dockerfile and docker-compose.yml under an OCI engine: healthy, traffic, scale, kill, down/up
	scripts/compose-test.sh

compose-cluster-test: build ## docker-compose.cluster.yml under an OCI engine: 3 brokers, quorum queues x3, the relay.sms leader killed under load
	scripts/compose-test.sh cluster

bench: build ## native throughput benchmark: this stack vs the cluster-IPC baseline
	scripts/bench.sh

chaos: build ## long fault run (kills, broker restart, provider failures); fails if any message is lost
	scripts/chaos.sh

cluster-test: build ## native 3-node RabbitMQ cluster: nodes stopped under load, fails if any message is lost
	scripts/cluster-test.sh

replay-dead: build ## move dead letters back for processing: make replay-dead QUEUE=sms
	node dist/tools/replay-dead.js --queue "$(QUEUE)"

api-key: build ## create an API key (hash stored, key printed last): make api-key NAME=billing CHANNELS=sms,email RATE=10 [STATUS_WEBHOOK_URL=https://...]
	@node dist/tools/api-key.js --name "$(NAME)" --channels "$(or $(CHANNELS),sms,email,notif)" --rate "$(RATE)" --burst "$(BURST)" --recipient-limit "$(or $(RECIPIENT_LIMIT),on)" --status-webhook-url "$(STATUS_WEBHOOK_URL)"

dashboards: node_modules ## regenerate grafana/dashboards/*.json from grafana/src
	UPDATE_DASHBOARDS=1 npx jest test/grafana

clean: ## remove build output and local run state
	rm -rf dist .run coverage
