# Results a person can judge (issue 18 items 5, 6; issue 21 item 9):
# duplicates collapsed, excerpts centred and highlighted, blank and stdin
# queries, --contains / $contains, collections that remember their
# embedder, control characters in file names escaped.
source "$(dirname "$0")/_lib.sh"
export RAGGED_VECTORSTORE_BACKEND=leann
D="$TMP/docs"
mkdir -p "$D/sub"
printf 'Glucose metabolism in liver cells is regulated by insulin.\n' >"$D/a.txt"
cp "$D/a.txt" "$D/b.txt"
cp "$D/a.txt" "$D/sub/c.txt"
python3 - "$D/long.txt" <<'PY'
import random, sys
random.seed(7)
w = "alpha beta gamma delta protein tumor growth factor signalling pathway".split()
filler = lambda n: " ".join(random.choice(w) for _ in range(n))
open(sys.argv[1], "w").write(filler(150) + " the insulin receptor binds glucose here. " + filler(150))
PY
printf 'an unrelated note about harbors and falcons\n' >"$D/$(printf 'evil\033[31mred.txt')"
printf 'a second note about falcons\n' >"$D/$(printf 'two\nlines.txt')"
expect_exit 0 "$RAGGED" ingest "$D" --quiet

# Identical passages: one result, the other sources listed (text and JSON),
# and still k distinct results.
expect_exit 0 "$RAGGED" query "insulin glucose" -k 3 --color never
[[ $(grep -c 'a.txt\|b.txt\|c.txt' <<<"$OUT") -ge 2 ]] || fail "sources missing: $OUT"
[[ $(grep -c '^[0-9]*\. ' <<<"$OUT") -eq 3 ]] || fail "expected 3 distinct results: $OUT"
[[ $(grep -c 'Glucose metabolism' <<<"$OUT") -eq 1 ]] || fail "duplicate passage shown twice: $OUT"
contains "$OUT" "also in: "
expect_exit 0 "$RAGGED" query "insulin glucose" -k 3 --format json
[[ $(json_get "$OUT" "len(j['results']), len(j['results'][0]['duplicates']), len(set(r['text'] for r in j['results']))") == "3 2 3" ]] ||
    fail "json duplicates: ${OUT:0:600}"
json_get "$OUT" "[k for k in ('rank','id','score','distance','document_path','text','metadata') if k not in j['results'][0]]" |
    grep -q '^\[\]$' || fail "json fields changed: ${OUT:0:300}"

# The excerpt of a long passage is centred on the query's words.
expect_exit 0 "$RAGGED" query "receptor binds" -k 5 --color never
contains "$OUT" "the insulin receptor binds glucose"
# Highlighting: always, never, auto (a pipe is not a terminal), NO_COLOR.
expect_exit 0 "$RAGGED" query "receptor binds" -k 5 --color always
contains "$OUT" $'\033[1mreceptor\033[22m'
expect_exit 0 "$RAGGED" query "receptor binds" -k 5
not_contains "$OUT" $'\033[1m'
if command -v script >/dev/null; then
    script -qec "\"$RAGGED\" query 'receptor binds' -k 5" /dev/null </dev/null >"$TMP/tty.out" 2>&1
    contains "$(cat "$TMP/tty.out")" $'\033[1mreceptor'
    NO_COLOR=1 script -qec "\"$RAGGED\" query 'receptor binds' -k 5" /dev/null </dev/null >"$TMP/tty.out" 2>&1
    not_contains "$(cat "$TMP/tty.out")" $'\033[1m'
fi
expect_exit 2 "$RAGGED" query x --color sometimes
contains "$ERR" "--color must be auto, always or never"

# Blank queries are usage errors; - reads the query from stdin.
expect_exit 2 "$RAGGED" query "   "
contains "$ERR" "blank"
expect_exit 2 "$RAGGED" query - <<<"   "
contains "$ERR" "blank"
OUT=$(printf 'receptor binds\n' | "$RAGGED" query - -k 1 --format json) || fail "query - failed"
[[ $(json_get "$OUT" "j['query'], j['results'][0]['document_path'].endswith('long.txt')") == "receptor binds True" ]] ||
    fail "query - : ${OUT:0:300}"

# --contains and $contains / $not_contains: only matching passages, and k
# of them whenever k match (the top-ranked passages do not).
expect_exit 0 "$RAGGED" query "insulin glucose" -k 2 --contains falcons --format json
[[ $(json_get "$OUT" "len(j['results']), all('falcons' in r['text'] for r in j['results'])") == "2 True" ]] ||
    fail "--contains: ${OUT:0:400}"
expect_exit 0 "$RAGGED" query "insulin" -k 5 --where '{"document_path": {"$contains": "/sub/"}}' --format json
[[ $(json_get "$OUT" "[r['document_path'].split('/')[-1] for r in j['results']]") == "['c.txt']" ]] ||
    fail "\$contains on document_path: ${OUT:0:400}"
