# The walk never aborts a run (issue 18 item 1, issue 21 items 3, 6, 10, 13):
# a file reached twice is read once, symlink loops are named as loops,
# FIFOs and devices are refused without blocking, a bad file is a warning,
# a path named on the command line that cannot be read is exit 1 after the
# rest is stored; selection like ripgrep (issue 18 item 2): --include,
# --exclude, .gitignore inside git trees, .ignore, --no-ignore, --follow,
# --dry-run; non-UTF-8 names kept losslessly; a huge word is cut.
source "$(dirname "$0")/_lib.sh"
B=(--backend exact)
paths() { json_get "$1" '"\n".join(sorted(r["document_path"] for r in j["results"]))'; }
all_paths() { expect_exit 0 "$RAGGED" query "text" "${B[@]}" --collection "$1" -k 1000 --format json; paths "$OUT"; }

# ---- links, loops, overlapping arguments, special files ----
D="$TMP/tree"; O="$TMP/outside"; mkdir -p "$D/sub/deep" "$O"
printf 'alpha text about apples\n' >"$D/a.txt"
printf '# Carrots\n\ncarrot text\n' >"$D/sub/c.md"
printf 'deep text\n' >"$D/sub/deep/d.txt"
printf 'outside text\n' >"$O/o.txt"
ln -s a.txt "$D/b.txt"                 # in-tree file link: same document as a.txt
ln -s .. "$D/sub/deep/again"           # in-tree directory link back up: a loop
ln -s l2 "$D/l1"; ln -s l1 "$D/l2"     # a link cycle
ln -s "$O" "$D/out"                    # a link out of the tree
ln -s /dev/zero "$D/zero.txt"          # a device behind a link
mkfifo "$D/pipe.txt"                   # a FIFO in the tree
expect_exit 0 timeout 60 "$RAGGED" ingest "$D" "$D/sub" "$D/a.txt" "$D" "${B[@]}" --collection links --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') == 3 ]] || fail "expected a.txt, c.md, d.txt once each: $OUT"
[[ $(json_get "$OUT" 'j["files_duplicate"]') == 2 ]] || fail "b.txt and the repeated a.txt are duplicates: $OUT"
reasons=$(json_get "$OUT" '"\n".join(w["path"].rsplit("/",1)[1] + ": " + w["reason"] for w in j["warnings"])')
[[ $(grep -c 'loop' <<<"$reasons") -ge 3 ]] || fail "again, l1, l2 must be reported as loops: $reasons"
grep -q '^again: .*loop' <<<"$reasons" || fail "the directory loop is not named a loop: $reasons"
grep -q '^out: .*outside' <<<"$reasons" || fail "link out of the tree: $reasons"
grep -q '^pipe.txt: .*FIFO' <<<"$reasons" || fail "FIFO not reported: $reasons"
not_contains "$(grep '^l1:' <<<"$reasons")" "outside"
got=$(all_paths links)
[[ $(grep -c . <<<"$got") == 3 ]] || fail "stored documents: $got"
not_contains "$got" "b.txt"
not_contains "$got" "$O"
# --follow reads the link out of the tree (and still not the device).
expect_exit 0 timeout 60 "$RAGGED" ingest "$D" "${B[@]}" --collection links --follow --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') == 1 ]] || fail "--follow: $OUT"
contains "$(all_paths links)" "$O/o.txt"

# Named FIFO, device and missing path: exit 1, no hang, no empty collection.
mkfifo "$TMP/p.txt"; ln -s /dev/zero "$TMP/z.txt"
for bad in "$TMP/p.txt" /dev/zero "$TMP/z.txt" "$TMP/missing"; do
    expect_exit 1 timeout 20 "$RAGGED" ingest "$bad" "${B[@]}" --collection never
