# ragged migrate against a real ChromaDB server that this test starts (and
# kills): round trip exact -> chromadb -> exact keeps every record; the
# server dying mid-migration, as the target and as the source, rolls back
# with a clear error, and what could not be removed while it was down is
# cleaned by the next run.
source "$(dirname "$0")/_lib.sh"
REPO=${RAGGED_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
S="$REPO/scripts/chroma-server.sh"
[[ -x $S ]] || skip "scripts/chroma-server.sh is not in this tree"
DEPS=${RAGGED_CHROMA_DEPS:-$REPO/.deps/chroma}
[[ -f $DEPS/node_modules/chromadb/package.json ]] || skip "ChromaDB npm packages not installed (scripts/chroma-server.sh install)"
"$RAGGED" collections list --backend chromadb --config /dev/null >/dev/null 2>"$TMP/probe"
grep -q "not compiled in\|not available" "$TMP/probe" && skip "chromadb backend not in this build"

PIDF="$TMP/chroma.pid"
stop_server() { "$S" stop --pid-file "$PIDF" >/dev/null 2>&1 || true; }
trap stop_server EXIT
URL=$("$S" start --port auto --path "$TMP/chroma-data" --pid-file "$PIDF" --timeout 90 2>"$TMP/start.log") ||
    skip "ChromaDB server did not start: $(tail -n 3 "$TMP/start.log")"
PORT=${URL##*:}
export RAGGED_VECTORSTORE_CHROMADB_URL=$URL

D="$TMP/docs"; mkdir -p "$D"
/usr/bin/python3 - "$D/big.txt" <<'PY'
import random, sys
random.seed(11)
w = "apple river copper violin glacier pepper orbit lantern meadow saffron tundra quartz harbor falcon ember basalt naïve café".split()
open(sys.argv[1], "w").write("\n\n".join(" ".join(random.choice(w) for _ in range(12)) + f" number {i}." for i in range(3000)))
PY
export RAGGED_CHUNKING_SIZE=16 RAGGED_CHUNKING_OVERLAP=0
expect_exit 0 "$RAGGED" ingest "$D" --backend exact --collection big

names() { "$RAGGED" collections list --backend "$1" --format json | json_get "$(cat)" '" ".join(c["name"] for c in j["collections"])'; }
dump() { "$RAGGED" query "apple river copper" --backend "$1" --collection "$2" -k 5000 --format json |
    /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["results"]; print(len(r)); [print(x["id"], json.dumps(x["metadata"], sort_keys=True), x["text"]) for x in sorted(r, key=lambda x: x["id"])]'; }
orig=$(dump exact big)

# Round trip, verified both ways.
expect_exit 0 "$RAGGED" migrate exact-to-chromadb --collection big --verify
contains "$OUT" "verification: passed"
expect_exit 0 "$RAGGED" migrate chromadb-to-exact --collection big --to big-back --verify
contains "$OUT" "verification: passed"
[[ "$(dump exact big-back)" == "$orig" ]] || fail "exact -> chromadb -> exact changed records"

wait_staging() {   # backend pid: until a staging collection of that backend holds records
    for _ in $(seq 1 300); do
        local n
        n=$("$RAGGED" collections list --backend "$1" --format json 2>/dev/null |
            json_get "$(cat)" 'sum(max(c["records"], 0) for c in j["collections"] if ".rgmig-staging-" in c["name"])' 2>/dev/null)
        [[ -n "$n" && "$n" -gt 0 ]] && return 0
        kill -0 "$2" 2>/dev/null || fail "migration ended before the server could be killed: $(cat "$TMP/err")"
        sleep 0.05
    done
    fail "no staging collection appeared in $1 within 15 s"
}

# 1. The server dies while it is the target.
# The migrations whose server gets killed have a short timeout so they fail
# quickly; every other command keeps the default, as a loaded machine (an
# ASan build beside other jobs) can take seconds for one healthy batch.
RAGGED_VECTORSTORE_CHROMADB_TIMEOUT_MS=3000 \
    "$RAGGED" migrate exact-to-chromadb --collection big --to victim --batch-size 5 >"$TMP/out" 2>"$TMP/err" &
pid=$!
wait_staging chromadb $pid
stop_server
wait $pid; rc=$?
[[ $rc -eq 1 ]] || fail "target server killed: exit $rc, stderr: $(cat "$TMP/err")"
err=$(cat "$TMP/err")
contains "$err" "ChromaDB"
contains "$err" "could not remove the staging collection chromadb/victim.rgmig-staging-$pid"
[[ $(names exact) == "big big-back" ]] || fail "exact changed: $(names exact)"
"$S" start --port "$PORT" --path "$TMP/chroma-data" --pid-file "$PIDF" --timeout 90 >/dev/null 2>"$TMP/start.log" ||
    fail "could not restart the server: $(tail -n 3 "$TMP/start.log")"
contains "$(names chromadb)" "victim.rgmig-staging-$pid"
not_contains "$(names chromadb)" "victim "
expect_exit 0 "$RAGGED" migrate exact-to-chromadb --collection big --to victim --verify
contains "$ERR" "deleted chromadb/victim.rgmig-staging-$pid, staging data of an interrupted migration"
[[ $(names chromadb) == "big victim" ]] || fail "chromadb after recovery: $(names chromadb)"

# 2. The server dies while it is the source.
RAGGED_VECTORSTORE_CHROMADB_TIMEOUT_MS=3000 \
    "$RAGGED" migrate chromadb-to-exact --collection big --to from-chroma --batch-size 5 >"$TMP/out" 2>"$TMP/err" &
pid=$!
wait_staging exact $pid
stop_server
wait $pid; rc=$?
[[ $rc -eq 1 ]] || fail "source server killed: exit $rc, stderr: $(cat "$TMP/err")"
err=$(cat "$TMP/err")
contains "$err" "reading chromadb/big"
contains "$err" "rolled back: staging exact/from-chroma.rgmig-staging-$pid removed, the source is unchanged"
[[ $(names exact) == "big big-back" ]] || fail "left behind in exact: $(names exact)"
"$S" start --port "$PORT" --path "$TMP/chroma-data" --pid-file "$PIDF" --timeout 90 >/dev/null 2>"$TMP/start.log" ||
    fail "could not restart the server: $(tail -n 3 "$TMP/start.log")"
[[ "$(dump chromadb big)" == "$orig" ]] || fail "the chromadb source changed"
cat "$TMP/err" >&2; echo ok
