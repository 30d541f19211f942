# kill -9 of `ragged migrate` at random moments, against a real ChromaDB
# server this test starts: chromadb-to-leann, leann-to-chromadb,
# exact-to-chromadb and chromadb-to-exact.  Each run replaces the target
# (--overwrite) with the other of two source collections, so the old and the
# new target differ; every fifth run starts without a target.  Delays are
# random over the run's measured duration, every other one in its last 40%
# (verify, queries, publish and the old target's removal are short).  After
# each kill (_migrate_faults.sh):
#   - the source still holds exactly what it held (count and content hash);
#   - the target is absent, or the complete old target, or the complete new
#     one (hash equal to its source), never a half-written copy; absent only
#     when there was no old target or the old one waits under its backup
#     name (a kill between the two renames of the swap);
#   - the BM25 index of every collection checked holds exactly its records;
# then (sometimes after a second kill, of a run that is cleaning up the first
# one's leftovers) a re-run with --verify completes, reports the leftovers it
# cleaned, and leaves no staging or backup collection and no file named
# after one in the data directory.
# RAGGED_TEST_KILL_ITERATIONS (default 1 in `make check`; `make soak` runs
# 20) kills per direction; RAGGED_TEST_MIGRATE_DIRECTIONS sets the directions.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
source "$(dirname "$0")/_chroma.sh"
source "$(dirname "$0")/_migrate_faults.sh"
N=${RAGGED_TEST_KILL_ITERATIONS:-1}
DIRS=${RAGGED_TEST_MIGRATE_DIRECTIONS:-chromadb-to-leann leann-to-chromadb exact-to-chromadb chromadb-to-exact}
export RAGGED_CHUNKING_SIZE=64 RAGGED_CHUNKING_OVERLAP=8
chroma_start
export RAGGED_VECTORSTORE_CHROMADB_TIMEOUT_MS=20000
BATCH=20   # several pages, so kills land between pages of the copy

from_backends=()
for b in exact leann chromadb; do [[ " $DIRS" == *" $b-to-"* ]] && from_backends+=($b); done
mf_sources "${from_backends[@]}"

declare -A tally
for dir in $DIRS; do
    from=${dir%%-to-*} to=${dir##*-to-}
    T=tgt-$from
    M=("$RAGGED" migrate "$dir" --to "$T" --overwrite --batch-size $BATCH --verify)
    # Reference run: its duration spreads the kill delays.
    t0=$(now_ms)
    expect_exit 0 "${M[@]}" --collection src-a --format json
    dur=$(( $(now_ms) - t0 ))
    phases=$(json_get "$OUT" '", ".join("%s %.2f" % kv for kv in j["phase_seconds"].items() if kv[1] >= 0.005)')
    old=a
    killed=0 finished=0 second=0 cleaned=0
    tally=()
    for ((i = 1; i <= N; i++)); do
        new=$([[ $old == a ]] && echo b || echo a)
        if ((i % 5 == 0)); then
            expect_exit 0 "$RAGGED" collections delete "$T" --backend "$to"
            old=none
        fi
        if ((i % 2)); then delay=$(rand_below $((dur + dur / 10))); else delay=$((dur * 6 / 10 + $(rand_below $((dur / 2))))); fi
        for round in 1 2; do
            "${M[@]}" --collection src-$new >"$TMP/out" 2>"$TMP/err" &
            pid=$!
            ms_sleep "$delay"
            kill -9 $pid 2>/dev/null
            wait $pid; rc=$?
            [[ $rc -eq 137 || $rc -eq 0 ]] || fail "$dir run $i: migrate exit $rc: $(cat "$TMP/err")"
            if [[ $rc -eq 0 ]]; then finished=$((finished + 1)); else killed=$((killed + 1)); fi
            mf_after_kill "$from" "$to" "$T" src-$new $old $rc "$dir run $i (kill -9 at $delay ms, exit $rc)"
            tally[$MF_STATE]=$(( ${tally[$MF_STATE]:-0} + 1 ))
            # Sometimes kill the run that cleans up this kill's leftovers.
            [[ $round == 1 && $rc -eq 137 && $MF_LIST == *rgmig* && $(rand_below 2) == 0 ]] || break
            second=$((second + 1))
            delay=$(rand_below $((dur / 3 + 1)))
            [[ $MF_STATE == after* ]] && old=$new
        done
        [[ $MF_LIST == *rgmig* ]] && cleaned=$((cleaned + 1))
        mf_rerun "$from" "$to" "$T" src-$new "${M[@]}" --collection src-$new
        old=$new
    done
    points=""
    for k in "${!tally[@]}"; do points+="${points:+, }$k ${tally[$k]}"; done
    echo "kill_migrate[$dir]: $((killed + finished)) runs ($N + $second kills of a run cleaning up), migrate ~${dur} ms ($phases):" \
         "$killed killed, $finished finished first; where: $points; $cleaned re-runs cleaned leftovers; 0 violations"
done
