# Shared by the serve*.sh / mcp.sh tests: start `ragged serve` on a free
# loopback port (--port 0; the port is read from its first line), wait for
# it with a bounded timeout, stop it by PID on exit.
SERVE_PID=
# Stops the server with SIGINT and checks it exits 0 (under ASan a leak or
# an error report makes that fail).
stop_serve() {
    if [[ -n $SERVE_PID ]]; then
        local pid=$SERVE_PID i rc
        SERVE_PID=
        kill -INT "$pid" 2>/dev/null
        for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; wait "$pid" 2>/dev/null; fail "ragged serve did not stop within 15 s of SIGINT"; }
        wait "$pid"
        rc=$?
        [[ $rc == 0 ]] || fail "ragged serve exited $rc after SIGINT: $(tail -n 20 "$TMP/serve.err")"
    fi
}
# start_serve [ARGS...]: sets SERVE_URL (http://127.0.0.1:PORT) and SERVE_PORT;
# stdout/stderr of the server in $TMP/serve.out / $TMP/serve.err.
start_serve() {
    stop_serve
    : >"$TMP/serve.out"
    "$RAGGED" serve --port 0 "$@" >"$TMP/serve.out" 2>"$TMP/serve.err" &
    SERVE_PID=$!
    local i
    SERVE_PORT=
    for ((i = 0; i < 100; i++)); do
        SERVE_PORT=$(sed -n 's|.*listening on http://[^ ]*:\([0-9]*\)/$|\1|p' "$TMP/serve.out")
        [[ -n $SERVE_PORT ]] && break
        kill -0 "$SERVE_PID" 2>/dev/null || fail "ragged serve exited: $(cat "$TMP/serve.err")"
        sleep 0.1
    done
    [[ -n $SERVE_PORT ]] || fail "ragged serve did not say where it listens within 10 s: $(cat "$TMP/serve.out" "$TMP/serve.err")"
    SERVE_URL="http://127.0.0.1:$SERVE_PORT"
}
# http METHOD PATH [CURL ARGS...]: sets BODY and CODE.
http() {
    local method=$1 path=$2
    shift 2
    BODY=$(curl -sS --max-time 30 -X "$method" -o - -w '\n%{http_code}' "$@" "$SERVE_URL$path") || fail "curl $method $path failed"
    CODE=${BODY##*$'\n'}
    BODY=${BODY%$'\n'*}
    BODY=${BODY%$'\n'}   # as $(...) drops it from the CLI's output
}
command -v curl >/dev/null || skip "curl is needed for the serve tests"
