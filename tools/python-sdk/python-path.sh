#!/usr/bin/env bash
# Prints the python of the langgraph-sdk virtualenv (for tests); exits 1, saying how to install it,
# when it is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/version.sh"
if [ ! -f "$python_sdk_marker" ]; then
  echo "python-sdk: the Python langgraph-sdk $python_sdk_version virtualenv is missing ($python_sdk_root); run \`npm run servers:install\` (or bash tools/python-sdk/install.sh)" >&2
  exit 1
fi
echo "$python_sdk_python"
