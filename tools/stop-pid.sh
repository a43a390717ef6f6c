#!/usr/bin/env bash
# Stops the process whose id is in PIDFILE: SIGTERM, then SIGKILL after a grace period; waits
# until it has exited (exit 1 if it survives SIGKILL) and removes PIDFILE.
set -euo pipefail
pidfile=${1:?usage: stop-pid.sh PIDFILE [GRACE_SECONDS]}
grace=${2:-15}
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")

# Running, not a zombie: an exited process whose parent has not reaped it still answers kill -0.
running() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo "?")
  [ "$state" != "Z" ]
}

# Waits up to $2 tenths of a second for process $1 to exit; false if it is still running.
exited_within() {
  for _ in $(seq 1 "$2"); do
    running "$1" || return 0
    sleep 0.1
  done
  ! running "$1"
}

if running "$pid"; then
  kill -TERM "$pid" 2>/dev/null || true
  if ! exited_within "$pid" $((grace * 10)); then
    echo "stop-pid: process $pid did not stop within ${grace}s of SIGTERM; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    exited_within "$pid" 100 || { echo "stop-pid: process $pid is still running after SIGKILL" >&2; exit 1; }
  fi
fi
rm -f "$pidfile"
