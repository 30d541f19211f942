#!/usr/bin/env bash
# Runs a local ChromaDB 1.0 server for ragged's chromadb backend and its tests.
#
#   scripts/chroma-server.sh install                  install the pinned npm packages (if missing)
#   scripts/chroma-server.sh start  [--port N|auto] [--path DIR] [--pid-file F] [--timeout S]
#   scripts/chroma-server.sh stop   [--port N] [--pid-file F]
#   scripts/chroma-server.sh status [--port N] [--pid-file F]
#
# The npm packages are pinned exactly (newer js-bindings need a newer glibc
# than Debian 12 has) and installed into .deps/chroma in the repository
# (override with RAGGED_CHROMA_DEPS).  `start` binds 127.0.0.1 only, waits
# for /api/v2/heartbeat (bounded by --timeout, default 60 s), writes the PID
# file and prints the server URL on stdout.  `stop` ends that server's own
# process group (the PID in the PID file leads it) and nothing else.
set -euo pipefail

CHROMADB_VERSION=3.0.12
BINDINGS_PKG=chromadb-js-bindings-linux-x64-gnu
BINDINGS_VERSION=1.0.5

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS=${RAGGED_CHROMA_DEPS:-$ROOT/.deps/chroma}

die() { echo "chroma-server: $*" >&2; exit 1; }

pkg_version() {   # prints the installed version of an npm package in $DEPS, or nothing
    local f="$DEPS/node_modules/$1/package.json"
    [[ -f $f ]] && sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$f" | head -n1
    return 0
}

installed() {
    [[ "$(pkg_version chromadb)" == "$CHROMADB_VERSION" && "$(pkg_version "$BINDINGS_PKG")" == "$BINDINGS_VERSION" ]]
}

do_install() {
    installed && return 0
    command -v npm >/dev/null || die "npm not found; run scripts/install-deps.sh (it installs nodejs and npm)"
    mkdir -p "$DEPS"
    [[ -f $DEPS/package.json ]] || printf '{"name": "ragged-chroma-deps", "private": true}\n' >"$DEPS/package.json"
    echo "chroma-server: installing chromadb@$CHROMADB_VERSION and $BINDINGS_PKG@$BINDINGS_VERSION into $DEPS" >&2
    (cd "$DEPS" && npm install --no-audit --no-fund --save-exact --loglevel=error \
        "chromadb@$CHROMADB_VERSION" "$BINDINGS_PKG@$BINDINGS_VERSION" >&2) \
        || die "npm install failed (see above); the packages are needed only for the chromadb backend"
    installed || die "npm installed other versions than chromadb@$CHROMADB_VERSION / $BINDINGS_PKG@$BINDINGS_VERSION"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

heartbeat() {   # 0 when the server on port $1 answers
    curl -sf --max-time 2 --noproxy '*' "http://127.0.0.1:$1/api/v2/heartbeat" >/dev/null 2>&1
}

# Our server is alive when the PID exists and leads a process group running chroma.
ours_alive() {
    local pid=$1
    [[ -n $pid && -d /proc/$pid ]] || return 1
    [[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q chroma
}

PORT=8000
PORT_SET=0
DATA=""
PIDFILE=""
TIMEOUT=60

cmd=${1:-}
[[ -n $cmd ]] || die "usage: chroma-server.sh install|start|stop|status [--port N|auto] [--path DIR] [--pid-file F] [--timeout S]"
shift
while (($#)); do
    case $1 in
        --port) PORT=${2:?--port needs a value}; PORT_SET=1; shift 2 ;;
        --path) DATA=${2:?--path needs a directory}; shift 2 ;;
        --pid-file) PIDFILE=${2:?--pid-file needs a file}; shift 2 ;;
        --timeout) TIMEOUT=${2:?--timeout needs seconds}; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done

if [[ $PORT == auto ]]; then
    [[ $cmd == start ]] || die "--port auto only makes sense with start"
    PORT=$(free_port)
fi
[[ $PORT =~ ^[0-9]+$ ]] || die "--port must be a number or auto, not '$PORT'"
RUNDIR=${XDG_RUNTIME_DIR:-${TMPDIR:-/tmp}}
PIDFILE=${PIDFILE:-$RUNDIR/ragged-chroma-$PORT.pid}
LOG=${PIDFILE%.pid}.log
URLFILE=${PIDFILE%.pid}.url
# stop/status with only --pid-file: the port comes from the URL file start wrote.
if ((!PORT_SET)) && [[ $cmd != start && -f $URLFILE ]]; then
    PORT=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$URLFILE")
fi

case $cmd in
install)
    do_install
    ;;
