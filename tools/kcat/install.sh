#!/usr/bin/env bash
# Installs kcat (Debian's package, once called kafkacat): an independent Kafka client the
# integration tests use to read runbus's topics without kafkajs. Idempotent.
set -euo pipefail

found=$(command -v kcat || command -v kafkacat || true)
if [ -n "$found" ]; then
  echo "kcat: already installed at $found"
  exit 0
fi

command -v apt-get >/dev/null || { echo "kcat: not installed and apt-get is missing; install kcat (or kafkacat) with this system's package manager" >&2; exit 1; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "kcat: not installed, and installing it with apt-get needs root (or sudo)" >&2; exit 1; }
  sudo="sudo"
fi

if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq kcat >/dev/null; }; then
  echo "kcat: apt-get could not install the kcat package" >&2
  exit 1
fi
found=$(command -v kcat || command -v kafkacat || true)
[ -n "$found" ] || { echo "kcat: the kcat package installed no kcat or kafkacat binary" >&2; exit 1; }
echo "kcat: installed $found ($("$found" -V 2>&1 | sed -n 1p))"
