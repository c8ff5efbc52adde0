#!/usr/bin/env bash
# The hub at fleet scale (issue 16): fleetctl status, send --all, one exporter scrape and watch's
# CPU against 1,000 to 50,000 simulated hatchlings on a private mosquitto. Never part of the tests.
set -euo pipefail

usage() {
  cat <<'TEXT'
Usage: scripts/bench-fleet.sh [--sizes 1000,10000,50000] [--json FILE] [--scrapes K] [--watch-seconds S]
                              [--send-timeout S] [--scrape-timeout S] [--template-limits] [--help]

Starts its own mosquitto on a free 127.0.0.1 port, compiles the simulator
(Benchmarks/fleet-sim/fleet-sim.c: N hatchlings on one libmosquitto connection) into a temporary
folder and, for each size N (default 1000,10000,50000):

  1. seed: a retained online status and heartbeat per hatchling (sim-00001 ..), QoS 1, pipelined;
     heartbeats claim interval_s 3600, so no hatchling turns stale while a size is measured;
  2. fleetctl status --json: wall time, peak RSS, CPU; checks that it lists all N online;
  3. fleetctl send --all version-report --json, the simulator answering for every hatchling
     (N responses with the request's id and correlation data): wall time, peak RSS, answers
     gathered, and the gap between the broker's PUBACK of the simulator's last answer and
     fleetctl's exit ("gathered X s after the last answer was published");
  4. fleetctl exporter: started, waited for until connected (its snapshot is applied then), then
     K scrapes of /metrics (default 3) with curl, each bounded by --scrape-timeout (default 60 s;
     over it: "timeout", and no more scrapes); series counted, the exporter's RSS and peak RSS;
  5. fleetctl watch with live heartbeats (the simulator sends N/30 a second, a fleet at a 30 s
     interval): time to its first frame, then CPU seconds per wall second over --watch-seconds
     (default 10) from /proc/PID/stat, on a pseudo-terminal (TERM=xterm: redraws) and with its
     output to /dev/null (not a terminal: frames appended when the fleet changed);
  6. clear: the retained messages are removed.

Every wait is bounded; everything started is stopped by pid. Prints a table; --json FILE writes
every figure (flat keys, as scripts/bench.sh does).

The broker is configured so that nothing is dropped at 50,000 (max_queued_messages 0,
max_inflight_messages 1000, no message size limit, no persistence). --template-limits runs with the
template broker's limits instead (template/mosquitto/mosquitto.conf: max_queued_messages 1000,
max_inflight_messages 20, message_size_limit 65536), to see what a deployed broker does.

fleetctl is ${FLEETCTL_BIN:-.build/release/fleetctl}; only when that file is missing is it built:
flock /tmp/swift-build.lock swift build -c release --product fleetctl
Needs mosquitto, libmosquitto-dev, cc, curl and python3. BENCH_KEEP=1 keeps the temporary folder.
TEXT
}

SIZES="1000,10000,50000"
JSON_OUT=""
SCRAPES=3
WATCH_S=10
SEND_TIMEOUT=120
SCRAPE_TIMEOUT=60
TEMPLATE_LIMITS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) [ $# -ge 2 ] || { echo "bench-fleet.sh: --sizes needs a list" >&2; exit 2; }; SIZES="$2"; shift ;;
    --sizes=*) SIZES="${1#--sizes=}" ;;
    --json) [ $# -ge 2 ] || { echo "bench-fleet.sh: --json needs a file" >&2; exit 2; }; JSON_OUT="$2"; shift ;;
    --json=*) JSON_OUT="${1#--json=}" ;;
    --scrapes) [ $# -ge 2 ] || exit 2; SCRAPES="$2"; shift ;;
    --watch-seconds) [ $# -ge 2 ] || exit 2; WATCH_S="$2"; shift ;;
    --send-timeout) [ $# -ge 2 ] || exit 2; SEND_TIMEOUT="$2"; shift ;;
    --scrape-timeout) [ $# -ge 2 ] || exit 2; SCRAPE_TIMEOUT="$2"; shift ;;
    --template-limits) TEMPLATE_LIMITS=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-fleet.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
