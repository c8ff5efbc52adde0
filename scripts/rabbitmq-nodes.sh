#!/usr/bin/env bash
# Starts and stops the RabbitMQ nodes the integration tests use: one standalone node (a) and a
# two-node cluster (b, c) with the mirrored session-queue policy, all with the MQTT plugin, set up
# from template/rabbitmq, on free 127.0.0.1 ports, with a private epmd (so they never meet another
# worktree's nodes). Node start is slow (20-30 s on an idle 2-core machine, about 100 s on a loaded
# one): all three start at once, in the background.
#
# Usage:
#   rabbitmq-nodes.sh start DIR [--stop-with PID]   start the nodes, wait until all are up, then
#                                                   write DIR/rabbitmq.env (KEY=VALUE lines)
#   rabbitmq-nodes.sh stop DIR                      stop every node and the epmd by their pids
#
# --stop-with PID: a watcher stops the nodes once PID has exited (the tests use it when they start
# the nodes themselves, having no hook at the end of a run).
# DIR/rabbitmq.env appears only when everything is up; DIR/failed holds the reason if start failed.
# Every node's log is in DIR/<node>/log.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
template="$here/../template/rabbitmq"
rabbit_bin=/usr/lib/rabbitmq/bin
nodes=(a b c)

usage() {
  echo "usage: rabbitmq-nodes.sh start DIR [--stop-with PID] | stop DIR" >&2
  exit 2
}

# N distinct free TCP ports on 127.0.0.1 (bound at once, so no two are the same).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
sockets = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
print(" ".join(str(s.getsockname()[1]) for s in sockets))
PY
}

# Runs rabbitmqctl against this directory's epmd and cookie.
ctl() {
  "$dir/ctl" "$@"
}

# A node's Erlang VM: from its pid file, or (when stopped before the node wrote it) the child of
# its rabbitmq-server wrapper.
node_pids() {
  local node="$1" pid wrapper
  pid="$(cat "$dir/$node/pid" 2>/dev/null || true)"
  [ -z "$pid" ] || echo "$pid"
  wrapper="$(cat "$dir/$node/wrapper.pid" 2>/dev/null || true)"
  if [ -n "$wrapper" ] && kill -0 "$wrapper" 2>/dev/null; then pgrep -P "$wrapper" || true; fi
}

