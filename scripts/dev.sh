#!/usr/bin/env bash
# `make dev`: the whole stack without Docker, in the foreground. A private RabbitMQ node from rabbitmq/, then the
# sandbox, the app (PM2 cluster mode), the three workers and the status service under one pm2-runtime, a private
# PostgreSQL (scripts/postgres.sh, port 5433, data kept in .run between runs), plus Prometheus and Alertmanager
# when they are installed. Ctrl-C (or SIGTERM) stops every process this script started, by PID.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
run_dir=$root/.run
mkdir -p "$run_dir"

pm2_pid=""
prom_pid=""
am_pid=""
cleanup() {
  trap - INT TERM EXIT
  echo "dev: stopping..."
  if [ -n "$pm2_pid" ] && kill -0 "$pm2_pid" 2>/dev/null; then
    kill -INT "$pm2_pid" 2>/dev/null || true
    # pm2-runtime drains its apps (kill_timeout 15 s) before it exits.
    for _ in $(seq 1 40); do kill -0 "$pm2_pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pm2_pid" 2>/dev/null || true
  fi
  if [ -n "$prom_pid" ]; then kill "$prom_pid" 2>/dev/null || true; wait "$prom_pid" 2>/dev/null || true; fi
  if [ -n "$am_pid" ]; then kill "$am_pid" 2>/dev/null || true; wait "$am_pid" 2>/dev/null || true; fi
  scripts/broker.sh stop || true
  scripts/postgres.sh stop || true
  echo "dev: stopped"
}
trap cleanup INT TERM EXIT

scripts/broker.sh start
# The status database keeps its data between runs (resume), and is created on the first (start applies db/migrations).
if [ -d "${RELAY_PG_DIR:-$run_dir/postgres-${RELAY_PG_PORT:-5433}}/data" ]; then
  scripts/postgres.sh resume && scripts/postgres.sh migrate
else
  scripts/postgres.sh start
fi

if command -v prometheus >/dev/null 2>&1 && [ -f prometheus/prometheus.dev.yml ]; then
  prometheus --config.file=prometheus/prometheus.dev.yml --storage.tsdb.path="$run_dir/prometheus" \
    --web.listen-address=127.0.0.1:${PROMETHEUS_PORT:-9090} --web.enable-remote-write-receiver \
    --log.level=warn > "$run_dir/prometheus.log" 2>&1 &
  prom_pid=$!
  echo "dev: prometheus on http://127.0.0.1:${PROMETHEUS_PORT:-9090} (log: .run/prometheus.log)"
else
  echo "dev: prometheus not installed (apt-get install prometheus); skipping it"
fi

# Debian's package names the binary prometheus-alertmanager; upstream's tarball, alertmanager. prometheus.dev.yml
# sends alerts to 127.0.0.1:9093; the receiver is the sandbox's alert sink (alertmanager/alertmanager.dev.yml).
# One instance: no gossip cluster (--cluster.listen-address= empty).
alertmanager=$(command -v prometheus-alertmanager || command -v alertmanager || true)
if [ -n "$alertmanager" ] && [ -f alertmanager/alertmanager.dev.yml ]; then
  "$alertmanager" --config.file=alertmanager/alertmanager.dev.yml --storage.path="$run_dir/alertmanager" \
    --web.listen-address=127.0.0.1:9093 --cluster.listen-address= \
    --log.level=warn > "$run_dir/alertmanager.log" 2>&1 &
  am_pid=$!
  echo "dev: alertmanager on http://127.0.0.1:9093 (log: .run/alertmanager.log), alerts it sends: http://127.0.0.1:${SANDBOX_HTTP_PORT:-8025}/alerts"
else
  echo "dev: alertmanager not installed (apt-get install prometheus-alertmanager); skipping it"
fi

# API keys: hashes in .run/api-keys.json (make api-key adds more; the app reloads the file by itself). On first
# run, a development key for every channel with limits no single machine reaches and no per-recipient limit.
export API_KEYS_FILE=${API_KEYS_FILE:-$run_dir/api-keys.json}
if [ ! -s "$run_dir/dev-api-key" ]; then
  (umask 077; node dist/tools/api-key.js --file "$API_KEYS_FILE" --name dev --rate 100000 --burst 200000 \
    --recipient-limit off --status-webhook-url "http://127.0.0.1:${SANDBOX_HTTP_PORT:-8025}/webhooks/status" | tail -n 1 > "$run_dir/dev-api-key")
  echo "dev: development API key written to .run/dev-api-key"
fi
# Twilio status callbacks: the sandbox calls the app's route, signed over this URL (PUBLIC_BASE_URL + path).
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:${PORT:-8080}}
export TWILIO_STATUS_CALLBACK_URL=${TWILIO_STATUS_CALLBACK_URL-$PUBLIC_BASE_URL/v1/callbacks/twilio}
# The sandbox's magic numbers (+1500555xxxx) pass the SMS destination checks in dev.
export SMS_ALLOW_NUMBER_PREFIXES=${SMS_ALLOW_NUMBER_PREFIXES-+1500555}

# Two providers per channel, both played by the sandbox (docs/failover.md): take the primary down on the sandbox
# page and watch traffic move to the backup. `SMS_PROVIDERS= make dev` (empty) runs with one provider.
export SMS_PROVIDERS=${SMS_PROVIDERS-primary,backup} EMAIL_PROVIDERS=${EMAIL_PROVIDERS-primary,backup} NOTIF_PROVIDERS=${NOTIF_PROVIDERS-primary,backup}
export TWILIO_BACKUP_ACCOUNT_SID=${TWILIO_BACKUP_ACCOUNT_SID:-ACsandboxbackup0000000000000000000}
export TWILIO_BACKUP_AUTH_TOKEN=${TWILIO_BACKUP_AUTH_TOKEN:-sandbox-backup-token}
# The backup account signs the status callbacks of the SMS it sent: the app checks them with its token too.
export TWILIO_CALLBACK_AUTH_TOKENS=${TWILIO_CALLBACK_AUTH_TOKENS-$TWILIO_BACKUP_AUTH_TOKEN}
export SMTP_BACKUP_URL=${SMTP_BACKUP_URL:-smtp://smtp-backup:sandbox@127.0.0.1:${SANDBOX_SMTP_PORT:-2525}}
export NOTIF_BACKUP_WEBHOOK_URL=${NOTIF_BACKUP_WEBHOOK_URL:-http://127.0.0.1:${SANDBOX_HTTP_PORT:-8025}/webhooks/notifications-backup}

# A PM2 home of our own, so this stack never mixes with another pm2 on the machine.
export PM2_HOME=$run_dir/pm2
node_modules/.bin/pm2-runtime ecosystem.dev.config.js &
pm2_pid=$!
echo "dev: app http://127.0.0.1:${PORT:-8080} (key: .run/dev-api-key), ops http://127.0.0.1:${OPS_PORT:-9100}/metrics, status service http://127.0.0.1:9104/metrics, status database postgres://relay@127.0.0.1:${RELAY_PG_PORT:-5433}/relay, sandbox http://127.0.0.1:${SANDBOX_HTTP_PORT:-8025}, RabbitMQ UI http://127.0.0.1:15673 (user relay-admin, password in .run/secrets/broker/relay-admin). Ctrl-C stops."
wait "$pm2_pid" || true
