#!/usr/bin/env bash
# Installs kcat (Debian's package, once called kafkacat): an independent Kafka client the
# integration tests use to read runbus's topics without kafkajs. Idempotent.
set -euo pipefail
source "$(dirname "$0")/../apt-install.sh"

found=$(command -v kcat || command -v kafkacat || true)
if [ -n "$found" ]; then
  echo "kcat: already installed at $found"
  exit 0
fi

apt_install kcat kcat
found=$(command -v kcat || command -v kafkacat || true)
[ -n "$found" ] || { echo "kcat: the kcat package installed no kcat or kafkacat binary" >&2; exit 1; }
echo "kcat: installed $found ($("$found" -V 2>&1 | sed -n 1p))"
