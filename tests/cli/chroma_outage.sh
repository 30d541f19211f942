# The ChromaDB server stopped, restarted or frozen while `ragged ingest
# --backend chromadb` and `ragged query` run, against a server of the
# test's own (same data directory and port after a restart):
#   - a command that loses the server exits 1 with one message naming the
#     URL and the fix, never crashes, and never waits longer than
#     vectorstore.chromadb.timeout_ms per request (a frozen server: SIGSTOP);
#   - after the restart the collection is consistent: every file stored by
#     the last completed ingest is present completely (its old or new
#     version), no half-written version, and the BM25 index kept on this
#     machine holds exactly the server's records (it never claims a record
#     the server does not have);
#   - ingest run again completes; then the collection holds exactly the files
#     on disk, and one more ingest finds nothing to do (the incremental
#     manifest, read from the server, agrees with the files);
#   - a restart during ingest: the ingest completes or fails cleanly, and the
#     re-run completes;
#   - queries running in a loop while the server stops: each one either
#     answers in full or fails with the message; after the restart they
#     answer as before.
# RAGGED_TEST_OUTAGE_ITERATIONS (default 1 in `make check`; `make soak`
# runs 10) sets the rounds of each ingest case.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
source "$(dirname "$0")/_chroma.sh"
N=${RAGGED_TEST_OUTAGE_ITERATIONS:-1}
printf 'chunking:\n  size: 64\n  overlap: 8\n' >"$TMP/ragged.yml"
export RAGGED_CONFIG="$TMP/ragged.yml"
chroma_start
# Generous for the writes on a loaded machine; the frozen-server case sets
# its own short timeout.
TIMEOUT_MS=30000
FROZEN_TIMEOUT_MS=3000
export RAGGED_VECTORSTORE_CHROMADB_TIMEOUT_MS=$TIMEOUT_MS
B=(--backend chromadb)
C=outage
HINT="start it with scripts/chroma-server.sh start or set vectorstore.chromadb.url"

# wait_bounded PID SECONDS: waits for PID; fails if it is still running then.
wait_bounded() {
    local deadline=$(( $(now_ms) + $2 * 1000 ))
    while kill -0 "$1" 2>/dev/null; do
        if (( $(now_ms) > deadline )); then
            kill -9 "$1" 2>/dev/null
            fail "$3: still running after $2 s (the server is down: it should have given up)"
        fi
        sleep 0.05
    done
    wait "$1"
}

# lost_server RC STDERR WHAT: exit 1 and exactly one error line, naming the
# URL and what to do.
lost_server() {
    [[ $1 -eq 1 ]] || fail "$3: exit $1 (expected 1: the server went away): $(head -c 600 "$2")"
    local lines
    lines=$(grep -c '^ragged: ' "$2")
    [[ $lines -eq 1 ]] || fail "$3: $lines error lines instead of one: $(head -c 900 "$2")"
    contains "$(cat "$2")" "ChromaDB at $CHROMA_URL"
}

D="$TMP/docs"
$CHECK corpus "$D" ${RAGGED_TEST_OUTAGE_FILES:-60} 5
t0=$(now_ms)
expect_exit 0 "$RAGGED" ingest "$D" --prune "${B[@]}" --collection $C --quiet
dur=$(( $(now_ms) - t0 ))
$CHECK manifest "$D" >"$TMP/man.json"
snapshot chromadb $C "$TMP/snap.json"
$CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict >/dev/null || fail "baseline ingest broken"

