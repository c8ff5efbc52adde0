#!/usr/bin/env bash
# One-time setup of a RabbitMQ node or cluster as the fleet bus (run once per cluster, on any node,
# after the nodes have joined; safe to run again):
#   - a policy that mirrors every MQTT session queue (mqtt-subscription-<client id>qos0/qos1) to
#     all nodes and keeps the copies in sync, so a hatchling's queued commands survive the death of
#     the node that held its queue (classic mirrored queues; see docs/scaling.md);
#   - no guest user.
# Then add users with add-hatchling.sh.
#
# Environment: RABBITMQCTL (default rabbitmqctl), RABBITMQ_NODE (a node name for rabbitmqctl -n;
# default: rabbitmqctl's own), RABBITMQ_VHOST (default /, as mqtt.vhost in rabbitmq.conf).
set -euo pipefail
read -r -a ctl <<< "${RABBITMQCTL:-rabbitmqctl}"
[ -z "${RABBITMQ_NODE:-}" ] || ctl+=(-n "$RABBITMQ_NODE")
vhost="${RABBITMQ_VHOST:-/}"

"${ctl[@]}" -q set_policy -p "$vhost" --apply-to queues --priority 10 \
  hatchling-sessions '^mqtt-subscription-' '{"ha-mode":"all","ha-sync-mode":"automatic"}'
# grep without -q reads all of its input: with -q it can exit at the first match and, under
# pipefail, a large list_users then dies of SIGPIPE (141), taken as "no guest".
if "${ctl[@]}" -q list_users --no-table-headers | cut -f1 | grep -xF -- guest > /dev/null; then
  "${ctl[@]}" -q delete_user guest
fi
echo "policy hatchling-sessions set on vhost $vhost; guest user absent"
