# leann through the CLI: ingest, query, stats by component, delete by
# re-ingest with --prune, compact, and a damaged graph file reported by name.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
B=(--backend leann --collection notes)
printf 'The database is backed up every night with pg_dump and kept offsite.\n' >"$D/backup.txt"
printf 'Tomatoes need full sun and regular watering in summer.\n' >"$D/garden.txt"
printf 'The violin was tuned before the concert in the old harbor hall.\n' >"$D/music.txt"
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
expect_exit 0 "$RAGGED" query "how is the database backed up" "${B[@]}" -k 1 --format json
[[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("backup.txt")') == True ]] || fail "$OUT"
expect_exit 0 "$RAGGED" backend stats "${B[@]}" --format json
c='j["backends"][0]["collections"][0]'
[[ $(json_get "$OUT" "$c[\"records\"]") == 3 ]] || fail "records: $OUT"
for comp in graph codes passages metadata sqlite; do
    [[ $(json_get "$OUT" "$c[\"stats\"][\"bytes_by_component\"][\"$comp\"] > 0") == True ]] || fail "component $comp: $OUT"
done
[[ $(json_get "$OUT" "$c[\"stats\"][\"details\"][\"avg_degree\"] > 0") == True ]] || fail "avg degree: $OUT"
rm "$D/garden.txt"
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --prune --quiet
expect_exit 0 "$RAGGED" backend stats "${B[@]}" --format json
[[ $(json_get "$OUT" "$c[\"records\"]") == 2 ]] || fail "after prune: $OUT"
[[ $(json_get "$OUT" "$c[\"stats\"][\"tombstones\"]") == 1 ]] || fail "tombstones: $OUT"
expect_exit 0 "$RAGGED" collections compact notes --backend leann
expect_exit 0 "$RAGGED" backend stats "${B[@]}" --format json
[[ $(json_get "$OUT" "$c[\"stats\"][\"tombstones\"]") == 0 ]] || fail "tombstones after compact: $OUT"
expect_exit 0 "$RAGGED" query "violin concert" "${B[@]}" -k 5 --format json
[[ $(json_get "$OUT" 'len(j["results"])') == 2 ]] || fail "$OUT"
# damage the graph file: a clear error naming it, not a crash
g=$(ls "$XDG_DATA_HOME"/ragged/leann/notes/graph-*.bin | head -n 1)
printf 'garbage' | dd of="$g" bs=1 seek=40 conv=notrunc 2>/dev/null
expect_exit 1 "$RAGGED" query "violin" "${B[@]}"
contains "$ERR" "graph-"
contains "$ERR" "damaged"
exit 0
