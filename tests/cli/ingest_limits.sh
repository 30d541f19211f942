# ingest.max_file_mb and ingest.max_chunks_per_file: a file over the size
# limit is skipped with a warning naming the limit; a file over the chunk
# limit keeps only that many chunks, with a warning.  Symbolic links never
# lead ingest out of the given roots (file links, directory links, chains,
# a root that is itself a link).
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; O="$TMP/outside"; mkdir -p "$D/sub" "$O/dir"
/usr/bin/python3 - "$D" <<'PY'
import sys
words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
with open(sys.argv[1] + "/big.txt", "w") as f:        # ~1.6 MB
    for i in range(20000):
        f.write(" ".join(words[(i + j) % 10] for j in range(12)) + ".\n\n")
with open(sys.argv[1] + "/many.txt", "w") as f:       # ~300 KB, many chunks
    for i in range(4000):
        f.write("Sentence number %d talks about %s.\n\n" % (i, words[i % 10]))
PY
printf 'outside secret file\n' >"$O/secret.txt"
printf 'outside secret dir file\n' >"$O/dir/inner.txt"
printf 'inside text about gardens\n' >"$D/sub/in.txt"
ln -s "$O/secret.txt" "$D/link-file.txt"
ln -s "$O/dir" "$D/link-dir"
ln -s "$D/link-file.txt" "$D/sub/chain.txt"          # inside link -> link -> outside
ln -s ../../outside/secret.txt "$D/sub/rel.txt"      # relative escape
B=(--backend exact --format json)

RAGGED_INGEST_MAX_FILE_MB=1 RAGGED_INGEST_MAX_CHUNKS_PER_FILE=5 expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}"
contains "$OUT" "big.txt"
[[ $(json_get "$OUT" '[w["reason"] for w in j["warnings"] if w["path"].endswith("big.txt")][0]') == *"max_file_mb"* ]] ||
    fail "size-limit warning does not name the limit: $OUT"
[[ $(json_get "$OUT" '[w["reason"] for w in j["warnings"] if w["path"].endswith("many.txt")][0]') == *"max_chunks_per_file"* ]] ||
    fail "chunk-limit warning missing: $OUT"
expect_exit 0 "$RAGGED" query "sentence number" --backend exact -k 10000 --format json
n=$(json_get "$OUT" 'sum(1 for r in j["results"] if r["document_path"].endswith("many.txt"))')
[[ $n -eq 5 ]] || fail "many.txt stored $n chunks, limit 5"
t=$(json_get "$OUT" '{r["total_chunks"] for r in j["results"] if r["document_path"].endswith("many.txt")}')
[[ $t == "{5}" ]] || fail "total_chunks of a truncated file is $t, expected 5"
paths=$(json_get "$OUT" '"\n".join(sorted({r["document_path"] for r in j["results"]}))')
not_contains "$paths" "big.txt"
not_contains "$paths" "$O/"
texts=$(json_get "$OUT" '"\n".join(r["text"] for r in j["results"])')
not_contains "$texts" "outside secret"
contains "$texts" "inside text about gardens"

# A root that is itself a symbolic link is resolved once; links below it
# still may not leave it.
ln -s "$D" "$TMP/docs-link"
RAGGED_INGEST_MAX_FILE_MB=1 RAGGED_INGEST_MAX_CHUNKS_PER_FILE=5 expect_exit 0 "$RAGGED" ingest "$TMP/docs-link" --backend exact --collection vialink --format json
expect_exit 0 "$RAGGED" query "outside secret" --backend exact --collection vialink -k 100 --format json
texts=$(json_get "$OUT" '"\n".join(r["text"] + r["document_path"] for r in j["results"])')
not_contains "$texts" "outside secret"
contains "$texts" "inside text about gardens"
echo "limits and symlinks: size limit, chunk limit (5 of $(grep -c Sentence "$D/many.txt") paragraphs), 4 escaping links refused"
