# kill -9 of `ragged ingest --prune` at every durability point, not at a
# random time: strace kills the process when it enters its Nth fdatasync /
# fsync / rename (N = 1, 2, ... until a run completes), each time from the
# same starting store.  Every commit of the store, of the BM25 sidecar and
# of leann's generation files is one of those points, so every state a kill
# between two writes can leave is checked: the collection opens, every
# acknowledged file is present completely (old or new version), no
# half-written version is visible, and the next ingest repairs everything.
# On a backend with an atomic replace (exact, leann) a changed file is never
# seen as its new version plus the old version's tail chunks; on the others
# (chromadb) that state is counted and reported.  Skips without strace (or when ptrace is
# not allowed).
# RAGGED_TEST_KILL_POINT_SYSCALLS (default "fdatasync fsync rename"; `make
# soak` adds pwrite64: a kill in the middle of every write) sets the points.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
command -v strace >/dev/null || skip "strace not installed (scripts/install-deps.sh installs it)"
strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
printf 'chunking:\n  size: 64\n  overlap: 8\n' >"$TMP/ragged.yml"
export RAGGED_CONFIG="$TMP/ragged.yml"
SYSCALLS=${RAGGED_TEST_KILL_POINT_SYSCALLS:-fdatasync fsync rename}
DATA="$XDG_DATA_HOME/ragged"

for b in $(fault_backends); do
    D="$TMP/docs-$b"; C=killpoints
    $CHECK corpus "$D" ${RAGGED_TEST_KILL_FILES:-24} 3
    expect_exit 0 "$RAGGED" ingest "$D" --prune --backend "$b" --collection $C --quiet
    $CHECK manifest "$D" >"$TMP/prev.json"
    # Files changed (longer and shorter), deleted and added.
    $CHECK mutate "$D" 17
    $CHECK manifest "$D" >"$TMP/man.json"
    /usr/bin/python3 -c "import json,sys; p=json.load(open(sys.argv[1])); m=json.load(open(sys.argv[2])); \
        json.dump({k: v for k, v in m.items() if k in p}, open(sys.argv[3], 'w'))" \
        "$TMP/prev.json" "$TMP/man.json" "$TMP/ack.json"
    rm -rf "$TMP/saved"; cp -a "$DATA" "$TMP/saved"
    points=0 tails=0 stale=0 progressed=0
    for sc in $SYSCALLS; do
        for ((n = 1; ; n++)); do
            rm -rf "$DATA"; cp -a "$TMP/saved" "$DATA"
            # Through a pipe: bash reports no "Killed" for it.
            strace_run -f -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when=$n \
                "$RAGGED" ingest "$D" --prune --backend "$b" --collection $C --quiet 2>&1 | cat >"$TMP/out"
            rc=${PIPESTATUS[0]}
            [[ $rc -eq 0 ]] && break
            [[ $rc -eq 137 ]] || fail "$b: ingest killed at $sc #$n: exit $rc: $(cat "$TMP/out")"
            points=$((points + 1))
            snapshot "$b" $C "$TMP/snap.json"
            res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/ack.json" --previous "$TMP/prev.json") ||
                fail "$b: after kill -9 at $sc #$n: $res"
            [[ $res == *'"orphaned_tails": 0'* ]] || tails=$((tails + 1))
            [[ $res == *'"stale_documents": 0'* ]] || stale=$((stale + 1))
            [[ $res == *'"progressed": 0'* ]] || progressed=$((progressed + 1))
            if [[ $b != chromadb && $res != *'"stale_documents": 0'* ]]; then
                fail "$b: kill at $sc #$n left a changed file's old version beside its new one" \
                     "(the replace of a changed file is not atomic): $res"
            fi
            expect_exit 0 "$RAGGED" ingest "$D" --prune --backend "$b" --collection $C --quiet
            snapshot "$b" $C "$TMP/snap.json"
            res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict) ||
                fail "$b: the ingest after the kill at $sc #$n did not repair the collection: $res"
        done
    done
    ((points > 0)) || fail "$b: no kill point was reached (strace injection not working?)"
    ((progressed > 0)) || fail "$b: no kill came after the new versions were written; the points do not cover the write"
    echo "kill_points[$b]: $points kill points ($SYSCALLS), $progressed after new versions were stored;" \
         "0 violations; $stale left an old version beside the new one ($tails of them the old tail only)"
done
