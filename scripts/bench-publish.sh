#!/usr/bin/env bash
# Round trip of one event, from process start to the broker's PUBACK (the command exits then):
# `hatchling-agent publish` through a running agent, against what bus-publish ran, `mosquitto_pub -q 1`
# (connect, publish, PUBACK, disconnect), in the same run, interleaved. Never part of the tests.
# Usage: scripts/bench-publish.sh [ROUNDS] (default 300). See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-300}"
agent="${AGENT_BIN:-.build/release/hatchling-agent}"
[ -x "$agent" ] || swift build -c release --product hatchling-agent --static-swift-stdlib
state="$(mktemp -d /tmp/hatchling-bench-publish.XXXXXX)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n' "$port" > "$state/mosquitto.conf"
mosquitto -c "$state/mosquitto.conf" > "$state/broker.log" 2>&1 &
broker=$!
agent_pid=
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  kill "$broker" 2>/dev/null; wait "$broker" 2>/dev/null
  rm -rf "$state"
}
trap cleanup EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
export HATCHLING_AGENT_SOCKET="$state/agent.sock"
HATCHLING_NAME=bench MQTT_HOST=127.0.0.1 MQTT_PORT="$port" EVENT_RATE_LIMIT=0 LOG_LEVEL=warning HATCHLING_DATA_DIR="$state" \
  "$agent" run --no-supervisor 2> "$state/agent.log" &
agent_pid=$!
for _ in $(seq 200); do "$agent" health >/dev/null 2>&1 && break; sleep 0.05; done
python3 - "$rounds" "$agent" "$port" "$HATCHLING_AGENT_SOCKET" <<'PY'
import socket, statistics, subprocess, sys, time
rounds, agent, port = int(sys.argv[1]), sys.argv[2], sys.argv[3]
subjects = {
    "hatchling-agent publish": [agent, "publish", "bench-done", "--data", '{"round":1}'],
    "mosquitto_pub -q 1 (bus-publish)": ["mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-q", "1", "-t", "fleet/bench/event",
                                         "-m", '{"v":1,"event":"bench-done","data":{"round":1}}'],
}
def over_socket():
    # The agent's own part: connect, request, checks, publish, PUBACK, answer (no process start).
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sys.argv[4])
        s.sendall(b'{"v":1,"op":"publish","event":"bench-done","data":{"round":1}}\n')
        answer = b""
        while not answer.endswith(b"\n"):
            answer += s.recv(256)
        assert b'"ok":true' in answer, answer
times = {name: [] for name in subjects}
times["the socket alone (no process start)"] = []
for _ in range(10):  # warm the page cache
    for argv in subjects.values(): subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
for _ in range(rounds):
    for name, argv in subjects.items():
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times[name].append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    over_socket()
    times["the socket alone (no process start)"].append((time.perf_counter() - start) * 1000)
def q(values, p): return sorted(values)[min(len(values) - 1, int(p * len(values)))]
base = times["mosquitto_pub -q 1 (bus-publish)"]
print(f"{rounds} rounds each, interleaved; process start to exit (after the PUBACK), ms")
start = time.perf_counter()
for _ in range(50): subprocess.run([agent, "--version"], stdout=subprocess.DEVNULL)
print(f"(process start and exit of hatchling-agent --version alone: {(time.perf_counter() - start) * 20:.2f} ms)")
print(f"{'subject':36} {'p50':>7} {'p90':>7} {'p99':>7}  ratio p50")
for name, values in times.items():
    print(f"{name:36} {q(values,.5):7.2f} {q(values,.9):7.2f} {q(values,.99):7.2f}  {statistics.median(values)/statistics.median(base):.2f}x")
PY
