# query --answer against the fake LLM server in both streaming formats:
# answer and sources, the request ragged sends, flagged citations, malformed
# lines, non-streamed replies, UTF-8 split on the wire, JSON output, and that
# the answer reaches stdout while the model is still generating.
source "$(dirname "$0")/_answer.sh"
make_corpus
start_fake_llm --gate "$TMP/gate"

for p in ollama openai; do
    : >"$TMP/llm.log"
    ask 0 "$p" ok -k 2
    contains "$OUT" "According to the notes"
    contains "$OUT" "[1]"
    contains "$OUT" "Sources:"
    contains "$OUT" "  [1] $TMP/docs/"
    contains "$OUT" "(Passages seen: 2.)"     # the server found both numbered passages in the prompt
    contains "$ERR" "asking ok"
    # What went over the wire.
    req=$(head -n 1 "$TMP/llm.log")
    [[ $(json_get "$req" 'j["stream"]') == True ]] || fail "$p: stream not requested: $req"
    [[ $(json_get "$req" '[m["role"] for m in j["messages"]]') == "['system', 'user']" ]] || fail "$req"
    [[ $(json_get "$req" '"[1] Source: " in j["messages"][1]["content"] and "Question: '"$Q"'" in j["messages"][1]["content"]') == True ]] || fail "$req"
    [[ $(json_get "$req" 'j["auth"]') == none ]] || fail "$p: an Authorization header was sent without a key"
    if [[ $p == ollama ]]; then
        [[ $(json_get "$req" 'j["path"]') == /api/chat ]] || fail "$req"
        [[ $(json_get "$req" '(j["options"]["num_ctx"], j["options"]["num_predict"], j["options"]["temperature"])') == "(4096, 512, 0.2)" ]] || fail "$req"
    else
        [[ $(json_get "$req" 'j["path"]') == /v1/chat/completions ]] || fail "$req"
        [[ $(json_get "$req" '(j["max_tokens"], j["temperature"])') == "(512, 0.2)" ]] || fail "$req"
    fi

    # Citations of passages the model never saw are flagged, in the text and the list.
    ask 0 "$p" badcite -k 2
    contains "$OUT" "does not exist [9?]"
    contains "$OUT" "[1, 7?]"
    contains "$OUT" "[9?] not one of the 2 passages"
    contains "$ERR" "cites 2 numbers that match no retrieved passage"
    ask 0 "$p" badcite -k 2 --format json
    [[ $(json_get "$OUT" 'j["invalid_citations"]') == "[7, 9]" ]] || fail "$p: $OUT"
    [[ $(json_get "$OUT" '[c["n"] for c in j["sources"]]') == "[1, 2]" ]] || fail "$p: $OUT"
    [[ $(json_get "$OUT" '[(c["n"], c["valid"]) for c in j["citations"]]') == "[(1, True), (2, True), (7, False), (9, False)]" ]] || fail "$OUT"
    [[ $(json_get "$OUT" '"[9]" in j["answer"]') == True ]] || fail "JSON answer should be the model's text: $OUT"

    # No citations at all: said so.
    ask 0 "$p" nocite
    contains "$OUT" "cites none of the passages"

    # Garbage between the good lines is skipped, counted, and the answer completes.
    ask 0 "$p" malformed -k 1
    contains "$OUT" "According to the notes"
    contains "$OUT" "(Passages seen: 1.)"
    contains "$ERR" "skipped 3 malformed lines"

    # A server that ignores "stream": true.
    ask 0 "$p" nonstream -k 1
    contains "$OUT" "(Passages seen: 1.)"

    # Multi-byte UTF-8 split across network chunks arrives intact.
    ask 0 "$p" unicode -k 1
    contains "$OUT" $'\u0421\u043e\u0433\u043b\u0430\u0441\u043d\u043e \u0437\u0430\u043c\u0435\u0442\u043a\u0430\u043c \U0001F4E6 [1].'

    # Escape sequences from the model never reach the terminal; JSON keeps the text.
    ask 0 "$p" control -k 1
    contains "$OUT" "Plain ?[31mred?[0m textover [1]."
    [[ $OUT != *$'\e'* && $OUT != *$'\r'* ]] || fail "control characters on stdout"
    ask 0 "$p" control -k 1 --format json
    [[ $(json_get "$OUT" 'j["answer"]') == $'Plain \e[31mred\e[0m text\rover [1].' ]] || fail "$OUT"

    # Stopped at the token limit: answer kept, warned.
    ask 0 "$p" length -k 1
    contains "$ERR" "cut at llm.answer_tokens=512"

    # One JSON object with everything.
    ask 0 "$p" ok -k 3 --format json
    [[ $(json_get "$OUT" 'j["status"]') == answered ]] || fail "$OUT"
    [[ $(json_get "$OUT" 'j["complete"]') == True ]] || fail "$OUT"
    [[ $(json_get "$OUT" 'j["llm"]["model"]') == ok ]] || fail "$OUT"
    [[ $(json_get "$OUT" 'len(j["passages"]) == 3 and j["passages_in_prompt"] == 3') == True ]] || fail "$OUT"
    [[ $(json_get "$OUT" 'j["sources"][0]["document_path"].startswith("'"$TMP"'/docs/")') == True ]] || fail "$OUT"
    [[ $(json_get "$OUT" 'all("text" in p and "in_prompt" in p for p in j["passages"])') == True ]] || fail "$OUT"
    [[ $(json_get "$OUT" 'j["completion_tokens"] > 0') == True ]] || fail "server token counts not passed on: $OUT"
    [[ -z $ERR || $ERR != *"{"* ]] || fail "JSON on stderr: $ERR"

    # A small context window: fewer passages go in, nothing beyond is numbered.
    : >"$TMP/llm.log"
    expect_exit 0 env RAGGED_LLM_PROVIDER="$p" RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=ok \
        RAGGED_LLM_CONTEXT_TOKENS=400 RAGGED_LLM_ANSWER_TOKENS=64 "$RAGGED" query "database backup" "${B[@]}" -k 3 --answer --format json
    n=$(json_get "$OUT" 'j["passages_in_prompt"]')
    [[ $n -ge 1 && $n -lt 3 ]] || fail "$p: expected 1-2 passages in a 400-token context, got $n"
    [[ $(json_get "$OUT" 'j["prompt_tokens_estimate"] <= 400 - 64') == True ]] || fail "$OUT"
    req=$(tail -n 1 "$TMP/llm.log")
    [[ $(json_get "$req" '"['"$((n + 1))"'] Source:" in j["messages"][1]["content"]') == False ]] || fail "passage $((n + 1)) sent: $req"
