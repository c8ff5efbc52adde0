#!/usr/bin/env bash
# Adds a hatchling (or, with --hub, the hub's user zephyr; with --admin, the hub's admin user
# zephyr-admin) to a RabbitMQ fleet bus: a user with a generated password and the permissions of
# template/mosquitto/acl, expressed in RabbitMQ's terms. Writes the secrets as
# template/mosquitto/add-hatchling.sh does; never prints the password.
#
# Usage: add-hatchling.sh NAME [SECRETS_DIR]
#        add-hatchling.sh --hub [SECRETS_DIR]
#        add-hatchling.sh --admin [SECRETS_DIR]
#   SECRETS_DIR  where the password and key files go (default: ./secrets next to this script);
#                mount SECRETS_DIR/NAME into the hatchling, SECRETS_DIR/keys (and SECRETS_DIR/zephyr)
#                into the hub. SECRETS_DIR/zephyr-admin stays with the operator (fleetctl forget).
# Environment: RABBITMQCTL (default rabbitmqctl), RABBITMQ_NODE (rabbitmqctl -n), RABBITMQ_VHOST
# (default /, as mqtt.vhost). Running it again for a name gives the user a new password.
#
# What the permissions mean. The MQTT plugin publishes to the exchange amq.topic, with the MQTT topic
# as routing key ("/" becomes "."), and gives each client a queue mqtt-subscription-<client id>qos0
# or qos1 (the agent's client id is its name). RabbitMQ checks:
#   - resource permissions (configure/write/read regexes over queue and exchange names): a hatchling
#     may only declare, bind and read its own session queues, and read/write amq.topic;
#   - topic permissions on amq.topic (regexes over routing keys): a hatchling reads only
#     fleet.<name>.command and zephyr.broadcast, and writes only fleet.<name>.status, heartbeat,
#     response and event. The hub (zephyr) reads fleet.# and zephyr.broadcast and writes
#     fleet.*.command and zephyr.broadcast. The admin user (zephyr-admin) reads and writes
#     fleet.*.status and fleet.*.heartbeat and nothing else: `fleetctl forget` clears a retired
#     hatchling's retained status and heartbeat with an empty retained message. No permission can
#     be limited to empty payloads, so zephyr-admin could write a fake status or heartbeat of any
#     hatchling (hide a running one from send --all, keep a dead one "online"): keep its password
#     with the operator, off the monitoring host. Hatchlings never read those topics; zephyr-admin
#     cannot write a command, the broadcast, or a hatchling's response or event.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
usage="usage: add-hatchling.sh NAME [SECRETS_DIR] | add-hatchling.sh --hub [SECRETS_DIR] | add-hatchling.sh --admin [SECRETS_DIR]"
# role: hatchling, hub (zephyr) or admin (zephyr-admin, for fleetctl forget).
role=hatchling
case "${1:-}" in
  --hub) role="hub"; name="zephyr" ;;
  --admin) role="admin"; name="zephyr-admin" ;;
  *) name="${1:?$usage}" ;;
esac
secrets="${2:-$here/secrets}"

# The same rule as HATCHLING_NAME: 1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit. No
# character of it means anything in a regex outside brackets, so it goes into the patterns as is.
if ! [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]]; then
  echo "add-hatchling: '$name' is not a valid hatchling name (1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit)" >&2
  exit 2
fi
if [ "$name" = "keys" ]; then
  echo "add-hatchling: 'keys' is the folder of the hub's copies of the command keys (SECRETS_DIR/keys)" >&2
  exit 2
fi
if [ "$role" = hatchling ] && [ "$name" = "zephyr" ]; then
  echo "add-hatchling: 'zephyr' is the hub's user: use --hub" >&2
  exit 2
fi
if [ "$role" = hatchling ] && [ "$name" = "zephyr-admin" ]; then
  echo "add-hatchling: 'zephyr-admin' is the hub's admin user: use --admin" >&2
  exit 2
fi
# fleetctl's session queues are mqtt-subscription-fleetctl-<8 hex>qos0/1, which zephyr-admin may
# use: a hatchling named fleetctl-... would have its queued commands there.
if [ "$role" = hatchling ] && [[ "$name" == fleetctl* ]]; then
  echo "add-hatchling: names starting with 'fleetctl' are fleetctl's client ids" >&2
  exit 2
