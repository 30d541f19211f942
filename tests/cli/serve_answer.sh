# ragged serve: /v1/answer streams server-sent events with the citation
# checks of `query --answer`; the LLM key and the server's token never show;
# a client that leaves mid-answer does not hurt the server; a token guards
# the API and is required for a non-loopback address.
source "$(dirname "$0")/_answer.sh"
source "$(dirname "$0")/_serve.sh"
trap 'stop_fake_llm; stop_serve' EXIT
make_corpus
SECRET="sk-PLANTED-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
TOKEN="tok-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export RG_TEST_LLM_KEY="$SECRET" RG_TEST_TOKEN="$TOKEN"
start_fake_llm --key "$SECRET" --gate "$TMP/gate"
AUTH=(-H "Authorization: Bearer $TOKEN")

# serve_with MODEL: the server with the fake LLM's MODEL, key and token.
serve_with() {
    RAGGED_LLM_PROVIDER=openai RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=$1 RAGGED_LLM_API_KEY_ENV=RG_TEST_LLM_KEY \
        RAGGED_SERVE_TOKEN_ENV=RG_TEST_TOKEN RAGGED_VECTORSTORE_BACKEND=exact start_serve
}
# sse_summary: the events of $BODY as JSON {"events": [names], "text": joined text events, "done": {...}}.
sse_summary() {
    /usr/bin/python3 -c '
import json, sys
ev, text, done, passages = [], "", None, None
for block in sys.stdin.read().split("\n\n"):
    lines = dict(l.split(": ", 1) for l in block.split("\n") if ": " in l)
    if "event" not in lines: continue
    ev.append(lines["event"]); d = json.loads(lines["data"])
    if lines["event"] == "text": text += d["text"]
    if lines["event"] == "done": done = d
    if lines["event"] == "passages": passages = d
print(json.dumps({"events": sorted(set(ev)), "order": [ev[0], ev[-1]] if ev else [], "text": text, "done": done, "passages": passages}))' <<<"$BODY"
}

serve_with ok
http POST /v1/answer "${AUTH[@]}" -d "{\"query\":\"$Q\",\"k\":2}"
[[ $CODE == 200 ]] || fail "answer: $CODE $BODY"
S=$(sse_summary)
[[ $(json_get "$S" 'j["order"]') == "['passages', 'done']" ]] || fail "event order: $S"
[[ $(json_get "$S" 'j["done"]["status"], j["done"]["complete"]' | tr -d '\n') == "answered True" ]] || fail "$S"
[[ $(json_get "$S" 'j["text"] == j["done"]["answer"]') == True ]] || fail "streamed text is not the answer: $S"
contains "$(json_get "$S" 'j["text"]')" "According to the notes"
# The same answer, citations and sources as the CLI's --answer --format json.
expect_exit 0 env RAGGED_LLM_PROVIDER=openai RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=ok \
    RAGGED_LLM_API_KEY_ENV=RG_TEST_LLM_KEY "$RAGGED" query "$Q" "${B[@]}" -k 2 --answer --format json
for key in answer citations sources invalid_citations; do
    [[ $(json_get "$S" "j['done']['$key']") == "$(json_get "$OUT" "j['$key']")" ]] || fail "$key differs: $S vs $OUT"
done
[[ $(json_get "$S" '[p["n"] for p in j["passages"]["passages"]]') == "[1, 2]" ]] || fail "$S"

# Citations of passages the model never saw are flagged while streaming.
serve_with badcite
http POST /v1/answer "${AUTH[@]}" -d "{\"query\":\"$Q\",\"k\":2}"
S=$(sse_summary)
contains "$(json_get "$S" 'j["text"]')" "does not exist [9?]"
[[ $(json_get "$S" 'j["done"]["invalid_citations"]') == "[7, 9]" ]] || fail "$S"

# The key, echoed by the LLM inside the answer, is masked.
serve_with leak
http POST /v1/answer "${AUTH[@]}" -d "{\"query\":\"$Q\",\"k\":2}"
contains "$BODY" "[redacted]"
not_contains "$BODY" "$SECRET"
not_contains "$BODY" "${SECRET:0:14}"

