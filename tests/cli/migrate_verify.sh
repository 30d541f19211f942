# --verify catches a record altered behind ragged's back: while a migration
# copies, one record of the staging collection is edited with the sqlite3
# CLI; verification must name it, fail, roll back and publish nothing.
source "$(dirname "$0")/_lib.sh"
command -v sqlite3 >/dev/null || skip "sqlite3 CLI not installed"
D="$TMP/docs"; mkdir -p "$D"
/usr/bin/python3 - "$D/big.txt" <<'PY'
import random, sys
random.seed(3)
w = "apple river copper violin glacier pepper orbit lantern meadow saffron tundra quartz harbor falcon ember basalt".split()
open(sys.argv[1], "w").write("\n\n".join(" ".join(random.choice(w) for _ in range(12)) + f" number {i}." for i in range(1500)))
PY
export RAGGED_CHUNKING_SIZE=16 RAGGED_CHUNKING_OVERLAP=0
expect_exit 0 "$RAGGED" ingest "$D" --backend exact --collection src

"$RAGGED" migrate exact-to-exact --collection src --to dst --batch-size 2 --verify >"$TMP/out" 2>"$TMP/err" &
pid=$!
db=""
for _ in $(seq 1 200); do   # until the staging database holds record seq 3
    db=$(ls -d "$XDG_DATA_HOME"/ragged/exact/dst.rgmig-staging-*/exact.sqlite 2>/dev/null | head -n 1)
    if [[ -n $db ]]; then
        n=$(sqlite3 -cmd ".timeout 5000" "file:$db?mode=ro" "SELECT count(*) FROM records WHERE seq = 3" 2>/dev/null)
        [[ $n == 1 ]] && break
    fi
    kill -0 $pid 2>/dev/null || fail "migration ended too early: $(cat "$TMP/err")"
    sleep 0.05
done
[[ -n $db ]] || fail "no staging database appeared"
id=$(sqlite3 -cmd ".timeout 10000" "$db" "UPDATE records SET document = document || ' (edited)' WHERE seq = 3 RETURNING id")
[[ -n $id ]] || fail "could not alter the staging record"
wait $pid; rc=$?
[[ $rc -eq 1 ]] || fail "expected exit 1 from a failed verification, got $rc: $(cat "$TMP/out" "$TMP/err")"
out=$(cat "$TMP/out"); err=$(cat "$TMP/err")
contains "$out" "verification: FAILED"
contains "$out" "1 documents differ"
contains "$out" "mismatch    $id: document differs"
contains "$err" "verification failed"
contains "$err" "rolled back"
expect_exit 0 "$RAGGED" collections list --backend exact --format json
[[ $(json_get "$OUT" '" ".join(c["name"] for c in j["collections"])') == "src" ]] || fail "left behind: $OUT"
echo ok
