# Sourced by the secantus scripts: the pinned crate, and where its build lives in the per-user cache.
secantus_crate=secantus-mdb
secantus_version=0.5.3-beta.196
runbus_cache="${RUNBUS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/runbus}"
secantus_root="$runbus_cache/secantus-$secantus_version"
secantus_bin="$secantus_root/bin/secantusd-rs"
