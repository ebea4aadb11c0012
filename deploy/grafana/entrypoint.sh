#!/bin/sh
# Compose's grafana service: without a password Grafana would create its admin as admin/admin,
# so it refuses to start without a real one (GRAFANA_ADMIN_PASSWORD, at least 12 characters).
set -eu
password="${GF_SECURITY_ADMIN_PASSWORD:-}"
case "$password" in
  "" | admin | change-me | changeme | password | secret)
    echo "configuration error: GRAFANA_ADMIN_PASSWORD must be set in .env to a real password" >&2
    exit 1 ;;
esac
if [ "${#password}" -lt 12 ]; then
  echo "configuration error: GRAFANA_ADMIN_PASSWORD is shorter than 12 characters" >&2
  exit 1
fi
exec "$@"
