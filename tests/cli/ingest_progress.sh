# Progress that tells the truth (issue 18 item 4): every phase reports from
# inside its work -- walk, read, embed, and the store's own steps (the leann
# graph build that used to freeze the display for 20-45 s) -- with counts.
# RAGGED_TEST_PROGRESS_INTERVAL=0 makes the pipe output print every update
# instead of a line every 5 s.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
/usr/bin/python3 - "$D" <<'PY'
import sys
for i in range(120):
    with open("%s/f%03d.txt" % (sys.argv[1], i), "w") as f:
        f.write(" ".join("Sentence %d of file %d is about topic %d." % (j, i, j % 7) for j in range(50)))
PY
B=(--backend leann --collection prog)
expect_exit 0 env RAGGED_TEST_PROGRESS_INTERVAL=0 "$RAGGED" ingest "$D" "${B[@]}"
for want in "walk: 120 files found" "read: 120/120 files" "embed: 240/240 chunks" "store: writing records" \
            "store: building the graph"; do
    contains "$ERR" "$want"
done
# The store's steps come before the write ends, in order.
order=$(grep -o 'store: [a-z ]*' <<<"$ERR" | uniq | tr '\n' '|')
[[ $order == *"writing records"*"building the graph"* ]] || fail "store steps out of order: $order"
# --quiet: nothing on stderr; a quick run on a pipe: no progress line at all.
printf 'one more file\n' >"$D/extra.txt"
expect_exit 0 env RAGGED_TEST_PROGRESS_INTERVAL=0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
[[ -z $ERR ]] || fail "--quiet printed: $ERR"
printf 'another file\n' >"$D/extra2.txt"
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}"
[[ -z $ERR ]] || fail "a 1-second run on a pipe printed progress: $ERR"
# --verbose names each file and what became of it.
printf 'changed\n' >"$D/extra.txt"
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --verbose
contains "$ERR" "read $D/extra.txt (text, 1 chunk)"
contains "$ERR" "unchanged $D/f000.txt"
echo "progress: walk, read, embed and the store's steps reported; --quiet silent; --verbose names files"
