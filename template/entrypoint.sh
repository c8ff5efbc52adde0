#!/bin/sh
# The hatchling's entrypoint, run by tini as `tini -g -- /usr/local/bin/entrypoint.sh`.
#
#  1. refuses to start without an API key (ANTHROPIC_API_KEY or OPENAI_API_KEY), unless
#     OPENCLAW_SKIP_API_KEY_CHECK=1;
#  2. renders $CONFIG_DIR/openclaw.json from $CONFIG_DIR/openclaw.json.template with envsubst;
#  3. runs `openclaw doctor --fix` (a failure is a warning, not a stop);
#  4. starts hatchling-agent in the background when HATCHLING_NAME and MQTT_HOST are set (its own
#     supervisor restarts its worker after a crash: no scheduler and no restart loop here);
#  5. runs the gateway, `openclaw gateway --port $GATEWAY_PORT`, in the background as well, and
#     waits for it.
#
# Why the gateway is not exec'd: when tini's child exits, tini exits, and when PID 1 exits the
# kernel kills every other process in the container at once. With `exec openclaw gateway`, a
# `docker stop` would end the gateway, then tini, and the agent would be killed in the middle of
# its shutdown: the broker would publish its Last Will (`lost`) instead of `shutdown`. So this
# shell stays, and exits only after BOTH the gateway and the agent have exited.
#
# Signals. The gateway and the agent each run in a session (so a process group) of their own
# (`setsid`), and this shell routes every signal itself, exactly once:
#  - SIGTERM, SIGINT, SIGQUIT: SIGTERM to the gateway and to the agent (whose supervisor forwards
#    it to its worker: `offline`/`shutdown`, clean disconnect), then wait for both;
#  - SIGHUP: to the agent only (it re-reads HATCHLING_AGENT_CONFIG);
#  - SIGUSR1, SIGUSR2: to the gateway only (openclaw restarts itself in place on SIGUSR1).
# Left in this shell's group, they would get whatever tini -g sends to the group: a SIGHUP meant
# for the agent would end the gateway (node's default action), a SIGUSR1 meant for the gateway
# would kill the agent, and a double SIGTERM would reach the agent's worker three times.
# If the gateway exits on its own, the agent gets SIGTERM and is waited for, so the hub sees
# `shutdown` before the container ends. The exit status is the gateway's.
#
# Every path comes from a variable, so tests run this script outside Docker:
#   CONFIG_DIR           default $HOME/.openclaw
#   HATCHLING_AGENT_BIN  default hatchling-agent (on PATH)
#   OPENCLAW_BIN         default openclaw (on PATH)
#   GATEWAY_PORT         default 18789
set -eu

