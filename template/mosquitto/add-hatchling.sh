#!/usr/bin/env bash
# Adds a hatchling to the fleet bus: a broker user (its name), a random password, and a command
# signing key; with --tls also a client certificate signed by the fleet CA (CN = its name), for the
# TLS listener (8883). Prints the lines for the hatchling's .env and where the hub's copy of the key is.
#
# Usage: add-hatchling.sh [--tls] [--ca-dir DIR] NAME [PASSWD_FILE] [SECRETS_DIR]
#   --tls        also write SECRETS_DIR/NAME/client.key, client.crt and ca.crt
#   --ca-dir DIR the fleet CA made by make-ca.sh (default: ./certs next to this script)
#   PASSWD_FILE  mosquitto password file of the hatchlings' listener (default: ./passwd next to
#                this script). The hub's user lives in hub-passwd, never here.
#   SECRETS_DIR  where the password and key files go (default: ./secrets next to this script);
#                mount SECRETS_DIR/NAME into the hatchling, SECRETS_DIR/keys into the hub.
# The defaults are inside the git work tree: .gitignore (the repository's and template/'s) keeps
# passwd, hub-passwd, secrets/ and certs/ out of commits, and this script says whether git ignores
# what it wrote. The broker reads PASSWD_FILE as its own user (uid 1883 in the eclipse-mosquitto
# container, mosquitto outside Docker): chown it to that user once; mosquitto_passwd keeps the owner.
# After adding users, reload the broker: docker compose kill -s HUP mosquitto; outside Docker,
# systemctl reload mosquitto (never kill -HUP $(pidof mosquitto): that signals every broker on the host).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
usage="usage: add-hatchling.sh [--tls] [--ca-dir DIR] NAME [PASSWD_FILE] [SECRETS_DIR]"
tls=0
ca_dir="$here/certs"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --tls) tls=1; shift ;;
    --ca-dir) ca_dir="${2:?$usage}"; shift 2 ;;
    --) shift; break ;;
    -*) echo "add-hatchling: unknown option '$1' ($usage)" >&2; exit 2 ;;
    *) break ;;
  esac
done
name="${1:?$usage}"
passwd_file="${2:-$here/passwd}"
secrets="${3:-$here/secrets}"

# The same rule as HATCHLING_NAME: 1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit.
# (A username with + or # would be denied everything by mosquitto anyway.)
if ! [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]]; then
  echo "add-hatchling: '$name' is not a valid hatchling name (1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit)" >&2
  exit 2
fi
# Client ids are one namespace over every listener, and a hatchling's client id is its name: a
# hatchling named like the hub, its admin user or fleetctl's client ids (fleetctl-<random>) could
# take over their sessions.
case "$name" in
  zephyr)
    echo "add-hatchling: 'zephyr' is the hub's user" >&2
    exit 2 ;;
  zephyr-admin)
    # The ACL is one file for every listener: a hatchling named so would get the admin's writes.
    echo "add-hatchling: 'zephyr-admin' is the hub's admin user (add-hub.sh --admin)" >&2
    exit 2 ;;
  keys)
    echo "add-hatchling: 'keys' is the folder of the hub's copies of the command keys (SECRETS_DIR/keys)" >&2
    exit 2 ;;
  fleetctl*)
    echo "add-hatchling: names starting with 'fleetctl' are fleetctl's client ids" >&2
    exit 2 ;;
esac
if [ "$tls" = 1 ] && { [ ! -f "$ca_dir/ca.crt" ] || [ ! -f "$ca_dir/ca.key" ]; }; then
  echo "add-hatchling: no fleet CA in $ca_dir (ca.crt and ca.key): run make-ca.sh first, or give --ca-dir" >&2
  exit 1
fi
command -v mosquitto_passwd >/dev/null || { echo "add-hatchling: mosquitto_passwd not found (apt-get install mosquitto)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "add-hatchling: openssl not found" >&2; exit 1; }

umask 077
mkdir -p "$secrets/$name" "$secrets/keys"
password="$(openssl rand -hex 24)"
printf '%s\n' "$password" > "$secrets/$name/mqtt-password"
openssl rand -hex 32 > "$secrets/$name/command-key"
cp "$secrets/$name/command-key" "$secrets/keys/$name.key"

if [ -f "$passwd_file" ]; then
  passwd_set "$passwd_file" "$name" "$password"
else
  passwd_set -c "$passwd_file" "$name" "$password"
fi
unset password

if [ "$tls" = 1 ]; then
  csr="$(mktemp)"
  ext="$(mktemp)"
  trap 'rm -f "$csr" "$ext"' EXIT
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$secrets/$name/client.key" -out "$csr" -subj "/CN=$name" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >"$ext"
  openssl x509 -req -in "$csr" -CA "$ca_dir/ca.crt" -CAkey "$ca_dir/ca.key" -CAcreateserial \
    -out "$secrets/$name/client.crt" -days 730 -extfile "$ext" 2>/dev/null
  cp "$ca_dir/ca.crt" "$secrets/$name/ca.crt"
  chmod 0600 "$secrets/$name/client.key"
  chmod 0644 "$secrets/$name/client.crt" "$secrets/$name/ca.crt"
fi

git_note "$passwd_file" "$secrets/$name" "$secrets/keys"
cat <<TEXT
added broker user '$name' to $passwd_file (now $(stat -c '%U:%G, mode %a' "$passwd_file"); the broker
reads it as its own user: 1883 in the eclipse-mosquitto container, mosquitto outside Docker)
secrets in $secrets/$name (mode 0600); the hub's copy of the key: $secrets/keys/$name.key

For the hatchling's .env (mount $secrets/$name at /run/secrets/hatchling):
HATCHLING_NAME=$name
MQTT_USERNAME=$name
MQTT_PASSWORD_FILE=/run/secrets/hatchling/mqtt-password
FLEET_COMMAND_KEY_FILE=/run/secrets/hatchling/command-key
TEXT
if [ "$tls" = 1 ]; then
  cat <<TEXT
# TLS (listener 8883; the certificate's CN '$name' is the username, the password is not used):
MQTT_PORT=8883
MQTT_TLS_CA=/run/secrets/hatchling/ca.crt
MQTT_TLS_CERT=/run/secrets/hatchling/client.crt
MQTT_TLS_KEY=/run/secrets/hatchling/client.key
TEXT
fi
cat <<TEXT

Reload the broker to apply: docker compose kill -s HUP mosquitto
(outside Docker: sudo systemctl reload mosquitto, or, with pid_file set in mosquitto.conf,
sudo kill -HUP "\$(cat /run/mosquitto/mosquitto.pid)"; never pidof: that signals every broker on the host)
TEXT
