#!/usr/bin/env bash
# Retires a hatchling from the fleet bus, the reverse of add-hatchling.sh: removes its broker user
# from the hatchlings' password file and deletes its secrets (SECRETS_DIR/NAME, and the hub's copy
# of its command key, SECRETS_DIR/keys/NAME.key). Prints what to do next.
#
# Usage: remove-hatchling.sh NAME [PASSWD_FILE] [SECRETS_DIR]
#   PASSWD_FILE  mosquitto password file of the hatchlings' listener (default: ./passwd next to
#                this script), as given to add-hatchling.sh
#   SECRETS_DIR  where add-hatchling.sh wrote the secrets (default: ./secrets next to this script)
#
# The whole retirement: stop the hatchling's container (its agent announces offline/shutdown), run
# this, reload the broker, then `fleetctl forget NAME` (the hub stops showing it). Running it
# again for a name already removed only says so.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
usage="usage: remove-hatchling.sh NAME [PASSWD_FILE] [SECRETS_DIR]"
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
  -*) echo "remove-hatchling: unknown option '$1' ($usage)" >&2; exit 2 ;;
  "") echo "remove-hatchling: no NAME ($usage)" >&2; exit 2 ;;
esac
if [ "$#" -gt 3 ]; then
  echo "remove-hatchling: too many arguments ($usage)" >&2
  exit 2
fi
name="$1"
passwd_file="${2:-$here/passwd}"
secrets="${3:-$here/secrets}"

# The same rule as HATCHLING_NAME: 1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit. It
# keeps '..', '/', '*' and empty names out of the paths below, so only NAME's own folder can go.
if ! [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]]; then
  echo "remove-hatchling: '$name' is not a valid hatchling name (1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit)" >&2
  exit 2
fi
case "$name" in
  zephyr|zephyr-admin)
    echo "remove-hatchling: '$name' is the hub's user (hub-passwd, add-hub.sh), not a hatchling" >&2
    exit 2 ;;
  keys)
    echo "remove-hatchling: '$secrets/keys' holds the hub's copy of every hatchling's key; it is not a hatchling's folder" >&2
    exit 2 ;;
esac
if [ ! -f "$passwd_file" ]; then
  echo "remove-hatchling: no password file $passwd_file (give the PASSWD_FILE that add-hatchling.sh wrote); nothing removed" >&2
  exit 1
fi
command -v mosquitto_passwd >/dev/null || { echo "remove-hatchling: mosquitto_passwd not found (apt-get install mosquitto)" >&2; exit 1; }

# Check first that everything can be done, so that nothing is half done: the password file and
# its folder (mosquitto_passwd writes a new file beside it), NAME's folder and the key's folder.
problems=()
[ -r "$passwd_file" ] && [ -w "$passwd_file" ] || problems+=("$passwd_file is not readable and writable by $(id -un)")
[ -w "$(dirname "$passwd_file")" ] || problems+=("$(dirname "$passwd_file") is not writable by $(id -un) (mosquitto_passwd writes beside the file)")
if [ -d "$secrets/$name" ] && [ ! -L "$secrets/$name" ]; then
  [ -w "$secrets" ] || problems+=("$secrets is not writable by $(id -un)")
  # Every folder inside must be open to us too (add-hatchling.sh makes NAME 0700, owned by the agent's uid).
  # find tests NAME itself too; a folder it cannot enter is printed as well.
  if [ -n "$(find "$secrets/$name" -type d ! \( -readable -writable -executable \) -print -quit 2>/dev/null)" ]; then
    problems+=("$secrets/$name (or a folder in it) is not open to $(id -un)")
  fi
fi
if [ -e "$secrets/keys/$name.key" ] || [ -L "$secrets/keys/$name.key" ]; then
  [ -w "$secrets/keys" ] || problems+=("$secrets/keys is not writable by $(id -un)")
fi
if [ "${#problems[@]}" -gt 0 ]; then
  printf 'remove-hatchling: %s\n' "${problems[@]}" >&2
  echo "remove-hatchling: nothing removed; run it as the files' owner, or with sudo" >&2
  exit 1
fi

# grep without -q reads to the end: with -q it stops at the first match, cut dies of SIGPIPE, and
# pipefail turns a found user into "no user" (seen with a few thousand users).
if cut -d: -f1 "$passwd_file" | grep -xF -- "$name" >/dev/null; then
  mosquitto_passwd -D "$passwd_file" "$name"
  echo "removed broker user '$name' from $passwd_file"
else
  echo "no user '$name' in $passwd_file (removed already?)"
fi
# Only NAME's own folder and key file: rm without -r on a link removes the link, never its target.
failed=0
if [ -L "$secrets/$name" ]; then
  rm -f -- "$secrets/$name" || failed=1
  echo "removed the link $secrets/$name (not what it points to)"
elif [ -d "$secrets/$name" ]; then
  if rm -rf -- "${secrets:?}/$name"; then echo "removed $secrets/$name"; else failed=1; fi
else
  echo "no folder $secrets/$name"
fi
if [ -e "$secrets/keys/$name.key" ] || [ -L "$secrets/keys/$name.key" ]; then
  if rm -f -- "$secrets/keys/$name.key"; then echo "removed the hub's copy of its key, $secrets/keys/$name.key"; else failed=1; fi
fi

cat <<TEXT

Next:
1. Reload the broker, so the user can no longer log in: docker compose kill -s HUP mosquitto
   (outside Docker: sudo systemctl reload mosquitto, or, with pid_file set in mosquitto.conf,
   sudo kill -HUP "\$(cat /run/mosquitto/mosquitto.pid)"; never pidof: that signals every broker on the host)
2. Once its container is stopped, as the hub's admin user (add-hub.sh --admin):
   MQTT_USERNAME=zephyr-admin MQTT_PASSWORD_FILE=$secrets/zephyr-admin/mqtt-password fleetctl forget $name
   (clears its retained status and heartbeat, so status, watch and the exporter stop showing it).
A client certificate made with add-hatchling.sh --tls stays valid on the TLS listener (8883) until
it expires: the template has no revocation list. Delete every copy of it (the hatchling's mount
too), or replace the fleet CA. The broker drops the hatchling's session (and any commands queued
in it) after persistent_client_expiration (14 days in the template).
TEXT
if [ "$failed" = 1 ]; then
  echo "remove-hatchling: some secrets could not be removed (above); the broker user is gone: reload the broker all the same" >&2
  exit 1
fi