# ---- ingest: the server stops (and stays down a while), or restarts ----
declare -A tally
inc=$((dur / 2))   # an incremental ingest's duration, learned from the re-runs below
for kind in stop restart; do
    for ((i = 1; i <= N; i++)); do
        if [[ $kind == stop ]]; then seed=$((100 + i)); else seed=$((200 + i)); fi
        cp "$TMP/man.json" "$TMP/prev.json"
        $CHECK mutate "$D" $seed
        $CHECK manifest "$D" >"$TMP/man.json"
        /usr/bin/python3 -c "import json,sys; p=json.load(open(sys.argv[1])); m=json.load(open(sys.argv[2])); \
            json.dump({k: v for k, v in m.items() if k in p}, open(sys.argv[3], 'w'))" \
            "$TMP/prev.json" "$TMP/man.json" "$TMP/ack.json"
        delay=$(rand_below $((inc + 1)))
        "$RAGGED" ingest "$D" --prune "${B[@]}" --collection $C --quiet >"$TMP/out" 2>"$TMP/err" &
        pid=$!
        ms_sleep "$delay"
        chroma_stop
        [[ $kind == restart ]] && chroma_restart
        what="ingest, server ${kind}ped after $delay ms (round $i)"
        wait_bounded $pid $(( TIMEOUT_MS / 1000 * 2 + 30 )) "$what"; rc=$?
        if [[ $rc -eq 0 ]]; then
            outcome="completed"
        else
            lost_server $rc "$TMP/err" "$what"
            # A summary (none when the collection could not even be opened)
            # claims only what reached the server.
            not_contains "$(cat "$TMP/out")" "ingested"
            outcome="failed cleanly"
        fi
        if [[ $kind == stop ]]; then
            # While it is down every command says so at once.
            t0=$(now_ms)
            "$RAGGED" query "backup" "${B[@]}" --collection $C >/dev/null 2>"$TMP/qerr"; rc=$?
            lost_server $rc "$TMP/qerr" "query while the server is down"
            contains "$(cat "$TMP/qerr")" "$HINT"
            "$RAGGED" ingest "$D" --prune "${B[@]}" --collection $C --quiet >/dev/null 2>"$TMP/qerr"; rc=$?
            lost_server $rc "$TMP/qerr" "ingest while the server is down"
            contains "$(cat "$TMP/qerr")" "$HINT"
            chroma_restart
        fi
        tally["$kind: $outcome"]=$(( ${tally["$kind: $outcome"]:-0} + 1 ))
        # Consistent after the restart: acknowledged files there (old or new
        # version), nothing half-written, BM25 index = the server's records.
        snapshot chromadb $C "$TMP/snap.json"
        res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/ack.json" --previous "$TMP/prev.json") ||
            fail "$what, after the restart: $res"
        [[ $res == *'"orphaned_tails": 0'* ]] || tally["$kind: old tail left beside the new version"]=$(( ${tally["$kind: old tail left beside the new version"]:-0} + 1 ))
        digest chromadb $C may-refuse >/dev/null || exit 1   # a query never repairs BM25; the re-run does
        # The re-run completes and leaves exactly the files on disk; one more
        # finds nothing to do.
        t0=$(now_ms)
        expect_exit 0 "$RAGGED" ingest "$D" --prune "${B[@]}" --collection $C --quiet
        [[ $outcome == "failed cleanly" ]] && inc=$(( $(now_ms) - t0 ))
        snapshot chromadb $C "$TMP/snap.json"
        res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict) ||
            fail "$what: the ingest after the restart did not repair the collection: $res"
        digest chromadb $C >/dev/null || exit 1
        expect_exit 0 "$RAGGED" ingest "$D" --prune "${B[@]}" --collection $C --format json
        [[ $(json_get "$OUT" 'j["files_ingested"], j["chunks_written"], j["chunks_removed"]') == "0 0 0" ]] ||
            fail "$what: a second ingest found work: the manifest disagrees with the server: $OUT"
    done
done
summary=""
for k in "${!tally[@]}"; do summary+="${summary:+, }$k ${tally[$k]}"; done
echo "chroma_outage[ingest]: $((2 * N)) rounds (full ingest ${dur} ms, incremental ~${inc} ms): $summary; 0 violations"

