#!/usr/bin/env bash
# Soak benchmark (never part of the tests): one agent, COMMANDS back-to-back commands (default one
# million, alternating status-report, which builds a full heartbeat, and version-report) with
# heartbeats every second, sampling the agent's RSS and open descriptors every ROUND commands.
# Passes when RSS grew less than 2 MiB from the first sample after warm-up and descriptors stayed flat.
#   scripts/soak.sh [COMMANDS] [ROUND]      (AGENT_BIN overrides the agent binary)
set -euo pipefail
cd "$(dirname "$0")/.."
total="${1:-1000000}"
round="${2:-50000}"
agent_bin="${AGENT_BIN:-.build/release/hatchling-agent}"
[ -x "$agent_bin" ] || swift build -c release --product hatchling-agent
work="$(mktemp -d /tmp/hatchling-soak.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cc -O2 -o "$work/driver" Benchmarks/c/driver.c -lmosquitto -lpthread
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nuser root\nmax_queued_messages 100000\n' "$port" > "$work/m.conf"
mosquitto -c "$work/m.conf" >"$work/broker.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
HATCHLING_NAME=soak MQTT_HOST=127.0.0.1 MQTT_PORT="$port" COMMAND_RATE_LIMIT=0 HEARTBEAT_INTERVAL=1 \
  HATCHLING_DATA_DIR=/tmp LOG_LEVEL=warning "$agent_bin" run --no-supervisor >"$work/agent.log" 2>&1 & agent=$!; pids+=("$agent")
sleep 1
sample() { echo "$(awk '/VmRSS/ {print $2}' /proc/$agent/status) $(ls /proc/$agent/fd | wc -l)"; }
printf '%10s %10s %8s %10s %8s\n' commands rss_kib fds p50_us rate_s
done_count=0
first_rss=""
first_fds=""
started=$(date +%s)
while [ "$done_count" -lt "$total" ]; do
  n=$(( round < total - done_count ? round : total - done_count ))
  word=status-report
  [ $(( (done_count / round) % 2 )) -eq 1 ] && word=version-report
  out=$("$work/driver" --host 127.0.0.1 --port "$port" --name soak --command "$word" -n "$n" --start "$done_count")
  done_count=$(( done_count + n ))
  read -r rss fds <<<"$(sample)"
  p50=$(sed -E 's/.*"p50_us":([0-9.]+).*/\1/' <<<"$out")
  rate=$(sed -E 's/.*"rate_per_s":([0-9.]+).*/\1/' <<<"$out")
  fails=$(sed -E 's/.*"failures":([0-9]+).*/\1/' <<<"$out")
  [ "$fails" = 0 ] || echo "soak: $fails commands without an answer in this round" >&2
  [ -n "$first_rss" ] || { first_rss=$rss; first_fds=$fds; }
  printf '%10s %10s %8s %10s %8s\n' "$done_count" "$rss" "$fds" "$p50" "$rate"
done
growth=$(( rss - first_rss ))
echo "soak: $done_count commands in $(( $(date +%s) - started )) s; RSS $first_rss -> $rss KiB (growth $growth KiB); fds $first_fds -> $fds"
[ "$growth" -lt 2048 ] && [ "$fds" -le "$first_fds" ] && echo "soak: PASS (growth under 2 MiB, descriptors flat)" && exit 0
echo "soak: FAIL" ; exit 1
