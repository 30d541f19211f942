# config init / validate / show, lookup order, and bad configuration files.
source "$(dirname "$0")/_lib.sh"
cd "$TMP"
expect_exit 0 "$RAGGED" config init
contains "$OUT" "vectorstore:"
contains "$OUT" "  backend: leann"
contains "$OUT" "    graph_degree: 32"
contains "$OUT" "    search_complexity: 1000"
expect_exit 0 "$RAGGED" config init --write "$TMP/full.yml"
expect_exit 1 "$RAGGED" config init --write "$TMP/full.yml"
contains "$ERR" "not overwriting"
expect_exit 0 "$RAGGED" config validate "$TMP/full.yml"

# ./ragged.yml is found; env beats it; the flag beats env.
printf 'vectorstore:\n  backend: exact\nretrieval:\n  k: 3\n' >ragged.yml
expect_exit 0 "$RAGGED" config show --format json
[[ $(json_get "$OUT" 'j["config"]["vectorstore"]["backend"]') == exact ]] || fail "$OUT"
contains "$(json_get "$OUT" 'j["origins"]["retrieval.k"]')" "ragged.yml:4"
expect_exit 0 env RAGGED_RETRIEVAL_K=8 "$RAGGED" config show --format json
[[ $(json_get "$OUT" 'j["config"]["retrieval"]["k"]') == 8 ]] || fail "$OUT"
expect_exit 0 env RAGGED_VECTORSTORE_BACKEND=chromadb "$RAGGED" config show --backend exact
contains "$OUT" "backend: exact    # from flag"

# $RAGGED_CONFIG and --config.
printf 'retrieval:\n  k: 4\n' >"$TMP/other.yml"
expect_exit 0 env RAGGED_CONFIG="$TMP/other.yml" "$RAGGED" config show --format json
[[ $(json_get "$OUT" 'j["config"]["retrieval"]["k"]') == 4 ]] || fail "$OUT"
expect_exit 0 "$RAGGED" --config "$TMP/other.yml" config show --format json
[[ $(json_get "$OUT" 'j["file"]') == "$TMP/other.yml" ]] || fail "$OUT"
expect_exit 2 "$RAGGED" --config "$TMP/none.yml" config show
contains "$ERR" "does not exist"

# Bad files: one clear message with file, line and the fix; exit 2.
printf 'vectorstore:\n  backend: leann\n  lean:\n    graph_degree: 8\n' >ragged.yml
expect_exit 2 "$RAGGED" config validate
contains "$ERR" "ragged.yml:3"
contains "$ERR" "did you mean"
printf 'vectorstore:\n  backend: [oops\n' >ragged.yml
expect_exit 2 "$RAGGED" config validate
contains "$ERR" "invalid YAML"
printf 'vectorstore:\n  backend: qdrant\n' >ragged.yml
expect_exit 2 "$RAGGED" query "anything"
contains "$ERR" "valid choices: leann|chromadb|exact"
printf '\x00\xff\xfe garbage' >ragged.yml
expect_exit 2 "$RAGGED" config validate
rm ragged.yml

expect_exit 0 "$RAGGED" config schema
contains "$OUT" "RAGGED_VECTORSTORE_LEANN_GRAPH_DEGREE"
exit 0
