# The LLM API key comes only from the variable named by llm.api_key_env, is
# sent as a bearer token, and never appears in anything ragged prints: not
# in answers, errors, JSON, or when the server echoes it back.
source "$(dirname "$0")/_answer.sh"
make_corpus
SECRET="sk-PLANTED-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export RG_TEST_LLM_KEY="$SECRET"
K=(env RAGGED_LLM_API_KEY_ENV=RG_TEST_LLM_KEY)
all_out=""
clean() { not_contains "$OUT$ERR" "$SECRET"; not_contains "$OUT$ERR" "${SECRET:0:14}"; all_out+="$OUT$ERR"; }

# The server expects this key: requests carry it, outputs never show it.
start_fake_llm --key "$SECRET"
for p in ollama openai; do
    : >"$TMP/llm.log"
    expect_exit 0 "${K[@]}" RAGGED_LLM_PROVIDER=$p RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=ok "$RAGGED" query "$Q" "${B[@]}" --answer
    clean
    [[ $(json_get "$(head -n 1 "$TMP/llm.log")" 'j["auth"]') == match ]] || fail "$p: key not sent as bearer token"
    # The server puts the key into the answer text itself, split across chunks.
    for fmt in text json; do
        expect_exit 0 "${K[@]}" RAGGED_LLM_PROVIDER=$p RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=leak "$RAGGED" query "$Q" "${B[@]}" --answer --format $fmt
        clean
        contains "$OUT" "The key you sent is [redacted]"
    done
done

# A wrong key: the server's 401 message repeats the key it was given.
start_fake_llm --key "some-other-key"
for p in ollama openai; do
    for fmt in text json; do
        expect_exit 4 "${K[@]}" RAGGED_LLM_PROVIDER=$p RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=ok "$RAGGED" query "$Q" "${B[@]}" --answer --format $fmt
        clean
        contains "$OUT$ERR" "Incorrect API key provided: [redacted]"
        contains "$OUT$ERR" "HTTP 401"
    done
done

# Unreachable server, config display, verbose paths: still nothing.
port=$(free_port)
expect_exit 4 "${K[@]}" RAGGED_LLM_PROVIDER=openai RAGGED_LLM_URL="http://127.0.0.1:$port/v1" RAGGED_LLM_MODEL=ok "$RAGGED" query "$Q" "${B[@]}" --answer --format json
clean
# Credentials in the URL are not shown either.
for fmt in text json; do
    expect_exit 4 env RAGGED_LLM_PROVIDER=ollama RAGGED_LLM_URL="http://user:$SECRET@127.0.0.1:$port" RAGGED_LLM_MODEL=ok "$RAGGED" query "$Q" "${B[@]}" --answer --format $fmt
    clean
    contains "$OUT$ERR" "http://127.0.0.1:$port/api/chat"
    expect_exit 3 env RAGGED_LLM_PROVIDER=ollama RAGGED_LLM_URL="ftp://user:$SECRET@127.0.0.1:$port" RAGGED_LLM_MODEL=ok "$RAGGED" query "$Q" "${B[@]}" --answer --format $fmt
    clean
    contains "$OUT$ERR" "ftp://127.0.0.1:$port"
done
expect_exit 0 "${K[@]}" RAGGED_LLM_PROVIDER=openai "$RAGGED" config show
clean
contains "$OUT" "RG_TEST_LLM_KEY"
[[ -n $all_out ]] || fail "no output was checked"
exit 0
