#!/usr/bin/env bash
# Resolves the Apache Kafka broker jars (tools/kafka/pom.xml) from Maven Central into
# .cache/kafka/libs. Skips the work when the cache already matches the pom.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache="${RUNBUS_CACHE_DIR:-$root/.cache}/kafka"
stamp="$cache/pom.sha256"
want=$(sha256sum "$here/pom.xml" | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && ls "$cache"/libs/kafka_2.13-*.jar >/dev/null 2>&1; then
  echo "kafka: jars already in $cache/libs"
  exit 0
fi

command -v java >/dev/null || { echo "kafka: java (17+) is required to run the broker" >&2; exit 1; }
command -v mvn >/dev/null || { echo "kafka: maven is required to fetch the broker jars" >&2; exit 1; }

rm -rf "$cache/libs"
mkdir -p "$cache/libs"
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$cache/libs"
echo "$want" > "$stamp"
echo "kafka: $(ls "$cache/libs" | wc -l) jars in $cache/libs"
