#!/usr/bin/env bash
# Builds the embedded FerretDB server (tools/ferretdb, Go) into .cache/ferretdb.
# Skips the build when the binary is newer than the module's sources.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="${RUNBUS_CACHE_DIR:-$root/.cache}/ferretdb/runbus-ferretdb"

if [ -x "$out" ] && [ -z "$(find "$here" -newer "$out" -name '*.go' -o -newer "$out" -name 'go.*' | head -1)" ]; then
  echo "ferretdb: $out is up to date"
  exit 0
fi
command -v go >/dev/null || { echo "ferretdb: Go is required to build the embedded FerretDB" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
(cd "$here" && go build -trimpath -o "$out" .)
echo "ferretdb: built $out"
