#!/usr/bin/env bash
# Restarts the broker that start.sh WORKDIR started, on the same ports and the same data:
#   tools/kafka/restart.sh WORKDIR
# SIGTERM to the pid in WORKDIR/kafka.pid, wait for it to exit (SIGKILL after
# RUNBUS_KAFKA_STOP_TIMEOUT_S), start `kafka.Kafka WORKDIR/server.properties` again without
# formatting the log dir, wait until a metadata request succeeds, rewrite kafka.pid.
# Prints the bootstrap address (host:port) on stdout, as start.sh does.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/broker.sh"
work=${1:?usage: restart.sh WORKDIR}
start_timeout_s=${RUNBUS_KAFKA_START_TIMEOUT_S:-90}
stop_timeout_s=${RUNBUS_KAFKA_STOP_TIMEOUT_S:-30}

[ -d "$work" ] || { echo "kafka: no workdir $work" >&2; exit 1; }
work=$(cd "$work" && pwd)
[ -f "$work/server.properties" ] || { echo "kafka: $work has no server.properties; was the broker started by start.sh?" >&2; exit 1; }
[ -f "$work/kafka.pid" ] || { echo "kafka: $work has no kafka.pid; was the broker started by start.sh?" >&2; exit 1; }
ls "$libs"/kafka_2.13-*.jar >/dev/null 2>&1 || { echo "kafka: no jars in $libs; run tools/kafka/install.sh" >&2; exit 1; }

bash "$here/../stop-pid.sh" "$work/kafka.pid" "$stop_timeout_s"

port=$(sed -n 's#^listeners=PLAINTEXT://127\.0\.0\.1:\([0-9]*\),.*#\1#p' "$work/server.properties")
[ -n "$port" ] || { echo "kafka: no PLAINTEXT listener in $work/server.properties" >&2; exit 1; }

launch_broker "$work" "$port" "$start_timeout_s" || { echo "kafka: the restart failed" >&2; exit 1; }
