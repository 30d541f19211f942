# kill -9 of the streaming rebuild (issue 16, item 5): with
# build_memory_mb 1 (256 vectors at the builtin embedder's 1024-d) a
# collection of several hundred records is past the bound, so its ingest
# grows by insertion after the first builds and `collections compact`
# rebuilds it a block at a time (leann_vacuum.c stream_build: a spread
# sample trains the codes and gets a full build, the rest is recomputed and
# inserted).  strace kills compact at its Nth fdatasync / rename (N = 1, 2,
# ... until a run completes), each time from the same starting store: the
# collection must open with every record (compact is one transaction), no
# live node unreachable and no orphan generation files left once the next
# write commits.  The run that completes must have rebuilt past the bound
# (built_n = records > 256) with every node reachable, and answer queries.
# Skips without strace.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
command -v strace >/dev/null || skip "strace not installed (scripts/install-deps.sh installs it)"
strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
printf 'chunking:\n  size: 64\n  overlap: 8\nvectorstore:\n  leann:\n    scan_threshold: 0\n    build_memory_mb: 1\n' \
    >"$TMP/ragged.yml"
export RAGGED_CONFIG="$TMP/ragged.yml"
DATA="$XDG_DATA_HOME/ragged"
D="$TMP/docs"; C=streamed
B=(--backend leann --collection $C)

# unreachable live nodes, nodes, built_n, records, from backend stats
graph_state() { leann_state $C unreachable nodes built_n records; }

$CHECK corpus "$D" 60 7
# a quarter first (a full build), then the rest: past the bound, inserted
expect_exit 0 "$RAGGED" ingest "$D/part0" "${B[@]}" --quiet
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
read -r unreach nodes built records <<<"$(graph_state)"
((records > 256)) || fail "the corpus made $records records; the test needs more than the 256-vector bound"
((built < 256 && unreach == 0)) || fail "after ingest: built_n $built (bound 256), $unreach unreachable"
$CHECK manifest "$D" >"$TMP/man.json"
rm -rf "$TMP/saved"; cp -a "$DATA" "$TMP/saved"
points=0
for sc in fdatasync rename; do
    for ((n = 1; ; n++)); do
        rm -rf "$DATA"; cp -a "$TMP/saved" "$DATA"
        strace_run -f -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when=$n \
            "$RAGGED" collections compact $C --backend leann 2>&1 | cat >"$TMP/out"
        rc=${PIPESTATUS[0]}
        [[ $rc -eq 0 ]] && break
        [[ $rc -eq 137 ]] || fail "compact killed at $sc #$n: exit $rc: $(cat "$TMP/out")"
        points=$((points + 1))
        snapshot leann $C "$TMP/snap.json"
        res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict) ||
            fail "after kill -9 at $sc #$n: $res"
        read -r unreach _ _ r <<<"$(graph_state)"
        [[ $unreach == 0 && $r == "$records" ]] || fail "after kill -9 at $sc #$n: $unreach unreachable, $r records of $records"
    done
    read -r unreach nodes built r <<<"$(graph_state)"
    [[ $unreach == 0 && $built == "$records" && $nodes == "$records" && $r == "$records" ]] ||
        fail "$sc: after the completed compact: $unreach unreachable, built_n $built, $nodes nodes, $r of $records records"
    snapshot leann $C "$TMP/snap.json"
    res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict) || fail "$sc: after compact: $res"
done
((points > 0)) || fail "no kill point was reached (strace injection not working?)"
# a write after a killed compact leaves only its own generation's files
rm -rf "$DATA"; cp -a "$TMP/saved" "$DATA"
strace_run -f -o /dev/null -e trace=rename -e inject=rename:signal=KILL:when=1 \
    "$RAGGED" collections compact $C --backend leann >/dev/null 2>&1
$CHECK mutate "$D" 3
expect_exit 0 "$RAGGED" ingest "$D" --prune "${B[@]}" --quiet
dir="$DATA/leann/$C"
[[ $(ls "$dir" | grep -c '^graph-') -eq 1 && $(ls "$dir" | grep -c '^codes-') -eq 1 ]] ||
    fail "orphan generation files: $(ls "$dir")"
echo "leann_kill_compact: $points kill points, 0 violations"
