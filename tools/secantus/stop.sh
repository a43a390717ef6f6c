#!/usr/bin/env bash
# Stops the server started by start.sh WORKDIR, by its process id (SIGTERM lets WiredTiger
# write its closing checkpoint; SIGKILL follows after a grace period).
set -euo pipefail
exec bash "$(dirname "$0")/../stop-pid.sh" "${1:?usage: stop.sh WORKDIR}/secantus.pid"
