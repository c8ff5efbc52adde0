#!/usr/bin/env bash
# Makes the hub's broker user, zephyr, with a random password (192 bits): the only user of the
# hub listener (1884, hub-passwd). Every hatchling's network can reach that listener, and
# mosquitto does not slow down wrong guesses, so the password must not be one a person chose.
# Run it again to change the password (the old one stops working at the broker's next reload).
#
# Usage: add-hub.sh [HUB_PASSWD_FILE] [SECRETS_DIR]
#   HUB_PASSWD_FILE  the hub listener's password file (default: ./hub-passwd next to this script);
#                    written anew, holding zephyr alone
#   SECRETS_DIR      where the password goes, as SECRETS_DIR/zephyr/mqtt-password, mode 0600
#                    (default: ./secrets next to this script); give it to fleetctl and the hub
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
hub_passwd="${1:-$here/hub-passwd}"
secrets="${2:-$here/secrets}"
command -v mosquitto_passwd >/dev/null || { echo "add-hub: mosquitto_passwd not found (apt-get install mosquitto)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "add-hub: openssl not found" >&2; exit 1; }

umask 077
mkdir -p "$secrets/zephyr"
password="$(openssl rand -hex 24)"
printf '%s\n' "$password" > "$secrets/zephyr/mqtt-password"
# -c: a new file with zephyr alone (a hatchling's user in it would open the hub listener to it).
mosquitto_passwd -c -b "$hub_passwd" zephyr "$password"
unset password

cat <<TEXT
hub user 'zephyr' written to $hub_passwd (zephyr alone)
password in $secrets/zephyr/mqtt-password (mode 0600; never printed)

For fleetctl and the hub:
MQTT_HOST=<the broker>
MQTT_PORT=1884
MQTT_USERNAME=zephyr
MQTT_PASSWORD_FILE=$secrets/zephyr/mqtt-password

The broker reads hub-passwd at start and on SIGHUP: docker compose kill -s HUP mosquitto
TEXT
