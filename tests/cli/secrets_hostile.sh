# Hostile servers that hand a client's credentials back to it in spellings
# a byte-for-byte search misses (issue 21, item 2): JSON-escaped (\u0073,
# \/), in swapped letter case, or quoted by an HTML page answered with
# status 200.  The embedder (openai, ollama), the chromadb backend and the
# LLM run against each; all output is decoded (JSON and URL escapes, HTML
# references) and searched for the keys in any letter case.  Then: a key is
# never sent over plain http:// to a host that is not this machine unless
# the configuration allows it.
source "$(dirname "$0")/_lib.sh"
S1="sk-PLANTED/chroma-$$-$RANDOM$RANDOM"
S2="sk-PLANTED/embed-$$-$RANDOM$RANDOM"
S3="sk-PLANTED/llm-$$-$RANDOM$RANDOM"
export RG_TEST_CHROMA_TOKEN="$S1" RG_TEST_EMBED_KEY="$S2" RG_TEST_LLM_KEY="$S3"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT
declare -A port
for mode in echo-escaped echo-case echo-html; do
    /usr/bin/python3 "$(dirname "$0")/_listener.py" "$TMP/$mode.log" "$TMP/$mode.port" $mode &
    pids+=($!)
done
for mode in echo-escaped echo-case echo-html; do
    for _ in $(seq 100); do [[ -s $TMP/$mode.port ]] && break; sleep 0.05; done
    [[ -s $TMP/$mode.port ]] || fail "the $mode server did not start"
    port[$mode]=$(cat "$TMP/$mode.port")
done
cat >"$TMP/ragged.yml" <<YML
vectorstore:
  backend: exact
  chromadb:
    auth_token_env: RG_TEST_CHROMA_TOKEN
embedding:
  api_key_env: RG_TEST_EMBED_KEY
llm:
  model: m
  api_key_env: RG_TEST_LLM_KEY
YML
export RAGGED_CONFIG="$TMP/ragged.yml"
D="$TMP/docs"; mkdir -p "$D"
printf 'The backup runs every night.\n' >"$D/a.txt"
expect_exit 0 "$RAGGED" ingest "$D"

LOG="$TMP/all-output"
: >"$LOG"
run() { { echo "\$ $*"; "$@"; echo "exit $?"; } >>"$LOG" 2>&1; }
for mode in echo-escaped echo-case echo-html; do
    E="http://127.0.0.1:${port[$mode]}"
    for fmt in text json; do
        RAGGED_VECTORSTORE_CHROMADB_URL=$E run "$RAGGED" collections list --backend chromadb --format $fmt
        RAGGED_VECTORSTORE_CHROMADB_URL=$E run "$RAGGED" query "backup" --backend chromadb --format $fmt
        for p in openai ollama; do
            RAGGED_EMBEDDING_PROVIDER=$p RAGGED_EMBEDDING_MODEL=m RAGGED_EMBEDDING_URL=$E run "$RAGGED" embed "hello" --format $fmt
            RAGGED_LLM_PROVIDER=$p RAGGED_LLM_URL=$E run "$RAGGED" query "backup" --answer --format $fmt
        done
    done
    for s in "$S1" "$S2" "$S3"; do
        grep -q -F -- "${s#sk-PLANTED/}" "$TMP/$mode.log" || fail "the $mode server never received a planted secret"
    done
done
/usr/bin/python3 - "$LOG" "$S1" "$S2" "$S3" <<'PY' || fail "a planted secret appears in ragged's output"
import html, re, sys, urllib.parse
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
def decode(t):
    t = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), t)
    t = t.replace("\\/", "/")
    return html.unescape(urllib.parse.unquote(t))
for view in (text, decode(text), decode(decode(text))):
    for s in sys.argv[2:]:
        i = view.lower().find(s.lower())
        if i >= 0:
            print("found %s: ...%s..." % (s, view[max(0, i - 200):i + 60]))
            sys.exit(1)
PY
grep -q "exit [12]" "$LOG" || fail "no remote command failed; the hostile servers were not used"

# Plain http:// to another host: refused before any connection, naming the
# key that allows it; loopback (127.0.0.1, localhost) is allowed above.
other=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.' | grep -v '^127\.' | head -1)
[[ -n $other ]] || other=192.0.2.1   # TEST-NET-1: never routed
F="http://$other:${port[echo-html]}"
RAGGED_EMBEDDING_PROVIDER=openai RAGGED_EMBEDDING_MODEL=m RAGGED_EMBEDDING_URL=$F expect_exit 2 "$RAGGED" embed hello
contains "$ERR" "refusing to send"
contains "$ERR" "embedding.api_key_over_http"
RAGGED_LLM_PROVIDER=openai RAGGED_LLM_URL=$F expect_exit 3 "$RAGGED" query backup --answer   # 3: no usable LLM configuration
contains "$ERR" "llm.api_key_over_http"
RAGGED_VECTORSTORE_CHROMADB_URL=$F expect_exit 2 "$RAGGED" collections list --backend chromadb
contains "$ERR" "vectorstore.chromadb.auth_token_over_http"
# Allowed explicitly: the request is made (and fails: nothing listens there).
RAGGED_EMBEDDING_API_KEY_OVER_HTTP=true RAGGED_EMBEDDING_TIMEOUT_MS=1000 RAGGED_EMBEDDING_PROVIDER=openai \
    RAGGED_EMBEDDING_MODEL=m RAGGED_EMBEDDING_URL=$F expect_exit 1 "$RAGGED" embed hello
not_contains "$ERR" "refusing"
# Without a key nothing is refused.
RG_TEST_EMBED_KEY= RAGGED_EMBEDDING_API_KEY_ENV= RAGGED_EMBEDDING_TIMEOUT_MS=1000 RAGGED_EMBEDDING_PROVIDER=openai \
    RAGGED_EMBEDDING_MODEL=m RAGGED_EMBEDDING_URL=$F expect_exit 1 "$RAGGED" embed hello
not_contains "$ERR" "refusing"
n=$(grep -c '^\$ ' "$LOG")
echo "hostile servers: $n commands against escaped, case-changed and HTML echoes, no key in any spelling; plain http to $other refused"
