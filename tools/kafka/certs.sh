#!/usr/bin/env bash
# Makes the TLS material of the local test broker with openssl:
#   tools/kafka/certs.sh DIR NAME...
# DIR gets a CA (ca.pem, ca.key); a broker certificate signed by it for 127.0.0.1 and localhost
# (broker.pem, broker.key) and broker-keystore.pem, the broker's PEM keystore: its PKCS#8 key, then
# its certificate chain (broker certificate, CA); and per NAME a client certificate with CN=NAME,
# NAME.pem (certificate) and NAME.key (unencrypted PKCS#8 key), for mTLS as principal User:NAME.
# Test material only: the keys are not encrypted and the certificates live for 30 days.
set -euo pipefail
dir=${1:?usage: certs.sh DIR NAME...}
shift
days=30

for name in "$@"; do
  [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || { echo "kafka certs: invalid client name '$name'" >&2; exit 1; }
  case $name in ca | broker | broker-keystore) echo "kafka certs: '$name' is reserved for the broker's own files" >&2; exit 1 ;; esac
done

mkdir -p "$dir"
cd "$dir"
umask 077

# EC P-256 keys: as good as RSA for this, and instant to make. genpkey writes PKCS#8 ("BEGIN PRIVATE KEY").
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# Signs NAME's key (NAME.key) with the CA into NAME.pem, with SUBJECT and the X.509v3 extensions EXT.
sign() {
  local name=$1 subject=$2 ext=$3
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr"
  printf '%s\n' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" -sha256 \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

new_key ca.key
openssl req -x509 -new -key ca.key -subj "/CN=runbus test CA" -days "$days" -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem

new_key broker.key
sign broker "/CN=localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
cat broker.key broker.pem ca.pem >broker-keystore.pem

for name in "$@"; do
  new_key "$name.key"
  sign "$name" "/CN=$name" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
done
rm -f ca.srl
