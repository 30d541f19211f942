# Ingest a directory, query it, re-ingest (unchanged / changed / pruned), odd files.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D/sub" "$D/.hidden" "$D/node_modules"
cat >"$D/backup.md" <<'MD'
# Backups

The database is backed up every night with pg_dump. Copies are kept offsite for thirty days.

To restore, stop the service and run pg_restore against an empty database.
MD
printf 'Tomatoes need full sun and regular watering in summer.\nBasil grows well next to them.\n' >"$D/sub/garden.txt"
printf 'secret hidden text about backups\n' >"$D/.hidden/h.txt"
printf 'module text about backups\n' >"$D/node_modules/m.txt"
head -c 3000 /dev/urandom >"$D/sub/blob.txt"                       # binary: skipped with a warning
printf 'caf\xe9 cr\xe8me br\xfbl\xe9e recipe\n' >"$D/sub/latin1.txt"  # not UTF-8
ln -s /etc/passwd "$D/sub/escape.txt"                              # symlink out of the root
B=(--backend exact)

expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') -ge 2 ]] || fail "files_ingested: $OUT"
[[ $(json_get "$OUT" 'j["files_skipped"]') -ge 1 ]] || fail "binary file not skipped: $OUT"
contains "$OUT" "blob.txt"
contains "$OUT" "escape.txt"
not_contains "$OUT" ".hidden"
not_contains "$OUT" "node_modules"

expect_exit 0 "$RAGGED" query "how is the database backed up" "${B[@]}" -k 2
first=$(echo "$OUT" | head -n 1)
contains "$first" "backup.md"
expect_exit 0 "$RAGGED" query "growing tomatoes in the sun" "${B[@]}" -k 1 --format json
[[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("garden.txt")') == True ]] || fail "$OUT"
[[ $(json_get "$OUT" 'len(j["results"])') == 1 ]] || fail "k=1"
not_contains "$OUT" "secret hidden"

# Filters: only chunks of one document.
expect_exit 0 "$RAGGED" query "backups" "${B[@]}" --where '{"format": "text"}' --format json
[[ $(json_get "$OUT" 'all(r["metadata"]["format"]=="text" for r in j["results"])') == True ]] || fail "$OUT"

# Re-ingest: nothing changes.
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') == 0 ]] || fail "re-ingest changed files: $OUT"
[[ $(json_get "$OUT" 'j["chunks_written"]') == 0 ]] || fail "$OUT"
before=$(json_get "$OUT" 'j["records_in_collection"]')

# A changed file has its chunks replaced.
printf 'Tomatoes are now grown in a greenhouse under lamps.\n' >"$D/sub/garden.txt"
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') == 1 ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["records_in_collection"]') == "$before" ]] || fail "record count changed: $OUT"
expect_exit 0 "$RAGGED" query "tomatoes" "${B[@]}" -k 5 --show-text
contains "$OUT" "greenhouse"
not_contains "$OUT" "Basil"

# --prune removes chunks of deleted files.
rm "$D/sub/garden.txt"
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --prune --format json
[[ $(json_get "$OUT" 'j["documents_pruned"]') == 1 ]] || fail "$OUT"
expect_exit 0 "$RAGGED" query "tomatoes greenhouse" "${B[@]}" -k 5
not_contains "$OUT" "garden.txt"

# Collections commands.
expect_exit 0 "$RAGGED" collections list "${B[@]}" --format json
[[ $(json_get "$OUT" 'j["collections"][0]["name"]') == default ]] || fail "$OUT"
expect_exit 0 "$RAGGED" collections info default "${B[@]}"
contains "$OUT" "records"
contains "$OUT" "bytes"
# Another embedder on the same collection is refused, not silently mixed.
expect_exit 1 env RAGGED_EMBEDDING_DIMENSION=128 "$RAGGED" query "x" "${B[@]}"
contains "$ERR" "was built with embedder"
expect_exit 0 "$RAGGED" collections delete default "${B[@]}"
expect_exit 1 "$RAGGED" collections info default "${B[@]}"
exit 0
