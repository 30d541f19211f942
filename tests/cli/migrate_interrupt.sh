# ragged migrate interrupted: SIGINT rolls back (old target and source
# untouched, no staging left); kill -9 leaves staging that the next run
# detects, reports and removes.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
/usr/bin/python3 - "$D/big.txt" <<'PY'
import random, sys
random.seed(7)
w = "apple river copper violin glacier pepper orbit lantern meadow saffron tundra quartz harbor falcon ember basalt".split()
open(sys.argv[1], "w").write("\n\n".join(" ".join(random.choice(w) for _ in range(12)) + f" number {i}." for i in range(4000)))
PY
printf 'an older collection with other text\n' >"$D/../old.txt"
export RAGGED_CHUNKING_SIZE=16 RAGGED_CHUNKING_OVERLAP=0
B=(--backend exact)
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --collection big
expect_exit 0 "$RAGGED" ingest "$D/../old.txt" "${B[@]}" --collection dest

names() { "$RAGGED" collections list "${B[@]}" --format json | json_get "$(cat)" '" ".join(c["name"] for c in j["collections"])'; }
dump() { "$RAGGED" query "apple river copper" "${B[@]}" --collection "$1" -k 5000 --format json |
    /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["results"]; print(len(r)); [print(x["id"], json.dumps(x["metadata"], sort_keys=True), x["text"]) for x in sorted(r, key=lambda x: x["id"])]'; }
big_before=$(dump big); dest_before=$(dump dest)
[[ $(head -n 1 <<<"$big_before") -ge 3000 ]] || fail "expected thousands of records"

# Waits (bounded) until a staging collection holds records: the copy is under way.
wait_staging() {
    for _ in $(seq 1 200); do
        local n
        n=$("$RAGGED" collections list "${B[@]}" --format json 2>/dev/null |
            json_get "$(cat)" 'sum(c["records"] for c in j["collections"] if ".rgmig-staging-" in c["name"])' 2>/dev/null)
        [[ -n "$n" && "$n" -gt 0 ]] && return 0
        kill -0 "$1" 2>/dev/null || fail "migration ended before it could be interrupted"
        sleep 0.05
    done
    fail "no staging collection appeared within 10 s"
}

# SIGINT: exit 130, rolled back, old target and source intact, nothing left.
"$RAGGED" migrate exact-to-exact --collection big --to dest --overwrite --batch-size 1 >"$TMP/out" 2>"$TMP/err" &
pid=$!
wait_staging $pid
kill -INT $pid
wait $pid; rc=$?
[[ $rc -eq 130 ]] || fail "SIGINT: exit $rc, stderr: $(cat "$TMP/err")"
contains "$(cat "$TMP/err")" "interrupted after"
contains "$(cat "$TMP/err")" "rolled back"
contains "$(cat "$TMP/err")" "the source and the existing target are unchanged"
[[ $(names) == "big dest" ]] || fail "left behind after SIGINT: $(names)"
[[ "$(dump dest)" == "$dest_before" ]] || fail "SIGINT changed the old target"
[[ "$(dump big)" == "$big_before" ]] || fail "SIGINT changed the source"

# SIGTERM behaves the same.
"$RAGGED" migrate exact-to-exact --collection big --to fresh --batch-size 1 >"$TMP/out" 2>"$TMP/err" &
pid=$!
wait_staging $pid
kill -TERM $pid
wait $pid; rc=$?
[[ $rc -eq 130 ]] || fail "SIGTERM: exit $rc"
[[ $(names) == "big dest" ]] || fail "left behind after SIGTERM: $(names)"

# kill -9: the staging data stays (nothing can run), the next run cleans it.
"$RAGGED" migrate exact-to-exact --collection big --to dest --overwrite --batch-size 1 >"$TMP/out" 2>"$TMP/err" &
pid=$!
wait_staging $pid
kill -KILL $pid
wait $pid 2>/dev/null
left=$(names)
contains "$left" "dest.rgmig-staging-$pid"
[[ "$(dump dest)" == "$dest_before" ]] || fail "kill -9 changed the old target"
expect_exit 0 "$RAGGED" migrate exact-to-exact --collection big --to dest --overwrite --verify
contains "$ERR" "deleted exact/dest.rgmig-staging-$pid, staging data of an interrupted migration (pid $pid)"
contains "$OUT" "cleaned     1 leftover"
contains "$OUT" "verification: passed"
[[ $(names) == "big dest" ]] || fail "after recovery: $(names)"
[[ "$(dump dest)" == "$big_before" ]] || fail "dest is not a copy of big after the rerun"
echo ok
