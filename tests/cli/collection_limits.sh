# Limits met before any file is written or any SQL runs (issue 21, items 10,
# 12, 13): filters too large for a query, collection names that are too
# long for a file name or reserved by migrate, and a leann collection whose
# graph file is gone (listed and reported as damaged, not "does not exist").
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
printf 'Tomatoes grow well beside basil in the greenhouse.\n' >"$D/a.txt"
for b in exact leann; do
    expect_exit 0 "$RAGGED" ingest "$D" --backend $b --collection lim
done

# Filters: 12,000 $in values is refused with a message naming the limit
# (was a SQLite error naming the store file); a $and of 3,500 terms and a
# $in of 10,000 values run and find the record.
/usr/bin/python3 - "$TMP" <<'PY'
import json, sys
t = sys.argv[1]
json.dump({"format": {"$in": ["v%d" % i for i in range(12000)]}}, open(t + "/in12000.json", "w"))
json.dump({"format": {"$in": ["v%d" % i for i in range(9999)] + ["text"]}}, open(t + "/in10000.json", "w"))
json.dump({"$and": [{"k%d" % i: {"$ne": "x"}} for i in range(3500)]}, open(t + "/and3500.json", "w"))
w = {"format": "text"}
for i in range(40):
    w = {"$and": [w, {"k%d" % i: {"$ne": "x"}}]}
json.dump(w, open(t + "/deep40.json", "w"))
PY
for bm in exact:vector leann:vector leann:bm25; do
    b=${bm%:*} mode=${bm#*:}
    expect_exit 2 "$RAGGED" query tomatoes --backend $b --collection lim --mode $mode --where "$(cat "$TMP/in12000.json")"
    contains "$ERR" "10000"
    not_contains "$ERR" ".sqlite"
    expect_exit 2 "$RAGGED" query tomatoes --backend $b --collection lim --mode $mode --where "$(cat "$TMP/deep40.json")"
    contains "$ERR" "nested"
    for f in in10000 and3500; do
        expect_exit 0 "$RAGGED" query tomatoes --backend $b --collection lim --mode $mode --format json --where "$(cat "$TMP/$f.json")"
        [[ $(json_get "$OUT" 'len(j["results"])') == 1 ]] || fail "$b $mode $f: $OUT"
    done
done

# Reserved names: a later migrate would delete or rename them as leftovers.
for name in s2c.rgmig-staging-99999 s2c.rgmig-backup-4242; do
    expect_exit 2 "$RAGGED" ingest "$D" --backend exact --collection $name
    contains "$ERR" "reserved"
    expect_exit 2 "$RAGGED" collections create $name --backend leann
    contains "$ERR" "reserved"
done
expect_exit 0 "$RAGGED" collections list --backend exact --format json
[[ $(json_get "$OUT" '[c["name"] for c in j["collections"]]') == "['lim']" ]] || fail "a reserved name was created: $OUT"

# Names are file names: 256-512 characters passed validation and then failed
# with "File name too long"; now refused up front, 200 works everywhere
# (collection directory, BM25 index, creation temporaries).
for len in 201 256 512; do
    name=$(printf 'n%.0s' $(seq $len))
    expect_exit 2 "$RAGGED" ingest "$D" --backend leann --collection "$name"
    contains "$ERR" "3-200 characters"
    not_contains "$ERR" "too long"
done
name=$(printf 'm%.0s' $(seq 200))
for b in exact leann; do
    expect_exit 0 "$RAGGED" ingest "$D" --backend $b --collection "$name"
    expect_exit 0 "$RAGGED" query tomatoes --backend $b --collection "$name" --mode hybrid --format json
    [[ $(json_get "$OUT" 'len(j["results"])') == 1 ]] || fail "200-character name on $b: $OUT"
done

# The graph file of a leann collection is missing: list shows it as damaged,
# info and query say it is damaged and how to recover (exit 1), never that
# it does not exist.
dir="$XDG_DATA_HOME/ragged/leann/lim"
graph=$(ls "$dir"/graph-*.bin)
mv "$graph" "$TMP/graph.bak"
expect_exit 0 "$RAGGED" collections list --backend leann --format json
[[ $(json_get "$OUT" '[c["damaged"] for c in j["collections"] if c["name"] == "lim"]') == "[True]" ]] || fail "list: $OUT"
expect_exit 0 "$RAGGED" collections list --backend leann
contains "$OUT" "DAMAGED"
for cmd in "collections info lim" "query tomatoes --collection lim"; do
    expect_exit 1 "$RAGGED" $cmd --backend leann
    contains "$ERR" "damaged"
    contains "$ERR" "collections check lim"
    not_contains "$ERR" "does not exist"
done
mv "$TMP/graph.bak" "$graph"
expect_exit 0 "$RAGGED" collections info lim --backend leann
echo "collection limits: filters bounded (12,000 values refused, 3,500 terms run), reserved and long names refused, missing graph reported as damage"
