#!/usr/bin/env bash
# Type-checks the k6 load-test scripts (loadtest/*.js, loadtest/lib/*.js) against @types/k6 with
# loadtest/tsconfig.json (checkJs, strict, lib ES2020 only: no DOM, no Node). k6 itself is not needed.
# Then proves the check has teeth: a probe with a wrong k6 call (http.post params as a number) must be refused.
#   scripts/check-loadtest.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ ! -d node_modules/@types/k6 ] || [ ! -x node_modules/.bin/tsc ]; then
  echo "check-loadtest: node_modules/@types/k6 or typescript missing; run npm ci first" >&2
  exit 1
fi

echo "check-loadtest: tsc -p loadtest/tsconfig.json"
npx --no-install tsc -p loadtest/tsconfig.json

# The probe lives under loadtest/ so that 'k6/http' resolves to node_modules/@types/k6 like the real scripts.
probe=$(mktemp -d "$root/loadtest/.tsc-probe.XXXXXX")
trap 'rm -rf "$probe"' EXIT
cat >"$probe/probe.js" <<'JS'
import http from 'k6/http';
export default function () {
    http.post('http://localhost:8080/v1/sms', '{}', 42);
}
JS
cat >"$probe/tsconfig.json" <<'JSON'
{ "extends": "../tsconfig.json", "include": ["probe.js", "../types/*.d.ts"] }
JSON
if out=$(npx --no-install tsc -p "$probe/tsconfig.json" 2>&1); then
  echo "check-loadtest: a wrong http.post() call type-checked: the check is not checking" >&2
  exit 1
fi
if ! grep -q "error TS2559\|error TS2345\|error TS2322" <<<"$out"; then
  echo "check-loadtest: the probe failed for an unexpected reason:" >&2
  echo "$out" >&2
  exit 1
fi
echo "check-loadtest: ok (scripts type-check; a wrong k6 call is refused)"
