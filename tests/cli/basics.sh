# --version, --help on every command, usage errors and their exit codes.
source "$(dirname "$0")/_lib.sh"
expect_exit 0 "$RAGGED" --version
contains "$OUT" "ragged 0."
expect_exit 0 "$RAGGED" --help
for cmd in ingest query collections config; do contains "$OUT" "$cmd"; done
for cmd in ingest query collections config; do
    expect_exit 0 "$RAGGED" $cmd --help
    contains "$OUT" "usage: ragged $cmd"
    contains "$OUT" "Exit codes"
done
expect_exit 2 "$RAGGED" frobnicate
contains "$ERR" "unknown command 'frobnicate'"
expect_exit 2 "$RAGGED"
expect_exit 2 "$RAGGED" query
contains "$ERR" "needs the text"
expect_exit 2 "$RAGGED" query "x" -k zero
contains "$ERR" "-k takes a number"
expect_exit 2 "$RAGGED" query "x" --format yaml
contains "$ERR" "--format must be text or json"
expect_exit 2 "$RAGGED" query "x" --backend pinecone
contains "$ERR" "unknown backend 'pinecone'"
expect_exit 2 "$RAGGED" query "x" --where '{"a": {"$like": 1}}'
contains "$ERR" "unknown operator '\$like'"
expect_exit 2 "$RAGGED" query "x" --where '{"a": {"$like": 1}}' --format json
contains "$OUT" '"error"'
expect_exit 2 "$RAGGED" collections rename a b
contains "$ERR" "unknown action"
expect_exit 2 "$RAGGED" ingest
expect_exit 2 "$RAGGED" collections create "bad name" --backend exact
contains "$ERR" "invalid collection name"
# A name that is not UTF-8 still gets its JSON error on stdout (jansson
# refuses such a string: the object used to be missing altogether).
expect_exit 2 "$RAGGED" query "x" --collection $'caf\xe9' --format json
[[ $(json_get "$OUT" 'j["error"]["code"], "caf\\xe9" in j["error"]["message"]') == "invalid True" ]] || fail "JSON error: '$OUT'"
# A query on a collection that does not exist says how to fix it.
expect_exit 1 "$RAGGED" query "x" --backend exact --collection nothing-here
contains "$ERR" "does not exist"
contains "$ERR" "collections list"
exit 0