log() { printf '%s entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

CONFIG_DIR="${CONFIG_DIR:-${HOME:-/home/openclaw}/.openclaw}"
HATCHLING_AGENT_BIN="${HATCHLING_AGENT_BIN:-hatchling-agent}"
OPENCLAW_BIN="${OPENCLAW_BIN:-openclaw}"
GATEWAY_PORT="${GATEWAY_PORT:-18789}"
export CONFIG_DIR GATEWAY_PORT # the template may name them

gateway_pid=
agent_pid=
stopping=

# Sends signal $1 to the process $2, if there is one.
send() {
    if [ -n "$2" ]; then kill -s "$1" "$2" 2>/dev/null || true; fi
}

# Stops both (signal name $1, for the log). The traps are set before anything starts: a signal
# that comes while `doctor` runs (tini -g delivers it to doctor too) is remembered, and nothing is
# started afterwards.
stop_both() {
    if [ -z "$stopping" ]; then
        stopping=$1
        if [ -n "$gateway_pid$agent_pid" ]; then
            log "received SIG$1: stopping the gateway${agent_pid:+ and hatchling-agent}, waiting for them"
        else
            log "received SIG$1"
        fi
    fi
    send TERM "$gateway_pid"
    send TERM "$agent_pid"
}
trap 'stop_both TERM' TERM
trap 'stop_both INT' INT
trap 'stop_both QUIT' QUIT
trap 'send HUP "$agent_pid"' HUP
trap 'send USR1 "$gateway_pid"' USR1
trap 'send USR2 "$gateway_pid"' USR2

# Starts "$@" in the background in a session of its own and sets `started` to its pid. setsid does
# not fork here (a background job is not a process group leader), so the pid is the program's.
setsid_bin=$(command -v setsid || true)
started=
start_isolated() {
    if [ -n "$setsid_bin" ]; then
        "$setsid_bin" "$@" &
    else
        "$@" &
    fi
    started=$!
}

# Waits for one child and sets `waited` to its exit status. A trapped signal interrupts `wait`
# (status above 128) while the child still runs: then wait again. When the child has ended, a
# second `wait` gives its status if the first was interrupted (and 127, "not a child", if the
# first already reported it).
waited=0
wait_for() {
    while :; do
        waited=0
        wait "$1" || waited=$?
        if [ "$waited" -le 128 ]; then return 0; fi
        if kill -0 "$1" 2>/dev/null; then continue; fi
        again=0
        wait "$1" 2>/dev/null || again=$?
        if [ "$again" -ne 127 ]; then waited=$again; fi
        return 0
    done
}

# 1. The API key.
if [ "${OPENCLAW_SKIP_API_KEY_CHECK:-0}" != "1" ] && [ -z "${ANTHROPIC_API_KEY:-}" ] && [ -z "${OPENAI_API_KEY:-}" ]; then
    log "refusing to start: neither ANTHROPIC_API_KEY nor OPENAI_API_KEY is set (set one in .env; OPENCLAW_SKIP_API_KEY_CHECK=1 skips this check)"
    exit 1
fi

# 2. The gateway's configuration (it may hold keys: readable by this user only).
mkdir -p "$CONFIG_DIR"
template="$CONFIG_DIR/openclaw.json.template"
if [ -f "$template" ]; then
    rendered="$CONFIG_DIR/openclaw.json"
    (umask 077 && envsubst <"$template" >"$rendered.tmp")
    mv -f "$rendered.tmp" "$rendered"
    log "rendered $rendered from its template"
else
    log "no $template: the gateway's configuration is left as it is"
fi

# 3. The gateway's own repairs.
doctor_status=0
"$OPENCLAW_BIN" doctor --fix || doctor_status=$?
if [ -n "$stopping" ]; then
    log "stopped before the gateway started"
    exit 143
fi
if [ "$doctor_status" -ne 0 ]; then
    log "warning: '$OPENCLAW_BIN doctor --fix' failed with status $doctor_status; starting the gateway anyway"
fi
if [ -z "$setsid_bin" ]; then
    log "warning: setsid not found: the gateway and the agent share this shell's process group"
fi

# 4. The fleet agent, supervising its own worker.
if [ -n "${HATCHLING_NAME:-}" ] && [ -n "${MQTT_HOST:-}" ]; then
    start_isolated "$HATCHLING_AGENT_BIN" run
    agent_pid=$started
    log "hatchling-agent started (pid $agent_pid, hatchling $HATCHLING_NAME, broker $MQTT_HOST)"
else
    log "HATCHLING_NAME or MQTT_HOST is not set: hatchling-agent is disabled (no fleet bus)"
fi

# 5. The gateway.
if [ -z "$stopping" ]; then
    start_isolated "$OPENCLAW_BIN" gateway --port "$GATEWAY_PORT"
    gateway_pid=$started
    log "gateway started (pid $gateway_pid, port $GATEWAY_PORT)"
fi
# A signal that came between two of the lines above found a pid not yet set: send it again.
if [ -n "$stopping" ]; then stop_both "$stopping"; fi

gateway_status=143
if [ -n "$gateway_pid" ]; then
    wait_for "$gateway_pid"
    gateway_status=$waited
    gateway_pid= # reaped: its pid may be reused, send it nothing more
    if [ -z "$stopping" ]; then
        stopping=gateway
        log "gateway exited on its own (status $gateway_status)${agent_pid:+; stopping hatchling-agent}"
        send TERM "$agent_pid"
    else
        log "gateway exited (status $gateway_status)"
    fi
fi
if [ -n "$agent_pid" ]; then
    wait_for "$agent_pid"
    log "hatchling-agent exited (status $waited)"
fi
exit "$gateway_status"
