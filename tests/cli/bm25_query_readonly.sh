# Issue 17: a query never rebuilds, converts or replays the BM25 index
# (docs/bm25.md, "Queries never write").  For each way the index can be out
# of step - deleted, marked for a rebuild by an earlier format, a write that
# did not finish, records written by another tool - a bm25 or hybrid query
# fails with exit 1 and one message naming `collections reindex`, leaves the
# index files as they were, and --mode vector still answers; then a write
# (ingest) or `collections reindex` brings it back.  While a writer holds the
# index's lock its pending journal entry is its own: a query answers from
# the last commit.  Before this change every one of these queries rebuilt
# the index itself (a 256K-chunk collection: minutes inside one query).
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
printf 'The zygomorphic orchid flower attracts bees with a landing platform.\n' >"$D/orchid.txt"
printf 'Backups run nightly with pg_dump; copies are kept offsite.\n' >"$D/backup.md"
printf 'Tomatoes need full sun and regular watering in summer.\n' >"$D/tomato.txt"
B=(--backend exact)
DATA="$XDG_DATA_HOME/ragged/exact"
IDX="$DATA/.lexical/default.bm25"
sql() { /usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchall(); c.commit(); print(r[0][0] if r else '')" "$@"; }
state() { (cd "$IDX" 2>/dev/null && sha256sum index.sqlite *.seg 2>/dev/null; sql "$IDX/index.sqlite" "SELECT count(*) FROM journal" 2>/dev/null); }
# refused WHY: bm25 and hybrid queries exit 1 naming the fix, change nothing.
refused() {
    local before; before=$(state)
    for m in bm25 hybrid; do
        expect_exit 1 "$RAGGED" query "pg_dump backups" "${B[@]}" --mode $m
        contains "$ERR" "$1"
        contains "$ERR" "ragged collections reindex default --backend exact"
    done
    [[ $(state) == "$before" ]] || fail "a query changed the BM25 index ($1)"
    expect_exit 0 "$RAGGED" query "pg_dump backups" "${B[@]}" --mode vector --format json
}
answers() {
    expect_exit 0 "$RAGGED" query "pg_dump" "${B[@]}" --mode bm25 --format json
    [[ $(json_get "$OUT" 'len(j["results"])') == 1 ]] || fail "$1: $OUT"
    [[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("backup.md")') == True ]] || fail "$1: $OUT"
}

# An empty collection without an index: nothing to find, no error, no files.
expect_exit 0 "$RAGGED" collections create default "${B[@]}"
expect_exit 0 "$RAGGED" query "pg_dump" "${B[@]}" --mode bm25 --format json
[[ $(json_get "$OUT" 'len(j["results"])') == 0 ]] || fail "empty collection: $OUT"
[[ ! -e $IDX ]] || fail "a query created the BM25 index"

expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
answers "after ingest"

# 1. Deleted: the query neither rebuilds nor creates it.
rm -rf "$IDX"
refused "has no BM25 index"
[[ ! -e $IDX ]] || fail "a query created the BM25 index directory"
expect_exit 0 "$RAGGED" collections reindex default "${B[@]}" --format json
[[ $(json_get "$OUT" 'j["records"], j["how"]') == "3 rebuilt" ]] || fail "reindex: $OUT"
answers "after reindex"

# 2. An index of an earlier format: a write converts it (here: an ingest
# with nothing new to store).
sql "$IDX/index.sqlite" "UPDATE meta SET value = 'ragged-bm25-1' WHERE key = 'format'"
refused "format of an earlier ragged version"
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
answers "after the ingest converted it"

# 3. A write that did not finish (its journal entry left behind, no writer).
sql "$IDX/index.sqlite" "INSERT INTO journal(ids) VALUES('[\"nonexistent\"]')"
refused "a write did not finish"
# ... but while a writer holds the lock the entry is its own: the query
# answers from the last commit.
if command -v flock >/dev/null; then
    flock "$IDX/lock" sleep 3 & holder=$!
    sleep 0.5
    answers "with a live writer"
    kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
fi
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
[[ $(sql "$IDX/index.sqlite" "SELECT count(*) FROM journal") == 0 ]] || fail "ingest left the journal entry"
answers "after the ingest replayed it"

# 4. Records deleted by another tool: counts differ.
sql "$DATA/default/exact.sqlite" "DELETE FROM records WHERE id = (SELECT min(id) FROM records)"
refused "2 stored"
expect_exit 0 "$RAGGED" collections reindex default "${B[@]}"
contains "$OUT" "rebuilt from the passages, 2 records"

# reindex of a collection that does not exist: one clear error.
expect_exit 1 "$RAGGED" collections reindex nosuch "${B[@]}"
contains "$ERR" "nosuch"
echo "bm25_query_readonly: 4 out-of-step states refused without a write; reindex and ingest repair them"
