#!/usr/bin/env bash
# Starts the embedded FerretDB (SQLite backend) on 127.0.0.1 at a free port, with a fresh data dir.
#   tools/ferretdb/start.sh WORKDIR
# WORKDIR gets the data dir, the server log and ferretdb.pid.
# Prints the MongoDB URI on stdout once the server answers a ping.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="${RUNBUS_CACHE_DIR:-$root/.cache}/ferretdb/runbus-ferretdb"
work=${1:?usage: start.sh WORKDIR}
timeout_s=${RUNBUS_FERRETDB_START_TIMEOUT_S:-30}

[ -x "$bin" ] || { echo "ferretdb: no binary at $bin; run tools/ferretdb/install.sh" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work/data"

port=$(node "$here/../free-port.mjs")
nohup "$bin" -addr "127.0.0.1:$port" -data "$work/data" >"$work/ferretdb.log" 2>&1 &
pid=$!
echo "$pid" > "$work/ferretdb.pid"

uri="mongodb://127.0.0.1:$port/"
if ! node "$here/wait-ready.mjs" "$uri" "$timeout_s" "$pid" >&2; then
  kill "$pid" 2>/dev/null || true
  echo "ferretdb: server did not become ready; last log lines:" >&2
  tail -n 30 "$work/ferretdb.log" >&2 || true
  exit 1
fi
echo "$uri"