done
expect_exit 0 "$RAGGED" collections list "${B[@]}" --format json
not_contains "$OUT" '"never"'
# A missing path beside a good one: the good one is stored, the run exits 1.
expect_exit 1 "$RAGGED" ingest "$TMP/missing" "$D/sub" "${B[@]}" --collection partial --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') == 2 ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["paths_failed"]') == 1 ]] || fail "$OUT"
# A named file ragged cannot read is exit 1 too; met while walking it is a warning.
head -c 2000 /dev/urandom >"$D/blob.txt"
expect_exit 1 "$RAGGED" ingest "$D/blob.txt" "$D/a.txt" "${B[@]}" --collection partial
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --collection partial --format json
contains "$(json_get "$OUT" '[w["reason"] for w in j["warnings"] if w["path"].endswith("blob.txt")]')" "binary"
# Text and JSON summaries count the same things.
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --collection partial
contains "$OUT" "0 ingested"
contains "$OUT" "1 skipped"
contains "$OUT" "1 duplicate"
contains "$OUT" "blob.txt: "

# ---- selection: globs, .gitignore in a git tree, .ignore, --no-ignore ----
G="$TMP/repo"; mkdir -p "$G/.git" "$G/build" "$G/sub/build" "$G/docs/a/b" "$G/node_modules"
for f in x.bak.txt keep.bak.txt build/out.txt top.txt sub/top.txt sub/x.bak.txt sub/n.md docs/draft.md \
         docs/a/b/draft.md docs/final.md node_modules/m.txt notes.log sub/build/in.txt; do
    printf 'text of %s\n' "$f" >"$G/$f"
