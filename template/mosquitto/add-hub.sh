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
# The defaults are inside the git work tree, which ignores them (.gitignore; the script says so).
# The broker reads HUB_PASSWD_FILE as its own user (uid 1883 in the eclipse-mosquitto container,
# mosquitto outside Docker): chown it to that user once; mosquitto_passwd keeps the owner.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
hub_passwd="${1:-$here/hub-passwd}"
secrets="${2:-$here/secrets}"
command -v mosquitto_passwd >/dev/null || { echo "add-hub: mosquitto_passwd not found (apt-get install mosquitto)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "add-hub: openssl not found" >&2; exit 1; }

# Whether git ignores the paths given: one line for those it ignores, a warning on standard error
# for each one inside a work tree that it does not (`git add .` would commit that secret). Silent
# outside a work tree, or when git cannot tell (no git, a repository owned by another user).
git_note() {
  command -v git >/dev/null || return 0
  local path dir top ignored=""
  for path in "$@"; do
    dir="$(dirname "$path")"
    top="$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null)" || continue
    if git -C "$dir" check-ignore -q -- "$path" 2>/dev/null; then
      ignored="${ignored:+$ignored, }$path"
    else
      echo "$(basename "$0" .sh): WARNING: $path is inside the git work tree $top and NOT ignored: add it to .gitignore before any commit" >&2
    fi
  done
  if [ -n "$ignored" ]; then echo "git ignores $ignored (.gitignore): never commit them"; fi
}

umask 077
mkdir -p "$secrets/zephyr"
password="$(openssl rand -hex 24)"
printf '%s\n' "$password" > "$secrets/zephyr/mqtt-password"
# -c: a new file with zephyr alone (a hatchling's user in it would open the hub listener to it).
mosquitto_passwd -c -b "$hub_passwd" zephyr "$password"
unset password

git_note "$hub_passwd" "$secrets/zephyr"
cat <<TEXT
hub user 'zephyr' written to $hub_passwd (zephyr alone; now $(stat -c '%U:%G, mode %a' "$hub_passwd");
the broker reads it as its own user: 1883 in the eclipse-mosquitto container, mosquitto outside Docker)
password in $secrets/zephyr/mqtt-password (mode 0600; never printed)

For fleetctl and the hub:
MQTT_HOST=<the broker>
MQTT_PORT=1884
MQTT_USERNAME=zephyr
MQTT_PASSWORD_FILE=$secrets/zephyr/mqtt-password

The broker reads hub-passwd at start and on SIGHUP: docker compose kill -s HUP mosquitto
(outside Docker: sudo systemctl reload mosquitto, or, with pid_file set in mosquitto.conf,
sudo kill -HUP "\$(cat /run/mosquitto/mosquitto.pid)"; never pidof: that signals every broker on the host)
TEXT
