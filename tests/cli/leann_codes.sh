# leann PQ code shapes: a collection built with 4-bit codes (two a byte on
# disk) answers and reports its shape; a compact under the default settings
# rebuilds it with 8-bit codes of the automatic size.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
B=(--backend leann --collection shapes)
words=(harbor violin tomato database glacier lantern orchard compass meteor saddle)
for i in $(seq 1 40); do
    printf 'Note %d about the %s and the %s, written on day %d.\n' "$i" "${words[i % 10]}" "${words[(i * 7) % 10]}" \
        "$i" >"$D/n$i.txt"
done
printf 'The database is backed up every night with pg_dump and kept offsite.\n' >"$D/backup.txt"
RAGGED_VECTORSTORE_LEANN_CODE_BITS=4 RAGGED_VECTORSTORE_LEANN_CODE_BYTES=32 \
    expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
c='j["backends"][0]["collections"][0]["stats"]["details"]'
expect_exit 0 "$RAGGED" backend stats "${B[@]}" --format json
[[ $(json_get "$OUT" "$c[\"pq_centroids\"]") == 16 ]] || fail "4-bit centroids: $OUT"
[[ $(json_get "$OUT" "$c[\"pq_bytes_per_node\"]") == 32 ]] || fail "4-bit bytes: $OUT"
f=$(ls "$XDG_DATA_HOME"/ragged/leann/shapes/codes-*.bin | head -n 1)
[[ $(od -An -tu1 -j12 -N1 "$f" | tr -d ' ') == 15 ]] || fail "codes file flags: expected int8 + packed + zstd + sparse (no codes of tombstones)"
expect_exit 0 "$RAGGED" query "how is the database backed up" "${B[@]}" -k 1 --format json
[[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("backup.txt")') == True ]] || fail "$OUT"
# default settings from here on: the open collection keeps its codes until a rebuild
expect_exit 0 "$RAGGED" collections compact shapes --backend leann
expect_exit 0 "$RAGGED" backend stats "${B[@]}" --format json
[[ $(json_get "$OUT" "$c[\"pq_centroids\"]") == 41 ]] || fail "8-bit centroids (one per record): $OUT"
[[ $(json_get "$OUT" "$c[\"pq_bytes_per_node\"]") == 64 ]] || fail "automatic bytes at 1024-d: $OUT"
expect_exit 0 "$RAGGED" query "how is the database backed up" "${B[@]}" -k 1 --format json
[[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("backup.txt")') == True ]] || fail "$OUT"
exit 0
