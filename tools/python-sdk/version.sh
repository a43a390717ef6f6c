# Sourced by the python-sdk scripts: the pinned Python langgraph-sdk, and where its virtualenv lives
# in the per-user cache (outside the clone, so every clone on this machine shares one).
python_sdk_version=0.4.14
runbus_cache="${RUNBUS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/runbus}"
python_sdk_root="$runbus_cache/python-sdk-$python_sdk_version"
python_sdk_python="$python_sdk_root/bin/python"
# Written last by install.sh: a venv without it is a half-finished install, redone on the next run.
python_sdk_marker="$python_sdk_root/.installed"
