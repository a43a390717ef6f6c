#!/usr/bin/env bash
# Installs promtool from Debian's `prometheus` package (/usr/bin/promtool): the dashboard test
# (test/integration/ops/dashboard.test.ts) checks deploy/prometheus/prometheus.yml and a worker's
# /metrics scrape with it. Never downloads a release build. Idempotent.
set -euo pipefail
source "$(dirname "$0")/../apt-install.sh"

found=$(command -v promtool || true)
if [ -n "$found" ]; then
  echo "promtool: already installed at $found ($("$found" --version 2>&1 | sed -n 1p))"
  exit 0
fi

# Without recommends: only promtool is wanted, not prometheus-node-exporter.
apt_install promtool prometheus --no-install-recommends
found=$(command -v promtool || true)
[ -n "$found" ] || { echo "promtool: the prometheus package installed no promtool binary" >&2; exit 1; }
echo "promtool: installed $found ($("$found" --version 2>&1 | sed -n 1p))"
