# kill -9 an ingest into a leann collection at random moments, 20 times;
# after each kill the collection must open cleanly (health ok), answer a
# query, and still hold every record of every ingest that completed before.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
B=(--backend leann --collection killtest)
make_files() {   # make_files FROM TO: files with a few paragraphs each
    awk -v from="$1" -v to="$2" -v dir="$D" 'BEGIN {
        split("alpha river copper violin glacier pepper orbit lantern meadow saffron tundra quartz harbor " \
              "falcon ember basalt cloud stone forest signal marble canyon velvet thunder", w, " ")
        for (i = from; i < to; i++) {
            f = dir "/f" i ".txt"
            for (p = 1; p <= 4; p++) {
                line = ""
                for (k = 1; k <= 80; k++) line = line w[(i * 131 + p * 17 + k * k) % 24 + 1] " "
                print line ".\n" > f
            }
            close(f)
        }
    }'
}
records() {      # records in the collection per `backend stats` (health must be ok)
    expect_exit 0 "$RAGGED" backend stats "${B[@]}" --format json
    local h
    h=$(json_get "$OUT" 'j["backends"][0]["collections"][0]["health"]')
    [[ $h == ok ]] || fail "collection unhealthy after kill: $h"
    json_get "$OUT" 'j["backends"][0]["collections"][0]["records"]'
}

make_files 0 40
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
acked=$(records)
[[ $acked -gt 0 ]] || fail "first ingest stored nothing"
next=40
kills=0
maxd=0.6     # seconds; shrinks when ingests finish before the kill comes
round=0
while ((kills < 20 && round < 80)); do
    round=$((round + 1))
    make_files $next $((next + 60)); next=$((next + 60))
    "$RAGGED" ingest "$D" "${B[@]}" --quiet >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v m="$maxd" -v r=$RANDOM 'BEGIN { printf "%.3f", m * r / 32768 }')"
    if kill -9 "$pid" 2>/dev/null; then
        kills=$((kills + 1))
    else
        maxd=$(awk -v m="$maxd" 'BEGIN { printf "%.3f", m * 0.7 }')
    fi
    wait "$pid" 2>/dev/null
    n=$(records)
    [[ $n -ge $acked ]] || fail "round $round: $n records after kill, $acked were acknowledged before"
    expect_exit 0 "$RAGGED" query "copper violin glacier" "${B[@]}" -k 3 --mode vector --format json
    [[ $(json_get "$OUT" 'len(j["results"])') == 3 ]] || fail "round $round: query after kill: $OUT"
    # The default (hybrid) query answers, or refuses a BM25 index the kill
    # left behind naming the fix (queries never rebuild it: docs/bm25.md).
    "$RAGGED" query "copper violin glacier" "${B[@]}" -k 3 --format json >"$TMP/q.json" 2>"$TMP/q.err"; rc=$?
    if [[ $rc -eq 0 ]]; then
        [[ $(json_get "$(cat "$TMP/q.json")" 'len(j["results"])') == 3 ]] || fail "round $round: hybrid after kill: $(cat "$TMP/q.json")"
    else
        [[ $rc -eq 1 ]] && grep -q "collections reindex killtest" "$TMP/q.err" || fail "round $round: hybrid after kill: exit $rc: $(cat "$TMP/q.err")"
    fi
    # every fourth round, let an ingest finish: its records are acknowledged
    if ((round % 4 == 0)); then
        expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
        acked=$(records)
    fi
done
((kills >= 20)) || fail "only $kills ingests were still running when killed in $round rounds"
# Finally: complete, and the same as the exact backend given the same files.
expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --quiet
final=$(records)
expect_exit 0 "$RAGGED" ingest "$D" --backend exact --collection killtest --quiet
expect_exit 0 "$RAGGED" backend stats --backend exact --collection killtest --format json
want=$(json_get "$OUT" 'j["backends"][0]["collections"][0]["records"]')
[[ $final == "$want" ]] || fail "leann holds $final records, exact $want for the same files"
# only the committed generation's files are left
dir="$XDG_DATA_HOME/ragged/leann/killtest"
[[ $(ls "$dir" | grep -c '^graph-') -eq 1 && $(ls "$dir" | grep -c '^codes-') -eq 1 ]] ||
    fail "orphan generation files: $(ls "$dir")"
exit 0
