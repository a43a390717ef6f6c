# Sourced by install.sh, start.sh and restart.sh: where the Kafka jars are, the JVM settings of a
# broker, and launching one. Needs `set -euo pipefail` from its caller.
kafka_tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The jars live in the per-user cache, outside the clone, so every clone on this machine shares
# them; the directory is named by the Kafka version and the pom's hash, so clones whose pom differs
# (another branch) each get their own and never overwrite each other's.
kafka_version=$(sed -n 's#.*<kafka.version>\(.*\)</kafka.version>.*#\1#p' "$kafka_tools/pom.xml")
kafka_pom_sha256=$(sha256sum "$kafka_tools/pom.xml" | cut -d' ' -f1)
kafka_cache="${RUNBUS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/runbus}/kafka-$kafka_version-${kafka_pom_sha256:0:12}"
libs="$kafka_cache/libs"

# The JVM settings of every Java process for the broker of WORKDIR ($1), into the array `jvm`.
kafka_jvm() {
  jvm=(-Xms256m -Xmx${RUNBUS_KAFKA_HEAP:-768m} -XX:+UseG1GC -Djava.awt.headless=true
       -Dlog4j.configuration="file:$1/log4j.properties" -cp "$libs/*")
}

# Starts `kafka.Kafka WORKDIR/server.properties` ($1, its log dir formatted) listening on PORT ($2),
# its output appended to WORKDIR/stdout.log; writes WORKDIR/kafka.pid, waits up to TIMEOUT_S ($3)
# until a metadata request succeeds, and prints the bootstrap address (host:port).
launch_broker() {
  local work=$1 port=$2 timeout_s=$3 pid bootstrap
  kafka_jvm "$work"
  nohup java "${jvm[@]}" kafka.Kafka "$work/server.properties" >>"$work/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" > "$work/kafka.pid"
  bootstrap="127.0.0.1:$port"
  if ! node "$kafka_tools/wait-ready.mjs" "$bootstrap" "$timeout_s" "$pid" >&2; then
    kill "$pid" 2>/dev/null || true
    echo "kafka: broker did not become ready; last log lines:" >&2
    tail -n 30 "$work/broker.log" "$work/stdout.log" >&2 2>/dev/null || true
    return 1
  fi
  echo "$bootstrap"
}
