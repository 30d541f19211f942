# Hostile documents cost bounded stack and time in every reader, and a file
# a reader refuses is skipped with a warning while the rest of the tree is
# ingested.  The inputs are the ones an adversarial run found: 60,000
# nested Markdown links overflowed the stack (every later ingest of the
# tree crashed too) and 400,000 of them took 132 s in match_close.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
/usr/bin/python3 - "$D" <<'PY'
import sys
d = sys.argv[1]
n = 60000
open(d + "/nested.md", "w").write("[" * n + "x" + "](u)" * n)
open(d + "/good.md", "w").write("# Gardens\n\nTomatoes grow well beside basil in the greenhouse.\n")
PY
expect_exit 0 "$RAGGED" ingest "$D" --backend exact --format json
expect_exit 0 "$RAGGED" query "tomatoes beside basil" --backend exact -k 1 --format json
contains "$OUT" "good.md"
expect_exit 0 "$RAGGED" ingest "$D" --backend exact
# Work is bounded too: each reader's read() alone, through the fuzz replay
# build of its target, on inputs that were quadratic (or worse) before.
BUILD_DIR=$(dirname "$RAGGED")
[[ -x $BUILD_DIR/fuzz-replay/fuzz_reader_markdown ]] || fail "$BUILD_DIR/fuzz-replay is not built (make check builds it)"
/usr/bin/python3 - "$TMP" <<'PY'
import sys
t = sys.argv[1]
n = 200000   # 1 MB, the fuzz targets' limit; quadratic code took minutes
open(t + "/deep.md", "w").write("[" * n + "x" + "](u)" * (n // 2))
open(t + "/open.md", "w").write("[(" * (n * 2))
open(t + "/tags.md", "w").write("<a" * (n * 2))
open(t + "/ticks.md", "w").write(" ".join("`" * k for k in range(1, 1400)))
open(t + "/deep.html", "w").write("<html><body>" + "<div><span>" * (n * 2 // 5) + "x")
open(t + "/attrs.html", "w").write("<html><body><p " + " ".join("a%d=x" % i for i in range(80000)) + ">x</p>")
open(t + "/wide.txt", "w").write("word " * n)
PY
for f in deep.md open.md tags.md ticks.md deep.html attrs.html wide.txt; do
    case $f in *.md) t=markdown ;; *.html) t=html ;; *) t=text ;; esac
    start=$(date +%s.%N)
    timeout 60 "$BUILD_DIR/fuzz-replay/fuzz_reader_$t" "$TMP/$f" >/dev/null 2>&1 || fail "reader $t on $f failed or took over 60 s (exit $?)"
    echo "$t $f: $(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $start}") s"
done
echo "reader limits: nested links ingested, 7 hostile inputs read in bounded time"
