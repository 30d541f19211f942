# A ChromaDB server of the test's own (the fault tests stop, freeze and
# restart it, so they cannot share the one tests/run.sh starts).  Sourced
# after _lib.sh.  chroma_start skips the test (exit 77, with the reason) when
# no server can run here; the server is stopped by its PID on exit.
REPO=${RAGGED_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CHROMA_SCRIPT="$REPO/scripts/chroma-server.sh"
CHROMA_PIDF="$TMP/chroma.pid"
CHROMA_DATA="$TMP/chroma-data"

chroma_stop() { "$CHROMA_SCRIPT" stop --pid-file "$CHROMA_PIDF" >/dev/null 2>&1 || true; }

# chroma_try_start: a server on a free port; sets CHROMA_URL and CHROMA_PORT
# and points ragged at it.  Returns 1 with the reason in CHROMA_UNAVAILABLE
# when no server can run here.
chroma_try_start() {
    CHROMA_UNAVAILABLE=""
    local deps=${RAGGED_CHROMA_DEPS:-$REPO/.deps/chroma}
    if [[ ! -x $CHROMA_SCRIPT ]]; then
        CHROMA_UNAVAILABLE="scripts/chroma-server.sh is not in this tree"
    elif [[ ! -f $deps/node_modules/chromadb/package.json ]]; then
        CHROMA_UNAVAILABLE="ChromaDB npm packages not installed (scripts/chroma-server.sh install)"
    elif "$RAGGED" collections list --backend chromadb --config /dev/null 2>&1 >/dev/null |
        grep -q "not compiled in\|not available"; then
        CHROMA_UNAVAILABLE="chromadb backend not in this build"
    else
        trap 'chroma_resume; chroma_stop' EXIT
        CHROMA_URL=$("$CHROMA_SCRIPT" start --port auto --path "$CHROMA_DATA" --pid-file "$CHROMA_PIDF" --timeout 90 \
            2>"$TMP/chroma-start.log") ||
            CHROMA_UNAVAILABLE="ChromaDB server did not start: $(tail -n 3 "$TMP/chroma-start.log")"
    fi
    [[ -z $CHROMA_UNAVAILABLE ]] || return 1
    CHROMA_PORT=${CHROMA_URL##*:}
    export RAGGED_VECTORSTORE_CHROMADB_URL=$CHROMA_URL
}

# chroma_start: the same, skipping the test (exit 77) without a server.
chroma_start() { chroma_try_start || skip "$CHROMA_UNAVAILABLE"; }

# chroma_restart: the same data directory and port again (bounded wait).
chroma_restart() {
    "$CHROMA_SCRIPT" start --port "$CHROMA_PORT" --path "$CHROMA_DATA" --pid-file "$CHROMA_PIDF" --timeout 90 \
        >/dev/null 2>"$TMP/chroma-start.log" || fail "could not restart the server: $(tail -n 3 "$TMP/chroma-start.log")"
}

# chroma_freeze / chroma_resume: SIGSTOP / SIGCONT to the server's process
# group: it keeps its port (the kernel still accepts connections) but answers
# nothing, the way a hung or swapped-out server looks to a client.
chroma_freeze() { kill -STOP -- "-$(cat "$CHROMA_PIDF")"; }
chroma_resume() { [[ -f $CHROMA_PIDF ]] && kill -CONT -- "-$(cat "$CHROMA_PIDF")" 2>/dev/null; return 0; }
