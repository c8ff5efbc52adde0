#!/usr/bin/env bash
# Makes the hub's broker users on the hub listener (1884, hub-passwd), each with a random password
# (192 bits). Every hatchling's network can reach that listener, and mosquitto does not slow down
# wrong guesses, so no password there may be one a person chose. Run it again to change a password
# (the old one stops working at the broker's next reload).
#
#   zephyr        (default) the hub's everyday user: fleetctl send, status, watch, events, the
#                 exporter. Reads fleet/#, writes commands and the broadcast (template ACL).
#   zephyr-admin  (--admin) only for retiring hatchlings with `fleetctl forget`: it may write every
#                 hatchling's status and heartbeat, so it could fake them (docs/security.md). Keep its
#                 password with the operator, off the monitoring host where the exporter runs.
#
# Usage: add-hub.sh [HUB_PASSWD_FILE] [SECRETS_DIR]
#        add-hub.sh --admin [HUB_PASSWD_FILE] [SECRETS_DIR]
#   HUB_PASSWD_FILE  the hub listener's password file (default: ./hub-passwd next to this script);
#                    without --admin written anew, holding zephyr alone (run --admin again after it);
#                    with --admin zephyr-admin is added to (or changed in) the existing file, which
#                    must hold zephyr already
#   SECRETS_DIR      where the password goes, as SECRETS_DIR/zephyr/mqtt-password (--admin:
#                    SECRETS_DIR/zephyr-admin/mqtt-password), mode 0600 (default: ./secrets next to
#                    this script); give zephyr's to fleetctl and the hub, zephyr-admin's to no daemon
# The defaults are inside the git work tree, which ignores them (.gitignore; the script says so).
# The broker reads HUB_PASSWD_FILE as its own user (uid 1883 in the eclipse-mosquitto container,
# mosquitto outside Docker): chown it to that user once; mosquitto_passwd keeps the owner.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
usage="usage: add-hub.sh [--admin] [HUB_PASSWD_FILE] [SECRETS_DIR]"
admin=false
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
  --admin) admin=true; shift ;;
  --) shift ;;
  -*) echo "add-hub: unknown option '$1' ($usage)" >&2; exit 2 ;;
esac
for argument in "$@"; do
  case "$argument" in
    -*) echo "add-hub: '$argument' is not a file name; options come first ($usage)" >&2; exit 2 ;;
  esac
done
if [ "$#" -gt 2 ]; then
  echo "add-hub: too many arguments ($usage)" >&2
  exit 2
fi
hub_passwd="${1:-$here/hub-passwd}"
secrets="${2:-$here/secrets}"
# The admin user's name: template/mosquitto/acl and fleetctl forget's notes use the same.
admin_user=zephyr-admin
command -v mosquitto_passwd >/dev/null || { echo "add-hub: mosquitto_passwd not found (apt-get install mosquitto)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "add-hub: openssl not found" >&2; exit 1; }

# Whether the password file names a user: its lines are user:hash. grep reads the whole file
# (no -q), so a pipe in front of it could never get SIGPIPE under pipefail.
has_user() {
  [ -f "$1" ] && cut -d: -f1 "$1" | grep -xF -- "$2" >/dev/null
}

if [ "$admin" = true ]; then
  # Appended to the file zephyr is in: never -c, which would drop zephyr. Without that file there
  # is no hub listener to add to yet (and a file with zephyr-admin alone would hand the hub's
  # listener to the user that may fake statuses while zephyr has none).
  if [ ! -f "$hub_passwd" ]; then
    echo "add-hub: $hub_passwd does not exist: run add-hub.sh (without --admin) first, then add-hub.sh --admin" >&2
    exit 1
  fi
  if [ ! -r "$hub_passwd" ]; then
    echo "add-hub: cannot read $hub_passwd (the broker's user owns it: run this with sudo)" >&2
    exit 1
  fi
  if ! has_user "$hub_passwd" zephyr; then
    echo "add-hub: $hub_passwd holds no user zephyr: run add-hub.sh (without --admin) first, then add-hub.sh --admin" >&2
    exit 1
  fi
fi

umask 077
if [ "$admin" = true ]; then
  mkdir -p "$secrets/$admin_user"
  password="$(openssl rand -hex 24)"
  printf '%s\n' "$password" > "$secrets/$admin_user/mqtt-password"
  # -b without -c: added to the existing file, or its password changed; zephyr stays.
  passwd_set "$hub_passwd" "$admin_user" "$password"
  unset password

  git_note "$hub_passwd" "$secrets/$admin_user"
  cat <<TEXT
hub admin user '$admin_user' written to $hub_passwd (next to zephyr; now $(stat -c '%U:%G, mode %a' "$hub_passwd"))
password in $secrets/$admin_user/mqtt-password (mode 0600; never printed)

$admin_user may write every hatchling's status and heartbeat (to clear them), so it could also
fake them: keep this password with the operator, never on the monitoring host, and give it to no
exporter, watch or events. It is for retiring hatchlings only (docs/operations.md):

MQTT_HOST=<the broker> MQTT_PORT=1884 MQTT_USERNAME=$admin_user \\
  MQTT_PASSWORD_FILE=$secrets/$admin_user/mqtt-password fleetctl forget NAME

The broker reads hub-passwd at start and on SIGHUP: docker compose kill -s HUP mosquitto
(outside Docker: sudo systemctl reload mosquitto, or, with pid_file set in mosquitto.conf,
sudo kill -HUP "\$(cat /run/mosquitto/mosquitto.pid)"; never pidof: that signals every broker on the host)
TEXT
  exit 0
fi

had_admin=false
if [ -r "$hub_passwd" ] && has_user "$hub_passwd" "$admin_user"; then had_admin=true; fi
mkdir -p "$secrets/zephyr"
password="$(openssl rand -hex 24)"
printf '%s\n' "$password" > "$secrets/zephyr/mqtt-password"
# -c: a new file with zephyr alone (a hatchling's user in it would open the hub listener to it).
passwd_set -c "$hub_passwd" zephyr "$password"
unset password

git_note "$hub_passwd" "$secrets/zephyr"
if [ "$had_admin" = true ]; then
  echo "add-hub: $admin_user was in $hub_passwd and is no longer (the file was written anew): run add-hub.sh --admin again to retire hatchlings" >&2
fi
cat <<TEXT
hub user 'zephyr' written to $hub_passwd (zephyr alone; now $(stat -c '%U:%G, mode %a' "$hub_passwd");
the broker reads it as its own user: 1883 in the eclipse-mosquitto container, mosquitto outside Docker)
password in $secrets/zephyr/mqtt-password (mode 0600; never printed)

For fleetctl and the hub:
MQTT_HOST=<the broker>
MQTT_PORT=1884
MQTT_USERNAME=zephyr
MQTT_PASSWORD_FILE=$secrets/zephyr/mqtt-password

zephyr cannot retire hatchlings (fleetctl forget): that is the admin user's, made by
add-hub.sh --admin (run it again after this script, which wrote the file anew).

The broker reads hub-passwd at start and on SIGHUP: docker compose kill -s HUP mosquitto
(outside Docker: sudo systemctl reload mosquitto, or, with pid_file set in mosquitto.conf,
sudo kill -HUP "\$(cat /run/mosquitto/mosquitto.pid)"; never pidof: that signals every broker on the host)
TEXT
