#!/usr/bin/env bash
# Starts one Apache Kafka broker+controller in KRaft mode on 127.0.0.1 at free ports.
#   tools/kafka/start.sh WORKDIR
# WORKDIR gets server.properties, a freshly formatted log dir, the broker log and kafka.pid.
# Prints the bootstrap address (host:port) on stdout once a metadata request succeeds.
#
# With RUNBUS_KAFKA_SECURE=1 the same broker also listens on SASL_SSL (SCRAM-SHA-512, SCRAM-SHA-256,
# PLAIN) and on SSL with required client certificates (mTLS, principal User:<CN>), with ACLs enforced
# (StandardAuthorizer, no ACL = denied) everywhere but the PLAINTEXT and CONTROLLER listeners, whose
# principal ANONYMOUS is a super user: every plaintext client keeps full rights and grants ACLs.
# The users come from RUNBUS_KAFKA_SCRAM_USERS=name:password,... (SCRAM credentials, PLAIN logins and
# one client certificate each); tools/kafka/certs.sh makes WORKDIR/tls/. WORKDIR/secure.json names the
# secured addresses, the CA and the client certificates (never the passwords).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/broker.sh"
work=${1:?usage: start.sh WORKDIR}
timeout_s=${RUNBUS_KAFKA_START_TIMEOUT_S:-90}

ls "$libs"/kafka_2.13-*.jar >/dev/null 2>&1 || { echo "kafka: no jars in $libs; run tools/kafka/install.sh" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work/data" "$work/tls" "$work/secure.json"

# A free port on 127.0.0.1 other than those in `taken` (the caller adds it: this runs in a subshell).
taken=()
free_port() {
  local p
  p=$(node "$here/../free-port.mjs")
  while [[ " ${taken[*]} " == *" $p "* ]]; do p=$(node "$here/../free-port.mjs"); done
  echo "$p"
}
port=$(free_port); taken+=("$port")
cport=$(free_port); taken+=("$cport")

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

scram_args=()
if [ "${RUNBUS_KAFKA_SECURE:-}" = 1 ]; then
  # name:password pairs; the names become principals, file names and JAAS option keys, the passwords
  # JAAS strings and StorageTool arguments, so both keep to characters none of those treat specially.
  users=() passwords=()
  IFS=, read -ra pairs <<<"${RUNBUS_KAFKA_SCRAM_USERS:-}"
  for pair in "${pairs[@]}"; do
    [ -n "$pair" ] || continue
    name=${pair%%:*} password=${pair#*:}
    [[ $pair == *:* && $name =~ ^[A-Za-z0-9._-]+$ && $password =~ ^[A-Za-z0-9._~+-]+$ ]] \
      || { echo "kafka: RUNBUS_KAFKA_SCRAM_USERS wants name:password pairs of [A-Za-z0-9._-] names and [A-Za-z0-9._~+-] passwords" >&2; exit 1; }
    users+=("$name") passwords+=("$password")
  done
  [ ${#users[@]} -gt 0 ] || { echo "kafka: RUNBUS_KAFKA_SECURE=1 needs users in RUNBUS_KAFKA_SCRAM_USERS (name:password,...)" >&2; exit 1; }

  bash "$here/certs.sh" "$work/tls" "${users[@]}"
  sasl_port=$(free_port); taken+=("$sasl_port")
  ssl_port=$(free_port); taken+=("$ssl_port")

  plain_users=""
  for i in "${!users[@]}"; do
    plain_users+=" user_${users[$i]}=\"${passwords[$i]}\""
    scram_args+=(--add-scram "SCRAM-SHA-512=[name=${users[$i]},password=${passwords[$i]}]"
                 --add-scram "SCRAM-SHA-256=[name=${users[$i]},password=${passwords[$i]}]")
  done
  chmod 600 "$work/server.properties"
  sed -i \
    -e "s#^listeners=.*#&,SASL_SSL://127.0.0.1:$sasl_port,SSL://127.0.0.1:$ssl_port#" \
    -e "s#^advertised.listeners=.*#&,SASL_SSL://127.0.0.1:$sasl_port,SSL://127.0.0.1:$ssl_port#" \
    -e "s#^listener.security.protocol.map=.*#&,SASL_SSL:SASL_SSL,SSL:SSL#" \
    "$work/server.properties"
  cat >> "$work/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$plain_users;
ssl.keystore.type=PEM
ssl.keystore.location=$work/tls/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$work/tls/ca.pem
listener.name.ssl.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=([^,]+).*\$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:ANONYMOUS
PROPS

  node -e '
    const [file, saslSsl, ssl, tls, ...users] = process.argv.slice(1);
    const clientCerts = Object.fromEntries(users.map((u) => [u, { certFile: `${tls}/${u}.pem`, keyFile: `${tls}/${u}.key` }]));
    require("node:fs").writeFileSync(file, JSON.stringify({ saslSsl, ssl, caFile: `${tls}/ca.pem`, clientCerts }, null, 2) + "\n");
  ' "$work/secure.json" "127.0.0.1:$sasl_port" "127.0.0.1:$ssl_port" "$work/tls" "${users[@]}"
fi

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
java "${jvm[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$work/server.properties" "${scram_args[@]}" >"$work/format.log" 2>&1 \
  || { cat "$work/format.log" >&2; exit 1; }

: >"$work/stdout.log"
launch_broker "$work" "$port" "$timeout_s"
