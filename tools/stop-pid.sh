#!/usr/bin/env bash
# Stops the process whose id is in PIDFILE: SIGTERM, then SIGKILL after a grace period.
set -euo pipefail
pidfile=${1:?usage: stop-pid.sh PIDFILE [GRACE_SECONDS]}
grace=${2:-15}
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((grace * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$pidfile"
