# ragged watch: ingests, re-ingests after changes (debounced), prunes deleted
# files, survives files vanishing under it, stops on SIGINT with exit 0;
# serve --watch does the same inside the server.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_serve.sh"
W_PID=
trap '[[ -n $W_PID ]] && kill -KILL $W_PID 2>/dev/null; stop_serve' EXIT
export RAGGED_VECTORSTORE_BACKEND=exact
D="$TMP/notes"
mkdir -p "$D/sub"
printf 'The boiler is serviced every October.\n' >"$D/boiler.txt"
printf 'Bicycle tyres are pumped to four bar.\n' >"$D/sub/bike.txt"

# wait_for TEXT: until the log has TEXT N times (bounded).
rounds() { grep -c '^ragged watch: .* files:' "$TMP/watch.err"; }
wait_rounds() {
    local want=$1 i
    for ((i = 0; i < 150; i++)); do (($(rounds) >= want)) && return 0; sleep 0.1; done
    fail "watch did not finish round $want within 15 s: $(cat "$TMP/watch.err")"
}
top_path() { "$RAGGED" query "$1" -k 1 --mode bm25 --format json | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["results"]; print(r[0]["document_path"] if r else "")'; }

"$RAGGED" watch "$D" --debounce 200 2>"$TMP/watch.err" &
W_PID=$!
wait_rounds 1
contains "$(cat "$TMP/watch.err")" "2 files: 2 new or changed"
[[ $(top_path "boiler serviced") == "$D/boiler.txt" ]] || fail "initial ingest"

# A new file in a new directory, written in two steps (one round after the burst).
mkdir -p "$D/new/deeper"
printf 'The greenhouse ' >"$D/new/deeper/green.txt"
printf 'is watered at six.\n' >>"$D/new/deeper/green.txt"
wait_rounds 2
sleep 0.5
[[ $(rounds) == 2 ]] || fail "a burst of changes gave more than one round: $(cat "$TMP/watch.err")"
[[ $(top_path "greenhouse watered") == "$D/new/deeper/green.txt" ]] || fail "new file not ingested"
# A file in the directory made after the start (its watch was added on the fly).
printf 'Compost is turned weekly.\n' >"$D/new/deeper/compost.txt"
wait_rounds 3
[[ $(top_path "compost turned") == "$D/new/deeper/compost.txt" ]] || fail "file in a new directory not seen"

# Deleted: pruned.
rm "$D/sub/bike.txt"
wait_rounds 4
contains "$(tail -n 1 "$TMP/watch.err")" "1 documents pruned"
[[ $(top_path "bicycle tyres") != "$D/sub/bike.txt" ]] || fail "deleted file still found"

# A whole directory removed and recreated under it: it keeps working.
rm -rf "$D/new"
wait_rounds 5
mkdir -p "$D/new"
printf 'Apples are picked in September.\n' >"$D/new/apples.txt"
wait_rounds 6
[[ $(top_path "apples picked") == "$D/new/apples.txt" ]] || fail "recreated directory not watched"

kill -INT $W_PID
wait $W_PID
rc=$?
W_PID=
[[ $rc == 0 ]] || fail "watch exited $rc on SIGINT"
contains "$(cat "$TMP/watch.err")" "ragged watch: stopped"

expect_exit 2 "$RAGGED" watch
contains "$ERR" "needs the files or directories"
expect_exit 1 "$RAGGED" watch "$TMP/nonexistent"
contains "$ERR" "nonexistent"

# serve --watch: a file added later is found through the server.
start_serve --watch "$D"
printf 'The chimney is swept in spring.\n' >"$D/chimney.txt"
for ((i = 0; i < 100; i++)); do
    http POST /v1/query -d '{"query":"chimney swept","k":1,"mode":"bm25"}'
    [[ $BODY == *"$D/chimney.txt"* ]] && break
    sleep 0.1
done
contains "$BODY" "$D/chimney.txt"
