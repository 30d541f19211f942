# A process killed while creating or deleting a collection of a
# directory-backed backend leaves DIR/.NAME.creating.PID or
# DIR/.NAME.deleting.PID behind, which no command lists.  Opening the store
# removes those whose process is gone and keeps those of a live process
# (the operation may still be running) and every other hidden entry.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
printf 'Backups run every night and copies are kept offsite.\n' >"$D/a.txt"
sleep 60 & live=$!
trap 'kill $live 2>/dev/null' EXIT
# PIDs of processes that have exited (and were reaped).
sh -c 'exit 0' & dead1=$!; wait $dead1
sh -c 'exit 0' & dead2=$!; wait $dead2
for b in exact leann; do
    "$RAGGED" collections list --backend $b >/dev/null 2>&1 || { echo "note: backend $b skipped"; continue; }
    expect_exit 0 "$RAGGED" ingest "$D" --backend $b --collection keepme --quiet
    dir="$XDG_DATA_HOME/ragged/$b"
    [[ -d $dir/keepme ]] || fail "$b: collection not in $dir"
    for x in ".old.deleting.$dead1" ".new.creating.$dead2" ".busy.deleting.$live" ".odd.deleting.12x" ".other.$dead1"; do
        mkdir -p "$dir/$x/sub"; printf 'data\n' >"$dir/$x/sub/f"
    done
    expect_exit 0 "$RAGGED" collections list --backend $b --format json
    contains "$OUT" keepme
    left=$(cd "$dir" && ls -a | grep -v '^\.\.\?$' | sort | tr '\n' ' ')
    [[ ! -e $dir/.old.deleting.$dead1 ]] || fail "$b: leftover of a dead delete not removed: $left"
    [[ ! -e $dir/.new.creating.$dead2 ]] || fail "$b: leftover of a dead create not removed: $left"
    [[ -d $dir/.busy.deleting.$live ]] || fail "$b: the directory of a running delete was removed: $left"
    [[ -d $dir/.odd.deleting.12x && -d $dir/.other.$dead1 ]] || fail "$b: an unrelated hidden entry was removed: $left"
    [[ -d $dir/keepme ]] || fail "$b: the collection went away: $left"
    expect_exit 0 "$RAGGED" query "backups" --backend $b --collection keepme --format json
    contains "$OUT" "a.txt"
done
kill $live; wait $live 2>/dev/null
for b in exact leann; do
    dir="$XDG_DATA_HOME/ragged/$b"
    [[ -d $dir ]] || continue
    expect_exit 0 "$RAGGED" collections list --backend $b
    [[ ! -e $dir/.busy.deleting.$live ]] || fail "$b: leftover kept after its process ended"
done
exit 0
