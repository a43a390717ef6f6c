#!/usr/bin/env bash
# Starts secantusd-rs (built by install.sh) on 127.0.0.1 at a free port, with a fresh data dir.
#   tools/secantus/start.sh WORKDIR
# WORKDIR gets the data dir, the server log and secantus.pid.
# Prints the MongoDB URI on stdout once the server answers a ping.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/version.sh"
work=${1:?usage: start.sh WORKDIR}
timeout_s=${RUNBUS_SECANTUS_START_TIMEOUT_S:-30}

[ -x "$secantus_bin" ] || {
  echo "secantus: no binary at $secantus_bin; run \`npm run servers:install\` (builds $secantus_crate $secantus_version with Rust/cargo, about 15 minutes once per machine)" >&2
  exit 1
}
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work/data"
# An explicit config file, empty: without --config the server would read a secantusd.toml from
# the current directory, ~/.secantus or /etc/secantus, and the tests' server would vary with them.
: >"$work/secantusd.toml"

port=$(node "$here/../free-port.mjs")
nohup "$secantus_bin" --config "$work/secantusd.toml" --host 127.0.0.1 --port "$port" \
  --storage-path "$work/data" --cache-size 256M >"$work/secantus.log" 2>&1 &
pid=$!
echo "$pid" > "$work/secantus.pid"

uri="mongodb://127.0.0.1:$port/"
if ! node "$here/wait-ready.mjs" "$uri" "$timeout_s" "$pid" >&2; then
  kill "$pid" 2>/dev/null || true
  echo "secantus: server did not become ready; last log lines:" >&2
  tail -n 30 "$work/secantus.log" >&2 || true
  exit 1
fi
echo "$uri"
