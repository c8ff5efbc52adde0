#!/usr/bin/env bash
# Regenerates scripts/link-order/hatchling-agent.txt: the functions the agent runs, in the order
# callgrind first saw them, which scripts/build-static.sh hands to lld (--symbol-ordering-file) so
# that they sit together in the binary.
#
#   scripts/link-order.sh            # needs valgrind (apt-get install valgrind); about 3 minutes
#
# Why: the kernel maps a file-backed page together with its neighbours in the same 64 KiB
# ("fault-around"), so the agent's resident set is set by how many 64 KiB stretches of .text its
# functions touch, not by how much code runs. About 770 KB of code runs; spread over the 9.4 MiB
# .text it touched 76 stretches (4.9 MiB resident). Ordered, they take about 40. Run again after
# large changes: a stale list is harmless (missing names are skipped), only less tight.
# What is profiled: the supervisor and its worker starting, every command kind, bad input,
# heartbeats every second, a reload, and a SIGTERM shutdown.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "link-order: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
command -v mosquitto >/dev/null || bash scripts/install-deps.sh

swift build -c release --product hatchling-agent --static-swift-stdlib --scratch-path .build-link-order -Xswiftc -Osize \
  -Xswiftc -Xfrontend -Xswiftc -function-sections 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|mktemp' || true
binary=.build-link-order/release/hatchling-agent
[ -x "$binary" ] || { echo "link-order: the agent did not build" >&2; exit 1; }

work=$(mktemp -d /tmp/hatchling-link-order.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -o "$work/driver" Benchmarks/c/driver.c -lmosquitto -lpthread
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n' "$port" > "$work/broker.conf"
mosquitto -c "$work/broker.conf" > "$work/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

HATCHLING_NAME=order MQTT_HOST=127.0.0.1 MQTT_PORT="$port" HEARTBEAT_INTERVAL=1 COMMAND_RATE_LIMIT=0 \
  valgrind --tool=callgrind --demangle=no --trace-children=yes --callgrind-out-file="$work/cg.%p" \
  "$binary" run > "$work/agent.log" 2>&1 &
agent=$!
pids+=("$agent")
"$work/driver" --port "$port" --wait-online 1 --prefix order --timeout 120 > /dev/null \
  || { echo "link-order: the agent did not come online under valgrind; see $work/agent.log" >&2; exit 1; }
for word in version-report status-report health-check config-reload; do
  "$work/driver" --port "$port" --name order -n 30 --start "$RANDOM$RANDOM" --warmup 0 --timeout 300 \
    --req-timeout-ms 30000 --command "$word" > /dev/null || echo "link-order: some $word commands got no answer" >&2
done
mosquitto_pub -p "$port" -t fleet/order/command -m 'not json {'
mosquitto_pub -p "$port" -t fleet/order/command -m 'health-check'
sleep 4
kill -TERM "$agent"
wait "$agent" || true

# Every function callgrind saw (in any process), first sighting first, kept when the binary has it.
readelf -sW "$binary" | awk '$4 == "FUNC" && $7 != "UND" { print $8 }' | sort -u > "$work/defined.txt"
cat "$work"/cg.* | grep -oE '^c?fn=\([0-9]+\) .*' | sed -E 's/^c?fn=\([0-9]+\) //' | awk '!seen[$0]++' \
  | awk 'NR == FNR { defined[$0] = 1; next } defined[$0]' "$work/defined.txt" - > scripts/link-order/hatchling-agent.txt
echo "link-order: $(wc -l < scripts/link-order/hatchling-agent.txt) functions in scripts/link-order/hatchling-agent.txt"
