# The chromadb backend from the command line: ingest, query with a filter,
# collections list/info, re-ingest, and the messages for a missing server and
# for an unsupported server.  Needs the server tests/run.sh starts.
source "$(dirname "$0")/_lib.sh"
[[ -n "${RAGGED_TEST_CHROMADB_URL:-}" ]] || skip "no ChromaDB server (RAGGED_TEST_CHROMADB_URL unset; tests/run.sh starts one)"
export RAGGED_VECTORSTORE_CHROMADB_URL=$RAGGED_TEST_CHROMADB_URL
B=(--backend chromadb)
COLL="cli-$$-$RANDOM"
D="$TMP/docs"; mkdir -p "$D"
printf '# Backups\n\nThe database is backed up every night with pg_dump. Copies are kept offsite.\n' >"$D/backup.md"
printf 'Tomatoes need full sun and regular watering in summer.\n' >"$D/garden.txt"

expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --collection "$COLL" --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') == 2 ]] || fail "$OUT"
n=$(json_get "$OUT" 'j["records_in_collection"]')
[[ $n -ge 2 ]] || fail "records: $OUT"

expect_exit 0 "$RAGGED" query "how is the database backed up" "${B[@]}" --collection "$COLL" -k 1 --format json
[[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("backup.md")') == True ]] || fail "$OUT"
expect_exit 0 "$RAGGED" query "watering" "${B[@]}" --collection "$COLL" -k 5 --where '{"format": "text"}' --format json
[[ $(json_get "$OUT" 'len(j["results"]) >= 1 and all(r["metadata"]["format"] == "text" for r in j["results"])') == True ]] || fail "$OUT"

# The collection is listed with its record count and embedder.
expect_exit 0 "$RAGGED" collections list "${B[@]}" --format json
contains "$OUT" "$COLL"

# Re-ingest changes nothing (ids and hashes read back from the server).
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --collection "$COLL" --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') == 0 ]] || fail "re-ingest changed files: $OUT"
[[ $(json_get "$OUT" 'j["records_in_collection"]') == "$n" ]] || fail "$OUT"

expect_exit 0 "$RAGGED" collections info "$COLL" "${B[@]}" --format json
contains "$OUT" "$n"
expect_exit 0 "$RAGGED" collections delete "$COLL" "${B[@]}"
expect_exit 0 "$RAGGED" collections list "${B[@]}" --format json
not_contains "$OUT" "$COLL"

# No server: the message says how to start one.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
expect_exit 1 env RAGGED_VECTORSTORE_CHROMADB_URL="http://127.0.0.1:$port" "$RAGGED" query "x" "${B[@]}"
contains "$ERR" "cannot reach ChromaDB at http://127.0.0.1:$port: "
contains "$ERR" "start it with scripts/chroma-server.sh start or set vectorstore.chromadb.url"
exit 0
