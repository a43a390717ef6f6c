#!/usr/bin/env bash
# Starts one Apache Kafka broker+controller in KRaft mode on 127.0.0.1 at free ports.
#   tools/kafka/start.sh WORKDIR
# WORKDIR gets server.properties, a freshly formatted log dir, the broker log and kafka.pid.
# Prints the bootstrap address (host:port) on stdout once a metadata request succeeds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/broker.sh"
work=${1:?usage: start.sh WORKDIR}
timeout_s=${RUNBUS_KAFKA_START_TIMEOUT_S:-90}

ls "$libs"/kafka_2.13-*.jar >/dev/null 2>&1 || { echo "kafka: no jars in $libs; run tools/kafka/install.sh" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work/data"

port=$(node "$here/../free-port.mjs")
cport=$(node "$here/../free-port.mjs")
while [ "$cport" = "$port" ]; do cport=$(node "$here/../free-port.mjs"); done

cat > "$work/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$work/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
log.flush.interval.messages=100000
PROPS

cat > "$work/log4j.properties" <<PROPS
log4j.rootLogger=WARN, file
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$work/broker.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS

kafka_jvm "$work"
cluster_id=$(java "${jvm[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
java "${jvm[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$work/server.properties" >"$work/format.log" 2>&1 \
  || { cat "$work/format.log" >&2; exit 1; }

: >"$work/stdout.log"
launch_broker "$work" "$port" "$timeout_s"
