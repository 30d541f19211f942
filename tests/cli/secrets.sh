# API keys and tokens never appear in ragged's output.  Secrets are planted in
# the environment variables that vectorstore.chromadb.auth_token_env,
# embedding.api_key_env and llm.api_key_env name; many commands (successful
# and failing, text and JSON, config show/validate/init, errors from
# unreachable servers) run, and all of stdout + stderr is searched for them.
source "$(dirname "$0")/_lib.sh"
S1="sk-PLANTED-chroma-$$-$RANDOM$RANDOM"
S2="sk-PLANTED-embed-$$-$RANDOM$RANDOM"
S3="sk-PLANTED-llm-$$-$RANDOM$RANDOM"
export RG_TEST_CHROMA_TOKEN="$S1" RG_TEST_EMBED_KEY="$S2" RG_TEST_LLM_KEY="$S3"
# A port nothing listens on: remote calls fail with a network error (an
# error path that could be tempted to print request headers).
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# And a hostile server that answers 401/500 with the request's headers
# (Authorization included) in its error body.
/usr/bin/python3 "$(dirname "$0")/_listener.py" "$TMP/echo.log" "$TMP/echo.port" echo &
epid=$!
trap 'kill $epid 2>/dev/null' EXIT
for _ in $(seq 100); do [[ -s $TMP/echo.port ]] && break; sleep 0.05; done
[[ -s $TMP/echo.port ]] || fail "the echo server did not start"
eport=$(cat "$TMP/echo.port")
cat >"$TMP/ragged.yml" <<YML
vectorstore:
  backend: exact
  chromadb:
    url: http://127.0.0.1:$port
    auth_token_env: RG_TEST_CHROMA_TOKEN
embedding:
  api_key_env: RG_TEST_EMBED_KEY
  url: http://127.0.0.1:$port
llm:
  provider: openai
  url: http://127.0.0.1:$port
  model: m
  api_key_env: RG_TEST_LLM_KEY
YML
export RAGGED_CONFIG="$TMP/ragged.yml"
D="$TMP/docs"; mkdir -p "$D"
printf 'The backup runs every night.\n' >"$D/a.txt"
# The secrets must also not leak from a document or a file name that
# happens to be read... those are the user's own data; only ragged's
# handling of the configured secrets is checked here.

LOG="$TMP/all-output"
: >"$LOG"
run() { { echo "\$ $*"; "$@"; echo "exit $?"; } >>"$LOG" 2>&1; }
for fmt in text json; do
    run "$RAGGED" config show --format $fmt
    run "$RAGGED" config validate --format $fmt
    run "$RAGGED" config schema --format $fmt
    run "$RAGGED" ingest "$D" --format $fmt
    run "$RAGGED" query "backup" --format $fmt
    run "$RAGGED" collections list --format $fmt
    run "$RAGGED" collections info default --format $fmt
    # Remote paths: chromadb backend, remote embedders, the LLM (all unreachable).
    run "$RAGGED" collections list --backend chromadb --format $fmt
    run "$RAGGED" ingest "$D" --backend chromadb --format $fmt
    run "$RAGGED" query "backup" --backend chromadb --format $fmt
    for p in openai ollama; do
        RAGGED_EMBEDDING_PROVIDER=$p RAGGED_EMBEDDING_MODEL=m run "$RAGGED" embed "hello" --format $fmt
        RAGGED_EMBEDDING_PROVIDER=$p RAGGED_EMBEDDING_MODEL=m run "$RAGGED" ingest "$D" --collection remote --format $fmt
        RAGGED_EMBEDDING_PROVIDER=$p RAGGED_EMBEDDING_MODEL=m RAGGED_LLM_PROVIDER=$p \
            run "$RAGGED" query "backup" --answer --format $fmt
    done
    run "$RAGGED" query "backup" --answer --format $fmt
    # The hostile echo server on every remote path.
    E="http://127.0.0.1:$eport"
    RAGGED_VECTORSTORE_CHROMADB_URL=$E run "$RAGGED" collections list --backend chromadb --format $fmt
    RAGGED_VECTORSTORE_CHROMADB_URL=$E run "$RAGGED" ingest "$D" --backend chromadb --format $fmt
    RAGGED_VECTORSTORE_CHROMADB_URL=$E run "$RAGGED" query "backup" --backend chromadb --format $fmt
    for p in openai ollama; do
        RAGGED_EMBEDDING_PROVIDER=$p RAGGED_EMBEDDING_MODEL=m RAGGED_EMBEDDING_URL=$E run "$RAGGED" embed "hello" --format $fmt
        RAGGED_LLM_PROVIDER=$p RAGGED_LLM_URL=$E run "$RAGGED" query "backup" --answer --format $fmt
    done
    # Bad input: error messages that echo values.
    RAGGED_LLM_TEMPERATURE=nope run "$RAGGED" config show --format $fmt
    RAGGED_VECTORSTORE_CHROMADB_AUTH_TOKEN_ENV="$S1" run "$RAGGED" config show --format $fmt
done
run "$RAGGED" config init
run "$RAGGED" --help
for c in ingest query collections config embed model; do run "$RAGGED" $c --help; done

# The echo server must have seen the secrets (else the test proves nothing).
for s in "$S1" "$S2" "$S3"; do
    grep -q -F -- "$s" "$TMP/echo.log" || fail "the echo server never received a planted secret; the remote paths did not run"
done
for s in "$S1" "$S2" "$S3"; do
    if grep -n -F -- "$s" "$LOG" | grep -v "RAGGED_VECTORSTORE_CHROMADB_AUTH_TOKEN_ENV" >"$TMP/hits"; [[ -s $TMP/hits ]]; then
        fail "a planted secret appears in ragged's output: $(head -5 "$TMP/hits")"
    fi
done
n=$(grep -c '^\$ ' "$LOG")
echo "secrets: $n commands, $(wc -c <"$LOG") bytes of output searched; no planted secret found"
