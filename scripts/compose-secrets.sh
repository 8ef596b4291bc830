#!/usr/bin/env bash
# `make up` calls this before `docker compose up`: on first run it creates the compose stack's development API key.
# The key goes to .run/compose/dev-api-key (git-ignored, never mounted); its SHA-256 goes to
# .run/compose/keys/api-keys.json, whose folder docker-compose.yml mounts read-only into the app at /run/relay-keys
# (API_KEYS_FILE). The folder, not the file, is mounted so a key file replaced by rename (make api-key) is seen.
# The hash file is world-readable because the containers run as another uid; it holds hashes of 256-bit random
# keys only, which cannot be turned back into keys, and the dev key's status webhook, which points at the sandbox
# with the sandbox's public development secret (a real key's webhook secret needs a file only its services read:
# docs/security.md). Plain shell (openssl or /dev/urandom, sha256sum): `make up`
# needs no Node on the host. Add keys with: make api-key NAME=... API_KEYS_FILE=.run/compose/keys/api-keys.json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.run/compose
keys=$dir/keys/api-keys.json
key_file=$dir/dev-api-key
mkdir -p "$dir/keys"
chmod 755 "$dir/keys"

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
