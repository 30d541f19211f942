# Shared by the answer*.sh tests: a small corpus in an exact collection and
# the fake LLM server (tests/servers/fake_llm.py), stopped by PID on exit.
source "$(dirname "$0")/_lib.sh"
REPO=${RAGGED_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
FAKE_LLM="$REPO/tests/servers/fake_llm.py"
B=(--backend exact)
Q="how is the database backed up"
LLM_PID=

stop_fake_llm() {
    if [[ -n $LLM_PID ]]; then
        kill "$LLM_PID" 2>/dev/null
        wait "$LLM_PID" 2>/dev/null
        LLM_PID=
    fi
}
trap stop_fake_llm EXIT

# start_fake_llm [--key K] [--gate FILE]: sets LLM_URL; requests go to $TMP/llm.log.
start_fake_llm() {
    [[ -x /usr/bin/python3 ]] || skip "/usr/bin/python3 is needed for the fake LLM server"
    stop_fake_llm
    rm -f "$TMP/llm.port"
    /usr/bin/python3 "$FAKE_LLM" --port-file "$TMP/llm.port" --log "$TMP/llm.log" "$@" >"$TMP/llm.out" 2>&1 &
    LLM_PID=$!
    local i
    for ((i = 0; i < 300; i++)); do
        [[ -s $TMP/llm.port ]] && break
        kill -0 "$LLM_PID" 2>/dev/null || fail "fake LLM server exited: $(cat "$TMP/llm.out")"
        sleep 0.1
    done
    [[ -s $TMP/llm.port ]] || fail "fake LLM server did not publish its port within 30 s"
    LLM_URL="http://127.0.0.1:$(cat "$TMP/llm.port")"
}

# A port nothing listens on (bound, then released).
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

make_corpus() {
    local D="$TMP/docs"
    mkdir -p "$D"
    cat >"$D/backup.md" <<'MD'
# Backups

The database is backed up every night with pg_dump. Copies are kept offsite for thirty days.

To restore, stop the service and run pg_restore against an empty database.
MD
    printf 'Tomatoes need full sun and regular watering in summer. Basil grows well next to them.\n' >"$D/garden.txt"
    {
        echo "Database maintenance log."
        for i in $(seq 1 40); do echo "Entry $i: the nightly database backup finished and the copy was verified."; done
    } >"$D/maintenance.txt"
    expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
    # A build without libcurl (make WITHOUT_CHROMADB=1) has no LLM clients.
    local probe
    probe=$(RAGGED_LLM_PROVIDER=ollama RAGGED_LLM_URL=http://127.0.0.1:9 RAGGED_LLM_MODEL=m \
        "$RAGGED" query "$Q" "${B[@]}" --answer 2>&1 >/dev/null)
    [[ $probe != *"not compiled in"* ]] || skip "answers not compiled in (built with WITHOUT_CHROMADB=1)"
}

# ask EXIT PROVIDER MODEL [ARGS...]: query --answer against the fake server.
ask() {
    local want=$1 provider=$2 model=$3
    shift 3
    expect_exit "$want" env RAGGED_LLM_PROVIDER="$provider" RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL="$model" \
        "$RAGGED" query "$Q" "${B[@]}" --answer "$@"
}
