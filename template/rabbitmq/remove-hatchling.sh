#!/usr/bin/env bash
# Retires a hatchling from a RabbitMQ fleet bus, the reverse of add-hatchling.sh: deletes its user
# (and with it its permissions) and its secrets (SECRETS_DIR/NAME, and the hub's copy of its
# command key, SECRETS_DIR/keys/NAME.key). Prints what to do next.
#
# Usage: remove-hatchling.sh NAME [SECRETS_DIR]
#   SECRETS_DIR  where add-hatchling.sh wrote the secrets (default: ./secrets next to this script)
# Environment: RABBITMQCTL (default rabbitmqctl), RABBITMQ_NODE (rabbitmqctl -n). Running it again
# for a name already removed only says so.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
usage="usage: remove-hatchling.sh NAME [SECRETS_DIR]"
case "${1:-}" in
  -h|--help) echo "$usage"; exit 0 ;;
  -*) echo "remove-hatchling: unknown option '$1' ($usage)" >&2; exit 2 ;;
  "") echo "remove-hatchling: no NAME ($usage)" >&2; exit 2 ;;
esac
if [ "$#" -gt 2 ]; then
  echo "remove-hatchling: too many arguments ($usage)" >&2
  exit 2
fi
name="$1"
secrets="${2:-$here/secrets}"

# The same rule as HATCHLING_NAME; it keeps '..', '/' and empty names out of the paths below.
if ! [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]]; then
  echo "remove-hatchling: '$name' is not a valid hatchling name (1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit)" >&2
  exit 2
fi
case "$name" in
  zephyr|zephyr-admin)
    echo "remove-hatchling: '$name' is the hub's user, not a hatchling" >&2
    exit 2 ;;
  keys)
    echo "remove-hatchling: '$secrets/keys' holds the hub's copy of every hatchling's key; it is not a hatchling's folder" >&2
    exit 2 ;;
esac
read -r -a ctl <<< "${RABBITMQCTL:-rabbitmqctl}"
[ -z "${RABBITMQ_NODE:-}" ] || ctl+=(-n "$RABBITMQ_NODE")

# grep without -q reads to the end: with -q it stops at the first match, the listing dies of
# SIGPIPE, and pipefail turns a found user into "no user" (seen with a few thousand users).
users=$("${ctl[@]}" -q list_users --no-table-headers | cut -f1)
if printf '%s\n' "$users" | grep -xF -- "$name" >/dev/null; then
  "${ctl[@]}" -q delete_user "$name" > /dev/null
  echo "deleted RabbitMQ user '$name' (and its permissions)"
else
  echo "no RabbitMQ user '$name' (removed already?)"
fi
if [ -L "$secrets/$name" ]; then
  rm -f -- "$secrets/$name"
  echo "removed the link $secrets/$name (not what it points to)"
elif [ -d "$secrets/$name" ]; then
  rm -rf -- "${secrets:?}/$name"
  echo "removed $secrets/$name"
else
  echo "no folder $secrets/$name"
fi
if [ -e "$secrets/keys/$name.key" ] || [ -L "$secrets/keys/$name.key" ]; then
  rm -f -- "$secrets/keys/$name.key"
  echo "removed the hub's copy of its key, $secrets/keys/$name.key"
fi

cat <<TEXT

Next, once its container is stopped, as the hub's admin user (add-hatchling.sh --admin):
MQTT_USERNAME=zephyr-admin MQTT_PASSWORD_FILE=$secrets/zephyr-admin/mqtt-password fleetctl forget $name
(clears its retained status and heartbeat, so status, watch and the exporter stop showing it).
Its session queues (mqtt-subscription-${name}qos0/qos1) expire after mqtt.subscription_ttl (a day
in the template's rabbitmq.conf).
TEXT
