#!/bin/sh
# The hatchling's entrypoint, run by tini as `tini -g -- /usr/local/bin/entrypoint.sh`.
#
#  1. refuses to start without an API key (ANTHROPIC_API_KEY or OPENAI_API_KEY), unless
#     OPENCLAW_SKIP_API_KEY_CHECK=1;
#  2. renders $CONFIG_DIR/openclaw.json from $CONFIG_DIR/openclaw.json.template with envsubst;
#  3. runs `openclaw doctor --fix` (a failure is a warning, not a stop);
#  4. starts hatchling-agent in the background when HATCHLING_NAME and MQTT_HOST are set (its own
#     supervisor restarts its worker after a crash: no cron, no restart loop here);
#  5. runs the gateway, `openclaw gateway --port $GATEWAY_PORT`, in the background as well, and
#     waits for it.
#
# Why the gateway is not exec'd: when tini's child exits, tini exits, and when PID 1 exits the
# kernel kills every other process in the container at once. With `exec openclaw gateway`, a
# `docker stop` would end the gateway, then tini, and the agent would be killed in the middle of
# its shutdown: the broker would publish its Last Will (`lost`) instead of `shutdown`. So this
# shell stays, and exits only after BOTH the gateway and the agent have exited:
#  - SIGTERM (tini -g delivers it to the whole process group: this shell, the gateway, the agent's
#    supervisor and its worker) is forwarded to both once more (harmless: both treat a second
#    SIGTERM as the same shutdown), then the shell waits for both;
#  - SIGINT is forwarded as SIGTERM (background jobs of a non-interactive sh ignore SIGINT);
#  - SIGHUP is forwarded to the agent only (it re-reads HATCHLING_AGENT_CONFIG);
#  - if the gateway exits on its own, the agent gets SIGTERM and is waited for, so the hub sees
#    `shutdown` before the container ends.
# The exit status is the gateway's.
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

gateway_pid=
agent_pid=
stopping=

# Forwarding. Set before anything is started: a signal that comes while `doctor` runs (tini -g has
# delivered it to doctor too) is remembered, and nothing is started afterwards.
forward() {
    # $1: the signal received; $2: the signal to send to the gateway and the agent
    if [ -z "$stopping" ]; then
        stopping=$1
        log "received SIG$1: stopping the gateway${agent_pid:+ and hatchling-agent} and waiting for them"
    fi
    for pid in $gateway_pid $agent_pid; do
        kill -s "$2" "$pid" 2>/dev/null || true
    done
}
trap 'forward TERM TERM' TERM
trap 'forward INT TERM' INT
trap 'if [ -n "$agent_pid" ]; then kill -s HUP "$agent_pid" 2>/dev/null || true; fi' HUP

# Waits for one child and sets `waited` to its exit status. A trapped signal interrupts `wait`
# (status above 128) while the child still runs: then wait again. When the child has ended, a
# second `wait` gives its status if the first was interrupted (and 127, "not a child", if the first
# already reported it).
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
    log "no $template: keeping the gateway's configuration as it is"
fi

# 3. The gateway's own repairs.
"$OPENCLAW_BIN" doctor --fix || log "warning: '$OPENCLAW_BIN doctor --fix' failed with status $?; starting the gateway anyway"

if [ -n "$stopping" ]; then
    log "stopped before the gateway started"
    exit 143
fi

# 4. The fleet agent, supervising its own worker.
if [ -n "${HATCHLING_NAME:-}" ] && [ -n "${MQTT_HOST:-}" ]; then
    "$HATCHLING_AGENT_BIN" run &
    agent_pid=$!
    log "hatchling-agent started (pid $agent_pid, hatchling $HATCHLING_NAME, broker $MQTT_HOST)"
else
    log "HATCHLING_NAME or MQTT_HOST is not set: hatchling-agent is disabled (no fleet bus)"
fi

# 5. The gateway.
if [ -z "$stopping" ]; then
    "$OPENCLAW_BIN" gateway --port "$GATEWAY_PORT" &
    gateway_pid=$!
    log "gateway started (pid $gateway_pid, port $GATEWAY_PORT)"
fi
# A signal that came between two of the lines above found a pid not yet set: send it again.
if [ -n "$stopping" ]; then forward "$stopping" TERM; fi

gateway_status=143
if [ -n "$gateway_pid" ]; then
    wait_for "$gateway_pid"
    gateway_status=$waited
    if [ -z "$stopping" ]; then
        log "gateway exited on its own (status $gateway_status)${agent_pid:+; stopping hatchling-agent}"
        stopping=gateway
        if [ -n "$agent_pid" ]; then kill -s TERM "$agent_pid" 2>/dev/null || true; fi
    else
        log "gateway exited (status $gateway_status)"
    fi
fi
if [ -n "$agent_pid" ]; then
    wait_for "$agent_pid"
    log "hatchling-agent exited (status $waited)"
fi
exit "$gateway_status"
