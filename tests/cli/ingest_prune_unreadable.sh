# --prune removes the records of files that are gone, never of files it
# cannot see (issue 21 item 5): a directory without permission is not a
# deleted directory.  Permissions do not stop root, so as root the ingests
# run as nobody (setpriv); as another user they run directly.
source "$(dirname "$0")/_lib.sh"
RUN=()
if [[ $(id -u) == 0 ]]; then
    command -v setpriv >/dev/null || skip "setpriv (util-linux) is needed to drop root"
    id nobody >/dev/null 2>&1 || skip "no user nobody"
    RUN=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups --)
fi
W="$TMP/w"; mkdir -p "$W/bin" "$W/T/sub" "$W/data" "$W/config" "$W/home"
cp "$RAGGED" "$W/bin/ragged"
chmod 755 "$TMP"
printf 'top level notes about onions\n' >"$W/T/top.txt"
printf 'private notes about leeks\n' >"$W/T/sub/hidden.txt"
[[ ${#RUN[@]} -eq 0 ]] || chown -R nobody "$W"
R=("${RUN[@]}" env XDG_DATA_HOME="$W/data" XDG_CONFIG_HOME="$W/config" HOME="$W/home" "$W/bin/ragged")
B=(--backend exact --format json)

expect_exit 0 "${R[@]}" ingest "$W/T" "${B[@]}"
[[ $(json_get "$OUT" 'j["files_ingested"]') == 2 ]] || fail "$OUT"
chmod 000 "$W/T/sub"
# Make sure the permission really bites for the user the ingest runs as.
"${RUN[@]}" cat "$W/T/sub/hidden.txt" >/dev/null 2>&1 && skip "chmod 000 does not stop this user"
expect_exit 0 "${R[@]}" ingest "$W/T" --prune "${B[@]}"
[[ $(json_get "$OUT" 'j["documents_pruned"]') == 0 ]] || fail "pruned what it could not read: $OUT"
contains "$(json_get "$OUT" '[w["reason"] for w in j["warnings"]]')" "Permission denied"
expect_exit 0 "${R[@]}" query "leeks" "${B[@]}" -k 5
contains "$OUT" "hidden.txt"
# A file that cannot be opened (but exists) is kept too.
chmod 755 "$W/T/sub"; chmod 000 "$W/T/sub/hidden.txt"
expect_exit 0 "${R[@]}" ingest "$W/T" --prune "${B[@]}"
[[ $(json_get "$OUT" 'j["documents_pruned"]') == 0 ]] || fail "pruned an unreadable file: $OUT"
# Really gone is pruned.
chmod 644 "$W/T/sub/hidden.txt"; rm "$W/T/sub/hidden.txt"
expect_exit 0 "${R[@]}" ingest "$W/T" --prune "${B[@]}"
[[ $(json_get "$OUT" 'j["documents_pruned"]') == 1 ]] || fail "deleted file not pruned: $OUT"
echo "prune: unreadable directory and file kept, deleted file pruned (as ${RUN[*]:-$(id -un)})"
