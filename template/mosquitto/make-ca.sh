#!/usr/bin/env bash
# Makes the fleet's certificate authority and the broker's certificate, for the TLS listener
# (8883) of mosquitto.conf: hatchlings then log in with a client certificate the CA signed
# (add-hatchling.sh --tls NAME), whose CN is their name.
#
# Usage: make-ca.sh [-o DIR] [HOST...]
#   -o DIR  where the files go (default: ./certs next to this script); mount it at
#           /mosquitto/config/certs in the broker's container
#   HOST    the broker's names and IP addresses as hatchlings reach it: each becomes a
#           subjectAltName of the broker's certificate (DNS: or IP:). Default: mosquitto localhost.
#
# Writes DIR/ca.key, DIR/ca.crt (the fleet CA, 10 years), DIR/broker.key, DIR/broker.crt (2 years).
# Keys are mode 0600, certificates 0644. Refuses to run when DIR already holds a CA: a new CA would
# strand every certificate issued by the old one. ca.key signs every hatchling's certificate: keep
# it off the broker if you can (the broker needs ca.crt, broker.crt and broker.key only).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
out="$here/certs"
if [ "${1:-}" = "-o" ]; then
  out="${2:?usage: make-ca.sh [-o DIR] [HOST...]}"
  shift 2
fi
case "${1:-}" in
  -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
  -*) echo "make-ca: unknown option '$1' (usage: make-ca.sh [-o DIR] [HOST...])" >&2; exit 2 ;;
esac
if [ "$#" -eq 0 ]; then set -- mosquitto localhost; fi
command -v openssl >/dev/null || { echo "make-ca: openssl not found" >&2; exit 1; }

if [ -e "$out/ca.key" ] || [ -e "$out/ca.crt" ]; then
  echo "make-ca: $out already holds a CA (ca.key or ca.crt): not overwriting it; every certificate it signed would stop working. Remove it yourself, or choose another directory with -o." >&2
  exit 1
fi

san=""
for host in "$@"; do
  if [[ "$host" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || [[ "$host" == *:* ]]; then
    entry="IP:$host"
  elif [[ "$host" =~ ^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
    entry="DNS:$host"
  else
    echo "make-ca: '$host' is neither a host name nor an IP address" >&2
    exit 2
  fi
  san="${san:+$san,}$entry"
done

umask 077
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$out/ca.key" -out "$out/ca.crt" -days 3650 -subj "/CN=Fleet CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$out/broker.key" -out "$work/broker.csr" -subj "/CN=$1" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" >"$work/broker.ext"
openssl x509 -req -in "$work/broker.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -out "$out/broker.crt" -days 730 -extfile "$work/broker.ext" 2>/dev/null

chmod 0600 "$out/ca.key" "$out/broker.key"
chmod 0644 "$out/ca.crt" "$out/broker.crt"
chmod 0755 "$out" # the broker's user reads ca.crt and broker.crt; the keys stay 0600

git_note "$out"
cat <<TEXT
fleet CA: $out/ca.crt (key $out/ca.key, mode 0600: keep it safe, it signs every hatchling)
broker:   $out/broker.crt, $out/broker.key for $san
Mount $out at /mosquitto/config/certs in the broker (its key must be readable by the broker's
user, uid 1883 in eclipse-mosquitto: chown 1883 $out/broker.key; outside Docker the user
mosquitto: chown mosquitto:mosquitto $out/broker.key).
Then add hatchlings with: add-hatchling.sh --tls NAME
TEXT
