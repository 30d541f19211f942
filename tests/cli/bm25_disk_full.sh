# Issue 21 item 7: a BM25 update that does not fit on the disk never ends in
# a success.  strace makes every write to the collection's BM25 index fail
# with ENOSPC from its Nth write on (N = 1, 2, ... until an ingest gets
# through), so the failure lands at each point of the write: before the
# backend write (nothing stored), after it (records stored, index behind).
# Each time: exit 0 only with the index complete (no pending journal entry);
# otherwise a clear disk-full message.  Then an ingest with the disk still
# full for the index must fail too (it used to exit 0 with nothing to write
# while the index stayed behind), and one with space succeeds and leaves
# BM25 answering for every record.  Skips without strace.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
command -v strace >/dev/null || skip "strace not installed (scripts/install-deps.sh installs it)"
strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
printf 'chunking:\n  size: 64\n  overlap: 8\n' >"$TMP/ragged.yml"
export RAGGED_CONFIG="$TMP/ragged.yml"
DATA="$XDG_DATA_HOME/ragged"
B=(--backend exact --collection bm25full)
LEX="$DATA/exact/.lexical/bm25full.bm25/index.sqlite"
# Segments are written as GEN.seg.tmp (then renamed): every name a few
# writes can reach.
SEGS=(); for g in $(seq 1 40); do SEGS+=(-P "$DATA/exact/.lexical/bm25full.bm25/$g.seg.tmp"); done

D="$TMP/docs"
$CHECK corpus "$D" 6 3
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
$CHECK mutate "$D" 5
rm -rf "$TMP/saved"; cp -a "$DATA" "$TMP/saved"

pending() {   # journal entries the index has not applied
    /usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM journal').fetchone()[0])" "$LEX"
}
full_ingest() {   # full_ingest N: ingest with the index's writes failing from the Nth on
    strace_run -f -o /dev/null -P "$LEX" -P "$LEX-wal" -P "$LEX-journal" "${SEGS[@]}" -e trace=pwrite64,write \
        -e inject=pwrite64,write:error=ENOSPC:when="$1"+ "$RAGGED" ingest "$D" "${B[@]}" --quiet >"$TMP/out" 2>&1
}

failed=0 behind=0
for ((n = 1; n < 400; n++)); do
    rm -rf "$DATA"; cp -a "$TMP/saved" "$DATA"
    full_ingest $n; rc=$?
    if [[ $rc -eq 0 ]]; then
        [[ $(pending) == 0 ]] || fail "ingest with the index write failing at #$n exited 0 with the index behind"
        break
    fi
    [[ $rc -eq 1 ]] || fail "ingest with a full disk at write #$n: exit $rc: $(cat "$TMP/out")"
    grep -qiE "disk is full|no space left" "$TMP/out" || fail "write #$n: no clear disk-full message: $(cat "$TMP/out")"
    failed=$((failed + 1))
    if grep -q "records were stored but the BM25 index" "$TMP/out"; then
        behind=$((behind + 1))
        # Still no space for the index: the next ingest has nothing new to
        # store but must not report success.
        full_ingest 1; rc=$?
        [[ $rc -eq 1 ]] || fail "after write #$n failed, an ingest with the disk still full exited $rc: $(cat "$TMP/out")"
        grep -q "BM25 index is behind" "$TMP/out" || fail "unclear message: $(cat "$TMP/out")"
    fi
    expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
    [[ $(pending) == 0 ]] || fail "after write #$n: ingest with space left the index behind"
    digest exact bm25full >/dev/null
done
((n < 400)) || fail "no ingest got through"
((behind > 0)) || fail "no failure came after the backend write; the injection does not cover the index update"
echo "bm25_disk_full: $failed failing write points, $behind of them after the records were stored; all reported, none exit 0"
