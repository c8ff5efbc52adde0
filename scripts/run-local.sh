#!/usr/bin/env bash
# Sets up a fresh machine, starts a throwaway mosquitto on 127.0.0.1, and runs one agent against it
# in the foreground. Ctrl-C stops both. Usage: scripts/run-local.sh [NAME] (default: dev)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product hatchling-agent
name="${1:-dev}"
port="${MQTT_PORT:-1883}"
state="$(mktemp -d /tmp/hatchling-local.XXXXXX)"
chmod 755 "$state"
cat > "$state/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence true
persistence_location $state/
user root
log_dest file $state/broker.log
CONF
mosquitto -c "$state/mosquitto.conf" &
broker=$!
agent=
# On exit, and on SIGTERM or SIGINT: the agent first (it announces shutdown), then the broker.
# shellcheck disable=SC2317 # run by the EXIT trap
stop() {
  if [ -n "$agent" ]; then kill -TERM "$agent" 2>/dev/null || true; wait "$agent" 2>/dev/null || true; fi
  kill "$broker" 2>/dev/null || true
  wait "$broker" 2>/dev/null || true
  rm -rf "$state"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for _ in $(seq 100); do
  kill -0 "$broker" 2>/dev/null || break
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
# Our broker must be the one listening, and the only one: another on the port makes ours exit
# (it cannot bind), or, when both set SO_REUSEPORT, takes half the connections.
others=""
if command -v ss >/dev/null; then
  others=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | grep -v "pid=$broker\$" || true)
fi
if ! kill -0 "$broker" 2>/dev/null || [ -n "$others" ]; then
  echo "run-local: another program listens on 127.0.0.1:$port (${others:-mosquitto could not bind}); stop it, or pick another port: MQTT_PORT=18830 scripts/run-local.sh" >&2
  cat "$state/broker.log" >&2 2>/dev/null || true
  exit 1
fi
cat <<TEXT
mosquitto is listening on 127.0.0.1:$port (log: $state/broker.log). In another terminal:
  mosquitto_sub -h 127.0.0.1 -p $port -t 'fleet/$name/#' -v          # watch status, heartbeat, responses
  mosquitto_pub -h 127.0.0.1 -p $port -t fleet/$name/command -m health-check
  mosquitto_pub -h 127.0.0.1 -p $port -t fleet/$name/command -m '{"command":"status-report","id":"c-1"}'
  HATCHLING_AGENT_SOCKET=$state/agent.sock .build/release/hatchling-agent publish task-done --data '{"task":"demo"}'
  HATCHLING_AGENT_SOCKET=$state/agent.sock .build/release/hatchling-agent health
Starting hatchling-agent as '$name' (Ctrl-C to stop)...
TEXT
HATCHLING_AGENT_SOCKET="$state/agent.sock" HATCHLING_NAME="$name" MQTT_HOST=127.0.0.1 MQTT_PORT="$port" HEARTBEAT_INTERVAL="${HEARTBEAT_INTERVAL:-10}" \
  HATCHLING_DATA_DIR="${HATCHLING_DATA_DIR:-$HOME}" .build/release/hatchling-agent &
agent=$!
status=0
wait "$agent" || status=$?
agent=
exit "$status"