done
printf '*.bak.txt\n!keep.bak.txt\nbuild/\n/top.txt\ndocs/**/draft.md\n' >"$G/.gitignore"
printf '!x.bak.txt\n*.md\n' >"$G/sub/.gitignore"       # nested: overrides the parent
printf 'notes.log\n' >"$G/.ignore"
expect_exit 0 "$RAGGED" ingest "$G" "${B[@]}" --dry-run --format json
listed=$(/usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print("\n".join(sorted(f["path"][len(sys.argv[2])+1:] + " " + f["reader"] for f in j["files"])))' "$OUT" "$G")
want=$'docs/final.md markdown\nkeep.bak.txt text\nsub/top.txt text\nsub/x.bak.txt text'
[[ "$listed" == "$want" ]] || fail "gitignore selection: got
$listed
want
$want"
# Text dry-run: reader and path on each line; nothing is stored.
expect_exit 0 "$RAGGED" ingest "$G" "${B[@]}" --dry-run --collection dry
contains "$OUT" "markdown  $G/docs/final.md"
expect_exit 0 "$RAGGED" collections list "${B[@]}" --format json
not_contains "$OUT" '"dry"'
# The same .gitignore outside a git tree is not honoured (.ignore still is).
rm -r "$G/.git"
expect_exit 0 "$RAGGED" ingest "$G" "${B[@]}" --dry-run --format json
n=$(json_get "$OUT" 'len(j["files"])'); [[ $n == 11 ]] || fail "no .git: expected 11 files, got $n: $OUT"
not_contains "$OUT" "notes.log"
mkdir "$G/.git"
# --no-ignore: every non-hidden file but node_modules.
expect_exit 0 "$RAGGED" ingest "$G" "${B[@]}" --dry-run --no-ignore --format json
[[ $(json_get "$OUT" 'len(j["files"])') == 12 ]] || fail "--no-ignore: $OUT"
# Globs: --include keeps only matches; --exclude drops files and whole directories.
expect_exit 0 "$RAGGED" ingest "$G" "${B[@]}" --dry-run --no-ignore --include '*.md' --exclude 'docs/a' --format json
got=$(json_get "$OUT" '" ".join(sorted(f["path"].rsplit("/",2)[-2] + "/" + f["path"].rsplit("/",1)[1] for f in j["files"]))')
[[ $got == "docs/draft.md docs/final.md sub/n.md" ]] || fail "--include/--exclude: $got"
expect_exit 0 "$RAGGED" ingest "$G" "${B[@]}" --dry-run --no-ignore --exclude '**/build' --exclude '*.log' --format json
not_contains "$OUT" "build/"
not_contains "$OUT" "notes.log"
[[ $(json_get "$OUT" 'len(j["files"])') == 9 ]] || fail "--exclude: $OUT"
expect_exit 2 "$RAGGED" ingest "$G" --include ''
# The selection is saved with the collection and applied again on re-ingest.
expect_exit 0 "$RAGGED" ingest "$G" "${B[@]}" --collection sel --no-ignore --include '*.md' --exclude 'docs/a' --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') == 3 ]] || fail "$OUT"
printf 'new text\n' >"$G/new.txt"
expect_exit 0 "$RAGGED" ingest "$G" "${B[@]}" --collection sel --no-ignore --format json
contains "$ERR" "--include '*.md' --exclude 'docs/a'"
[[ $(json_get "$OUT" 'j["files_found"]') == 3 ]] || fail "saved selection not applied: $OUT"
expect_exit 0 "$RAGGED" ingest "$G" "${B[@]}" --collection sel --no-ignore --dry-run --format json
[[ $(json_get "$OUT" 'len(j["files"])') == 3 ]] || fail "dry-run ignores the saved selection: $OUT"
expect_exit 0 "$RAGGED" ingest "$G" "${B[@]}" --collection sel --no-ignore --reset-selection --format json
[[ $(json_get "$OUT" 'j["files_found"]') == 13 ]] || fail "--reset-selection: $OUT"
expect_exit 0 "$RAGGED" ingest "$G" "${B[@]}" --collection sel --no-ignore --format json
[[ $(json_get "$OUT" 'j["files_found"]') == 13 ]] || fail "selection not forgotten: $OUT"
rm "$G/new.txt"

# ---- non-UTF-8 names: kept losslessly, re-ingest skips them, prune removes them ----
N="$TMP/names"; mkdir -p "$N"
printf 'latin one text about cafes\n' >"$N/caf$(printf '\xe9').txt"
printf 'plain text\n' >"$N/plain.txt"
expect_exit 0 "$RAGGED" ingest "$N" "${B[@]}" --collection names --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') == 2 ]] || fail "$OUT"
expect_exit 0 "$RAGGED" query "cafes" "${B[@]}" --collection names -k 1 --format json
[[ $(json_get "$OUT" 'j["results"][0]["document_path"]') == "$N/caf\\xe9.txt" ]] || fail "escaped path: $OUT"
[[ $(json_get "$OUT" 'len(j["results"][0]["metadata"]["file_hash"])') == 64 ]] || fail "file_hash lost: $OUT"
expect_exit 0 "$RAGGED" ingest "$N" "${B[@]}" --collection names --format json
[[ $(json_get "$OUT" 'j["files_unchanged"]') == 2 ]] || fail "non-UTF-8 name re-read: $OUT"
rm "$N/caf$(printf '\xe9').txt"
expect_exit 0 "$RAGGED" ingest "$N" "${B[@]}" --collection names --prune --format json
[[ $(json_get "$OUT" 'j["documents_pruned"]') == 1 ]] || fail "non-UTF-8 name not pruned: $OUT"

# ---- a 3 MB word is cut into chunks of bounded size ----
W="$TMP/word"; mkdir -p "$W"
/usr/bin/python3 -c "open('$W/w.txt','w').write('a'*3000000)"
expect_exit 0 "$RAGGED" ingest "$W" "${B[@]}" --collection word --format json
[[ $(json_get "$OUT" 'j["chunks_written"]') -gt 100 ]] || fail "one huge chunk? $OUT"
expect_exit 0 "$RAGGED" query "aaaa" "${B[@]}" --collection word -k 1000 --format json
[[ $(json_get "$OUT" 'max(len(r["text"]) for r in j["results"])') -le 8192 ]] || fail "chunk over 8 KB"
echo "walk: links, loops, FIFO/device, named-path failures, gitignore/ignore/globs/dry-run, non-UTF-8 names, huge word"
