# ragged backend stats / compare: every available backend measured, the rest reported.
source "$(dirname "$0")/_lib.sh"
expect_exit 0 "$RAGGED" backend --help
contains "$OUT" "usage: ragged backend"
expect_exit 2 "$RAGGED" backend frob
expect_exit 2 "$RAGGED" backend compare
contains "$ERR" "needs files"

expect_exit 0 "$RAGGED" ingest "$RAGGED_REPO/samples/pantry" --backend exact --collection notes --quiet
expect_exit 0 "$RAGGED" backend stats --backend exact --format json
[[ $(json_get "$OUT" 'j["backends"][0]["collections"][0]["collection"]') == notes ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["backends"][0]["collections"][0]["health"]') == ok ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["backends"][0]["collections"][0]["stats"]["bytes_total"] > 0') == True ]] || fail "$OUT"
expect_exit 0 "$RAGGED" backend stats
contains "$OUT" "exact/notes"

printf 'back up the database\nwhat port does jellyfin use\n' >"$TMP/q.txt"
expect_exit 0 "$RAGGED" backend compare "$RAGGED_REPO/samples/pantry" --queries "$TMP/q.txt" -k 3 --chart "$TMP/c.svg" --format json
[[ $(json_get "$OUT" 'j["queries"]') == 2 ]] || fail "$OUT"
[[ $(json_get "$OUT" '[b for b in j["backends"] if b["backend"]=="exact"][0]["recall_at_k"]') == 1.0 ]] || fail "$OUT"
# Every other backend is either measured or reported with a reason.
[[ $(json_get "$OUT" 'all(b["available"] or b.get("error") for b in j["backends"])') == True ]] || fail "$OUT"
grep -q "<svg" "$TMP/c.svg" || fail "no chart"
# Temporary collections are removed.
expect_exit 0 "$RAGGED" collections list --backend exact --format json
[[ $(json_get "$OUT" 'len(j["collections"])') == 1 ]] || fail "leftover collections: $OUT"
exit 0