IFS=',' read -r -a SIZE_LIST <<<"$SIZES"
for n in "${SIZE_LIST[@]}" "$SCRAPES" "$WATCH_S" "$SEND_TIMEOUT" "$SCRAPE_TIMEOUT"; do
  if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -eq 0 ]; then echo "bench-fleet.sh: '$n' is not a positive whole number" >&2; exit 2; fi
done
[ -n "$JSON_OUT" ] && case "$JSON_OUT" in /*) ;; *) JSON_OUT="$PWD/$JSON_OUT" ;; esac

cd "$(dirname "$0")/.."
ROOT="$PWD"
FLEETCTL="${FLEETCTL_BIN:-.build/release/fleetctl}"
case "$FLEETCTL" in /*) ;; *) FLEETCTL="$ROOT/$FLEETCTL" ;; esac
if [ ! -x "$FLEETCTL" ]; then
  echo "bench-fleet.sh: $FLEETCTL is missing; building it (flock /tmp/swift-build.lock swift build -c release --product fleetctl)" >&2
  flock /tmp/swift-build.lock swift build -c release --product fleetctl
  FLEETCTL="$ROOT/.build/release/fleetctl"
fi
for tool in cc curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-fleet.sh: needs $tool" >&2; exit 2; }
done
MOSQUITTO="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
if [ ! -x "$MOSQUITTO" ] || [ ! -f /usr/include/mosquitto.h ]; then echo "bench-fleet.sh: needs mosquitto and libmosquitto-dev" >&2; exit 2; fi
GNU_TIME=""
[ -x /usr/bin/time ] && /usr/bin/time -f '%M' -o /dev/null true 2>/dev/null && GNU_TIME=/usr/bin/time

T_BEGIN=$(date +%s)
LOAD_BEGIN=$(cut -d' ' -f1-3 /proc/loadavg)
WORK="$(mktemp -d /tmp/fleet-bench.XXXXXX)"
LOG="$WORK/bench.log"
: > "$LOG"
declare -A LIVE=()  # pid -> what, for every process this script started and has not reaped
BROKER_PID=""
PROBLEMS=0  # steps that failed outright (not slow results): the exit status is 1 then

note() { echo "bench-fleet: $*" >&2; echo "bench-fleet: $*" >> "$LOG"; }

stop_pid() { # pid [seconds]: SIGTERM, wait up to seconds, then SIGKILL; reaps. Prints how it ended.
  local pid="$1" limit="${2:-5}" i how="term"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then
    note "pid $pid (${LIVE[$pid]:-?}) needed SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; how="kill"
  fi
  wait "$pid" 2>/dev/null || true
  unset "LIVE[$pid]"
  echo "$how"
}
cleanup() {
  local rc=$? pid i any
  trap - EXIT INT TERM
  for pid in "${!LIVE[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do
    any=0
    for pid in "${!LIVE[@]}"; do kill -0 "$pid" 2>/dev/null && { any=1; break; }; done
    [ "$any" = 0 ] && break
    sleep 0.1
  done
  for pid in "${!LIVE[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then echo "bench-fleet: logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  # Below the kernel's ephemeral range (as scripts/bench.sh does): a port from that range may be
  # any client's local port at the moment the broker binds it.
  local p i low
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "${low:-0}" -gt 21024 ] || low=32768
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % (low - 20000)))
    port_open "$p" || { echo "$p"; return 0; }
  done
  echo "bench-fleet: no free port found" >&2; return 1
}
calc() { awk "BEGIN{printf \"%.${2:-2}f\", ($1)}"; }
jget() { sed -n "s/.*\"$2\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" <<<"$1" | head -1 | tr -d '"'; }
now_ns() { date +%s%N; }
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{sub(/.*\) /,""); print $12+$13}' "/proc/$1/stat" 2>/dev/null || echo 0; }
wchar() { awk '/^wchar:/{print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { [ -n "$1" ] && [ "$1" != null ] && calc "$1/1024" 1 || echo null; }

# ---------------------------------------------------------------- figures (JSON) and table rows
declare -A FIG=()
FIG_KEYS=()
fig() { # key value (numbers stay numbers; anything else is quoted)
  [ -n "${FIG[$1]+x}" ] || FIG_KEYS+=("$1")
  FIG[$1]="$2"
}
g() { echo "${FIG[$1]:-null}"; }

# ---------------------------------------------------------------- the simulator and the broker
CC="${CC:-cc}"
"$CC" -O2 -Wall -o "$WORK/fleet-sim" Benchmarks/fleet-sim/fleet-sim.c -lmosquitto -lpthread
SIM="$WORK/fleet-sim"

PORT="$(free_port)"
{
  echo "listener $PORT 127.0.0.1"
  echo "allow_anonymous true"
  echo "set_tcp_nodelay true"
  echo "persistence false"
  if [ "$TEMPLATE_LIMITS" = 1 ]; then
    echo "max_queued_messages 1000"
    echo "max_inflight_messages 20"
    echo "message_size_limit 65536"
  else
    # send --all: N answers reach fleetctl's one QoS 1 subscription at once; none may be dropped.
    echo "max_queued_messages 0"
    echo "max_queued_bytes 0"
    echo "max_inflight_messages 1000"
    echo "message_size_limit 0"
  fi
} > "$WORK/mosquitto.conf"
[ "$(id -u)" = 0 ] && echo "user root" >> "$WORK/mosquitto.conf"
"$MOSQUITTO" -c "$WORK/mosquitto.conf" >> "$WORK/broker.log" 2>&1 &
BROKER_PID=$!
LIVE[$BROKER_PID]=broker
for ((i = 0; i < 200; i++)); do port_open "$PORT" && break; sleep 0.01; done
port_open "$PORT" || { note "mosquitto did not listen on $PORT within 2 s (see $WORK/broker.log)"; exit 1; }
unset MQTT_USERNAME MQTT_PASSWORD MQTT_PASSWORD_FILE MQTT_TLS_CA MQTT_TLS_CERT MQTT_TLS_KEY MQTT_TOPIC_ROOT \
  MQTT_BROADCAST_TOPIC MQTT_PROTOCOL FLEET_KEY_DIR || true
export MQTT_HOST=127.0.0.1 MQTT_PORT="$PORT"
S=("$SIM" --host 127.0.0.1 --port "$PORT")
note "fleetctl $FLEETCTL; broker 127.0.0.1:$PORT ($( [ "$TEMPLATE_LIMITS" = 1 ] && echo template || echo raised) limits); work $WORK"

# Runs a command with a time limit; sets M_WALL (s), M_RSS (KiB, peak), M_CPU (s), M_RC, M_END (ns).
# /usr/bin/time -f %M when GNU time is there (peak RSS of the command), else VmHWM polled from /proc.
measure() { # limit_s out err -- cmd...
  local limit="$1" out="$2" err="$3" t0 pid hwm=0 h
  shift 4
  t0=$(now_ns)
  if [ -n "$GNU_TIME" ]; then
    M_RC=0
    "$GNU_TIME" -f '%M %U %S' -o "$WORK/time.txt" timeout -k 5 "$limit" "$@" > "$out" 2> "$err" || M_RC=$?
    M_END=$(now_ns)
    read -r M_RSS u s < <(tail -1 "$WORK/time.txt")
    M_CPU=$(calc "$u+$s" 2)
  else
    timeout -k 5 "$limit" "$@" > "$out" 2> "$err" &
    pid=$!; LIVE[$pid]="measured $1"
    while kill -0 "$pid" 2>/dev/null; do
      h=$(hwm_kb "$(awk '{print $1}' "/proc/$pid/task/$pid/children" 2>/dev/null)" 2>/dev/null || echo 0)
      [ "${h:-0}" -gt "$hwm" ] && hwm=$h
      sleep 0.02
    done
    M_RC=0; wait "$pid" || M_RC=$?; unset "LIVE[$pid]"
    M_END=$(now_ns)
    M_RSS=$hwm; M_CPU=null
  fi
  M_WALL=$(calc "($M_END-$t0)/1e9" 3)
}

# Waits until FILE contains PATTERN (grep -E), at most S seconds; returns 1 on timeout.
wait_for() { # file pattern seconds
  local i
  for ((i = 0; i < $3 * 20; i++)); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

# ---------------------------------------------------------------- one size
run_size() {
  local N=$1 K="n$1" out rc
  note "---- $N hatchlings"

  # 1. seed
  rc=0
  out=$(timeout -k 5 330 "${S[@]}" seed -n "$N" --interval 3600 --timeout 300 2>>"$LOG") || rc=$?
  echo "seed $N: $out (rc $rc)" >> "$LOG"
  fig "$K.seed_s" "$(jget "$out" seconds)"
  fig "$K.seed_acked" "$(jget "$out" acked)"
  if [ "$rc" != 0 ]; then note "seeding $N failed (rc $rc): $out"; PROBLEMS=$((PROBLEMS + 1)); fig "$K.seed_ok" false; return 0; fi
  fig "$K.seed_ok" true
  fig "$K.broker_rss_kib" "$(rss_kb "$BROKER_PID")"

  # 2. status --json
  measure 300 "$WORK/status-$N.json" "$WORK/status-$N.err" -- "$FLEETCTL" status --json
  fig "$K.status.wall_s" "$M_WALL"; fig "$K.status.peak_rss_kib" "$M_RSS"; fig "$K.status.cpu_s" "$M_CPU"
  fig "$K.status.exit" "$M_RC"
  out=$(python3 - "$WORK/status-$N.json" <<'PY' 2>>"$LOG" || echo "0 0"
import json, sys
d = json.load(open(sys.argv[1]))
h = [x for x in d["hatchlings"] if x["name"].startswith("sim-")]
print(len(h), sum(1 for x in h if x["state"] == "online"))
PY
)
  read -r listed online <<<"$out"
  fig "$K.status.listed" "$listed"; fig "$K.status.online" "$online"
  [ "$M_RC" = 124 ] && fig "$K.status.wall_s" timeout
  note "status: $M_WALL s, peak RSS $(mib "$M_RSS") MiB, listed $listed, online $online (exit $M_RC)"

  # 3. send --all version-report, the simulator answering
  local sim_pid ans="$WORK/answer-$N.out"
  "${S[@]}" answer -n "$N" --count 1 --timeout $((SEND_TIMEOUT + 60)) > "$ans" 2>>"$LOG" &
  sim_pid=$!; LIVE[$sim_pid]=sim-answer
  if ! wait_for "$ans" '"ready"' 10; then note "the simulator did not subscribe within 10 s"; fi
  measure $((SEND_TIMEOUT + 30)) "$WORK/send-$N.json" "$WORK/send-$N.err" -- \
    "$FLEETCTL" send --all version-report --json --timeout "$SEND_TIMEOUT"
  fig "$K.send.wall_s" "$M_WALL"; fig "$K.send.peak_rss_kib" "$M_RSS"; fig "$K.send.cpu_s" "$M_CPU"
  fig "$K.send.exit" "$M_RC"
  [ "$M_RC" = 124 ] && fig "$K.send.wall_s" timeout
  local send_end=$M_END
  wait_for "$ans" '"answered"' 10 || note "the simulator did not report its answers"
  stop_pid "$sim_pid" 5 > /dev/null
  out=$(grep '"answered"' "$ans" | head -1 || true)
  echo "answer $N: $out" >> "$LOG"
  local received last_pub last_ack
  received=$(jget "$out" received_ns); last_pub=$(jget "$out" last_publish_ns); last_ack=$(jget "$out" last_puback_ns)
  out=$(python3 - "$WORK/send-$N.json" <<'PY' 2>>"$LOG" || echo "0 0 0 0"
import json, sys
d = json.load(open(sys.argv[1]))
a = d["answers"]
print(len(d["expected"]), sum(1 for x in a if x["expected"] and x["ok"]), len(d["missing"]),
      max((x["latency_ms"] for x in a), default=0))
PY
)
  local expected gathered missing max_lat
  read -r expected gathered missing max_lat <<<"$out"
  fig "$K.send.expected" "$expected"; fig "$K.send.gathered" "$gathered"; fig "$K.send.missing" "$missing"
  fig "$K.send.last_answer_latency_ms" "$max_lat"
  # The wait ran out: an answer is missing, or one is stamped after --timeout (taken from the inbox
  # after the deadline).
  if [ "${missing:-0}" != 0 ] || [ "${max_lat:-0}" -ge $((SEND_TIMEOUT * 1000)) ]; then
    fig "$K.send.hit_own_timeout" true
  else
    fig "$K.send.hit_own_timeout" false
  fi
  if [ -n "$last_ack" ] && [ -n "$received" ]; then
    fig "$K.send.sim_publish_s" "$(calc "($last_ack-$received)/1e9" 3)"
    fig "$K.send.exit_after_last_puback_s" "$(calc "($send_end-$last_ack)/1e9" 3)"
    fig "$K.send.exit_after_last_publish_call_s" "$(calc "($send_end-$last_pub)/1e9" 3)"
  else
    fig "$K.send.sim_publish_s" null; fig "$K.send.exit_after_last_puback_s" null
  fi
  note "send --all: $M_WALL s, gathered $gathered/$N (missing $missing), simulator published in $(g "$K.send.sim_publish_s") s, fleetctl exited $(g "$K.send.exit_after_last_puback_s") s after the last PUBACK (exit $M_RC)"

  # 4. exporter: connected (snapshot applied), then scrapes
  local exp_pid elog="$WORK/exporter-$N.log" eport s code t size up up1 series
  "$FLEETCTL" exporter --listen 127.0.0.1:0 2> "$elog" > /dev/null &
  exp_pid=$!; LIVE[$exp_pid]=exporter
  local t0 ready=1
  t0=$(now_ns)
  wait_for "$elog" 'connected to' 180 || ready=0
  fig "$K.exporter.connect_s" "$( [ "$ready" = 1 ] && calc "($(now_ns)-$t0)/1e9" 3 || echo timeout)"
  eport=$(sed -n 's#.*serving http://[^ ]*:\([0-9][0-9]*\)/metrics.*#\1#p' "$elog" | head -1)
  fig "$K.exporter.rss_before_scrape_kib" "$(rss_kb "$exp_pid")"
  local scrapes=()
  for ((s = 1; s <= SCRAPES; s++)); do
    if [ "$ready" != 1 ] || [ -z "$eport" ]; then scrapes+=(skipped); fig "$K.exporter.scrape$s.s" skipped; continue; fi
    code=0
    out=$(curl -s -o "$WORK/metrics-$N.txt" --max-time "$SCRAPE_TIMEOUT" -w '%{http_code} %{time_total} %{size_download}' \
      "http://127.0.0.1:$eport/metrics") || code=$?
    read -r _ t size <<<"$out"
    if [ "$code" = 28 ]; then
      scrapes+=(timeout); fig "$K.exporter.scrape$s.s" timeout; ready=0
      note "scrape $s: over $SCRAPE_TIMEOUT s (timeout); no more scrapes at $N"
      continue
    elif [ "$code" != 0 ]; then
      scrapes+=("error"); fig "$K.exporter.scrape$s.s" "curl-error-$code"; ready=0; continue
    fi
    scrapes+=("$(calc "$t" 3)")
    fig "$K.exporter.scrape$s.s" "$(calc "$t" 3)"; fig "$K.exporter.scrape$s.bytes" "$size"
    if [ "$s" = 1 ]; then
      up=$(grep -c '^hatchling_up{hatchling="sim-' "$WORK/metrics-$N.txt" || true)
      up1=$(grep -Ec '^hatchling_up\{hatchling="sim-[^"]*"\} 1(\.0)?$' "$WORK/metrics-$N.txt" || true)
      series=$(grep -vc '^#' "$WORK/metrics-$N.txt" || true)
      fig "$K.exporter.hatchling_up_series" "$up"; fig "$K.exporter.hatchling_up_1" "$up1"; fig "$K.exporter.series" "$series"
    fi
  done
  fig "$K.exporter.rss_kib" "$(rss_kb "$exp_pid")"; fig "$K.exporter.peak_rss_kib" "$(hwm_kb "$exp_pid")"
  fig "$K.exporter.threads" "$(awk '/^Threads:/{print $2}' "/proc/$exp_pid/status" 2>/dev/null || echo null)"
  fig "$K.exporter.stop" "$(stop_pid "$exp_pid" 10)"
  note "exporter: scrapes ${scrapes[*]} s, $(g "$K.exporter.scrape1.bytes") bytes, hatchling_up $(g "$K.exporter.hatchling_up_1")/$N, RSS $(mib "$(g "$K.exporter.rss_kib")") MiB (peak $(mib "$(g "$K.exporter.peak_rss_kib")"))"

  # 5. watch, on a pseudo-terminal and into /dev/null, with live heartbeats
  local mode
  for mode in tty pipe; do
    local wpid helper="" first=1 c0 c1 w0 w1 tw0 tw1 beat_pid wlog="$WORK/watch-$N-$mode.log"
    t0=$(now_ns)
    if [ "$mode" = tty ]; then
      python3 - "$WORK/watch-$N.pid" "$FLEETCTL" watch > "$wlog" 2>&1 <<'PY' &
import os, pty, signal, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    os.execv(sys.argv[2], sys.argv[2:])
open(sys.argv[1], "w").write(str(pid))
def forward(sig, frame):
    try: os.kill(pid, signal.SIGTERM)
    except ProcessLookupError: pass
signal.signal(signal.SIGTERM, forward)
total = 0
while True:
    try:
        chunk = os.read(fd, 1 << 16)
    except InterruptedError:
        continue
    except OSError:
        break
    if not chunk: break
    total += len(chunk)
_, status = os.waitpid(pid, 0)
print("pty bytes", total, "status", status)
PY
      helper=$!; LIVE[$helper]=watch-pty
      for ((i = 0; i < 100; i++)); do [ -s "$WORK/watch-$N.pid" ] && break; sleep 0.05; done
      wpid=$(cat "$WORK/watch-$N.pid" 2>/dev/null || true)
      rm -f "$WORK/watch-$N.pid"
    else
      "$FLEETCTL" watch > /dev/null 2> "$wlog" &
      wpid=$!
    fi
    [ -n "$wpid" ] && LIVE[$wpid]="watch-$mode"
    # First frame: more written than the connection's own packets.
    for ((i = 0; i < 120 * 20; i++)); do
      [ "$(wchar "$wpid")" -gt 16384 ] && { first=0; break; }
      kill -0 "$wpid" 2>/dev/null || break
      sleep 0.05
    done
    if [ "$first" != 0 ]; then
      note "watch ($mode): no first frame within 120 s"
      fig "$K.watch.$mode.first_frame_s" timeout; fig "$K.watch.$mode.cpu_per_s" null
    else
      fig "$K.watch.$mode.first_frame_s" "$(calc "($(now_ns)-$t0)/1e9" 3)"
      "${S[@]}" beat -n "$N" --interval 3600 --rate "$(calc "$N/30" 1)" --duration $((WATCH_S + 2)) \
        --timeout $((WATCH_S + 60)) > "$WORK/beat-$N-$mode.out" 2>>"$LOG" &
      beat_pid=$!; LIVE[$beat_pid]=sim-beat
      sleep 1  # the beats under way
      c0=$(cpu_ticks "$wpid"); w0=$(wchar "$wpid"); tw0=$(now_ns)
      sleep "$WATCH_S"
      c1=$(cpu_ticks "$wpid"); w1=$(wchar "$wpid"); tw1=$(now_ns)
      fig "$K.watch.$mode.cpu_per_s" "$(calc "(($c1-$c0)/$HZ)/(($tw1-$tw0)/1e9)" 3)"
      fig "$K.watch.$mode.written_mib_per_s" "$(calc "(($w1-$w0)/1048576)/(($tw1-$tw0)/1e9)" 2)"
      fig "$K.watch.$mode.rss_kib" "$(rss_kb "$wpid")"
      for ((i = 0; i < 200; i++)); do kill -0 "$beat_pid" 2>/dev/null || break; sleep 0.1; done
      stop_pid "$beat_pid" 5 > /dev/null
      echo "beat $N $mode: $(cat "$WORK/beat-$N-$mode.out")" >> "$LOG"
      fig "$K.watch.beats_per_s" "$(jget "$(cat "$WORK/beat-$N-$mode.out")" rate_per_s)"
    fi
    if [ -n "$helper" ]; then
      kill -TERM "$wpid" 2>/dev/null || true
      fig "$K.watch.$mode.stop" "$(stop_pid "$helper" 10)"
      kill -0 "$wpid" 2>/dev/null && { kill -KILL "$wpid" 2>/dev/null || true; fig "$K.watch.$mode.stop" kill; }
      unset "LIVE[$wpid]"
    else
      fig "$K.watch.$mode.stop" "$(stop_pid "$wpid" 10)"
    fi
    note "watch ($mode): first frame $(g "$K.watch.$mode.first_frame_s") s, CPU $(g "$K.watch.$mode.cpu_per_s") s/s with $(g "$K.watch.beats_per_s") heartbeats/s, $(g "$K.watch.$mode.written_mib_per_s") MiB/s written"
  done

  # 6. clear
  rc=0
  out=$(timeout -k 5 330 "${S[@]}" clear -n "$N" --timeout 300 2>>"$LOG") || rc=$?
  echo "clear $N: $out (rc $rc)" >> "$LOG"
  [ "$rc" = 0 ] || { note "clearing $N failed (rc $rc): $out"; PROBLEMS=$((PROBLEMS + 1)); }
}

for N in "${SIZE_LIST[@]}"; do run_size "$N"; done
stop_pid "$BROKER_PID" 10 > /dev/null

fig run.seconds "$(( $(date +%s) - T_BEGIN ))"
fig run.broker_limits "$( [ "$TEMPLATE_LIMITS" = 1 ] && echo template || echo raised)"
fig machine.loadavg_begin "$LOAD_BEGIN"; fig machine.loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
fig machine.nproc "$(nproc)"; fig machine.kernel "$(uname -r)"
fig machine.mosquitto "$("$MOSQUITTO" -h 2>&1 | sed -n 's/^mosquitto version //p' | head -1)"
fig fleetctl.path "$FLEETCTL"; fig fleetctl.sha256 "$(sha256sum "$FLEETCTL" | cut -c1-16)"
fig fleetctl.bytes "$(stat -c %s "$FLEETCTL")"

# ---------------------------------------------------------------- the table
{
  echo
  echo "fleetctl at fleet scale ($(nproc) cores, mosquitto $(g machine.mosquitto), $(g run.broker_limits) broker limits, $(g run.seconds) s, load $(g machine.loadavg_begin) -> $(g machine.loadavg_end))"
  printf '%-46s' "figure"
  for N in "${SIZE_LIST[@]}"; do printf ' %14s' "$N"; done
  echo
  line() { # label key-suffix [mib]
    printf '%-46s' "$1"
    local N v
    for N in "${SIZE_LIST[@]}"; do
      v=$(g "n$N.$2")
      [ "${3:-}" = mib ] && v=$(mib "$v")
      printf ' %14s' "$v"
    done
    echo
  }
  line "seed: retained status + heartbeat (s)" seed_s
  line "broker RSS after seeding (MiB)" broker_rss_kib mib
  line "status --json (s)" status.wall_s
  line "status --json: peak RSS (MiB)" status.peak_rss_kib mib
  line "status --json: CPU (s)" status.cpu_s
  line "status --json: hatchlings listed" status.listed
  line "status --json: online" status.online
  line "send --all (s)" send.wall_s
  line "send --all: peak RSS (MiB)" send.peak_rss_kib mib
  line "send --all: CPU (s)" send.cpu_s
  line "send --all: answers gathered" send.gathered
  line "send --all: missing" send.missing
  line "send --all: simulator's publishing (s)" send.sim_publish_s
  line "send --all: exit after the last answer (s)" send.exit_after_last_puback_s
  line "send --all: exit status" send.exit
  line "send --all: ran into its --timeout" send.hit_own_timeout
  line "exporter: connected, snapshot applied (s)" exporter.connect_s
  for ((s = 1; s <= SCRAPES; s++)); do line "exporter: scrape $s (s)" "exporter.scrape$s.s"; done
  line "exporter: exposition (bytes)" exporter.scrape1.bytes
  line "exporter: hatchling_up 1 series" exporter.hatchling_up_1
  line "exporter: RSS after scrapes (MiB)" exporter.rss_kib mib
  line "exporter: peak RSS (MiB)" exporter.peak_rss_kib mib
  line "watch: heartbeats/s during the window" watch.beats_per_s
  line "watch (tty): first frame (s)" watch.tty.first_frame_s
  line "watch (tty): CPU s per s" watch.tty.cpu_per_s
  line "watch (tty): MiB/s written" watch.tty.written_mib_per_s
  line "watch (/dev/null): first frame (s)" watch.pipe.first_frame_s
  line "watch (/dev/null): CPU s per s" watch.pipe.cpu_per_s
  line "watch (/dev/null): MiB/s written" watch.pipe.written_mib_per_s
  echo
  echo "Issue 16 targets at 10000: scrape <= 0.5 s, exporter RSS <= 128 MiB, status <= 1 s, send --all exit <= 1 s after the last answer."
  echo "'exit after the last answer' = fleetctl's exit minus the broker's PUBACK of the simulator's last response."
  echo "'ran into its --timeout' (--send-timeout, $SEND_TIMEOUT s): answers were missing, or still queued at the deadline and taken afterwards; the time is then the timeout's, not the gathering's."
}

if [ -n "$JSON_OUT" ]; then
  {
    echo "{"
    n=${#FIG_KEYS[@]}; i=0
    for k in "${FIG_KEYS[@]}"; do
      i=$((i + 1)); v="${FIG[$k]}"
      if [[ "$v" =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || [ "$v" = null ] || [ "$v" = true ] || [ "$v" = false ]; then :; else v="\"${v//\"/\\\"}\""; fi
      printf '  "%s": %s%s\n' "$k" "$v" "$( [ "$i" -lt "$n" ] && echo , )"
    done
    echo "}"
  } > "$JSON_OUT"
  echo "figures written to $JSON_OUT"
fi
if [ "$PROBLEMS" -gt 0 ]; then note "$PROBLEMS step(s) failed outright (see above and $LOG)"; exit 1; fi