start)
    DATA=${DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/ragged/chroma-server}
    if [[ -f $PIDFILE ]] && ours_alive "$(cat "$PIDFILE")"; then
        die "a server started by this script is already running (PID $(cat "$PIDFILE"), $PIDFILE); stop it first"
    fi
    if heartbeat "$PORT"; then
        die "something already answers on 127.0.0.1:$PORT; choose another --port"
    fi
    do_install
    mkdir -p "$DATA"
    DATA=$(cd "$DATA" && pwd)
    # setsid: the server (npx, the shell it spawns, node) gets its own process
    # group led by $pid, so stop can end exactly this server and its children.
    (cd "$DEPS" && exec setsid npx chroma run --path "$DATA" --host 127.0.0.1 --port "$PORT" \
        </dev/null >"$LOG" 2>&1) &
    pid=$!
    echo "$pid" >"$PIDFILE"
    echo "http://127.0.0.1:$PORT" >"$URLFILE"
    deadline=$((SECONDS + TIMEOUT))
    until heartbeat "$PORT"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PIDFILE" "$URLFILE"
            tail -n 20 "$LOG" >&2 || true
            die "the server exited during start-up (log: $LOG)"
        fi
        if ((SECONDS >= deadline)); then
            kill -TERM -- "-$pid" 2>/dev/null || true
            rm -f "$PIDFILE" "$URLFILE"
            tail -n 20 "$LOG" >&2 || true
            die "no heartbeat from 127.0.0.1:$PORT within ${TIMEOUT}s (log: $LOG)"
        fi
        sleep 0.2
    done
    echo "chroma-server: running, PID $pid, data $DATA, log $LOG" >&2
    echo "http://127.0.0.1:$PORT"
    ;;
stop)
    [[ -f $PIDFILE ]] || { echo "chroma-server: not running (no $PIDFILE)" >&2; exit 0; }
    pid=$(cat "$PIDFILE")
    if ours_alive "$pid"; then
        kill -TERM -- "-$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            ours_alive "$pid" || break
            sleep 0.1
        done
        if ours_alive "$pid"; then
            echo "chroma-server: PID $pid did not stop within 10 s; sending KILL" >&2
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        # The node child may outlive its npx parent for a moment.
        for _ in $(seq 1 50); do
            pgrep -g "$pid" >/dev/null 2>&1 || break
            sleep 0.1
        done
        pgrep -g "$pid" >/dev/null 2>&1 && kill -KILL -- "-$pid" 2>/dev/null || true
        echo "chroma-server: stopped PID $pid" >&2
    else
        echo "chroma-server: PID $pid from $PIDFILE is not running; removing the stale PID file" >&2
    fi
    rm -f "$PIDFILE" "$URLFILE"
    ;;
status)
    if [[ -f $PIDFILE ]] && ours_alive "$(cat "$PIDFILE")"; then
        if heartbeat "$PORT"; then
            echo "running: PID $(cat "$PIDFILE"), http://127.0.0.1:$PORT"
            exit 0
        fi
        echo "started (PID $(cat "$PIDFILE")) but not answering on 127.0.0.1:$PORT"
        exit 1
    fi
    if ((PORT_SET)) && heartbeat "$PORT"; then
        echo "a ChromaDB server answers on 127.0.0.1:$PORT but was not started by this script"
        exit 0
    fi
    echo "not running"
    exit 3
    ;;
*)
    die "unknown command '$cmd' (install, start, stop or status)"
    ;;
esac
