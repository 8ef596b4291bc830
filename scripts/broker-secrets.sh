#!/usr/bin/env bash
# The broker users' passwords, generated per checkout instead of committed. rabbitmq/definitions.json lists every
# user with an empty `password_hash` (no password can log in as them); this script gives each of them a random
# password in a git-ignored folder and renders a copy of the definitions with RabbitMQ's salted SHA-256 hash of it,
# which the broker imports at boot. A user added to the committed file is covered by the next run: nothing here
# names a user.
#   scripts/broker-secrets.sh ensure DIR [MODE]  a password file DIR/<user> for every user that has none yet
#                                                (MODE 600 by default; compose uses 644: containers run as other uids)
#   scripts/broker-secrets.sh render DIR OUT      the definitions with each user's hash of DIR/<user>, written to OUT
#   scripts/broker-secrets.sh users               the user names, one a line
# Hash format (rabbit_password_hashing_sha256): base64(salt + sha256(salt + password)), salt 4 random bytes.
# https://www.rabbitmq.com/docs/passwords#computing-password-hash
# Plain shell (sha256sum, base64, od): `make up` needs no Node on the host.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
definitions=${RELAY_DEFINITIONS_SOURCE:-$root/rabbitmq/definitions.json}

# The users block of the committed file is pretty-printed one key a line (as `rabbitmqctl export_definitions`
# writes it); test/unit/broker-secrets.test.ts keeps it so.
users() {
  awk '/^  "users": \[/ { inside = 1; next }
       inside && /^  \]/ { exit }
       inside && /^      "name": / { gsub(/^      "name": "|",?$/, ""); print }' "$definitions"
}

random_password() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }

hex_to_bytes() { printf "$(sed 's/../\\x&/g' <<<"$1")"; }

password_hash() {
  local salt digest
  salt=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
  digest=$( { hex_to_bytes "$salt"; printf '%s' "$1"; } | sha256sum | cut -d' ' -f1)
  hex_to_bytes "$salt$digest" | base64 -w0
}

ensure() {
  local dir=${1:?secrets folder} mode=${2:-600} user created=0
  mkdir -p "$dir"
  chmod 700 "$dir"
  for user in $(users); do
    if [ -s "$dir/$user" ]; then continue; fi
    (umask 077; random_password > "$dir/$user.tmp")
    chmod "$mode" "$dir/$user.tmp"
    mv "$dir/$user.tmp" "$dir/$user"
    created=$((created + 1))
  done
  if [ "$created" -gt 0 ]; then echo "broker-secrets: $created broker password(s) generated in $dir" >&2; fi
}

render() {
  local dir=${1:?secrets folder} out=${2:?output file} user hashes
  hashes=$(mktemp)
  trap 'rm -f "$hashes"' RETURN
  for user in $(users); do
    [ -s "$dir/$user" ] || { echo "broker-secrets: no password for $user in $dir (run: $0 ensure $dir)" >&2; return 1; }
    printf '%s %s\n' "$user" "$(password_hash "$(cat "$dir/$user")")" >> "$hashes"
  done
  # The hashes are salted digests of 256-bit random passwords: the rendered file may be world-readable (the
  # broker runs as user rabbitmq), unlike the password files.
  awk -v hashes="$hashes" '
    BEGIN { while ((getline line < hashes) > 0) { split(line, f, " "); hash[f[1]] = f[2] } }
    /^      "name": / { user = $0; gsub(/^      "name": "|",?$/, "", user) }
    /^      "password_hash": "",?$/ {
      if (!(user in hash)) { print "broker-secrets: no hash for " user > "/dev/stderr"; exit 1 }
      sub(/""/, "\"" hash[user] "\"")
    }
    { print }' "$definitions" > "$out.tmp"
  mv "$out.tmp" "$out"
}

case "${1:-}" in
  ensure) ensure "${@:2}" ;;
  render) render "${@:2}" ;;
  users) users ;;
  *) echo "usage: $0 ensure DIR [MODE] | render DIR OUT | users" >&2; exit 2 ;;
esac
