# Batches of the ingest pipeline (issue 16 item 5): a file whose chunks would
# take the waiting batch past 4,096 records is not added to it; the waiting
# batch is embedded and stored first, so a batch holds at most
# max(4,096, one file's chunks).  A file's chunks stay in one batch (one
# store call replaces a file atomically), and every record lands.
# RAGGED_TEST_PROGRESS_INTERVAL=0 prints every progress update: the embed
# phase's total is the batch size.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
# Small chunks (16 tokens) so that two files of a few hundred KB fill a batch.
export RAGGED_CHUNKING_SIZE=16 RAGGED_CHUNKING_OVERLAP=0
/usr/bin/python3 - "$D" <<'PY'
import sys
for name, n in (("a.txt", 3000), ("b.txt", 2000)):
    with open("%s/%s" % (sys.argv[1], name), "w") as f:
        f.write(" ".join("Sentence %d of %s tells about topic %d here." % (j, name, j % 11) for j in range(n)))
PY
B=(--backend exact --collection batches)
expect_exit 0 env RAGGED_TEST_PROGRESS_INTERVAL=0 "$RAGGED" ingest "$D" "${B[@]}" --verbose
na=$(grep -o "a.txt (text, [0-9]* chunks)" <<<"$ERR" | grep -o '[0-9]* chunks' | cut -d' ' -f1)
nb=$(grep -o "b.txt (text, [0-9]* chunks)" <<<"$ERR" | grep -o '[0-9]* chunks' | cut -d' ' -f1)
[[ -n $na && -n $nb ]] || fail "no chunk counts in: ${ERR:0:400}"
((na < 4096 && nb < 4096 && na + nb > 4096)) || fail "the files do not straddle a batch: $na + $nb chunks"
contains "$ERR" "embed: $na/$na chunks"
contains "$ERR" "embed: $nb/$nb chunks"
not_contains "$ERR" "/$((na + nb)) chunks"
expect_exit 0 "$RAGGED" collections info batches --backend exact --format json
[[ $(json_get "$OUT" "j['records']") == $((na + nb)) ]] || fail "count after the first ingest: $OUT"
# A changed file is still replaced whole: b shrinks to 100 sentences.
/usr/bin/python3 -c "import sys; open(sys.argv[1], 'w').write(' '.join('Short sentence %d of the new b.' % j for j in range(100)))" "$D/b.txt"
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --verbose
nb2=$(grep -o "b.txt (text, [0-9]* chunks)" <<<"$ERR" | grep -o '[0-9]* chunks' | cut -d' ' -f1)
expect_exit 0 "$RAGGED" collections info batches --backend exact --format json
[[ $(json_get "$OUT" "j['records']") == $((na + nb2)) ]] || fail "count after b changed ($na + $nb2 expected): $OUT"
echo "batches: $na + $nb chunks stored as two batches; all records landed; a changed file replaced whole"
