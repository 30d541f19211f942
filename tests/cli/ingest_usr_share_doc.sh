# Real documentation trees of this machine (issue 18: `ragged ingest
# /usr/share/doc` stopped at the first symlink, base-files/FAQ -> README,
# with 0 chunks written and exit 2).  A bounded set of small package
# directories, with an overlapping argument, must ingest with exit 0 and
# every file read once.  Skipped only where none of them exists.
source "$(dirname "$0")/_lib.sh"
dirs=()
for p in base-files bash coreutils dpkg apt tar gzip sqlite3 libc6 findutils grep sed make python3-pip; do
    [[ -d /usr/share/doc/$p ]] && dirs+=("/usr/share/doc/$p")
done
[[ ${#dirs[@]} -gt 0 ]] || skip "none of the sampled /usr/share/doc directories exists here"
extra=()
[[ -f /usr/share/doc/base-files/README ]] && extra+=(/usr/share/doc/base-files/README)
B=(--backend exact --collection usrdoc --format json)
expect_exit 0 "$RAGGED" ingest "${dirs[@]}" "${extra[@]}" "${dirs[0]}" "${B[@]}"
found=$(json_get "$OUT" 'j["files_found"]')
[[ $(json_get "$OUT" 'j["files_ingested"] + j["files_skipped"]') == "$found" ]] || fail "counts disagree: $OUT"
[[ $(json_get "$OUT" 'j["files_ingested"]') -ge 1 ]] || fail "nothing ingested from ${dirs[*]}: $OUT"
[[ $(json_get "$OUT" 'j["chunks_written"]') -ge 1 ]] || fail "$OUT"
[[ $(json_get "$OUT" 'all(w["reason"] for w in j["warnings"])') == True ]] || fail "warning without a reason: $OUT"
if [[ -L /usr/share/doc/base-files/FAQ && -f /usr/share/doc/base-files/README ]]; then
    [[ $(json_get "$OUT" 'j["files_duplicate"]') -ge 2 ]] || fail "FAQ -> README and the repeated README: $OUT"
fi
# Again: everything unchanged.
expect_exit 0 "$RAGGED" ingest "${dirs[@]}" "${B[@]}"
[[ $(json_get "$OUT" 'j["files_ingested"]') == 0 ]] || fail "re-ingest read files again: $OUT"
echo "/usr/share/doc: ${#dirs[@]} directories, $found files found, rc 0 twice"
