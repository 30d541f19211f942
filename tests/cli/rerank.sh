# Reranking: a generated cross-encoder reorders the first stage of every
# mode, its scores match the numpy reference, --rerank/--no-rerank, the
# environment setting, errors, eval with and without, model info, and the
# OpenAI-compatible /v1/rerank provider against a fake server.
source "$(dirname "$0")/_lib.sh"
/usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "skip: /usr/bin/python3 with numpy is not available"
CE="$TMP/ce"; BI="$TMP/bi"
/usr/bin/python3 tests/ref/make_tiny_bert.py "$CE" --cross-encoder --seed 31 --max-seq-length 48 --max-position 64 >/dev/null
/usr/bin/python3 tests/ref/make_tiny_bert.py "$BI" --seed 32 >/dev/null
D="$TMP/docs"; mkdir -p "$D"
printf 'The quick brown fox jumps over the lazy dog.\n' >"$D/fox.txt"
printf 'Hello world, a local first rag model.\n' >"$D/hello.txt"
printf 'Vector search and query passage store.\n' >"$D/vector.txt"
printf 'The lazy dog sleeps all day.\n' >"$D/dog.txt"
B=(--backend exact)
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet

# model info: kind, tokenizer, what is used.
expect_exit 0 "$RAGGED" model info "$CE" --format json
[[ $(json_get "$OUT" 'j["kind"]') == cross-encoder ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["tokenizer"]') == wordpiece ]] || fail "$OUT"
expect_exit 0 "$RAGGED" model info "$CE"
contains "$OUT" "cross-encoder"

# fp32 against the reference (the default, bf16, runs fp32 only without AMX-BF16).
for m in vector bm25 hybrid; do
    RAGGED_RETRIEVAL_RERANK_PRECISION=fp32 expect_exit 0 "$RAGGED" query "lazy dog" "${B[@]}" --mode "$m" -k 3 \
        --rerank-model "$CE" --format json
    [[ $(json_get "$OUT" '"reranker" in j and all("rerank_score" in r and "retrieval_score" in r for r in j["results"])') == True ]] || fail "$m: $OUT"
    s=$(json_get "$OUT" '[r["rerank_score"] for r in j["results"]]')
    [[ $(json_get "$OUT" 'all(a["rerank_score"] >= b["rerank_score"] for a, b in zip(j["results"], j["results"][1:]))') == True ]] || fail "$m not sorted: $s"
    # Scores are the cross-encoder's: the numpy reference on the same pairs.
    /usr/bin/python3 - "$OUT" "$CE" "$TMP" <<'PY' || fail "$m: scores differ from the reference"
import json, subprocess, sys
j = json.loads(sys.argv[1])
req = {"pairs": [[j["query"], r["text"]] for r in j["results"]]}
json.dump(req, open(sys.argv[3] + "/pairs.json", "w"))
subprocess.run(["/usr/bin/python3", "tests/ref/bert_ref.py", sys.argv[2], sys.argv[3] + "/pairs.json",
                sys.argv[3] + "/scores.json"], check=True)
want = json.load(open(sys.argv[3] + "/scores.json"))["scores"]
got = [r["rerank_score"] for r in j["results"]]
assert max(abs(a - b) for a, b in zip(got, want)) <= 1e-4, (got, want)
PY
done
# All four passages reranked even with -k 1: the best of them comes first.
expect_exit 0 "$RAGGED" query "lazy dog" "${B[@]}" --mode vector -k 4 --rerank-model "$CE" --format json
best=$(json_get "$OUT" 'j["results"][0]["id"]')
expect_exit 0 "$RAGGED" query "lazy dog" "${B[@]}" --mode vector -k 1 --rerank-model "$CE" --format json
[[ $(json_get "$OUT" 'j["results"][0]["id"]') == "$best" ]] || fail "top_n not reranked before cutting to k"

# The environment setting turns it on; --no-rerank off; --rerank requires it.
RAGGED_RETRIEVAL_RERANK_MODEL="$CE" expect_exit 0 "$RAGGED" query "dog" "${B[@]}" --format json
[[ $(json_get "$OUT" '"reranker" in j') == True ]] || fail "env: $OUT"
RAGGED_RETRIEVAL_RERANK_MODEL="$CE" expect_exit 0 "$RAGGED" query "dog" "${B[@]}" --no-rerank --format json
[[ $(json_get "$OUT" '"reranker" in j or "rerank_score" in j["results"][0]') == False ]] || fail "--no-rerank: $OUT"
expect_exit 2 "$RAGGED" query "dog" "${B[@]}" --rerank
contains "$ERR" "retrieval.rerank.model"
expect_exit 2 "$RAGGED" query "dog" "${B[@]}" --rerank-model "$BI"
contains "$ERR" "bi-encoder"
expect_exit 1 "$RAGGED" query "dog" "${B[@]}" --rerank-model "$TMP/nothing"
contains "$ERR" "does not exist"
RAGGED_RETRIEVAL_RERANK_PRECISION=int8 expect_exit 0 "$RAGGED" query "dog" "${B[@]}" --rerank-model "$CE" --format json
contains "$(json_get "$OUT" 'j["reranker"]')" "int8"

# eval: nDCG with and without rerank in one run.
E="$TMP/beir"; mkdir -p "$E"
cat >"$E/corpus.jsonl" <<'J'
{"_id": "d1", "title": "Fox", "text": "The quick brown fox jumps over the lazy dog."}
{"_id": "d2", "title": "Hello", "text": "Hello world, a local first rag model."}
{"_id": "d3", "title": "Vectors", "text": "Vector search and query passage store."}
J
printf '{"_id": "q1", "text": "quick fox"}\n{"_id": "q2", "text": "vector store"}\n' >"$E/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n' >"$E/qrels.tsv"
expect_exit 0 "$RAGGED" eval --corpus "$E/corpus.jsonl" --queries "$E/queries.jsonl" --qrels "$E/qrels.tsv" \
    "${B[@]}" --mode bm25 --rerank-model "$CE" --format json
[[ $(json_get "$OUT" 'j["reranker"]["top_n"] == 50 and 0 <= j["results"][0]["rerank"]["ndcg@10"] <= 1') == True ]] || fail "eval: $OUT"
expect_exit 0 "$RAGGED" eval --corpus "$E/corpus.jsonl" --queries "$E/queries.jsonl" --qrels "$E/qrels.tsv" \
    "${B[@]}" --mode bm25 --rerank-model "$CE"
contains "$OUT" "reranked"

# The OpenAI-compatible provider against a fake /v1/rerank server.
/usr/bin/python3 tests/cli/_rerank_server.py "$TMP/port" "$TMP/rr.log" &
SRV=$!
trap 'kill $SRV 2>/dev/null' EXIT
for _ in $(seq 100); do [[ -s "$TMP/port" ]] && break; sleep 0.05; done
[[ -s "$TMP/port" ]] || fail "fake rerank server did not start"
export RAGGED_RETRIEVAL_RERANK_PROVIDER=openai RAGGED_RETRIEVAL_RERANK_URL="http://127.0.0.1:$(cat "$TMP/port")"
expect_exit 0 "$RAGGED" query "lazy dog sleeps" "${B[@]}" --mode vector -k 2 --rerank-model fake-reranker --format json
[[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("dog.txt") and j["results"][0]["rerank_score"] == 3') == True ]] || fail "openai: $OUT"
contains "$(cat "$TMP/rr.log")" '"model":"fake-reranker"'
expect_exit 1 "$RAGGED" query "dog" "${B[@]}" --rerank-model missing
contains "$ERR" "HTTP 404"
kill $SRV

# An XLM-R cross-encoder (Unigram tokenizer.json) reranks too, and an XLM-R
# bi-encoder embeds; model info names the tokenizer and family.
unset RAGGED_RETRIEVAL_RERANK_PROVIDER RAGGED_RETRIEVAL_RERANK_URL
XC="$TMP/xce"; XB="$TMP/xbi"
/usr/bin/python3 tests/ref/make_tiny_bert.py "$XC" --arch xlmr --cross-encoder --seed 33 >/dev/null
/usr/bin/python3 tests/ref/make_tiny_bert.py "$XB" --arch xlmr --seed 34 >/dev/null
expect_exit 0 "$RAGGED" model info "$XC" --format json
[[ $(json_get "$OUT" '(j["kind"], j["tokenizer"], j["family"], j["position_offset"])') == "('cross-encoder', 'unigram', 'xlm-roberta', 2)" ]] || fail "$OUT"
expect_exit 0 "$RAGGED" query "lazy dog" "${B[@]}" --mode bm25 -k 2 --rerank-model "$XC" --format json
[[ $(json_get "$OUT" 'len(j["results"]) == 2 and j["results"][0]["rerank_score"] >= j["results"][1]["rerank_score"]') == True ]] || fail "$OUT"
expect_exit 0 "$RAGGED" embed "caf\u00e9 stra\u00dfe" --model "$XB" --format json
[[ $(json_get "$OUT" 'j["dim"] == 32 and abs(sum(v*v for v in j["vector"]) - 1) < 1e-4') == True ]] || fail "$OUT"
expect_exit 2 "$RAGGED" eval --corpus "$E/corpus.jsonl" --queries "$E/queries.jsonl" --qrels "$E/qrels.tsv" \
    "${B[@]}" --mode bm25 --rerank
contains "$ERR" "retrieval.rerank.model"
