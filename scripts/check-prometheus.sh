#!/usr/bin/env bash
# Static checks of the Prometheus setup: the three configs (compose, dev, compose cluster) (which also parse the rule files they reference, relative
# to each config file), the rules on their own, the alert unit tests, and the two Alertmanager configs (compose, dev).
#   scripts/check-prometheus.sh        (from anywhere; needs promtool and amtool:
#                                       `apt-get install prometheus prometheus-alertmanager`)
# Exit status is non-zero as soon as one check fails.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
promtool=${PROMTOOL:-promtool}
amtool=${AMTOOL:-amtool}

if ! command -v "$promtool" >/dev/null 2>&1; then
  echo "check-prometheus: promtool not found (install the prometheus package or set PROMTOOL)" >&2
  exit 1
fi
if ! command -v "$amtool" >/dev/null 2>&1; then
  echo "check-prometheus: amtool not found (install the prometheus-alertmanager package or set AMTOOL)" >&2
  exit 1
fi

# dns_sd_configs names (sms-worker, ...) only resolve inside the compose network; `check config` does not resolve
# them, so the compose config is checkable here.
"$promtool" check config prometheus/prometheus.yml
"$promtool" check config prometheus/prometheus.dev.yml
"$promtool" check config prometheus/prometheus.cluster.yml
"$promtool" check rules prometheus/rules/*.yml
"$promtool" test rules prometheus/tests/*.test.yml
# Receiver URLs are not resolved either: alertmanager.yml names the compose service `sandbox`.
"$amtool" check-config alertmanager/alertmanager.yml alertmanager/alertmanager.dev.yml

echo "check-prometheus: all checks passed"
