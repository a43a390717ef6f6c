#!/usr/bin/env bash
# Installs the official Python LangGraph SDK (PyPI `langgraph-sdk`, pinned in version.sh) into a
# virtualenv in the per-user cache, outside the clone, so every clone on this machine shares it.
# The Python SDK smoke test (test/integration/gateway/python-sdk.test.ts) runs its script there.
#   tools/python-sdk/install.sh           installs it unless it is there; prints the venv's python
#   tools/python-sdk/install.sh --where   prints the venv's python; exits 1 when it is not installed
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/version.sh"

if [ "${1:-}" = "--where" ]; then
  echo "$python_sdk_python"
  [ -f "$python_sdk_marker" ] || exit 1
  exit 0
fi
if [ -f "$python_sdk_marker" ]; then
  echo "python-sdk: langgraph-sdk $python_sdk_version is ready in $python_sdk_root" >&2
  echo "$python_sdk_python"
  exit 0
fi

command -v python3 >/dev/null || {
  echo "python-sdk: python3 (3.10+) is required; install it (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
}
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || {
  echo "python-sdk: langgraph-sdk $python_sdk_version needs Python 3.10+, python3 is $(python3 -V 2>&1)" >&2
  exit 1
}
# Debian ships venv without ensurepip unless python3-venv is installed; `python3 -m venv` then
# fails only after creating a half venv, so ask up front.
python3 -c 'import venv, ensurepip' 2>/dev/null || {
  echo "python-sdk: python3 has no venv/ensurepip module; install it (Debian: apt-get install python3-venv)" >&2
  exit 1
}

# One install per machine: an install started while another one runs waits for it, then finds
# the marker there (where flock(1) exists, as on every Linux).
mkdir -p "$runbus_cache"
exec 9>"$runbus_cache/python-sdk-$python_sdk_version.lock"
if command -v flock >/dev/null; then flock 9; fi
if [ -f "$python_sdk_marker" ]; then
  echo "python-sdk: langgraph-sdk $python_sdk_version is ready (installed by a concurrent install)" >&2
  echo "$python_sdk_python"
  exit 0
fi

# A venv is not relocatable (its scripts name its path), so it is built in place rather than
# staged and renamed; the marker, written last, is what makes it trusted.
log="$runbus_cache/python-sdk-$python_sdk_version.install.log"
echo "python-sdk: installing langgraph-sdk==$python_sdk_version into $python_sdk_root; log: $log" >&2
rm -rf "$python_sdk_root"
fail() {
  echo "python-sdk: $1; its output:" >&2
  tail -n 30 "$log" >&2
  echo "python-sdk: full log: $log" >&2
  exit 1
}
python3 -m venv "$python_sdk_root" >"$log" 2>&1 || fail "python3 -m venv could not create $python_sdk_root"
"$python_sdk_python" -m pip install --no-input --disable-pip-version-check \
  "langgraph-sdk==$python_sdk_version" >>"$log" 2>&1 || fail "pip could not install langgraph-sdk==$python_sdk_version"
installed=$("$python_sdk_python" -c 'from importlib.metadata import version; import langgraph_sdk; print(version("langgraph-sdk"))' 2>>"$log") ||
  fail "langgraph_sdk does not import after the install"
[ "$installed" = "$python_sdk_version" ] || fail "pip installed langgraph-sdk $installed, not $python_sdk_version"
echo "langgraph-sdk==$python_sdk_version" > "$python_sdk_marker"
echo "python-sdk: installed langgraph-sdk $python_sdk_version in $python_sdk_root" >&2
echo "$python_sdk_python"