expect_exit 0 "$RAGGED" query "insulin" -k 10 --where '{"document_path": {"$not_contains": ".txt"}}' --format json
[[ $(json_get "$OUT" "len(j['results'])") == 0 ]] || fail "\$not_contains: ${OUT:0:400}"
expect_exit 0 "$RAGGED" query "insulin" -k 3 --where '{"#document": {"$not_contains": "insulin"}}' --format json
[[ $(json_get "$OUT" "len(j['results']), any('insulin' in r['text'] for r in j['results'])") == "3 False" ]] ||
    fail "#document \$not_contains: ${OUT:0:400}"
expect_exit 2 "$RAGGED" query x --contains ""
contains "$ERR" "non-empty"

# Control characters in file names never reach the terminal raw; a newline
# in a name does not break the one-line-per-result layout.
expect_exit 0 "$RAGGED" query "falcons harbors" -k 5 --color never
not_contains "$OUT" $'\033'
# (document_path keeps such names in ingest's lossless \xHH form, docs/ingest.md)
contains "$OUT" 'evil\x1b[31mred.txt'
contains "$OUT" 'two\x0alines.txt'
[[ $(grep -c '^[0-9]*\. ' <<<"$OUT") -eq 5 ]] || fail "result lines broken: $OUT"
# JSON carries document_path as stored: the \xHH form, no raw control byte.
expect_exit 0 "$RAGGED" query "falcons harbors" -k 5 --format json
not_contains "$OUT" $'\033'
json_get "$OUT" "any(r['document_path'].endswith(r'evil\x1b[31mred.txt') for r in j['results'])" | grep -q True ||
    fail "JSON path not exact"
# Ingest warnings name the file escaped.
mkdir -p "$TMP/big"
head -c 1500000 /dev/zero | tr '\0' 'a' >"$TMP/big/$(printf 'huge\033[2J.txt')"
# (exit 1: the only file found was skipped, so nothing was stored)
RAGGED_INGEST_MAX_FILE_MB=1 expect_exit 1 "$RAGGED" ingest "$TMP/big" --collection big
contains "$OUT" 'huge\x1b[2J.txt'
not_contains "$OUT" $'\033'
not_contains "$ERR" $'\033'
RAGGED_INGEST_MAX_FILE_MB=1 expect_exit 1 "$RAGGED" ingest "$TMP/big" --collection big --verbose
contains "$ERR" 'huge\x1b[2J.txt'
not_contains "$ERR" $'\033'
# Error messages that quote a name are escaped too.
expect_exit 2 "$RAGGED" $'qu\033[2Jery' x
not_contains "$ERR" $'\033'

# A collection remembers its embedder: queried without repeating the
# settings; an explicit clash names both sides and the fix.
RAGGED_EMBEDDING_DIMENSION=384 RAGGED_EMBEDDING_QUERY_PREFIX='q: ' expect_exit 0 "$RAGGED" ingest "$D" --collection small --quiet
expect_exit 0 "$RAGGED" collections info small --format json
[[ $(json_get "$OUT" "j['embedder']['settings']['dimension'], j['embedder']['settings']['query_prefix']") == "384 q: " ]] ||
    fail "settings not recorded: ${OUT:0:400}"
expect_exit 0 "$RAGGED" query "receptor binds" --collection small -k 1 --format json
[[ $(json_get "$OUT" "j['results'][0]['document_path'].endswith('long.txt')") == True ]] || fail "query small: ${OUT:0:300}"
RAGGED_EMBEDDING_DIMENSION=512 expect_exit 1 "$RAGGED" query "receptor" --collection small
contains "$ERR" "embedding.dimension=512"
contains "$ERR" "RAGGED_EMBEDDING_DIMENSION"
contains "$ERR" "the collection has '384'"
contains "$ERR" "Remove those settings"
# Re-ingest into it and embed --collection use the same settings.
printf 'one more file\n' >"$D/new.txt"
expect_exit 0 "$RAGGED" ingest "$D" --collection small --quiet
expect_exit 0 "$RAGGED" embed hello --collection small
contains "$OUT" "builtin:builtin-v2:384"
# The other backends record the settings too.
for b in exact; do
    RAGGED_EMBEDDING_DIMENSION=256 expect_exit 0 "$RAGGED" ingest "$D" --backend $b --collection small --quiet
    expect_exit 0 "$RAGGED" query "receptor" --backend $b --collection small -k 1
done
# migrate builds the target with the source's embedder: vectors reused.
expect_exit 0 "$RAGGED" migrate exact-to-leann --collection small --to small256 --format json
[[ $(json_get "$OUT" "j['vectors']['action']") == reused ]] || fail "migrate re-embedded: ${OUT:0:400}"
expect_exit 0 "$RAGGED" collections info small256 --format json
[[ $(json_get "$OUT" "j['embedder']['dim']") == 256 ]] || fail "migrated embedder: ${OUT:0:300}"
expect_exit 0 "$RAGGED" query "receptor" --collection small256 -k 1
exit 0
