# ragged migrate end to end on the exact backend (and every other backend
# that opens here): round trip, verification report, dry run, refusals,
# overwrite, JSON output.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
/usr/bin/python3 - "$D" <<'PY'
import sys, os
words = "apple river copper violin glacier pepper orbit lantern meadow saffron tundra quartz harbor falcon ember basalt".split()
for f in range(12):
    with open(os.path.join(sys.argv[1], f"note{f:02d}.md"), "w") as fh:
        fh.write(f"# Note {f}\n\n")
        for p in range(15):
            fh.write(" ".join(words[(f * 7 + p * 3 + i) % 16] for i in range(40)) + f" café naïve {f}-{p}.\n\n")
PY
expect_exit 0 "$RAGGED" ingest "$D" --backend exact --collection notes
expect_exit 0 "$RAGGED" collections info notes --backend exact --format json
n=$(json_get "$OUT" 'j["records"]')
[[ $n -gt 10 ]] || fail "too few records: $n"

# Help and usage errors.
expect_exit 0 "$RAGGED" migrate --help
contains "$OUT" "chromadb-to-leann"
contains "$OUT" "--dry-run"
expect_exit 2 "$RAGGED" migrate sideways --collection notes
contains "$ERR" "unknown direction"
expect_exit 2 "$RAGGED" migrate --collection notes
contains "$ERR" "needs a direction"
expect_exit 2 "$RAGGED" migrate exact-to-exact --collection notes --batch-size 0
expect_exit 2 "$RAGGED" migrate exact-to-exact --from exact --to-backend exact --collection notes
expect_exit 2 "$RAGGED" migrate exact-to-exact --collection notes
contains "$ERR" "same collection"
expect_exit 1 "$RAGGED" migrate exact-to-exact --collection missing --to other
contains "$ERR" "does not exist"

# Dry run: a plan, nothing written.
expect_exit 0 "$RAGGED" migrate exact-to-exact --collection notes --to copy --dry-run
contains "$OUT" "dry run: would migrate exact/notes -> exact/copy"
contains "$OUT" "nothing was written"
expect_exit 0 "$RAGGED" collections list --backend exact --format json
[[ $(json_get "$OUT" '[c["name"] for c in j["collections"]]') == "['notes']" ]] || fail "dry run wrote: $OUT"

# Copy with verification (general form), JSON report.
expect_exit 0 "$RAGGED" migrate --from exact --to-backend exact --collection notes --to copy --verify --batch-size 7 --format json
[[ $(json_get "$OUT" 'j["published"]') == True ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["records_written"]') == "$n" ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["verification"]["passed"]') == True ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["verification"]["topk_overlap"]["mean"]') == 1.0 ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["bytes"]["source"] > 0 and j["bytes"]["target"] > 0') == True ]] || fail "$OUT"

dump() { "$RAGGED" query "apple river copper violin" --backend "$1" --collection "$2" -k 1000 --format json |
    /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["results"]; print(len(r)); [print(x["id"], json.dumps(x["metadata"], sort_keys=True), x["text"]) for x in sorted(r, key=lambda x: x["id"])]'; }
a=$(dump exact notes); b=$(dump exact copy)
[[ "$a" == "$b" ]] || fail "copy differs from source"

# The target exists now: refused without --overwrite, replaced with it.
expect_exit 1 "$RAGGED" migrate exact-to-exact --collection notes --to copy
contains "$ERR" "already exists"
contains "$ERR" "--overwrite"
expect_exit 0 "$RAGGED" migrate exact-to-exact --collection notes --to copy --overwrite --verify
contains "$OUT" "replaced the old target"
contains "$OUT" "verification: passed"
contains "$OUT" "top-10"

# Every other backend that opens here: exact -> B -> exact keeps everything.
for be in leann chromadb; do
    [[ $be == chromadb && -z "${RAGGED_TEST_CHROMADB_URL:-}" ]] && continue
    if ! "$RAGGED" collections list --backend "$be" >/dev/null 2>&1; then echo "($be not available here)"; continue; fi
    if [[ $be == chromadb ]]; then
        export RAGGED_VECTORSTORE_CHROMADB_URL="$RAGGED_TEST_CHROMADB_URL"
    fi
    mid="mig-$be-$$"
    expect_exit 0 "$RAGGED" migrate "exact-to-$be" --collection notes --to "$mid" --verify
    contains "$OUT" "verification: passed"
    expect_exit 0 "$RAGGED" migrate "$be-to-exact" --collection "$mid" --to "back-$be" --verify
    c=$(dump exact "back-$be")
    [[ "$a" == "$c" ]] || fail "round trip through $be changed records"
    "$RAGGED" collections delete "$mid" --backend "$be" >/dev/null
done
echo ok
