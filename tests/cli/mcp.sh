# ragged mcp: JSON-RPC 2.0 over stdio, one message a line (initialize,
# tools/list, tools/call for search, ask, list_collections, ingest), protocol
# errors answered with the right codes and ids, nothing but protocol on
# stdout; the same handler over HTTP at serve's /mcp.
source "$(dirname "$0")/_answer.sh"
source "$(dirname "$0")/_serve.sh"
trap 'stop_fake_llm; stop_serve' EXIT
make_corpus
export RAGGED_VECTORSTORE_BACKEND=exact

# mcp_run LINE...: sends the lines, one reply per line in $OUT.
mcp_run() { expect_exit 0 "$RAGGED" mcp < <(printf '%s\n' "$@"); }
reply() { sed -n "${1}p" <<<"$OUT"; }

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}'
mcp_run "$INIT" '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' \
    '{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"search","arguments":{"query":"'"$Q"'","k":2}}}' \
    '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_collections","arguments":{}}}' \
    '{"jsonrpc":"2.0","id":5,"method":"ping"}'
[[ $(wc -l <<<"$OUT") == 5 ]] || fail "expected 5 replies (none to the notification): $OUT"
r=$(reply 1)
[[ $(json_get "$r" '(j["id"], j["result"]["protocolVersion"], j["result"]["serverInfo"]["name"])') == "(1, '2025-06-18', 'ragged')" ]] || fail "$r"
r=$(reply 2)
[[ $(json_get "$r" '[t["name"] for t in j["result"]["tools"]]') == "['search', 'list_collections', 'ingest']" ]] || fail "no ask without an LLM: $r"
r=$(reply 3)
[[ $(json_get "$r" '(j["id"], j["result"]["isError"])') == "('s', False)" ]] || fail "$r"
contains "$(json_get "$r" 'j["result"]["content"][0]["text"]')" "[1] $TMP/docs/backup.md"
# structuredContent is the document of `query --format json`.
expect_exit 0 "$RAGGED" query "$Q" -k 2 --format json
cli=$OUT
mcp_run '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"search","arguments":{"query":"'"$Q"'","k":2}}}'
[[ $(json_get "$OUT" '[r["id"] for r in j["result"]["structuredContent"]["results"]]') == "$(json_get "$cli" '[r["id"] for r in j["results"]]')" ]] || fail "search differs from the CLI"
mcp_run '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_collections","arguments":{}}}'
contains "$OUT" '"text":"default (exact, '

# Protocol errors: codes and ids as JSON-RPC says; the server keeps going.
mcp_run 'not json' '[1,2]' '{"jsonrpc":"1.0","id":7,"method":"ping"}' '{"jsonrpc":"2.0","id":8,"method":"resources/list"}' \
    '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"nope"}}' \
    '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"search","arguments":{"k":2}}}' \
    '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":"x"}' \
    '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}' '{"jsonrpc":"2.0","id":12,"method":"ping"}'
codes=$(/usr/bin/python3 -c '
import json, sys
for l in sys.stdin:
    j = json.loads(l)
    print(j["id"], j["error"]["code"] if "error" in j else ("isError" if j["result"].get("isError") else "ok"))' <<<"$OUT" | tr '\n' ' ')
[[ $codes == "None -32700 None -32600 7 -32600 8 -32601 9 -32602 10 isError 11 -32602 None -32600 12 ok " ]] || fail "codes: $codes"
contains "$OUT" '"query\" is missing'
# A parse error that quotes half a character still gets its reply.
mcp_run $'{"jsonrpc": "2.0", "id": 5, "method": "ourc\\\xd1\x98ist"}' '{"jsonrpc":"2.0","id":13,"method":"ping"}'
[[ $(json_get "$(head -n 1 <<<"$OUT")" 'j["id"], j["error"]["code"]') == "None -32700" ]] || fail "parse error: $OUT"
contains "$OUT" '"id":13'

# ingest: reads paths on the server's disk and says what it stored.
mkdir -p "$TMP/more"
printf 'The greenhouse is watered at six every morning.\n' >"$TMP/more/green.txt"
mcp_run '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ingest","arguments":{"paths":["'"$TMP/more"'"],"collection":"more"}}}' \
    '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search","arguments":{"query":"greenhouse watering","collection":"more"}}}' \
    '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ingest","arguments":{"paths":["/nonexistent"]}}}'
contains "$(reply 1)" "Ingested 1 new or changed files"
contains "$(reply 2)" "$TMP/more/green.txt"
[[ $(json_get "$(reply 3)" 'j["result"]["isError"]') == True ]] || fail "$(reply 3)"
# --collection is the default for tools that name none.
expect_exit 0 "$RAGGED" mcp --collection more < <(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"query":"greenhouse watering","k":1}}}')
contains "$OUT" "$TMP/more/green.txt"

# ask, when an LLM is configured: the answer with its sources, the key never shown.
start_fake_llm
export RAGGED_LLM_PROVIDER=ollama RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=ok
mcp_run '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' \
    '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ask","arguments":{"query":"'"$Q"'","k":2}}}'
contains "$(reply 1)" '"name":"ask"'
r=$(reply 2)
contains "$(json_get "$r" 'j["result"]["content"][0]["text"]')" "According to the notes"
contains "$(json_get "$r" 'j["result"]["content"][0]["text"]')" "Sources:"
[[ $(json_get "$r" 'j["result"]["structuredContent"]["status"]') == answered ]] || fail "$r"

# The same handler over HTTP at /mcp; a notification gets 202 and no body.
start_serve
http POST /mcp -H 'Content-Type: application/json' -d "$INIT"
[[ $CODE == 200 && $(json_get "$BODY" 'j["result"]["protocolVersion"]') == 2025-06-18 ]] || fail "$CODE $BODY"
http POST /mcp -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
[[ $CODE == 202 && -z $BODY ]] || fail "notification: $CODE $BODY"
http POST /mcp -d '{"jsonrpc":"2.0","id":"q","method":"tools/call","params":{"name":"search","arguments":{"query":"'"$Q"'"}}}'
contains "$BODY" "$TMP/docs/backup.md"
http GET /mcp
[[ $CODE == 405 ]] || fail "GET /mcp: $CODE"

# End of input ends the server with exit 0, stdin closed at once too.
expect_exit 0 "$RAGGED" mcp </dev/null
[[ -z $OUT ]] || fail "output without input: $OUT"
