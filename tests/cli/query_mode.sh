# query --mode vector|bm25|hybrid, retrieval.mode from the config, filters on
# the lexical side, the BM25 index rebuilt by `collections reindex` after it
# is deleted, and eval.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
printf 'The zygomorphic orchid flower attracts bees with a landing platform.\n' >"$D/orchid.txt"
printf 'Backups run nightly with pg_dump; copies are kept offsite.\n' >"$D/backup.md"
printf 'Tomatoes need full sun and regular watering in summer.\n' >"$D/tomato.txt"
B=(--backend exact)
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet

for m in vector bm25 hybrid; do
    expect_exit 0 "$RAGGED" query "zygomorphic orchids" "${B[@]}" --mode "$m" -k 2 --format json
    [[ $(json_get "$OUT" 'j["mode"]') == "$m" ]] || fail "mode $m: $OUT"
    [[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("orchid.txt")') == True ]] || fail "$m: $OUT"
done
# BM25 only returns passages sharing a term with the query.
expect_exit 0 "$RAGGED" query "pg_dump" "${B[@]}" --mode bm25 --format json
[[ $(json_get "$OUT" 'len(j["results"])') == 1 ]] || fail "bm25 pg_dump: $OUT"
[[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("backup.md")') == True ]] || fail "$OUT"
# Filters apply to the lexical side.
expect_exit 0 "$RAGGED" query "pg_dump" "${B[@]}" --mode bm25 --where '{"format": "text"}' --format json
[[ $(json_get "$OUT" 'len(j["results"])') == 0 ]] || fail "filter ignored: $OUT"
expect_exit 0 "$RAGGED" query "orchid tomato" "${B[@]}" --mode hybrid -m format=text --format json
[[ $(json_get "$OUT" 'all(r["metadata"]["format"]=="text" for r in j["results"])') == True ]] || fail "$OUT"
# The config's retrieval.mode is the default.
printf 'retrieval:\n  mode: bm25\n' >"$TMP/ragged.yml"
expect_exit 0 "$RAGGED" query "sun" "${B[@]}" --config "$TMP/ragged.yml" --format json
[[ $(json_get "$OUT" 'j["mode"]') == bm25 ]] || fail "$OUT"
# A deleted BM25 index: a query says how to rebuild it (it never does;
# tests/cli/bm25_query_readonly.sh), `collections reindex` does.
side="$XDG_DATA_HOME"/ragged/exact/.lexical/default.bm25
ls "$side"/*.seg >/dev/null || fail "no BM25 index"
rm -rf "$side"
expect_exit 1 "$RAGGED" query "pg_dump" "${B[@]}" --mode bm25 --format json
contains "$ERR" "collections reindex"
expect_exit 0 "$RAGGED" collections reindex default "${B[@]}"
expect_exit 0 "$RAGGED" query "pg_dump" "${B[@]}" --mode bm25 --format json
[[ $(json_get "$OUT" 'len(j["results"])') == 1 ]] || fail "not rebuilt: $OUT"
# Bad mode: usage error.
expect_exit 2 "$RAGGED" query "x" "${B[@]}" --mode semantic
contains "$ERR" "vector, bm25, hybrid"

# eval on a tiny BEIR set.
E="$TMP/beir"; mkdir -p "$E"
cat >"$E/corpus.jsonl" <<'J'
{"_id": "d1", "title": "Orchids", "text": "Zygomorphic flowers attract bees."}
{"_id": "d2", "title": "Backups", "text": "Nightly pg_dump copies kept offsite."}
{"_id": "d3", "title": "Tomatoes", "text": "Full sun and watering."}
J
printf '{"_id": "q1", "text": "zygomorphic flowers"}\n{"_id": "q2", "text": "pg_dump backups"}\n{"_id": "q3", "text": "unjudged"}\n' >"$E/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n' >"$E/qrels.tsv"
expect_exit 0 "$RAGGED" eval --corpus "$E/corpus.jsonl" --queries "$E/queries.jsonl" --qrels "$E/qrels.tsv" "${B[@]}" --quiet --format json
[[ $(json_get "$OUT" 'j["queries"]') == 2 ]] || fail "$OUT"
[[ $(json_get "$OUT" '[r["mode"] for r in j["results"]]') == "['vector', 'bm25', 'hybrid']" ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["results"][1]["ndcg@10"]') == 1.0 ]] || fail "bm25 ndcg: $OUT"
expect_exit 0 "$RAGGED" eval --corpus "$E/corpus.jsonl" --queries "$E/queries.jsonl" --qrels "$E/qrels.tsv" "${B[@]}" --quiet --reuse --mode bm25
contains "$OUT" "nDCG@10"
expect_exit 2 "$RAGGED" eval --corpus "$E/corpus.jsonl" "${B[@]}"
