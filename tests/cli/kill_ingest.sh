# kill -9 of `ragged ingest --prune` at random points, on every available
# backend: after each kill the collection opens, every record acknowledged by
# the last completed ingest is present (a changed file in its old or its new
# version), no half-written version of a document is visible, queries work;
# the next completed ingest leaves exactly the files on disk.  Known gap,
# counted and reported: a changed file is replaced in two steps (upsert, then
# delete of the old ids beyond the new chunk count), so a kill between them
# leaves the old version's tail visible until the next ingest.
# RAGGED_TEST_KILL_ITERATIONS (default 6 in `make check`; `make soak` runs 20+) sets the loop count.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
N=${RAGGED_TEST_KILL_ITERATIONS:-6}
printf 'chunking:\n  size: 64\n  overlap: 8\n' >"$TMP/ragged.yml"
export RAGGED_CONFIG="$TMP/ragged.yml"

for b in $(fault_backends); do
    D="$TMP/docs-$b"; C=killtest
    $CHECK corpus "$D" ${RAGGED_TEST_KILL_FILES:-60} 1
    t0=$(now_ms)
    expect_exit 0 "$RAGGED" ingest "$D" --prune --backend "$b" --collection $C --quiet
    dur=$(( $(now_ms) - t0 ))
    $CHECK manifest "$D" >"$TMP/man.json"
    snapshot "$b" $C "$TMP/snap.json"
    $CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict >/dev/null || fail "$b: baseline ingest broken"
    killed=0 finished=0 stale_runs=0 progressed=0 orphan_runs=0
    inc=$((dur / 4 + 10))   # duration of an incremental ingest, learned from runs that finish
    for ((i = 1; i <= N; i++)); do
        cp "$TMP/man.json" "$TMP/prev.json"
        $CHECK mutate "$D" "$i"
        $CHECK manifest "$D" >"$TMP/man.json"
        # Files that existed before and still exist: old or new version must be there.
        /usr/bin/python3 -c "import json,sys; p=json.load(open(sys.argv[1])); m=json.load(open(sys.argv[2])); \
            json.dump({k: v for k, v in m.items() if k in p}, open(sys.argv[3], 'w'))" \
            "$TMP/prev.json" "$TMP/man.json" "$TMP/ack.json"
        delay=$(rand_below $((inc + inc / 5 + 5)))
        t0=$(now_ms)
        "$RAGGED" ingest "$D" --prune --backend "$b" --collection $C --quiet >"$TMP/out" 2>&1 &
        pid=$!
        ms_sleep "$delay"
        kill -9 $pid 2>/dev/null
        wait $pid; rc=$?
        if [[ $rc -eq 137 ]]; then killed=$((killed + 1)); else finished=$((finished + 1)); fi
        [[ $rc -eq 137 || $rc -eq 0 ]] || fail "$b iteration $i: ingest failed (exit $rc): $(cat "$TMP/out")"
        snapshot "$b" $C "$TMP/snap.json"
        res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/ack.json" --previous "$TMP/prev.json") ||
            fail "$b iteration $i: after kill -9 at ${delay} ms (exit $rc): $res"
        [[ $res == *'"stale_documents": 0'* ]] || stale_runs=$((stale_runs + 1))
        [[ $res == *'"orphaned_tails": 0'* ]] || orphan_runs=$((orphan_runs + 1))
        [[ $res == *'"progressed": 0'* ]] || progressed=$((progressed + 1))
        # A completed ingest repairs whatever the kill left.  When the kill
        # came before any write it does the killed run's whole work: its
        # duration sets the range of the next kill delay.
        t0=$(now_ms)
        expect_exit 0 "$RAGGED" ingest "$D" --prune --backend "$b" --collection $C --quiet
        [[ $res == *'"progressed": 0'* ]] && inc=$(( $(now_ms) - t0 ))
        snapshot "$b" $C "$TMP/snap.json"
        res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict) ||
            fail "$b iteration $i: the ingest after the kill did not repair the collection: $res"
    done
    echo "kill_ingest[$b]: $N runs (full ingest ${dur} ms, incremental ~${inc} ms): $killed killed mid-run" \
         "($progressed after committing part of their work), $finished finished first; 0 violations; $stale_runs kills left an old version beside the new one," \
         "$orphan_runs of them its tail chunks only (both repaired by the next ingest)"
done