# ---- a frozen server (SIGSTOP): bounded by the timeout ----
for cmd in query ingest; do
    $CHECK mutate "$D" $((300 + ${#cmd}))
    chroma_freeze
    t0=$(now_ms)
    if [[ $cmd == query ]]; then
        RAGGED_VECTORSTORE_CHROMADB_TIMEOUT_MS=$FROZEN_TIMEOUT_MS \
            "$RAGGED" query "backup" "${B[@]}" --collection $C >/dev/null 2>"$TMP/err" &
    else
        RAGGED_VECTORSTORE_CHROMADB_TIMEOUT_MS=$FROZEN_TIMEOUT_MS \
            "$RAGGED" ingest "$D" --prune "${B[@]}" --collection $C --quiet >/dev/null 2>"$TMP/err" &
    fi
    pid=$!
    wait_bounded $pid $(( FROZEN_TIMEOUT_MS / 1000 * 2 + 20 )) "$cmd against a frozen server"; rc=$?
    took=$(( $(now_ms) - t0 ))
    chroma_resume
    lost_server $rc "$TMP/err" "$cmd against a frozen server"
    contains "$(cat "$TMP/err")" "vectorstore.chromadb.timeout_ms"
    echo "chroma_outage[frozen server, $cmd]: exit 1 after ${took} ms (timeout_ms $FROZEN_TIMEOUT_MS): $(tail -n 1 "$TMP/err" | cut -c1-200)"
done
expect_exit 0 "$RAGGED" ingest "$D" --prune "${B[@]}" --collection $C --quiet
$CHECK manifest "$D" >"$TMP/man.json"
snapshot chromadb $C "$TMP/snap.json"
$CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict >/dev/null || fail "after the frozen server"

# ---- queries in a loop while the server stops, then restarts ----
before=$(digest chromadb $C) || exit 1
for mode in hybrid vector bm25; do
    expect_exit 0 "$RAGGED" query "backup restore disk" "${B[@]}" --collection $C --mode $mode -k 5 --format json
    printf '%s' "$OUT" >"$TMP/base-$mode.json"
done
(
    end=$(( $(now_ms) + 4000 ))
    q=0
    while (( $(now_ms) < end )); do
        q=$((q + 1))
        mode=$(echo hybrid vector bm25 | cut -d' ' -f$(( q % 3 + 1 )))
        t0=$(now_ms)
        "$RAGGED" query "backup restore disk" "${B[@]}" --collection $C --mode $mode -k 5 --format json \
            >"$TMP/q.json" 2>"$TMP/q.err"
        echo "$? $mode $(( $(now_ms) - t0 ))"
        cp "$TMP/q.json" "$TMP/q-$q.json"; cp "$TMP/q.err" "$TMP/q-$q.err"
    done
) >"$TMP/queries.log" &
loop=$!
ms_sleep $(( 300 + $(rand_below 1500) ))
chroma_stop
wait_bounded $loop $(( TIMEOUT_MS / 1000 + 60 )) "query loop"
chroma_restart
ok=0 lost=0 q=0
while read -r rc mode ms; do
    q=$((q + 1))
    if [[ $rc -eq 0 ]]; then
        # Answered in full: the same hits as before the stop.
        same=$(/usr/bin/python3 -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); \
            print([r['id'] for r in a['results']] == [r['id'] for r in b['results']])" "$TMP/q-$q.json" "$TMP/base-$mode.json")
        [[ $same == True ]] || fail "query $q ($mode) answered differently during the stop: $(head -c 400 "$TMP/q-$q.json")"
        ok=$((ok + 1))
    else
        lost_server "$rc" "$TMP/q-$q.err" "query $q ($mode) while the server stopped"
        (( ms < TIMEOUT_MS + 10000 )) || fail "query $q took $ms ms to give up"
        lost=$((lost + 1))
    fi
done <"$TMP/queries.log"
((lost > 0)) || fail "no query ran while the server was down (the loop: $(cat "$TMP/queries.log"))"
# After the restart: the same records (count, content hash, BM25 index) and
# every mode answers.  BM25 (the index on this machine) gives the same hits;
# the server's HNSW index is reloaded, and its approximate neighbours may
# differ a little from before (measured, reported).
after=$(digest chromadb $C) || exit 1
[[ $after == "$before" ]] || fail "the collection changed across the stop and restart: $before -> $after"
common=""
for mode in hybrid vector bm25; do
    expect_exit 0 "$RAGGED" query "backup restore disk" "${B[@]}" --collection $C --mode $mode -k 5 --format json
    printf '%s' "$OUT" >"$TMP/after-$mode.json"
    same=$(/usr/bin/python3 -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); \
        print(len({r['id'] for r in a['results']} & {r['id'] for r in b['results']}))" "$TMP/after-$mode.json" "$TMP/base-$mode.json")
    [[ $mode != bm25 || $same == 5 ]] || fail "after the restart the BM25 query answers differently: $OUT"
    common+="${common:+, }$mode $same/5"
done
echo "chroma_outage[query loop]: $q queries, $ok answered in full (the same hits), $lost failed with the message;" \
     "after the restart the same records (digest $after); top-5 in common with before: $common; 0 violations"
