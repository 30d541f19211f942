# kill -9 of leann writes that consolidate (issue 16): `ingest --prune`
# after 40% of the files were deleted deletes file by file, and every
# delete ends with a consolidation step (leann_vacuum.c): live nodes moved
# into the tombstones' places, tombstones at the top dropped, and once the
# deletes pass LEANN_CONSOLIDATE_CHANGED of the records a pass re-links
# every live node (here in one step: the collection is under
# LEANN_CONSOLIDATE_STEP), checkpointing into new generation files when the
# overlay grows.  strace kills the process at its Nth fdatasync / fsync /
# rename (N = 1, 2, ... until a run completes), each time from the same
# starting store, so every state a kill can leave, inside a step (its
# generation files written, not yet committed) or between steps, is
# checked: the collection opens, every file still present is there
# completely, no live node is unreachable from the graph's entry, and the
# next ingest repairs everything and resumes the consolidation.  The run
# that completes must have consolidated (a pass done, tombstones under
# 20%).  Skips without strace.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
command -v strace >/dev/null || skip "strace not installed (scripts/install-deps.sh installs it)"
strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
printf 'chunking:\n  size: 64\n  overlap: 8\nvectorstore:\n  leann:\n    scan_threshold: 0\n' >"$TMP/ragged.yml"
export RAGGED_CONFIG="$TMP/ragged.yml"
DATA="$XDG_DATA_HOME/ragged"
D="$TMP/docs"; C=consolidate
B=(--backend leann --collection $C)

# unreachable live nodes, nodes, consolidation passes completed and
# tombstones, from backend stats
graph_state() { leann_state $C unreachable nodes consolidation_passes tombstones; }

$CHECK corpus "$D" 16 5
expect_exit 0 "$RAGGED" ingest "$D" --prune "${B[@]}" --quiet
read -r _ _ passes0 _ <<<"$(graph_state)"
$CHECK manifest "$D" >"$TMP/prev.json"
# 40% of the files go (every file whose number is 1 or 3 mod 5 ... by name)
find "$D" -name 'doc*.txt' | sort | awk 'NR % 5 == 1 || NR % 5 == 3' | xargs rm -f
$CHECK manifest "$D" >"$TMP/man.json"
rm -rf "$TMP/saved"; cp -a "$DATA" "$TMP/saved"
points=0
for sc in fdatasync fsync rename; do
    for ((n = 1; ; n++)); do
        rm -rf "$DATA"; cp -a "$TMP/saved" "$DATA"
        strace_run -f -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when=$n \
            "$RAGGED" ingest "$D" --prune "${B[@]}" --quiet 2>&1 | cat >"$TMP/out"
        rc=${PIPESTATUS[0]}
        [[ $rc -eq 0 ]] && break
        [[ $rc -eq 137 ]] || fail "ingest killed at $sc #$n: exit $rc: $(cat "$TMP/out")"
        points=$((points + 1))
        snapshot leann $C "$TMP/snap.json"
        res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --previous "$TMP/prev.json") ||
            fail "after kill -9 at $sc #$n: $res"
        read -r unreach _ _ _ <<<"$(graph_state)"
        [[ $unreach == 0 ]] || fail "after kill -9 at $sc #$n: $unreach live nodes unreachable"
        expect_exit 0 "$RAGGED" ingest "$D" --prune "${B[@]}" --quiet
        snapshot leann $C "$TMP/snap.json"
        res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict) ||
            fail "the ingest after the kill at $sc #$n did not repair the collection: $res"
    done
    # the run that completed consolidated (a pass more than before), and
    # tombstones stay under the threshold
    read -r unreach nodes passes tomb <<<"$(graph_state)"
    [[ $unreach == 0 && $passes -gt $passes0 && $((tomb * 5)) -lt $nodes ]] ||
        fail "$sc: after the completed run: $unreach unreachable, $passes passes (were $passes0), $tomb tombstones of $nodes nodes"
done
((points > 0)) || fail "no kill point was reached (strace injection not working?)"
dir="$DATA/leann/$C"
[[ $(ls "$dir" | grep -c '^graph-') -eq 1 && $(ls "$dir" | grep -c '^codes-') -eq 1 ]] ||
    fail "orphan generation files: $(ls "$dir")"
echo "leann_kill_consolidate: $points kill points, 0 violations"
