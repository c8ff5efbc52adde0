#!/usr/bin/env bash
# Adds a hatchling to the fleet bus: a broker user (its name), a random password, and a command
# signing key. Prints the lines for the hatchling's .env and where the hub's copy of the key is.
#
# Usage: add-hatchling.sh NAME [PASSWD_FILE] [SECRETS_DIR]
#   PASSWD_FILE  mosquitto password file (default: ./passwd next to this script)
#   SECRETS_DIR  where the password and key files go (default: ./secrets next to this script);
#                mount SECRETS_DIR/NAME into the hatchling, SECRETS_DIR/keys into the hub.
# After adding users, reload the broker: kill -HUP the mosquitto process (or restart the container).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="${1:?usage: add-hatchling.sh NAME [PASSWD_FILE] [SECRETS_DIR]}"
passwd_file="${2:-$here/passwd}"
secrets="${3:-$here/secrets}"

# The same rule as HATCHLING_NAME: 1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit.
# (A username with + or # would be denied everything by mosquitto anyway.)
if ! [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]]; then
  echo "add-hatchling: '$name' is not a valid hatchling name (1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit)" >&2
  exit 2
fi
if [ "$name" = "zephyr" ]; then
  echo "add-hatchling: 'zephyr' is the hub's user" >&2
  exit 2
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
  mosquitto_passwd -b "$passwd_file" "$name" "$password"
else
  mosquitto_passwd -c -b "$passwd_file" "$name" "$password"
fi
unset password

cat <<TEXT
added broker user '$name' to $passwd_file
secrets in $secrets/$name (mode 0600); the hub's copy of the key: $secrets/keys/$name.key

For the hatchling's .env (mount $secrets/$name at /run/secrets/hatchling):
HATCHLING_NAME=$name
MQTT_USERNAME=$name
MQTT_PASSWORD_FILE=/run/secrets/hatchling/mqtt-password
FLEET_COMMAND_KEY_FILE=/run/secrets/hatchling/command-key

Reload the broker to apply: kill -HUP \$(pidof mosquitto)
TEXT
