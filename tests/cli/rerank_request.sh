# A request chooses reranking: "rerank" on serve's /v1/query and the MCP
# search tool's argument (true requires the server's cross-encoder, false
# skips it, omitted follows retrieval.rerank.model); scores in the JSON.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_serve.sh"
trap 'stop_serve' EXIT
/usr/bin/python3 -c 'import numpy' 2>/dev/null || skip "skip: /usr/bin/python3 with numpy is not available"
CE="$TMP/ce"
/usr/bin/python3 tests/ref/make_tiny_bert.py "$CE" --cross-encoder --seed 31 --max-seq-length 48 --max-position 64 >/dev/null
D="$TMP/docs"; mkdir -p "$D"
printf 'The quick brown fox jumps over the lazy dog.\n' >"$D/fox.txt"
printf 'Hello world, a local first rag model.\n' >"$D/hello.txt"
printf 'The lazy dog sleeps all day.\n' >"$D/dog.txt"
export RAGGED_VECTORSTORE_BACKEND=exact
expect_exit 0 "$RAGGED" ingest "$D" --quiet
reranked='"reranker" in j and all("rerank_score" in r and "retrieval_score" in r for r in j["results"])'
plain='"reranker" not in j and not any("rerank_score" in r for r in j["results"])'
q() { http POST /v1/query -H 'Content-Type: application/json' -d "$1"; }

# A server with a cross-encoder: on by default, off per request.
RAGGED_RETRIEVAL_RERANK_MODEL="$CE" start_serve
q '{"query":"lazy dog","k":2}'
[[ $CODE == 200 && $(json_get "$BODY" "$reranked") == True ]] || fail "default: $CODE $BODY"
# The scores are the CLI's (the same cross-encoder on the same passages).
expect_exit 0 "$RAGGED" query "lazy dog" -k 2 --rerank-model "$CE" --format json
[[ $(json_get "$BODY" '[round(r["rerank_score"], 5) for r in j["results"]]') == \
   "$(json_get "$OUT" '[round(r["rerank_score"], 5) for r in j["results"]]')" ]] || fail "serve vs CLI: $(json_get "$BODY" '[(r["id"], r["rerank_score"]) for r in j["results"]]') / $(json_get "$OUT" '[(r["id"], r["rerank_score"]) for r in j["results"]]')"
q '{"query":"lazy dog","k":2,"rerank":true}'
[[ $CODE == 200 && $(json_get "$BODY" "$reranked") == True ]] || fail "true: $CODE $BODY"
q '{"query":"lazy dog","k":2,"rerank":false}'
[[ $CODE == 200 && $(json_get "$BODY" "$plain") == True ]] || fail "false: $CODE $BODY"
q '{"query":"lazy dog","rerank":"yes"}'
[[ $CODE == 400 ]] || fail "a string: $CODE $BODY"
contains "$BODY" '\"rerank\" must be true or false'
stop_serve

# A server without one: true is refused with the setting to fix, false is fine.
start_serve
q '{"query":"lazy dog","k":2,"rerank":true}'
[[ $CODE == 400 ]] || fail "no reranker, true: $CODE $BODY"
contains "$BODY" "retrieval.rerank.model"
q '{"query":"lazy dog","k":2,"rerank":false}'
[[ $CODE == 200 && $(json_get "$BODY" "$plain") == True ]] || fail "no reranker, false: $CODE $BODY"
stop_serve

# MCP: the search tool takes the same argument and lists it in its schema.
mcp() { printf '%s\n' "$@" | RAGGED_RETRIEVAL_RERANK_MODEL="$CE" "$RAGGED" mcp 2>"$TMP/mcp.err"; }
call() { printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"search","arguments":%s}}' "$1" "$2"; }
OUT=$(mcp '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "$(call 2 '{"query":"lazy dog","k":2}')" \
          "$(call 3 '{"query":"lazy dog","k":2,"rerank":false}')" "$(call 4 '{"query":"lazy dog","rerank":1}')") ||
    fail "ragged mcp failed: $(cat "$TMP/mcp.err")"
[[ $(json_get "$(sed -n 1p <<<"$OUT")" '[t["inputSchema"]["properties"]["rerank"]["type"] for t in j["result"]["tools"] if t["name"] == "search"]') == "['boolean']" ]] || fail "schema: $OUT"
r=$(sed -n 2p <<<"$OUT")
[[ $(json_get "$r" "(lambda j: $reranked)(j[\"result\"][\"structuredContent\"])") == True ]] || fail "mcp default: $r"
r=$(sed -n 3p <<<"$OUT")
[[ $(json_get "$r" "(lambda j: $plain)(j[\"result\"][\"structuredContent\"])") == True ]] || fail "mcp false: $r"
r=$(sed -n 4p <<<"$OUT")
[[ $(json_get "$r" 'j["result"]["isError"]') == True ]] || fail "mcp bad rerank: $r"
contains "$r" 'must be true or false'
