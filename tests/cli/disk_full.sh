# Disk full: the store lives on a 2 MiB tmpfs; an ingest that does not fit
# fails with a clear message, and the collection still holds everything the
# last successful ingest stored, plus at most whole documents of the failed
# one (ingest commits in batches; leann stores thousands of these chunks
# before the disk fills, the exact backend none), never a half-written one.  Needs permission to mount (root in a
# container that allows it); skips otherwise.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
M="$TMP/small"; mkdir -p "$M"
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$M" 2>"$TMP/mount.err" ||
    skip "cannot mount a tmpfs here ($(head -c 200 "$TMP/mount.err")); run as root where mounting is allowed"
trap 'umount "$M" 2>/dev/null' EXIT
printf 'chunking:\n  size: 64\n  overlap: 8\nvectorstore:\n  exact:\n    persist_directory: %s/exact\n  leann:\n    persist_directory: %s/leann\n' \
    "$M" "$M" >"$TMP/ragged.yml"
export RAGGED_CONFIG="$TMP/ragged.yml"

for b in $(fault_backends); do
    S="$TMP/small-$b" L="$TMP/large-$b"
    $CHECK corpus "$S" 10 3
    # leann keeps ~3000 such chunks in under 2 MiB: four times that
    $CHECK corpus "$L" 2400 4
    expect_exit 0 "$RAGGED" ingest "$S" --backend "$b" --collection full --quiet
    $CHECK manifest "$S" >"$TMP/man.json"
    "$RAGGED" ingest "$L" --backend "$b" --collection full --quiet >"$TMP/out" 2>&1
    rc=$?
    [[ $rc -ne 0 ]] || fail "$b: ingesting ~12000 chunks into 2 MiB succeeded?"
    [[ $rc -ne 134 && $rc -ne 139 ]] || fail "$b: ingest crashed on a full disk (exit $rc)"
    grep -qiE "disk is full|no space left" "$TMP/out" || fail "$b: no clear disk-full message: $(tail -c 400 "$TMP/out")"
    echo "$b: full disk reported as: $(grep -iE 'disk is full|no space left' "$TMP/out" | head -1)"
    snapshot "$b" full "$TMP/snap.json"
    res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/man.json") ||
        fail "$b: store damaged after the full disk: $res"
    # Free the space: the store works again.
    "$RAGGED" collections delete full --backend "$b" >/dev/null 2>&1
    expect_exit 0 "$RAGGED" ingest "$S" --backend "$b" --collection again --quiet
    expect_exit 0 "$RAGGED" collections delete again --backend "$b"
    echo "disk_full[$b]: clean error (exit $rc), store intact: $res"
done
