#!/usr/bin/env bash
# Builds secantusd-rs (crates.io `secantus-mdb`, a MongoDB wire-protocol server on WiredTiger with
# atomic single-document updates) into a per-user cache keyed by version, outside the clone, so
# every clone on this machine shares one build. The build takes about 15 minutes on 2 cores and
# needs cargo (Rust), CMake and a C compiler (WiredTiger is compiled from its bundled source).
#   tools/secantus/install.sh           builds it unless it is there; prints the binary's path
#   tools/secantus/install.sh --where   prints the binary's path; exits 1 when it is not built
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/version.sh"

if [ "${1:-}" = "--where" ]; then
  echo "$secantus_bin"
  [ -x "$secantus_bin" ] || exit 1
  exit 0
fi
if [ -x "$secantus_bin" ]; then
  echo "secantus: $secantus_bin is ready" >&2
  echo "$secantus_bin"
  exit 0
fi
command -v cargo >/dev/null || {
  echo "secantus: cargo (Rust) is required to build $secantus_crate $secantus_version; install Rust (rustup) first" >&2
  exit 1
}

# One build per machine: an install started while another one builds waits for it, then finds
# the binary there (where flock(1) exists, as on every Linux).
mkdir -p "$runbus_cache"
exec 9>"$runbus_cache/secantus-$secantus_version.lock"
if command -v flock >/dev/null; then flock 9; fi
if [ -x "$secantus_bin" ]; then
  echo "secantus: $secantus_bin is ready (built by a concurrent install)" >&2
  echo "$secantus_bin"
  exit 0
fi

# Build into a staging root and rename it into place, so an interrupted build never leaves a
# half-installed cache that later runs would trust.
staging="$secantus_root.partial.$$"
rm -rf "$staging"
log="$runbus_cache/secantus-$secantus_version.build.log"
echo "secantus: building $secantus_crate $secantus_version (about 15 minutes on 2 cores); log: $log" >&2
# A line a minute, so a CI log (or a person) sees that the long build is alive. It stops with the
# build, or with this script ($$) if that is interrupted; its one-second naps hold no pipe open.
(
  seconds=0
  while sleep 1 </dev/null >/dev/null 2>&1 && kill -0 $$ 2>/dev/null; do
    seconds=$((seconds + 1))
    [ $((seconds % 60)) -ne 0 ] ||
      echo "secantus: still building after $((seconds / 60)) min ($(grep -c 'Compiling' "$log" || true) crates compiled)" >&2
  done
) >/dev/null &
ticker=$!
trap 'kill "$ticker" 2>/dev/null || true' EXIT
# --ignore-rust-version: the crate declares a newer rust-version than it needs; it builds on 1.95.
if ! cargo install "$secantus_crate" --version "$secantus_version" --locked --ignore-rust-version \
     --root "$staging" >"$log" 2>&1; then
  echo "secantus: cargo install $secantus_crate $secantus_version failed; cargo said:" >&2
  # sed, not head: it reads to the end, so grep never dies of a closed pipe under pipefail.
  if grep -qE '^(error|warning: build failed)' "$log"; then
    grep -E -A 6 '^(error|warning: build failed)' "$log" | sed -n '1,40p' >&2
  else
    tail -n 40 "$log" >&2
  fi
  echo "secantus: full log: $log" >&2
  rm -rf "$staging"
  exit 1
fi
rm -rf "$secantus_root"
mv "$staging" "$secantus_root"
echo "secantus: built $secantus_bin" >&2
echo "$secantus_bin"
