#!/usr/bin/env bash
# Installs promtool from Debian's `prometheus` package (/usr/bin/promtool): the dashboard test
# (test/integration/ops/dashboard.test.ts) checks deploy/prometheus/prometheus.yml and a worker's
# /metrics scrape with it. Never downloads a release build. Idempotent.
set -euo pipefail

found=$(command -v promtool || true)
if [ -n "$found" ]; then
  echo "promtool: already installed at $found ($("$found" --version 2>&1 | sed -n 1p))"
  exit 0
fi

command -v apt-get >/dev/null || { echo "promtool: not installed and apt-get is missing; install promtool (Prometheus) with this system's package manager" >&2; exit 1; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "promtool: not installed, and installing it with apt-get needs root (or sudo)" >&2; exit 1; }
  sudo="sudo"
fi

# Without recommends: only promtool is wanted, not prometheus-node-exporter.
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }; then
  echo "promtool: apt-get could not install the prometheus package" >&2
  exit 1
fi
found=$(command -v promtool || true)
[ -n "$found" ] || { echo "promtool: the prometheus package installed no promtool binary" >&2; exit 1; }
echo "promtool: installed $found ($("$found" --version 2>&1 | sed -n 1p))"