# An LLM failing mid-answer: the stream ends with done, complete false, the CLI's code.
serve_with midstream-error
http POST /v1/answer "${AUTH[@]}" -d "{\"query\":\"$Q\",\"k\":2}"
S=$(sse_summary)
[[ $(json_get "$S" 'j["done"]["complete"], j["done"]["error"]["code"]' | tr -d '\n') == "False server" ]] || fail "$S"

# The token: required on /v1 and /mcp, compared exactly, never echoed or logged.
http GET /v1/health
err_is_401() { [[ $CODE == 401 ]] || fail "expected 401, got $CODE: $BODY"; contains "$BODY" "serve.token_env"; not_contains "$BODY" "$TOKEN"; }
err_is_401
http GET /v1/health -H "Authorization: Bearer ${TOKEN}x"
err_is_401
http GET /v1/health -H "Authorization: Bearer ${TOKEN:0:20}"
err_is_401
http POST /mcp -d '{"jsonrpc":"2.0","id":1,"method":"ping"}'
err_is_401
http GET /v1/health "${AUTH[@]}"
[[ $CODE == 200 ]] || fail "right token refused: $CODE $BODY"
http GET / # the page itself needs no token (it asks for one)
[[ $CODE == 200 ]] || fail "page: $CODE"

# A client that disconnects mid-answer: the server goes on serving.
serve_with gate
rm -f "$TMP/gate"
curl -sS -N --max-time 2 -X POST "${AUTH[@]}" "$SERVE_URL/v1/answer" -d "{\"query\":\"$Q\",\"k\":2}" >"$TMP/cut.sse" 2>/dev/null
grep -q 'event: text' "$TMP/cut.sse" || fail "no text before the cut: $(cat "$TMP/cut.sse")"
touch "$TMP/gate"
for i in 1 2 3; do
    http POST /v1/query "${AUTH[@]}" -d "{\"query\":\"$Q\"}"
    [[ $CODE == 200 ]] || fail "after a client left: $CODE $BODY"
done
kill -0 "$SERVE_PID" || fail "the server died after a client left"
for ((i = 0; i < 50; i++)); do grep -q 'closed early' "$TMP/serve.err" && break; sleep 0.1; done
contains "$(cat "$TMP/serve.err")" "POST /v1/answer"
contains "$(cat "$TMP/serve.err")" "closed early"
not_contains "$(cat "$TMP/serve.err" "$TMP/serve.out")" "$TOKEN"
not_contains "$(cat "$TMP/serve.err" "$TMP/serve.out")" "$SECRET"
stop_serve

# Anything but loopback needs the token; the refusal names the setting.
expect_exit 2 "$RAGGED" serve --host 0.0.0.0 --port 0
contains "$ERR" "serve.token_env"
expect_exit 2 env RAGGED_SERVE_TOKEN_ENV=RG_TEST_UNSET_TOKEN "$RAGGED" serve --host 0.0.0.0 --port 0
contains "$ERR" "RG_TEST_UNSET_TOKEN"
expect_exit 2 env RAGGED_SERVE_TOKEN_ENV=RG_TEST_SHORT RG_TEST_SHORT=abc "$RAGGED" serve --port 0
contains "$ERR" "shorter than 16"
not_contains "$ERR" "abc"
expect_exit 2 env RAGGED_SERVE_TOKEN_ENV="$TOKEN-value" "$RAGGED" serve --port 0
not_contains "$ERR" "$TOKEN"
# With a token, a non-loopback bind starts (and answers only with the token).
RAGGED_SERVE_TOKEN_ENV=RG_TEST_TOKEN start_serve --host 0.0.0.0
http GET /v1/health
[[ $CODE == 401 ]] || fail "non-loopback server answered without the token: $CODE"
http GET /v1/health "${AUTH[@]}"
[[ $CODE == 200 ]] || fail "$CODE $BODY"
