# ragged ask: a conversation from standard input, follow-ups with the earlier
# turns in the prompt (trimmed to llm.context_tokens), the conversation kept
# under XDG_STATE_HOME and continued with -c, /new, and its errors.
source "$(dirname "$0")/_answer.sh"
make_corpus
export XDG_STATE_HOME="$TMP/state" RAGGED_VECTORSTORE_BACKEND=exact

expect_exit 3 "$RAGGED" ask </dev/null
contains "$ERR" "no LLM is configured"
expect_exit 2 "$RAGGED" ask "a question as an argument"
contains "$ERR" "ragged query"

start_fake_llm
export RAGGED_LLM_PROVIDER=ollama RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=ok
roles() { json_get "$(sed -n "${1}p" "$TMP/llm.log")" '",".join(m["role"] for m in j["messages"])'; }

: >"$TMP/llm.log"
expect_exit 0 "$RAGGED" ask -k 2 < <(printf '%s\n' "$Q" "" "and how long are the copies kept?")
[[ $(grep -c "According to the notes" <<<"$OUT") == 2 ]] || fail "two answers expected: $OUT"
contains "$OUT" "Sources:"
contains "$OUT" "[1] $TMP/docs/"
[[ $(roles 1) == system,user ]] || fail "first question: $(roles 1)"
[[ $(roles 2) == system,user,assistant,user ]] || fail "follow-up without the first turn: $(roles 2)"
first_answer=$(json_get "$(sed -n 2p "$TMP/llm.log")" 'j["messages"][2]["content"]')
contains "$first_answer" "According to the notes"
[[ $(json_get "$(sed -n 2p "$TMP/llm.log")" 'j["messages"][1]["content"]') == "$Q" ]] || fail "earlier question not in the prompt"
# Kept under XDG_STATE_HOME, written atomically (no temp files left).
conv="$TMP/state/ragged/conversation.json"
[[ -f $conv ]] || fail "no conversation file"
[[ $(json_get "$(cat "$conv")" '[t["question"] for t in j["turns"]]') == "['$Q', 'and how long are the copies kept?']" ]] || fail "$(cat "$conv")"
contains "$(cat "$TMP/state/ragged/ask_history")" "and how long are the copies kept?"
[[ $(ls -A "$TMP/state/ragged" | wc -l) == 2 ]] || fail "stray files: $(ls -A "$TMP/state/ragged")"

# -c continues: the two turns are in the next prompt; without -c a new conversation starts.
: >"$TMP/llm.log"
expect_exit 0 "$RAGGED" ask -c -k 2 < <(printf '%s\n' "what about restoring?")
contains "$ERR" "continuing the conversation (2 turns)"
[[ $(roles 1) == system,user,assistant,user,assistant,user ]] || fail "-c: $(roles 1)"
: >"$TMP/llm.log"
expect_exit 0 "$RAGGED" ask -k 2 < <(printf '%s\n' "what about restoring?" /new "$Q" /quit "never asked")
[[ $(roles 1) == system,user ]] || fail "without -c: $(roles 1)"
[[ $(roles 2) == system,user ]] || fail "after /new: $(roles 2)"
[[ $(wc -l <"$TMP/llm.log") == 2 ]] || fail "/quit did not end the conversation"

# A small context: the oldest turns are left out, the prompt still fits.
: >"$TMP/llm.log"
qs=()
for i in 1 2 3 4 5 6 7 8; do qs+=("question $i: how is the database backed up, and where are the copies kept offsite?"); done
expect_exit 0 env RAGGED_LLM_CONTEXT_TOKENS=900 RAGGED_LLM_ANSWER_TOKENS=100 "$RAGGED" ask -k 2 --format json < <(printf '%s\n' "${qs[@]}")
last=$(tail -n 1 <<<"$OUT")
kept=$(json_get "$last" 'j["turns_in_prompt"]')
((kept >= 1 && kept < 7)) || fail "turns kept with a 900-token context: $kept"
[[ $(json_get "$(tail -n 1 "$TMP/llm.log")" 'len(j["messages"])') == $((2 + 2 * kept)) ]] || fail "messages sent != turns kept"
[[ $(json_get "$last" 'j["complete"]') == True ]] || fail "$last"

# The LLM failing: the conversation goes on, exit 4 at the end.
expect_exit 4 env RAGGED_LLM_MODEL=error "$RAGGED" ask -k 2 < <(printf '%s\n' "$Q" "$Q")
[[ $(grep -c "not found" <<<"$ERR") == 2 ]] || fail "$ERR"
