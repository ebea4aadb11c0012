#!/bin/sh
# Compose's prometheus service: Prometheus reads the app's bearer token from a file
# (prometheus.yml, credentials_file), compose passes it as METRICS_TOKEN. Without it every scrape
# of /metrics would be refused, so Prometheus refuses to start instead, with one line.
set -eu
if [ -z "${METRICS_TOKEN:-}" ]; then
  echo "configuration error: METRICS_TOKEN must be set in .env for the monitoring profile" >&2
  exit 1
fi
umask 077
printf '%s' "$METRICS_TOKEN" >"${METRICS_TOKEN_FILE:-/prometheus/metrics_token}"
exec "$@"