stop_nodes() {
  local pid pids=()
  for node in "${nodes[@]}"; do
    while read -r pid; do [ -z "$pid" ] || pids+=("$pid"); done < <(node_pids "$node")
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  # The shell wrappers (rabbitmq-server) exit with their node; kill any left by pid.
  for node in "${nodes[@]}"; do
    pid="$(cat "$dir/$node/wrapper.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  pid="$(cat "$dir/epmd.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  # A start still under way (stopped early): it, and the process groups of its rabbitmqctl waits.
  pid="$(cat "$dir/start.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && [ "$pid" != "$$" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  for node in "${nodes[@]}"; do
    pid="$(cat "$dir/$node/wait.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && [ "$pid" != "$$" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  done
  pid="$(cat "$dir/watcher.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && [ "$pid" != "$PPID" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  rm -f "$dir/rabbitmq.env"
}

fail() {
  echo "rabbitmq-nodes: $*" >&2
  printf '%s\n' "$*" > "$dir/failed"
  stop_nodes
  exit 1
}

start_node() {
  local node="$1" mqtt_port="$2" amqp_port="$3" dist_port="$4"
  local base="$dir/$node"
  mkdir -p "$base/mnesia" "$base/log"
  # The template's configuration, with the listeners moved to this node's loopback ports.
  sed -e "s|^mqtt\.listeners\.tcp\.default *=.*|mqtt.listeners.tcp.default = 127.0.0.1:$mqtt_port|" \
    -e "s|^listeners\.tcp\.default *=.*|listeners.tcp.default = 127.0.0.1:$amqp_port|" \
    "$template/rabbitmq.conf" > "$base/rabbitmq.conf"
  grep -q "^mqtt.listeners.tcp.default = 127.0.0.1:$mqtt_port$" "$base/rabbitmq.conf" || fail "template/rabbitmq/rabbitmq.conf has no mqtt.listeners.tcp.default line"
  cp "$template/enabled_plugins" "$base/enabled_plugins"
  (
    cd "$base"
    export HOME="$dir/home" ERL_EPMD_PORT="$epmd_port"
    export RABBITMQ_NODENAME="$node@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT="$amqp_port" RABBITMQ_DIST_PORT="$dist_port"
    export RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/log"
    export RABBITMQ_CONFIG_FILE="$base/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$base/advanced.config" RABBITMQ_CONF_ENV_FILE=/dev/null
    export RABBITMQ_PID_FILE="$base/pid"
    # Schedulers that sleep instead of spinning: three nodes share two cores with a Swift build.
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none"
    exec setsid -w "$rabbit_bin/rabbitmq-server" > "$base/stdout.log" 2>&1 < /dev/null
  ) &
  echo $! > "$base/wrapper.pid"
}

start() {
  [ -x "$rabbit_bin/rabbitmq-server" ] || fail "RabbitMQ is not installed (scripts/install-deps.sh installs rabbitmq-server)"
  command -v epmd >/dev/null || fail "epmd is not installed (erlang-base)"
  rm -f "$dir/failed" "$dir/rabbitmq.env"
  echo $$ > "$dir/start.pid"
  mkdir -p "$dir/home"
  umask 077
  [ -f "$dir/home/.erlang.cookie" ] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/home/.erlang.cookie"; }
  chmod 0400 "$dir/home/.erlang.cookie"
  umask 022

  local ports
  read -r -a ports <<< "$(free_ports 10)"
  epmd_port="${ports[0]}"
  # A private epmd, started (and later stopped) by us.
  setsid -w epmd -port "$epmd_port" > "$dir/epmd.log" 2>&1 < /dev/null &
  echo $! > "$dir/epmd.pid"

  cat > "$dir/ctl" <<CTL
#!/bin/sh
# rabbitmqctl for the test nodes in this directory (their epmd and Erlang cookie).
HOME='$dir/home' ERL_EPMD_PORT='$epmd_port' exec $rabbit_bin/rabbitmqctl "\$@"
CTL
  chmod 0755 "$dir/ctl"
  for _ in $(seq 1 100); do
    ERL_EPMD_PORT="$epmd_port" epmd -port "$epmd_port" -names >/dev/null 2>&1 && break
    sleep 0.1
  done

  local i=1
  declare -A mqtt_port
  for node in "${nodes[@]}"; do
    mqtt_port[$node]="${ports[$i]}"
    start_node "$node" "${ports[$i]}" "${ports[$((i + 1))]}" "${ports[$((i + 2))]}"
    i=$((i + 3))
  done

  local started=$SECONDS
  local waits=()
  for node in "${nodes[@]}"; do
    # In a process group of its own, so that an early stop can end the whole rabbitmqctl wait.
    setsid -w timeout 400 "$dir/ctl" -n "$node@localhost" -q wait --timeout 390 "$dir/$node/pid" > "$dir/$node/wait.log" 2>&1 < /dev/null &
    waits+=($!)
    echo $! > "$dir/$node/wait.pid"
  done
  i=0
  for node in "${nodes[@]}"; do
    wait "${waits[$i]}" || fail "node $node@localhost did not start: see $dir/$node/log and $dir/$node/stdout.log"
    i=$((i + 1))
  done
  local up=$((SECONDS - started))

  # The template's own setup (template/rabbitmq/setup.sh) on the standalone node, meanwhile the
  # cluster forms (c joins b) and gets the same setup; the policy is cluster-wide.
  RABBITMQCTL="$dir/ctl" RABBITMQ_NODE=a@localhost "$template/setup.sh" > "$dir/a/setup.log" 2>&1 &
  local setup_a=$!
  ctl -n c@localhost -q stop_app > /dev/null || fail "stop_app on c"
  ctl -n c@localhost -q join_cluster b@localhost > /dev/null || fail "join_cluster c -> b"
  ctl -n c@localhost -q start_app > /dev/null || fail "start_app on c"
  RABBITMQCTL="$dir/ctl" RABBITMQ_NODE=b@localhost "$template/setup.sh" > "$dir/b/setup.log" 2>&1 || fail "template setup on b: $(cat "$dir/b/setup.log")"
  wait "$setup_a" || fail "template setup on a: $(cat "$dir/a/setup.log")"

  {
    echo "RABBITMQ_CTL=$dir/ctl"
    echo "RABBITMQ_EPMD_PORT=$epmd_port"
    echo "RABBITMQ_EPMD_PID=$(cat "$dir/epmd.pid")"
    echo "RABBITMQ_STANDALONE_NODE=a@localhost"
    echo "RABBITMQ_STANDALONE_MQTT_PORT=${mqtt_port[a]}"
    echo "RABBITMQ_STANDALONE_PID=$(cat "$dir/a/pid")"
    echo "RABBITMQ_CLUSTER_B_NODE=b@localhost"
    echo "RABBITMQ_CLUSTER_B_MQTT_PORT=${mqtt_port[b]}"
    echo "RABBITMQ_CLUSTER_B_PID=$(cat "$dir/b/pid")"
    echo "RABBITMQ_CLUSTER_C_NODE=c@localhost"
    echo "RABBITMQ_CLUSTER_C_MQTT_PORT=${mqtt_port[c]}"
    echo "RABBITMQ_CLUSTER_C_PID=$(cat "$dir/c/pid")"
    echo "RABBITMQ_DIR=$dir"
    echo "RABBITMQ_STARTUP_SECONDS=$((SECONDS - started))"
  } > "$dir/rabbitmq.env.tmp"
  mv "$dir/rabbitmq.env.tmp" "$dir/rabbitmq.env"
  echo "rabbitmq-nodes: 3 nodes up in ${up} s (cluster and policy in $((SECONDS - started)) s); env in $dir/rabbitmq.env"
}

command="${1:-}"
dir="${2:-}"
if [ -z "$command" ] || [ -z "$dir" ]; then usage; fi
case "$dir" in *[[:space:]]*) echo "rabbitmq-nodes: DIR must not contain spaces" >&2; exit 2 ;; esac
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
epmd_port=""

case "$command" in
  start)
    if [ "${3:-}" = "--stop-with" ]; then
      parent="${4:?--stop-with needs a PID}"
      # The watcher: stops everything once the parent has gone (or the start failed).
      (
        trap '' HUP
        while kill -0 "$parent" 2>/dev/null; do sleep 2; done
        "$here/rabbitmq-nodes.sh" stop "$dir" > /dev/null 2>&1
      ) < /dev/null > /dev/null 2>&1 &
      echo $! > "$dir/watcher.pid"
    elif [ -n "${3:-}" ]; then
      usage
    fi
    start
    ;;
  stop)
    stop_nodes
    ;;
  *)
    usage
    ;;
esac
