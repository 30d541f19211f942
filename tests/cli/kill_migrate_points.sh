# kill -9 of `ragged migrate` at every durability point instead of a random
# moment: strace kills it when it enters its Nth rename (N = 1, 2, ... until
# a run completes), into a local backend (exact-to-exact; `make soak` adds
# exact-to-leann and fsync, fdatasync), replacing an existing target.  Every
# step of the publish (staging -> target, the old target to its backup name
# and away, and the same for each collection's BM25 index file) is one of
# those points.  Into ChromaDB (exact-to-chromadb, with a server of the
# test's own; skipped without one) the points are the last HTTP requests of
# the run, where the publish swap happens (below).  After every kill the
# invariants of kill_migrate.sh (_migrate_faults.sh) are checked and a
# re-run with --verify must clean up.  Skips without strace.
# Found this way: a kill between the rename of the staging collection and the
# rename of its BM25 index file left the index under the staging name for
# good (now swept by the next migrate).
# RAGGED_TEST_MIGRATE_POINT_SYSCALLS (default "rename"; `make soak`: "rename
# fsync fdatasync"), RAGGED_TEST_MIGRATE_NET_SYSCALLS (default "recvfrom";
# soak: "sendto recvfrom"), RAGGED_TEST_MIGRATE_POINT_TAIL (requests from the
# end: default 6, soak 25) and RAGGED_TEST_MIGRATE_POINT_DIRECTIONS set the
# points.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
source "$(dirname "$0")/_migrate_faults.sh"
source "$(dirname "$0")/_chroma.sh"
command -v strace >/dev/null || skip "strace not installed (scripts/install-deps.sh installs it)"
strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
# LeakSanitizer (make check-asan) cannot run under ptrace: the traced runs go
# without the leak check (ASan and UBSan still run).
SYSCALLS=${RAGGED_TEST_MIGRATE_POINT_SYSCALLS:-rename}
DIRS=${RAGGED_TEST_MIGRATE_POINT_DIRECTIONS:-exact-to-exact exact-to-chromadb}
TAIL=${RAGGED_TEST_MIGRATE_POINT_TAIL:-6}
export RAGGED_CHUNKING_SIZE=64 RAGGED_CHUNKING_OVERLAP=8
if [[ " $DIRS " == *chromadb* ]] && ! chroma_try_start; then
    echo "note: chromadb directions skipped: $CHROMA_UNAVAILABLE" >&2
    DIRS=$(tr ' ' '\n' <<<"$DIRS" | grep -v chromadb | tr '\n' ' ')
fi
export RAGGED_VECTORSTORE_CHROMADB_TIMEOUT_MS=30000
mf_sources exact

# A ChromaDB target has no rename or fsync of its own: its durability points
# are the HTTP requests.  strace kills the process as it sends its Nth
# request (sendto: the server never sees it) or reads the answer to it
# (recvfrom: the server did the work, ragged never learns it) for the last
# TAIL requests of a run (verification, the publish swap and the removal of
# the old target; the copy's pages are covered by kill_migrate.sh).  counts
# holds how many of them a completed run makes, per source.
declare -A counts
syscall_count() {   # SYSCALL SRC CMD...: runs CMD (a complete migrate) under strace, counts SYSCALL
    local sc=$1 src=$2; shift 2
    strace_run -f -o "$TMP/trace" -e trace="$sc" "$@" --collection "$src" >/dev/null 2>&1 ||
        fail "the counting run of $* failed"
    # strace counts the calls of each thread for inject's when=: take the
    # thread that makes the requests.
    counts[$sc/$src]=$(grep " $sc(" "$TMP/trace" | awk '{print $1}' | sort | uniq -c | sort -rn | awk 'NR == 1 {print $1}')
}

declare -A tally
for dir in $DIRS; do
    from=${dir%%-to-*} to=${dir##*-to-}
    T=tgt-$to
    M=("$RAGGED" migrate "$dir" --to "$T" --overwrite --batch-size 50 --verify)
    [[ $to == chromadb ]] && M=("$RAGGED" migrate "$dir" --to "$T" --overwrite --verify)
    expect_exit 0 "${M[@]}" --collection src-a
    old=a points=0
    tally=()
    scs=$SYSCALLS
    [[ $to == chromadb ]] && scs=${RAGGED_TEST_MIGRATE_NET_SYSCALLS:-recvfrom}
    for sc in $scs; do
        if [[ $to == chromadb ]]; then
            for s in a b; do
                syscall_count $sc src-$s "${M[@]}"
            done
            old=b   # the counting runs left src-b in place
        fi
        for ((idx = 1; ; idx++)); do
            new=$([[ $old == a ]] && echo b || echo a)
            n=$idx
            if [[ $to == chromadb ]]; then
                ((idx <= TAIL)) || break
                n=$(( counts[$sc/src-$new] - TAIL + idx ))
                ((n >= 1)) || continue
            fi
            # Through a pipe: bash reports no "Killed" for it.
            strace_run -f -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when=$n \
                "${M[@]}" --collection src-$new 2>&1 | cat >"$TMP/out"
            rc=${PIPESTATUS[0]}
            [[ $rc -eq 0 || $rc -eq 137 ]] || fail "$dir: migrate killed at $sc #$n: exit $rc: $(cat "$TMP/out")"
            mf_after_kill "$from" "$to" "$T" src-$new $old $rc "$dir: kill -9 at $sc #$n"
            if [[ $rc -eq 0 ]]; then
                old=$new
                [[ $to == chromadb ]] && continue   # the run made fewer calls than counted
                break
            fi
            points=$((points + 1))
            tally[$MF_STATE]=$(( ${tally[$MF_STATE]:-0} + 1 ))
            mf_rerun "$from" "$to" "$T" src-$new "${M[@]}" --collection src-$new
            old=$new
        done
    done
    ((points > 0)) || fail "$dir: no kill point was reached (strace injection not working?)"
    where=""
    for k in "${!tally[@]}"; do where+="${where:+, }$k ${tally[$k]}"; done
    echo "kill_migrate_points[$dir]: $points kill points ($scs$([[ $to == chromadb ]] && echo ", the last $TAIL of each")): $where; 0 violations"
done
