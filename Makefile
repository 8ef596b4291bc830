# relay-stack: `make help` lists the targets.
SHELL := /bin/bash
SERVICE ?= sms-worker
N ?= 2
COMPOSE ?= docker compose

.DEFAULT_GOAL := help
.PHONY: help install build up down logs ps scale loadtest dev test test-unit check bench chaos cluster-test replay-dead dashboards clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

install: node_modules ## install npm dependencies (npm ci)

build: node_modules ## compile TypeScript into dist/
	npm run build

up: ## docker compose: build and start the whole stack, healthy, dashboards provisioned
	$(COMPOSE) up -d --build --wait

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

bench: build ## native throughput benchmark: this stack vs the cluster-IPC baseline
	scripts/bench.sh

chaos: build ## long fault run (kills, broker restart, provider failures); fails if any message is lost
	scripts/chaos.sh

cluster-test: build ## native 3-node RabbitMQ cluster: nodes stopped under load, fails if any message is lost
	scripts/cluster-test.sh

replay-dead: build ## move dead letters back for processing: make replay-dead QUEUE=sms
	node dist/tools/replay-dead.js --queue "$(QUEUE)"

dashboards: node_modules ## regenerate grafana/dashboards/*.json from grafana/src
	UPDATE_DASHBOARDS=1 npx jest test/grafana

clean: ## remove build output and local run state
	rm -rf dist .run coverage
