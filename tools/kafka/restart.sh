#!/usr/bin/env bash
# Restarts the broker that start.sh WORKDIR started, on the same ports and the same data:
#   tools/kafka/restart.sh WORKDIR
# SIGTERM to the pid in WORKDIR/kafka.pid, wait for it to exit (SIGKILL after
# RUNBUS_KAFKA_STOP_TIMEOUT_S), start `kafka.Kafka WORKDIR/server.properties` again without
# formatting the log dir, wait until a metadata request succeeds, rewrite kafka.pid.
# Prints the bootstrap address (host:port) on stdout, as start.sh does.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
libs="${RUNBUS_CACHE_DIR:-$root/.cache}/kafka/libs"
work=${1:?usage: restart.sh WORKDIR}
start_timeout_s=${RUNBUS_KAFKA_START_TIMEOUT_S:-90}
stop_timeout_s=${RUNBUS_KAFKA_STOP_TIMEOUT_S:-30}

[ -d "$work" ] || { echo "kafka: no workdir $work" >&2; exit 1; }
work=$(cd "$work" && pwd)
[ -f "$work/server.properties" ] || { echo "kafka: $work has no server.properties; was the broker started by start.sh?" >&2; exit 1; }
[ -f "$work/kafka.pid" ] || { echo "kafka: $work has no kafka.pid; was the broker started by start.sh?" >&2; exit 1; }
ls "$libs"/kafka_2.13-*.jar >/dev/null 2>&1 || { echo "kafka: no jars in $libs; run tools/kafka/install.sh" >&2; exit 1; }

# Running, not a zombie: an exited broker whose parent has not reaped it still answers kill -0.
running() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo "?")
  [ "$state" != "Z" ]
}

old=$(cat "$work/kafka.pid")
if running "$old"; then
  kill -TERM "$old" 2>/dev/null || true
  for _ in $(seq 1 $((stop_timeout_s * 10))); do
    running "$old" || break
    sleep 0.1
  done
  if running "$old"; then
    echo "kafka: broker $old did not stop within ${stop_timeout_s}s of SIGTERM; sending SIGKILL" >&2
    kill -KILL "$old" 2>/dev/null || true
    for _ in $(seq 1 100); do
      running "$old" || break
      sleep 0.1
    done
    running "$old" && { echo "kafka: broker $old is still running after SIGKILL" >&2; exit 1; }
  fi
fi

port=$(sed -n 's#^listeners=PLAINTEXT://127\.0\.0\.1:\([0-9]*\),.*#\1#p' "$work/server.properties")
[ -n "$port" ] || { echo "kafka: no PLAINTEXT listener in $work/server.properties" >&2; exit 1; }

# The same JVM settings as start.sh.
jvm=(-Xms256m -Xmx${RUNBUS_KAFKA_HEAP:-768m} -XX:+UseG1GC -Djava.awt.headless=true
     -Dlog4j.configuration="file:$work/log4j.properties" -cp "$libs/*")

nohup java "${jvm[@]}" kafka.Kafka "$work/server.properties" >>"$work/stdout.log" 2>&1 &
pid=$!
echo "$pid" > "$work/kafka.pid"

bootstrap="127.0.0.1:$port"
if ! node "$here/wait-ready.mjs" "$bootstrap" "$start_timeout_s" "$pid" >&2; then
  kill "$pid" 2>/dev/null || true
  echo "kafka: broker did not become ready after the restart; last log lines:" >&2
  tail -n 30 "$work/broker.log" "$work/stdout.log" >&2 2>/dev/null || true
  exit 1
fi
echo "$bootstrap"