fi
command -v openssl >/dev/null || { echo "add-hatchling: openssl not found" >&2; exit 1; }
read -r -a ctl <<< "${RABBITMQCTL:-rabbitmqctl}"
[ -z "${RABBITMQ_NODE:-}" ] || ctl+=(-n "$RABBITMQ_NODE")
vhost="${RABBITMQ_VHOST:-/}"

umask 077
mkdir -p "$secrets/$name"
password="$(openssl rand -hex 24)"
printf '%s\n' "$password" > "$secrets/$name/mqtt-password"
if [ "$role" = hatchling ]; then
  mkdir -p "$secrets/keys"
  openssl rand -hex 32 > "$secrets/$name/command-key"
  cp "$secrets/$name/command-key" "$secrets/keys/$name.key"
fi

# The password goes to rabbitmqctl on standard input, never on a command line (ps would show it).
# grep without -q reads all of its input: with -q it can exit at the first match and, under
# pipefail, a large list_users (thousands of users) then dies of SIGPIPE (141), taken as "absent".
if "${ctl[@]}" -q list_users --no-table-headers | cut -f1 | grep -xF -- "$name" > /dev/null; then
  printf '%s\n' "$password" | "${ctl[@]}" -q change_password "$name" > /dev/null
else
  printf '%s\n' "$password" | "${ctl[@]}" -q add_user "$name" > /dev/null
fi
unset password

if [ "$role" = hub ]; then
  # fleetctl and other hub tools connect with fresh client ids: any session queue.
  queues='mqtt-subscription-.*'
  topic_write='^(fleet\.[^.]+\.command|zephyr\.broadcast)$'
  topic_read='^(fleet\..+|zephyr\.broadcast)$'
elif [ "$role" = admin ]; then
  # fleetctl forget reads what it clears, to check the broker dropped it. Only fleetctl's own
  # session queues (client ids fleetctl-<8 hex>): no hatchling's queue, and the commands in it.
  queues='mqtt-subscription-fleetctl-[0-9a-f]{8}qos[01]'
  topic_write='^fleet\.[^.]+\.(status|heartbeat)$'
  topic_read='^fleet\.[^.]+\.(status|heartbeat)$'
else
  queues="mqtt-subscription-${name}qos[01]"
  topic_write="^fleet\\.${name}\\.(status|heartbeat|response|event)\$"
  topic_read="^(fleet\\.${name}\\.command|zephyr\\.broadcast)\$"
fi
"${ctl[@]}" -q set_permissions -p "$vhost" "$name" "^${queues}\$" "^(${queues}|amq\\.topic)\$" "^(${queues}|amq\\.topic)\$" > /dev/null
"${ctl[@]}" -q set_topic_permissions -p "$vhost" "$name" amq.topic "$topic_write" "$topic_read" > /dev/null

if [ "$role" = hub ]; then
  cat <<TEXT
added RabbitMQ user 'zephyr' (the hub) on vhost $vhost
password in $secrets/zephyr/mqtt-password (mode 0600)

For fleetctl: MQTT_USERNAME=zephyr MQTT_PASSWORD_FILE=$secrets/zephyr/mqtt-password FLEET_KEY_DIR=$secrets/keys
zephyr cannot retire hatchlings (fleetctl forget): that is the admin user's, add-hatchling.sh --admin.
TEXT
elif [ "$role" = admin ]; then
  cat <<TEXT
added RabbitMQ user 'zephyr-admin' (the hub's admin user, for fleetctl forget only) on vhost $vhost
password in $secrets/zephyr-admin/mqtt-password (mode 0600)

zephyr-admin may write every hatchling's status and heartbeat (to clear them), so it could also
fake them: keep this password with the operator, never on the monitoring host, and give it to no
exporter, watch or events. To retire a hatchling:
MQTT_USERNAME=zephyr-admin MQTT_PASSWORD_FILE=$secrets/zephyr-admin/mqtt-password fleetctl forget NAME
TEXT
else
  cat <<TEXT
added RabbitMQ user '$name' on vhost $vhost
secrets in $secrets/$name (mode 0600); the hub's copy of the key: $secrets/keys/$name.key

For the hatchling's .env (mount $secrets/$name at /run/secrets/hatchling):
HATCHLING_NAME=$name
MQTT_USERNAME=$name
MQTT_PASSWORD_FILE=/run/secrets/hatchling/mqtt-password
FLEET_COMMAND_KEY_FILE=/run/secrets/hatchling/command-key
TEXT
fi