done

# Passages come from the configured retrieval mode (--mode / retrieval.mode).
for mode in vector bm25 hybrid; do
    ask 0 ollama ok -k 2 --mode $mode --format json
    [[ $(json_get "$OUT" '(j["mode"], j["status"], j["passages"][0]["document_path"].endswith("backup.md") or j["passages"][0]["document_path"].endswith("maintenance.txt"))') == "('$mode', 'answered', True)" ]] || fail "$mode: $OUT"
done

# The base URL may be given with /v1 or with the whole path.
expect_exit 0 env RAGGED_LLM_PROVIDER=openai RAGGED_LLM_URL="$LLM_URL/v1/" RAGGED_LLM_MODEL=crlf "$RAGGED" query "$Q" "${B[@]}" --answer -k 1
contains "$OUT" "(Passages seen: 1.)"
expect_exit 0 env RAGGED_LLM_PROVIDER=ollama RAGGED_LLM_URL="$LLM_URL/api/chat" RAGGED_LLM_MODEL=ok "$RAGGED" query "$Q" "${B[@]}" --answer -k 1
contains "$OUT" "(Passages seen: 1.)"

# Streaming: the first half of the answer is on stdout while the server
# still holds back the rest (it waits for the gate file, at most 60 s; the
# wait here is by the clock, not by a count of polls, so a loaded machine or a
# sanitizer build only makes it slower, not wrong).
for p in ollama openai; do
    rm -f "$TMP/gate"
    env RAGGED_LLM_PROVIDER=$p RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=gate \
        "$RAGGED" query "$Q" "${B[@]}" --answer -k 1 >"$TMP/gate.out" 2>"$TMP/gate.err" &
    rp=$!
    deadline=$((SECONDS + 45))
    while ((SECONDS < deadline)); do
        grep -q "According" "$TMP/gate.out" 2>/dev/null && break
        kill -0 $rp 2>/dev/null || break   # exited before the gate opened
        sleep 0.1
    done
    early=$(cat "$TMP/gate.out")
    alive=no
    kill -0 $rp 2>/dev/null && alive=yes
    touch "$TMP/gate"
    wait $rp
    rc=$?
    [[ $early == *According* ]] ||
        fail "$p gate: no answer text on stdout after $((SECONDS - deadline + 45)) s (process still running: $alive; exit $rc): stdout '$(cat "$TMP/gate.out")', stderr '$(cat "$TMP/gate.err")', server: $(tail -c 400 "$TMP/llm.out")"
    not_contains "$early" "Sources:"
    [[ $rc -eq 0 ]] || fail "$p gate: exit $rc: $(cat "$TMP/gate.err")"
    contains "$(cat "$TMP/gate.out")" "Sources:"
done
exit 0
