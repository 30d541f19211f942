# Codebook retraining as a collection grows past the rebuilds' memory bound
# (issue 16, item 3b; leann_retrain_codes in leann_vacuum.c), and kill -9
# of the ingest that retrains.  With build_memory_mb 1 (256 vectors at the
# builtin embedder's 1024-d) a quarter of the corpus gets full builds; the
# ingest of the rest takes the collection past the bound and past twice the
# size its codebooks were trained at, so it retrains them (codes_n becomes
# the record count, built_n stays) and writes a whole new generation.
# strace kills that ingest at its Nth rename / fdatasync (N = 1, 2, ...
# until a run completes), each time from the same starting store: the
# collection must open with the old records or the new ones, every document
# complete, no live node unreachable, its codes those of one codebook (the
# store's own check of the generation files passes), and the next ingest
# must complete.  Skips without strace.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
command -v strace >/dev/null || skip "strace not installed (scripts/install-deps.sh installs it)"
strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
printf 'chunking:\n  size: 64\n  overlap: 8\nvectorstore:\n  leann:\n    scan_threshold: 0\n    build_memory_mb: 1\n' \
    >"$TMP/ragged.yml"
export RAGGED_CONFIG="$TMP/ragged.yml"
DATA="$XDG_DATA_HOME/ragged"
D="$TMP/docs"; C=grown
B=(--backend leann --collection $C)

# unreachable live nodes, built_n, codes_n, records, from backend stats
graph_state() { leann_state $C unreachable built_n codes_n records; }

$CHECK corpus "$D" 60 7
expect_exit 0 "$RAGGED" ingest "$D/part0" "${B[@]}" --quiet
read -r unreach built0 codes0 records0 <<<"$(graph_state)"
((records0 < 256 && codes0 == records0 && unreach == 0)) ||
    fail "after the first quarter: $records0 records, codes_n $codes0, $unreach unreachable"
$CHECK manifest "$D/part0" >"$TMP/man0.json"
$CHECK manifest "$D" >"$TMP/man.json"
rm -rf "$TMP/saved"; cp -a "$DATA" "$TMP/saved"
points=0
for sc in rename fdatasync; do
    for ((n = 1; ; n++)); do
        rm -rf "$DATA"; cp -a "$TMP/saved" "$DATA"
        strace_run -f -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when=$n \
            "$RAGGED" ingest "$D" "${B[@]}" --quiet 2>&1 | cat >"$TMP/out"
        rc=${PIPESTATUS[0]}
        [[ $rc -eq 0 ]] && break
        [[ $rc -eq 137 ]] || fail "ingest killed at $sc #$n: exit $rc: $(cat "$TMP/out")"
        points=$((points + 1))
        snapshot leann $C "$TMP/snap.json"
        res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man0.json") ||
            fail "after kill -9 at $sc #$n: $res"
        read -r unreach _ _ r <<<"$(graph_state)"
        [[ $unreach == 0 ]] || fail "after kill -9 at $sc #$n: $unreach unreachable live nodes ($r records)"
        expect_exit 0 "$RAGGED" query "backup restore disk" "${B[@]}" -k 3 --mode vector --format json
    done
    read -r unreach built codes r <<<"$(graph_state)"
    ((r > 2 * records0 && r > 256)) || fail "$sc: the corpus made $r records; the test needs more than 256 and twice $records0"
    [[ $unreach == 0 && $built == "$built0" && $codes == "$r" ]] ||
        fail "$sc: after the completed ingest: $unreach unreachable, built_n $built (was $built0), codes_n $codes of $r records"
    snapshot leann $C "$TMP/snap.json"
    res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man.json" --strict) || fail "$sc: after ingest: $res"
done
((points > 0)) || fail "no kill point was reached (strace injection not working?)"
# The retrained codes answer like the exact backend: the top hit of a
# passage's own text is that passage's document.
q=$(head -c 300 "$D/part3/doc0003.txt" | tr '\n' ' ')
expect_exit 0 "$RAGGED" query "$q" "${B[@]}" -k 1 --mode vector --format json
[[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("doc0003.txt")') == True ]] ||
    fail "top hit of doc0003's own text: $OUT"
# one generation's files only, and the store's own check of them passes
dir="$DATA/leann/$C"
[[ $(ls "$dir" | grep -c '^graph-') -eq 1 && $(ls "$dir" | grep -c '^codes-') -eq 1 ]] ||
    fail "generation files: $(ls "$dir")"
expect_exit 0 "$RAGGED" collections check $C --backend leann
echo "leann_kill_retrain: $points kill points, 0 violations"
