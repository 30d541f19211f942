# kill -9 of `ragged migrate` at every durability point instead of a random
# moment: strace kills it when it enters its Nth rename / fsync (N = 1, 2,
# ... until a run completes), into the local backends (exact-to-exact in
# `make check`; `make soak` adds exact-to-leann), replacing an existing
# target.  Every step of the
# publish (staging -> target, the old target to its backup name and away,
# and the same for each collection's BM25 index file) is one of those
# points, so every state a kill between two of them can leave is checked
# with the same invariants as kill_migrate.sh (_migrate_faults.sh), and a
# re-run with --verify must clean up.  Skips without strace.
# Found this way: a kill between the rename of the staging collection and the
# rename of its BM25 index file left the index under the staging name for
# good (now swept by the next migrate).
# RAGGED_TEST_MIGRATE_POINT_SYSCALLS (default "rename"; `make soak`: "rename
# fsync fdatasync", every commit of the copy too) sets the points,
# RAGGED_TEST_MIGRATE_POINT_DIRECTIONS the directions.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
source "$(dirname "$0")/_migrate_faults.sh"
command -v strace >/dev/null || skip "strace not installed (scripts/install-deps.sh installs it)"
strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
SYSCALLS=${RAGGED_TEST_MIGRATE_POINT_SYSCALLS:-rename}
DIRS=${RAGGED_TEST_MIGRATE_POINT_DIRECTIONS:-exact-to-exact}
export RAGGED_CHUNKING_SIZE=64 RAGGED_CHUNKING_OVERLAP=8
mf_sources exact

declare -A tally
for dir in $DIRS; do
    from=${dir%%-to-*} to=${dir##*-to-}
    T=tgt-$to
    M=("$RAGGED" migrate "$dir" --to "$T" --overwrite --batch-size 50 --verify)
    expect_exit 0 "${M[@]}" --collection src-a
    old=a points=0
    tally=()
    for sc in $SYSCALLS; do
        for ((n = 1; ; n++)); do
            new=$([[ $old == a ]] && echo b || echo a)
            # Through a pipe: bash reports no "Killed" for it.
            strace -f -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when=$n \
                "${M[@]}" --collection src-$new 2>&1 | cat >"$TMP/out"
            rc=${PIPESTATUS[0]}
            [[ $rc -eq 0 || $rc -eq 137 ]] || fail "$dir: migrate killed at $sc #$n: exit $rc: $(cat "$TMP/out")"
            mf_after_kill "$from" "$to" "$T" src-$new $old $rc "$dir: kill -9 at $sc #$n"
            [[ $rc -eq 0 ]] && { old=$new; break; }
            points=$((points + 1))
            tally[$MF_STATE]=$(( ${tally[$MF_STATE]:-0} + 1 ))
            mf_rerun "$from" "$to" "$T" src-$new "${M[@]}" --collection src-$new
            old=$new
        done
    done
    ((points > 0)) || fail "$dir: no kill point was reached (strace injection not working?)"
    where=""
    for k in "${!tally[@]}"; do where+="${where:+, }$k ${tally[$k]}"; done
    echo "kill_migrate_points[$dir]: $points kill points ($SYSCALLS): $where; 0 violations"
done
