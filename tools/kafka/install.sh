#!/usr/bin/env bash
# Resolves the Apache Kafka broker jars (tools/kafka/pom.xml) from Maven Central into the per-user
# cache (see broker.sh), which every clone on this machine shares. Skips the work when they are there.
#   tools/kafka/install.sh           installs them
#   tools/kafka/install.sh --where   prints their directory; exits 1 when they are not installed
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/broker.sh"

installed() { ls "$libs"/kafka_2.13-*.jar >/dev/null 2>&1; }
if [ "${1:-}" = "--where" ]; then
  echo "$libs"
  installed || exit 1
  exit 0
fi
if installed; then
  echo "kafka: jars already in $libs"
  exit 0
fi

command -v java >/dev/null || { echo "kafka: java (17+) is required to run the broker" >&2; exit 1; }
command -v mvn >/dev/null || { echo "kafka: maven is required to fetch the broker jars" >&2; exit 1; }

# Resolve into a staging dir and rename it into place, so an interrupted download never leaves a
# half-filled cache that later runs would trust.
staging="$kafka_cache.partial.$$"
rm -rf "$staging"
mkdir -p "$staging/libs"
if ! mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
     -DincludeScope=runtime -DoutputDirectory="$staging/libs"; then
  rm -rf "$staging"
  echo "kafka: maven could not resolve the broker jars (see its output above)" >&2
  exit 1
fi
cp "$here/pom.xml" "$staging/pom.xml"
rm -rf "$kafka_cache"
mv "$staging" "$kafka_cache"
echo "kafka: $(ls "$libs" | wc -l) jars in $libs"
