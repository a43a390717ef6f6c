#!/usr/bin/env bash
# Stops the broker started by start.sh WORKDIR, by its process id.
set -euo pipefail
exec bash "$(dirname "$0")/../stop-pid.sh" "${1:?usage: stop.sh WORKDIR}/kafka.pid"
