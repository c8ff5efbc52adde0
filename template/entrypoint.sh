#!/bin/sh
# The hatchling's entrypoint, run by tini as `tini -g -- /usr/local/bin/entrypoint.sh`.
#
#  1. refuses to start without an API key (ANTHROPIC_API_KEY or OPENAI_API_KEY), unless
#     OPENCLAW_SKIP_API_KEY_CHECK=1;
#  2. renders $CONFIG_DIR/openclaw.json from $CONFIG_DIR/openclaw.json.template with envsubst;
#  3. runs `openclaw doctor --fix` (a failure is a warning, not a stop);
#  4. starts hatchling-agent in the background when HATCHLING_NAME and MQTT_HOST are set (its own
#     supervisor restarts its worker after a crash: no scheduler and no restart loop here);
#  5. runs its command in the background as well, and waits for it: the image's CMD, `openclaw
#     gateway` (`--port $GATEWAY_PORT` added when no more words follow), or whatever
#     `docker run IMAGE COMMAND...` gives. Steps 1 to 3 are the gateway's: another command runs
#     without them, as the gateway's user, with the agent beside it (`docker run -it IMAGE sh`).
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
# Users. The image starts this script as root, and it starts nothing as root: the gateway (and
# `doctor`, and the rendering of its configuration) runs as GATEWAY_USER (openclaw, UID 1001),
# hatchling-agent as AGENT_USER (fleet-agent, UID 1002), both through `setpriv` (no supplementary
# groups, no_new_privs). Before that, the agent's secret files (MQTT_PASSWORD_FILE,
# FLEET_COMMAND_KEY_FILE, MQTT_TLS_KEY, and HATCHLING_AGENT_CONFIG) are made the agent's, mode
# 0400 (0600 for the configuration): the gateway, a large program that reads untrusted input, can
# then neither read them, nor signal the agent, nor read /proc/<agent>/environ (the kernel allows
# those to the same user only). The gateway gets none of the agent's variables (MQTT_*,
# FLEET_COMMAND_KEY*, HATCHLING_AGENT_CONFIG), the agent none of the API keys. Started as another
# user (`docker run --user`), both run as that user, with one warning: the gateway can then read
# the agent's secrets.
# It refuses to start when one of the agent's files is missing, relative, or within the gateway's
# reach (it, or a folder on its way, is the gateway's or writable by it): see `protect`.
#
# Every path comes from a variable, so tests run this script outside Docker:
#   CONFIG_DIR           default $HOME/.openclaw
#   HATCHLING_AGENT_BIN  default hatchling-agent (on PATH)
#   OPENCLAW_BIN         default openclaw (on PATH)
#   GATEWAY_PORT         default 18789
#   GATEWAY_USER         default openclaw (used when started as root)
#   AGENT_USER           default fleet-agent (used when started as root)
set -eu
# Word splitting of the prefixes below must not depend on an IFS from the environment.
IFS=$(printf ' \t\n')

# One line per event on standard error, in LOG_FORMAT as the agent writes its own (text, logfmt,
# json); the level is read from the message (`warning: ...`, `refusing to start: ...`).
log() {
    ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    case $* in
        warning:*) level=warning ;;
        refusing*) level=error ;;
        *) level=info ;;
    esac
    case ${LOG_FORMAT:-text} in
        json | logfmt)
            # JSON string escapes for \ and ", control characters dropped (logfmt quotes the same way).
            msg=$(printf '%s' "$*" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
            if [ "${LOG_FORMAT}" = json ]; then
                printf '{"level":"%s","logger":"entrypoint","msg":"%s","ts":"%s"}\n' "$level" "$msg" "$ts" >&2
            else
                printf 'ts=%s level=%s logger=entrypoint msg="%s"\n' "$ts" "$level" "$msg" >&2
            fi
            ;;
        *) printf '%s entrypoint: %s\n' "$ts" "$*" >&2 ;;
    esac
}

CONFIG_DIR="${CONFIG_DIR:-${HOME:-/home/openclaw}/.openclaw}"
HATCHLING_AGENT_BIN="${HATCHLING_AGENT_BIN:-hatchling-agent}"
OPENCLAW_BIN="${OPENCLAW_BIN:-openclaw}"
GATEWAY_PORT="${GATEWAY_PORT:-18789}"
GATEWAY_USER="${GATEWAY_USER:-openclaw}"
AGENT_USER="${AGENT_USER:-fleet-agent}"
export CONFIG_DIR GATEWAY_PORT # the template may name them

