#!/usr/bin/env bash
# `make up` calls this before `docker compose up`: it generates the compose stack's secrets, once, into
# .run/compose (git-ignored); nothing committed holds a password the stack accepts.
# - Broker users: a random password per user of rabbitmq/definitions.json in .run/compose/secrets/broker/<user>
#   (scripts/broker-secrets.sh; a user added to the definitions gets one at the next `make up`), and the
#   definitions rendered with their hashes into .run/compose/rabbitmq/definitions.json, which the broker imports at
#   boot. Each client container gets its own user's file mounted read-only as /run/secrets/amqp-password
#   (AMQP_PASSWORD_FILE). The files are mode 644 because the containers run as other uids; their folder is 700.
# - Grafana: the admin password in .run/compose/secrets/grafana-admin-password (GF_SECURITY_ADMIN_PASSWORD__FILE).
#   Grafana applies it when its volume is created; put your own in the file before the first `make up`.
# - The development API key: .run/compose/dev-api-key (never mounted); its SHA-256 goes to
#   .run/compose/keys/api-keys.json, whose folder docker-compose.yml mounts read-only into the app at
#   /run/relay-keys (API_KEYS_FILE). The folder, not the file, is mounted so a key file replaced by rename
#   (make api-key) is seen. The hash file is world-readable: it holds hashes of 256-bit random keys only, and the
#   dev key's status webhook, which points at the sandbox with the sandbox's public development secret (a real
#   key's webhook secret needs a file only its services read: docs/security.md).
# Plain shell (openssl or /dev/urandom, sha256sum): `make up` needs no Node on the host. Add keys with:
# make api-key NAME=... API_KEYS_FILE=.run/compose/keys/api-keys.json
# - Service secrets, one random value per file in .run/compose/secrets/ (a folder only its owner may enter); the
#   compose files mount each file, not the folder:
#   postgres-password  POSTGRES_PASSWORD_FILE of the postgres service (the password of its `relay` user), and
#                      DATABASE_PASSWORD_FILE of the app and the status service. Mode 644: the server reads it as
#                      the image's postgres user (uid 999), not as the file's owner.
#   erlang-cookie      the shared Erlang cookie of the 3-node broker cluster (docker-compose.cluster.yml copies it
#                      into each node's data folder at start). Mode 600: the node's entrypoint reads it as root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.run/compose
keys=$dir/keys/api-keys.json
key_file=$dir/dev-api-key
mkdir -p "$dir/keys" "$dir/rabbitmq" "$dir/secrets"
chmod 755 "$dir/keys" "$dir/rabbitmq"
chmod 700 "$dir/secrets"

"$root/scripts/broker-secrets.sh" ensure "$dir/secrets/broker" 644
# Rendered at every `make up` (new salts, same passwords): picks up users added to the definitions since.
"$root/scripts/broker-secrets.sh" render "$dir/secrets/broker" "$dir/rabbitmq/definitions.json"
chmod 644 "$dir/rabbitmq/definitions.json"
if [ ! -s "$dir/secrets/grafana-admin-password" ]; then
  head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' > "$dir/secrets/grafana-admin-password"
  chmod 644 "$dir/secrets/grafana-admin-password"
  echo "compose-secrets: Grafana admin password written to .run/compose/secrets/grafana-admin-password"
fi

# 32 random letters and digits: safe in a URL, a config file or a command line without quoting.
random_secret() { head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }

# Writes a secret file once, by rename, with the given mode.
write_secret() {
  local file=$1 mode=$2
  if [ -s "$file" ]; then return 0; fi
  (umask 077; random_secret > "$file.tmp")
  chmod "$mode" "$file.tmp"
  mv "$file.tmp" "$file"
  echo "compose-secrets: ${file#"$root"/} written"
}
write_secret "$dir/secrets/postgres-password" 644
write_secret "$dir/secrets/erlang-cookie" 600

if [ -s "$key_file" ] && [ -s "$keys" ]; then
  echo "compose-secrets: development API key already in $key_file"
  exit 0
fi
if [ -s "$keys" ]; then
  echo "compose-secrets: $keys exists but $key_file does not: keeping the keys as they are (make api-key adds one)"
  exit 0
fi

key="rk_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
hash=$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)
umask 077
printf '%s\n' "$key" > "$key_file"
# Limits high enough for `make loadtest` on one machine; no per-recipient limit (docs/contract.md).
cat > "$keys.tmp" <<JSON
{
  "keys": [
    {
      "name": "dev",
      "hash": "sha256:$hash",
      "channels": ["sms", "email", "notif"],
      "rate": 100000,
      "burst": 200000,
      "recipientLimit": false,
      "statusWebhook": { "url": "http://sandbox:8025/webhooks/status", "secret": "whsec_cmVsYXktc3RhY2stZGV2LXdlYmhvb2stc2VjcmV0ISE=" },
      "createdAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    }
  ]
}
JSON
chmod 644 "$keys.tmp"
mv "$keys.tmp" "$keys"
echo "compose-secrets: development API key written to .run/compose/dev-api-key (send it as 'Authorization: Bearer <key>')"
