# query --answer when there is no answer to be had: no LLM configured, a
# missing API key variable, a context too small, an unreachable server, HTTP
# errors, cut-off and broken streams, a server slower than llm.timeout_ms.
# Each time: a message naming the URL and model, the passages still printed,
# exit 3 (no usable LLM configuration) or 4 (the LLM failed), and any text
# received kept.
source "$(dirname "$0")/_answer.sh"
make_corpus

# Passages printed instead of an answer.
passages_shown() {
    contains "$OUT" "Retrieved passages:"
    contains "$OUT" "[1] $TMP/docs/"
}

# No LLM configured (the default).
expect_exit 3 "$RAGGED" query "$Q" "${B[@]}" --answer
contains "$ERR" "no LLM is configured (llm.provider is none"
contains "$ERR" "llm.url ''"
passages_shown
expect_exit 3 "$RAGGED" query "$Q" "${B[@]}" --answer --format json
[[ $(json_get "$OUT" '(j["status"], j["answer"], len(j["passages"]) > 0)') == "('no_llm', None, True)" ]] || fail "$OUT"
contains "$(json_get "$OUT" 'j["error"]["message"]')" "llm.provider is none"

# Configured but incomplete.
expect_exit 3 env RAGGED_LLM_PROVIDER=openai RAGGED_LLM_MODEL=m "$RAGGED" query "$Q" "${B[@]}" --answer
contains "$ERR" "llm.url is empty"
passages_shown
expect_exit 3 env RAGGED_LLM_PROVIDER=ollama RAGGED_LLM_URL=http://127.0.0.1:9 "$RAGGED" query "$Q" "${B[@]}" --answer
contains "$ERR" "llm.model is empty"
contains "$ERR" "http://127.0.0.1:9"

# The API key variable named in the config is not set.
unset RG_TEST_MISSING_KEY
expect_exit 3 env RAGGED_LLM_PROVIDER=openai RAGGED_LLM_URL=http://127.0.0.1:9/v1 RAGGED_LLM_MODEL=m \
    RAGGED_LLM_API_KEY_ENV=RG_TEST_MISSING_KEY "$RAGGED" query "$Q" "${B[@]}" --answer
contains "$ERR" "RG_TEST_MISSING_KEY, which is not set"
contains "$ERR" "llm.model 'm'"
passages_shown

# A context window too small for the question plus the answer reserve.
expect_exit 3 env RAGGED_LLM_PROVIDER=ollama RAGGED_LLM_URL=http://127.0.0.1:9 RAGGED_LLM_MODEL=m \
    RAGGED_LLM_CONTEXT_TOKENS=256 RAGGED_LLM_ANSWER_TOKENS=250 "$RAGGED" query "$Q" "${B[@]}" --answer
contains "$ERR" "leave no room for passages"
passages_shown

# Nothing listens on the port.
port=$(free_port)
for p in ollama openai; do
    expect_exit 4 env RAGGED_LLM_PROVIDER=$p RAGGED_LLM_URL="http://127.0.0.1:$port" RAGGED_LLM_MODEL=tiny-model \
        "$RAGGED" query "$Q" "${B[@]}" --answer
    contains "$ERR" "cannot reach"
    contains "$ERR" "http://127.0.0.1:$port"
    contains "$ERR" "tiny-model"
    passages_shown
done

start_fake_llm
for p in ollama openai; do
    # HTTP 404 with the server's own message.
    ask 4 "$p" error
    contains "$ERR" "answered HTTP 404 for model 'error'"
    contains "$ERR" "$LLM_URL"
    passages_shown
    # Not a chat server at all.
    ask 4 "$p" html
    contains "$ERR" "HTTP 502"
    passages_shown

    # Connection dropped mid-answer: what arrived is kept.
    ask 4 "$p" cutoff -k 1
    contains "$OUT" "According to the notes"
    contains "$OUT" "[answer incomplete"
    contains "$ERR" "broke off after"
    contains "$ERR" "model 'cutoff'"
    passages_shown
    ask 4 "$p" cutoff -k 1 --format json
    [[ $(json_get "$OUT" '(j["status"], j["complete"], j["answer"].startswith("According"))') == "('llm_failed', False, True)" ]] || fail "$OUT"

    # Body ended cleanly but without the end marker.
    ask 4 "$p" cutoff-clean -k 1
    contains "$OUT" "According"
    contains "$ERR" "ended before the model finished"
    passages_shown

    # The server reports an error in the middle of the stream.
    ask 4 "$p" midstream-error -k 1
    contains "$OUT" "According"
    contains "$ERR" "the model ran out of memory"
    passages_shown

    # Slower than llm.timeout_ms: stopped, partial text kept.
    expect_exit 4 env RAGGED_LLM_PROVIDER=$p RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=slow RAGGED_LLM_TIMEOUT_MS=1200 \
        "$RAGGED" query "$Q" "${B[@]}" --answer -k 1
    contains "$ERR" "llm.timeout_ms"
    contains "$OUT" "According"
    passages_shown
done

# Ctrl-C while the answer streams: stops at the next piece, keeps the text, exit 130.
env RAGGED_LLM_PROVIDER=ollama RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=slow \
    "$RAGGED" query "$Q" "${B[@]}" --answer -k 1 >"$TMP/int.out" 2>"$TMP/int.err" &
rp=$!
for ((i = 0; i < 100; i++)); do
    grep -q "According" "$TMP/int.out" 2>/dev/null && break
    sleep 0.1
done
kill -INT $rp
wait $rp
rc=$?
[[ $rc -eq 130 ]] || fail "interrupted answer: exit $rc: $(cat "$TMP/int.err")"
contains "$(cat "$TMP/int.out")" "[answer incomplete: interrupted]"
contains "$(cat "$TMP/int.out")" "Retrieved passages:"
exit 0