gateway_pid=
agent_pid=
stopping=
as_gateway=
agent_uid=

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

# The command: the image's CMD (`openclaw gateway`), or what `docker run IMAGE COMMAND...` gives.
# `openclaw gateway` is the gateway (its configuration rendered, `doctor` run, an API key
# required; with no more words, `--port $GATEWAY_PORT`). Any other command runs in its place, as
# the gateway's user, with the agent beside it and the same signal routing and exit rules.
if [ $# -eq 0 ]; then set -- openclaw gateway; fi
# A program started in the background gets /dev/null as its input: keep this script's (a terminal,
# with `docker run -it`) on descriptor 3 for a command given instead of the gateway.
exec 3<&0
gateway_mode=
program="command"
if { [ "$1" = openclaw ] || [ "$1" = "$OPENCLAW_BIN" ]; } && [ "${2:-}" = gateway ]; then
    gateway_mode=1
    program=gateway
    shift 2
    if [ $# -eq 0 ]; then set -- --port "$GATEWAY_PORT"; fi
    set -- "$OPENCLAW_BIN" gateway "$@"
fi

# 1. The API key.
if [ -n "$gateway_mode" ] && [ "${OPENCLAW_SKIP_API_KEY_CHECK:-0}" != "1" ] && [ -z "${ANTHROPIC_API_KEY:-}" ] && [ -z "${OPENAI_API_KEY:-}" ]; then
    log "refusing to start: neither ANTHROPIC_API_KEY nor OPENAI_API_KEY is set (set one in .env; OPENCLAW_SKIP_API_KEY_CHECK=1 skips this check)"
    exit 1
fi

# Who runs what. The prefixes are words for `env` and `setpriv` (names and numbers only), put in
# front of a command unquoted.
agent_wanted=
if [ -n "${HATCHLING_NAME:-}" ] && [ -n "${MQTT_HOST:-}" ]; then agent_wanted=1; fi
# The gateway's environment: without the agent's variables.
strip_agent_vars=$(env | sed -n -e 's/^\(MQTT_[A-Za-z0-9_]*\)=.*/-u \1/p' -e 's/^\(FLEET_COMMAND_KEY[A-Za-z0-9_]*\)=.*/-u \1/p' \
    -e 's/^\(HATCHLING_AGENT_CONFIG\)=.*/-u \1/p' | sort -u | tr '\n' ' ')
gateway_prefix="env $strip_agent_vars"
# The agent's environment: an allow-list, its own settings and the basics. The gateway's other
# secrets (model provider keys, bot tokens, whatever the operator gives it) never reach the agent.
agent_drops=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | grep -v -E \
    '^(MQTT_[A-Z0-9_]*|FLEET_COMMAND_KEY(_FILE)?|HATCHLING_[A-Z0-9_]*|COMMAND_RATE_[A-Z]+|EVENT_RATE_LIMIT|GATEWAY_HEALTH_URL|HEALTH_[A-Z0-9_]*|HEARTBEAT_INTERVAL|IMAGE_VERSION|OPENCLAW_VERSION|LOG_LEVEL|LOG_FORMAT|PATH|HOME|LANG|LC_[A-Z]+|TZ)$' \
    | sort -u | sed 's/^/-u /' | tr '\n' ' ')
agent_prefix="env $agent_drops HOME=/"
gateway_uid=
if [ "$(id -u)" = 0 ]; then
    setpriv_bin=$(command -v setpriv || true)
    if [ -z "$setpriv_bin" ]; then
        log "refusing to start: running as root and setpriv (util-linux) is not installed: the gateway would run as root"
        exit 1
    fi
    # User $1: sets `uid` and `gid`, or stops.
    ids_of() {
        if ! uid=$(id -u "$1" 2>/dev/null) || ! gid=$(id -g "$1" 2>/dev/null); then
            log "refusing to start: running as root and there is no user '$1' to run as ($2)"
            exit 1
        fi
        if [ "$uid" = 0 ]; then
            log "refusing to start: $2 '$1' is root"
            exit 1
        fi
    }
    ids_of "$GATEWAY_USER" "GATEWAY_USER"
    gateway_uid=$uid
    gateway_gid=$gid
    nnp=
    if "$setpriv_bin" --help 2>/dev/null | grep -q -e '--no-new-privs'; then nnp=--no-new-privs; fi
    as_gateway="$setpriv_bin --reuid=$gateway_uid --regid=$gateway_gid --clear-groups $nnp --"
    gateway_prefix="$gateway_prefix $as_gateway"
    if [ -n "$agent_wanted" ]; then
        ids_of "$AGENT_USER" "AGENT_USER"
        agent_uid=$uid
        agent_gid=$gid
        if [ "$agent_uid" = "$gateway_uid" ]; then
            log "refusing to start: GATEWAY_USER '$GATEWAY_USER' and AGENT_USER '$AGENT_USER' are the same user (uid $agent_uid): the gateway could read the agent's secrets"
            exit 1
        fi
        agent_prefix="$agent_prefix $setpriv_bin --reuid=$agent_uid --regid=$agent_gid --clear-groups $nnp --"
    fi
elif [ -n "$agent_wanted" ]; then
    log "warning: started as uid $(id -u), not root: the gateway and hatchling-agent run as the same user, so the gateway can read the agent's secrets (MQTT_PASSWORD_FILE, FLEET_COMMAND_KEY_FILE) and signal it; start the container as root (the image's default) to run them as $GATEWAY_USER and $AGENT_USER"
fi

# True when the gateway's user may do `test $1 $2` (the kernel's own access check).
gateway_can() {
    # shellcheck disable=SC2086 # the prefix: words without spaces
    $as_gateway test "$1" "$2" 2>/dev/null
}

# Why the absolute path $1 is within the gateway's reach (printed), or nothing. The path is walked
# one name at a time, as the kernel resolves it, and every link on the way is followed one step
# at a time: each folder passed through must be neither the gateway's nor writable by it (sticky
# folders such as /tmp aside), each link must not be the gateway's, and neither may the file. Owners
# are checked, not only access: a gateway that owns a folder can drop its write bit for the check
# and take it back later, swap what is there, and have the agent (or root, here) read or chown it.
gateway_reach() {
    todo=$1
    folder=/
    hops=0
    while [ -n "$todo" ]; do
        todo=${todo#/}
        case $todo in
            */*) name=${todo%%/*}; todo=${todo#*/} ;;
            *) name=$todo; todo= ;;
        esac
        case $name in
            '' | .) continue ;;
            ..) folder=$(dirname -- "$folder"); continue ;;
        esac
        owner=$(stat -c %u -- "$folder" 2>/dev/null) || { echo "is in $folder, which cannot be examined"; return 0; }
        if [ "$owner" = "$gateway_uid" ]; then echo "is in $folder, which belongs to the gateway's user"; return 0; fi
        if gateway_can -w "$folder" && [ ! -k "$folder" ]; then echo "is in $folder, which the gateway's user can write"; return 0; fi
        next=${folder%/}/$name
        if [ -L "$next" ]; then
            owner=$(stat -c %u -- "$next" 2>/dev/null) || { echo "passes through $next, which cannot be examined"; return 0; }
            if [ "$owner" = "$gateway_uid" ]; then echo "passes through the link $next, which belongs to the gateway's user"; return 0; fi
            hops=$((hops + 1))
            if [ "$hops" -gt 40 ]; then echo "passes through more than 40 links"; return 0; fi
            target=$(readlink -- "$next")
            case $target in
                /*) folder=/ ;;
            esac
            todo=$target${todo:+/$todo}
            continue
        fi
        folder=$next
    done
    owner=$(stat -c %u -- "$folder" 2>/dev/null) || { echo "cannot be examined"; return 0; }
    if [ "$owner" = "$gateway_uid" ]; then echo "belongs to the gateway's user"; return 0; fi
}

# Refuses to start unless the file $2 (named by the variable $1, if set) exists, is named by an
# absolute path, and neither it nor a folder on its way is within the gateway's reach. A missing
# file is refused too: whoever may create it could have the agent read it later (at a reload),
# and the agent would not start without it anyway.
check_location() {
    if [ -z "$2" ]; then return 0; fi
    case $2 in
        /*) ;;
        *) log "refusing to start: $1 ($2) is not an absolute path (the agent runs from /)"; exit 1 ;;
    esac
    if [ ! -e "$2" ]; then
        log "refusing to start: $1 ($2) does not exist (or is a link to nothing)"
        exit 1
    fi
    if [ ! -f "$2" ]; then
        log "refusing to start: $1 ($2) is not a regular file"
        exit 1
    fi
    why=$(gateway_reach "$2") || why="could not be checked"
    if [ -n "$why" ]; then
        log "refusing to start: $1 ($2) $why: the gateway could replace it. Keep the agent's files in a folder of root's or the agent's (/run/secrets/hatchling, /etc/hatchling-agent)"
        exit 1
    fi
}

# check_location, then makes the file the agent's, mode $3, or refuses to start if the gateway's
# user can still read it.
protect() {
    if [ -z "$2" ]; then return 0; fi
    check_location "$1" "$2"
    real=$(realpath -- "$2")
    if ! chown "$agent_uid:$agent_gid" "$real" 2>/dev/null || ! chmod "$3" "$real" 2>/dev/null; then
        log "warning: cannot make $1 ($real) the agent's (chown $agent_uid:$agent_gid, chmod $3; a read-only mount?): do it where the file lives"
    fi
    if gateway_can -r "$real"; then
        log "refusing to start: the gateway's user can read $1 ($real): make it $AGENT_USER's, mode $3, where the file lives"
        exit 1
    fi
}
if [ -n "$gateway_uid" ] && [ -n "$agent_wanted" ]; then
    protect MQTT_PASSWORD_FILE "${MQTT_PASSWORD_FILE:-}" 0400
    protect FLEET_COMMAND_KEY_FILE "${FLEET_COMMAND_KEY_FILE:-}" 0400
    protect MQTT_TLS_KEY "${MQTT_TLS_KEY:-}" 0400
    protect HATCHLING_AGENT_CONFIG "${HATCHLING_AGENT_CONFIG:-}" 0600
    # Public, but the gateway must not choose them: the CA decides which broker the agent trusts.
    check_location MQTT_TLS_CA "${MQTT_TLS_CA:-}"
    check_location MQTT_TLS_CERT "${MQTT_TLS_CERT:-}"
    if [ -n "${HATCHLING_AGENT_CONFIG:-}" ] && gateway_can -w "$HATCHLING_AGENT_CONFIG"; then
        log "refusing to start: the gateway's user can write HATCHLING_AGENT_CONFIG ($HATCHLING_AGENT_CONFIG)"
        exit 1
    fi
fi

# The agent's local socket (`hatchling-agent publish` and `health`): its folder is the agent's,
# group the gateway's, mode 2710. The gateway's user may reach the socket (mode 0660, and the
# folder's set-group-id bit gives it the gateway's group) but not create, remove or replace
# anything there; other users cannot reach it at all. Root (a HEALTHCHECK) always can.
socket_path=${HATCHLING_AGENT_SOCKET:-/run/hatchling-agent/agent.sock}
socket_dir=$(dirname -- "$socket_path")
if [ -n "$gateway_uid" ] && [ -n "$agent_wanted" ]; then
    case $socket_path in
        /*) ;;
        *) log "refusing to start: HATCHLING_AGENT_SOCKET ($socket_path) is not an absolute path"; exit 1 ;;
    esac
    # A folder of its own: the entrypoint gives it to the agent, so it must not be one that others
    # use (/, /run, /tmp), and it may hold nothing but the socket (and the agent's leftovers).
    socket_name=$(basename -- "$socket_path")
    if [ "$socket_dir" = / ] || [ -L "$socket_dir" ] || { [ -e "$socket_dir" ] && [ ! -d "$socket_dir" ]; }; then
        log "refusing to start: HATCHLING_AGENT_SOCKET ($socket_path) needs a folder of its own, such as /run/hatchling-agent"
        exit 1
    fi
    # The folder above is checked before root makes anything in it.
    why=$(gateway_reach "$(dirname -- "$socket_dir")") || why="could not be checked"
    if [ -n "$why" ]; then
        log "refusing to start: the folder of HATCHLING_AGENT_SOCKET ($socket_dir) is in a folder that $why"
        exit 1
    fi
    if [ -d "$socket_dir" ]; then
        owner=$(stat -c %u -- "$socket_dir")
        others=$(find "$socket_dir" -mindepth 1 -maxdepth 1 ! -name "$socket_name" ! -name '.agent-sock-*' -print -quit)
        # Anything at the socket's own name must be a socket (a stale one is replaced by the agent).
        not_socket=
        if { [ -e "$socket_dir/$socket_name" ] || [ -L "$socket_dir/$socket_name" ]; } && [ ! -S "$socket_dir/$socket_name" ]; then
            not_socket=1
        fi
        if [ -k "$socket_dir" ] || { [ "$owner" != 0 ] && [ "$owner" != "$agent_uid" ]; } || [ -n "$others" ] || [ -n "$not_socket" ]; then
            log "refusing to start: the folder of HATCHLING_AGENT_SOCKET ($socket_dir) is not one of its own (it must be root's or $AGENT_USER's, not sticky, and hold nothing but $socket_name)"
            exit 1
        fi
    else
        mkdir -- "$socket_dir"
    fi
    why=$(gateway_reach "$socket_dir") || why="could not be checked"
    if [ -n "$why" ]; then
        log "refusing to start: the folder of HATCHLING_AGENT_SOCKET ($socket_dir) $why"
        exit 1
    fi
    chown "$agent_uid:$gateway_gid" "$socket_dir"
    chmod 2710 "$socket_dir"
elif [ -n "$agent_wanted" ]; then
    mkdir -p -- "$socket_dir" 2>/dev/null || log "warning: cannot make $socket_dir: hatchling-agent publish and health will not work (set HATCHLING_AGENT_SOCKET)"
fi

# 2. The gateway's configuration (it may hold keys: readable by the gateway's user only). Written
# by that user, with the gateway's environment: root writing in the gateway's folder could be
# led by a link to overwrite any file.
template="$CONFIG_DIR/openclaw.json.template"
if [ -n "$gateway_mode" ]; then
    # shellcheck disable=SC2086 # the prefix: words without spaces
    $gateway_prefix mkdir -p "$CONFIG_DIR"
    if [ -f "$template" ]; then
        rendered="$CONFIG_DIR/openclaw.json"
        # shellcheck disable=SC2016,SC2086 # $1 and $2 are the inner shell's
        $gateway_prefix sh -c 'umask 077 && envsubst <"$1" >"$2.tmp" && mv -f "$2.tmp" "$2"' sh "$template" "$rendered"
        log "rendered $rendered from its template"
    else
        log "no $template: the gateway's configuration is left as it is"
    fi
else
    log "command: $1 ($# words; not the gateway: no configuration rendered, no doctor, no API key needed)"
fi

# 3. The gateway's own repairs.
doctor_status=0
if [ -n "$gateway_mode" ]; then
    # shellcheck disable=SC2086 # the prefix: words without spaces
    $gateway_prefix "$OPENCLAW_BIN" doctor --fix || doctor_status=$?
fi
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
if [ -n "$agent_wanted" ]; then
    # From /: the agent's working folder must not be the gateway's (a relative path in a setting,
    # or a program it runs, would look there).
    here=$(pwd)
    cd /
    # shellcheck disable=SC2086 # the prefix: words without spaces
    start_isolated $agent_prefix "$HATCHLING_AGENT_BIN" run
    cd "$here"
    agent_pid=$started
    log "hatchling-agent started (pid $agent_pid, hatchling $HATCHLING_NAME, broker $MQTT_HOST${agent_uid:+, uid $agent_uid})"
else
    log "HATCHLING_NAME or MQTT_HOST is not set: hatchling-agent is disabled (no fleet bus)"
fi

# 5. The gateway (or the command given instead).
if [ -z "$stopping" ]; then
    if [ -n "$gateway_mode" ]; then
        # shellcheck disable=SC2086 # the prefix: words without spaces
        start_isolated $gateway_prefix "$@"
        gateway_pid=$started
        log "gateway started (pid $gateway_pid, $# words${gateway_uid:+, uid $gateway_uid})"
    else
        # shellcheck disable=SC2086 # the prefix: words without spaces
        start_isolated $gateway_prefix "$@" <&3
        gateway_pid=$started
        log "command started (pid $gateway_pid, $1${gateway_uid:+, uid $gateway_uid})"
    fi
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
        log "$program exited on its own (status $gateway_status)${agent_pid:+; stopping hatchling-agent}"
        send TERM "$agent_pid"
    else
        log "$program exited (status $gateway_status)"
    fi
fi
if [ -n "$agent_pid" ]; then
    wait_for "$agent_pid"
    log "hatchling-agent exited (status $waited)"
fi
exit "$gateway_status"
