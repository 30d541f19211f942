# Two `ragged ingest` processes on one collection while readers query it:
# no corruption, every reader sees a consistent collection (or a clear
# "locked" message), each writer succeeds or exits with a clear "locked"
# message, and the files of every successful writer are stored completely.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
printf 'chunking:\n  size: 64\n  overlap: 8\n' >"$TMP/ragged.yml"
export RAGGED_CONFIG="$TMP/ragged.yml"
ROUNDS=${RAGGED_TEST_CONCURRENT_ROUNDS:-2}

for b in $(fault_backends); do
    C=concurrent
    reads=0 locked_reads=0 writers_ok=0 writers_locked=0
    for ((round = 1; round <= ROUNDS; round++)); do
        A="$TMP/$b-a$round" B="$TMP/$b-b$round"
        $CHECK corpus "$A" 40 $((round * 2))
        $CHECK corpus "$B" 40 $((round * 2 + 1))
        "$RAGGED" ingest "$A" --backend "$b" --collection $C --quiet >"$TMP/wa.out" 2>&1 &
        pa=$!
        "$RAGGED" ingest "$B" --backend "$b" --collection $C --quiet >"$TMP/wb.out" 2>&1 &
        pb=$!
        # Readers while the writers run: every snapshot is consistent.
        while kill -0 $pa 2>/dev/null || kill -0 $pb 2>/dev/null; do
            snapshot "$b" $C "$TMP/snap.json"
            if grep -q '"locked"' "$TMP/snap.json"; then
                locked_reads=$((locked_reads + 1))
                continue
            fi
            res=$($CHECK check "$TMP/snap.json" --absent-ok --no-count) || fail "$b round $round: a reader saw: $res"
            reads=$((reads + 1))
        done
        wait $pa; ra=$?
        wait $pb; rb=$?
        ok_dirs=()
        for w in "a:$ra:$A" "b:$rb:$B"; do
            IFS=: read -r name rc dir <<<"$w"
            if [[ $rc -eq 0 ]]; then
                writers_ok=$((writers_ok + 1)); ok_dirs+=("$dir")
            else
                grep -qi "locked" "$TMP/w$name.out" ||
                    fail "$b round $round: writer $name failed without a 'locked' message (exit $rc): $(cat "$TMP/w$name.out")"
                writers_locked=$((writers_locked + 1))
            fi
        done
        ((${#ok_dirs[@]})) || fail "$b round $round: both writers failed"
        # Expected: every file of every successful writer in this and earlier rounds.
        for d in "${ok_dirs[@]}"; do $CHECK manifest "$d"; echo; done |
            /usr/bin/python3 -c "import json,sys; m=json.load(open(sys.argv[1])) if sys.argv[1] != '-' else {}
for l in sys.stdin:
    l=l.strip()
    if l: m.update(json.loads(l))
json.dump(m, open(sys.argv[2], 'w'))" "$([[ -f $TMP/acc-$b.json ]] && echo "$TMP/acc-$b.json" || echo -)" "$TMP/acc2.json"
        mv "$TMP/acc2.json" "$TMP/acc-$b.json"
        snapshot "$b" $C "$TMP/snap.json"
        res=$($CHECK check "$TMP/snap.json" --manifest "$TMP/acc-$b.json" --strict) ||
            fail "$b round $round: after both writers: $res"
    done
    echo "concurrent[$b]: $ROUNDS rounds of 2 writers: $writers_ok succeeded, $writers_locked refused with 'locked';" \
         "$reads consistent reads during writes, $locked_reads reads refused with 'locked'; 0 violations"
done
