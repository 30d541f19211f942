# kill -9 of `collections compact` and `collections delete` at random points,
# on every available backend.  compact: the collection reopens with every
# record and passes the invariant checks.  delete: the collection is either
# intact or gone (never half there), and can be deleted or recreated after.
# RAGGED_TEST_KILL_ITERATIONS (default 3 in `make check`; `make soak` runs 20+) sets the loop count.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
N=${RAGGED_TEST_KILL_ITERATIONS:-3}
printf 'chunking:\n  size: 64\n  overlap: 8\n' >"$TMP/ragged.yml"
export RAGGED_CONFIG="$TMP/ragged.yml"

# run_and_kill MAX_MS CMD...: starts CMD, kills it after a random delay below
# MAX_MS; returns its exit status (137 when the kill came first).
run_and_kill() {
    local max=$1; shift
    "$@" >"$TMP/out" 2>&1 &
    local pid=$!
    ms_sleep "$(rand_below "$max")"
    kill -9 $pid 2>/dev/null
    wait $pid
}

for b in $(fault_backends); do
    D="$TMP/docs-$b"
    $CHECK corpus "$D" ${RAGGED_TEST_KILL_FILES:-24} 7
    $CHECK manifest "$D" >"$TMP/man.json"

    # ---- compact ----
    C=compacttest
    expect_exit 0 "$RAGGED" ingest "$D" --backend "$b" --collection $C --quiet
    killed=0
    for ((i = 1; i <= N; i++)); do
        # Give compaction something to reclaim: replace some files' chunks.
        $CHECK mutate "$D" $((100 + i))
        $CHECK manifest "$D" >"$TMP/man.json"
        expect_exit 0 "$RAGGED" ingest "$D" --prune --backend "$b" --collection $C --quiet
        t0=$(now_ms)
        expect_exit 0 "$RAGGED" collections compact $C --backend "$b"
        dur=$(( $(now_ms) - t0 ))
        $CHECK mutate "$D" $((200 + i))
        $CHECK manifest "$D" >"$TMP/man.json"
        expect_exit 0 "$RAGGED" ingest "$D" --prune --backend "$b" --collection $C --quiet
        run_and_kill $((dur + dur / 5 + 5)) "$RAGGED" collections compact $C --backend "$b"
        rc=$?
        [[ $rc -eq 137 ]] && killed=$((killed + 1))
        [[ $rc -eq 137 || $rc -eq 0 ]] || fail "$b compact $i: exit $rc: $(cat "$TMP/out")"
        snapshot "$b" $C "$TMP/snap.json"
        res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict) ||
            fail "$b compact $i: after kill -9 (exit $rc): $res"
    done
    echo "kill_compact[$b]: $N runs (compact ~${dur} ms): $killed killed mid-run, $((N - killed)) finished first; 0 violations"

    # ---- delete ----
    gone=0 intact=0
    expect_exit 0 "$RAGGED" ingest "$D" --prune --backend "$b" --collection deltemplate --quiet
    for ((i = 1; i <= N; i++)); do
        C=deltest$i
        expect_exit 0 "$RAGGED" ingest "$D" --backend "$b" --collection $C --quiet
        t0=$(now_ms)
        expect_exit 0 "$RAGGED" collections delete deltemplate --backend "$b"
        dur=$(( $(now_ms) - t0 ))
        expect_exit 0 "$RAGGED" ingest "$D" --backend "$b" --collection deltemplate --quiet
        run_and_kill $((dur + dur / 5 + 5)) "$RAGGED" collections delete $C --backend "$b"
        rc=$?
        [[ $rc -eq 137 || $rc -eq 0 ]] || fail "$b delete $i: exit $rc: $(cat "$TMP/out")"
        expect_exit 0 "$RAGGED" collections list --backend "$b" --format json
        snapshot "$b" $C "$TMP/snap.json"
        res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict --absent-ok) ||
            fail "$b delete $i: after kill -9 (exit $rc): $res"
        if [[ $res == *absent* ]]; then
            gone=$((gone + 1))
            # The name is free again.
            expect_exit 0 "$RAGGED" ingest "$D" --backend "$b" --collection $C --quiet
        else
            intact=$((intact + 1))
        fi
        expect_exit 0 "$RAGGED" collections delete $C --backend "$b"
    done
    # A kill during the removal of the renamed directory leaves a hidden
    # leftover that no command lists; the next open of the store removes it
    # (its process is dead), and commands have run since every kill.
    dir=$("$RAGGED" config show --format json 2>/dev/null |
        /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); c=j.get('config', j); print(c['vectorstore']['$b']['persist_directory'])")
    expect_exit 0 "$RAGGED" collections list --backend "$b"
    left=$(find "$dir" -maxdepth 1 -name '.*.deleting.*' 2>/dev/null | wc -l)
    [[ $left -eq 0 ]] || fail "$b: $left hidden leftovers of killed deletes were not removed: $(ls -a "$dir")"
    echo "kill_delete[$b]: $N runs (delete ~${dur} ms): $gone deleted, $intact intact; 0 violations;" \
         "0 hidden leftover directories"
done
