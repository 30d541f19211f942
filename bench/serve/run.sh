#!/usr/bin/env bash
# ragged serve under load, with the one-shot CLI as the peer, in one run:
#   1. SciFact (5,183 documents, builtin embedder, leann): query p50/p99 and
#      queries/s with 8 concurrent loopback clients (wrk, bounded by time),
#      next to the one-shot `ragged query` on the same queries;
#   2. a MiniLM-shaped BERT collection (random weights from
#      tests/ref/make_tiny_bert.py, nothing downloaded; first DOCS documents):
#      warm query through serve vs the one-shot CLI, which loads the model
#      every time;
#   3. a load run: the 8 clients again while one ingest job runs and a client
#      disconnects mid-answer (fake LLM, tests/servers/fake_llm.py); errors
#      counted; with BIN=build-asan/ragged the server's exit code shows any
#      leak or sanitizer report.
# Writes bench/serve/RESULTS.md.  Installs Debian's wrk (the load generator) if it is missing.
#
# usage: bench/serve/run.sh [SECONDS]    (default 10 per wrk run; DOCS=300 for the BERT part)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SECS=${1:-10}
DOCS=${DOCS:-300}
BIN=${BIN:-$ROOT/build/ragged}
OUT=$ROOT/bench/out/serve
SHARED=${RAGGED_SHARED:-$ROOT/../shared}
# The load generator is a bench-only peer: installed here, not by scripts/install-deps.sh.
if ! command -v wrk >/dev/null; then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    command -v apt-get >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >&2 || true
    command -v wrk >/dev/null || { echo "bench/serve: wrk is needed (Debian package wrk)" >&2; exit 1; }
fi
mkdir -p "$OUT"
make -s build/ragged >/dev/null
DOCS_DIR=$(bench/scifact/prepare.sh)
export XDG_DATA_HOME=$OUT/data XDG_CONFIG_HOME=$OUT/config HOME=$OUT
unset RAGGED_CONFIG
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }   # TERM: the fake LLM ignores INT
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
# Queries: the first 50 SciFact queries, as request bodies and as arguments.
/usr/bin/python3 - "$SHARED/data/scifact/queries.jsonl" "$OUT" <<'PY'
import json, sys
qs = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")][:50]
open(sys.argv[2] + "/queries.txt", "w").write("\n".join(qs) + "\n")
lua = ["wrk.method = 'POST'", "wrk.headers['Content-Type'] = 'application/json'", "local bodies = {"]
lua += ["  %s," % json.dumps(json.dumps({"query": q, "collection": "COLL", "k": 10})) for q in qs]
lua += ["}", "local i = 0",
        "request = function() i = i + 1; return wrk.format(nil, nil, nil, bodies[(i % #bodies) + 1]) end",
        "done = function(s, lat, req)",
        "  local e = s.errors",
        "  io.write(string.format('RESULT p50_ms=%.3f p99_ms=%.3f rps=%.1f requests=%d errors=%d non2xx=%d\\n',",
        "    lat:percentile(50) / 1000, lat:percentile(99) / 1000, s.requests / (s.duration / 1e6), s.requests,",
        "    e.connect + e.read + e.write + e.timeout, e.status))",
        "end"]
open(sys.argv[2] + "/post.lua.in", "w").write("\n".join(lua) + "\n")
PY

start_serve() {   # start_serve LOGNAME [ENV...]: sets URL and SPID
    local log=$1; shift
    rm -f "$OUT/$log.out"   # not the last run's line: the redirection below happens in the background
    env "$@" "$BIN" serve --port 0 ${QUIET---quiet} >"$OUT/$log.out" 2>"$OUT/$log.err" &
    SPID=$!
    PIDS+=("$SPID")
    URL=
    for _ in $(seq 1 100); do
        URL=$(sed -n 's|.*listening on \(http://[^ ]*\)/$|\1|p' "$OUT/$log.out" 2>/dev/null)
        [[ -n $URL ]] && break
        sleep 0.1
    done
    [[ -n $URL ]] || { echo "serve did not start: $(cat "$OUT/$log.err")" >&2; exit 1; }
}
stop_serve() { kill -INT "$SPID"; RC=0; wait "$SPID" || RC=$?; }   # sets RC
# cpu_ms PID: user + system CPU time of PID so far, in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
run_wrk() {   # run_wrk COLLECTION SECONDS CONNECTIONS [MODE]
    sed "s/COLL/$1/" "$OUT/post.lua.in" >"$OUT/post.lua"
    [[ -z ${4:-} ]] || sed -i "s/\\\\\"k\\\\\": 10/\\\\\"k\\\\\": 10, \\\\\"mode\\\\\": \\\\\"$4\\\\\"/" "$OUT/post.lua"
    wrk -t"$(( $3 < 2 ? $3 : 2 ))" -c"$3" -d"$2"s --timeout 10s -s "$OUT/post.lua" "$URL/v1/query" | grep '^RESULT' | sed 's/^RESULT //'
}
# cli_p50 N COLLECTION [ENV...]: median wall ms of N one-shot `ragged query` runs over the queries.
cli_p50() {
    local n=$1 coll=$2 i=0 q t0 t1 times=()
    shift 2
    while IFS= read -r q && ((i < n)); do
        t0=$(date +%s%N)
        env "$@" "$BIN" query "$q" -k 10 --collection "$coll" >/dev/null
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000)))
        i=$((i + 1))
    done <"$OUT/queries.txt"
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'
}
# serve_p50 N COLLECTION: median wall ms of N sequential requests (one client, curl).
serve_p50() {
    local n=$1 coll=$2 i=0 q times=()
    while IFS= read -r q && ((i < n)); do
        times+=($(curl -s -o /dev/null -w '%{time_total}' -X POST "$URL/v1/query" \
            -d "$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1], "collection": sys.argv[2], "k": 10}))' "$q" "$coll")"))
        i=$((i + 1))
    done <"$OUT/queries.txt"
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]*1000}'
}

machine="$(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores"
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Makefile mk || echo "+dirty")

# ---- 1. SciFact, builtin embedder ----
if ! "$BIN" collections list --format json | grep -q '"scifact"'; then
    echo "ingesting scifact (once)..." >&2
    "$BIN" ingest "$DOCS_DIR" --collection scifact --quiet
fi
load1=$(load)
start_serve serve1
declare -A W CPUQ
for mode in vector hybrid; do
    run_wrk scifact 2 8 "$mode" >/dev/null   # warm-up: 8 handles opened
    for c in 8 1; do
        cpu0=$(cpu_ms "$SPID")
        W[$mode.$c]=$(run_wrk scifact "$SECS" "$c" "$mode")
        cpu1=$(cpu_ms "$SPID")
        CPUQ[$mode.$c]=$(awk "BEGIN{printf \"%.2f\", ($cpu1 - $cpu0) / $(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"${W[$mode.$c]}")}")
    done
done
S1=$(serve_p50 30 scifact)
stop_serve
rc1=$RC
C1=$(cli_p50 30 scifact)
load1e=$(load)

# ---- 2. MiniLM-shaped BERT ----
MODEL=$OUT/minilm-shape
VOCAB=$SHARED/models/all-MiniLM-L6-v2/vocab.txt
[[ -f $MODEL/model.safetensors ]] || /usr/bin/python3 tests/ref/make_tiny_bert.py "$MODEL" --seed 2024 --layers 6 \
    --hidden 384 --heads 12 --intermediate 1536 --max-seq-length 256 --max-position 512 --vocab-file "$VOCAB" --std 0.05 >/dev/null
BERT_ENV=(RAGGED_EMBEDDING_PROVIDER=bert RAGGED_EMBEDDING_MODEL="$MODEL")
if ! env "${BERT_ENV[@]}" "$BIN" collections list --format json | grep -q '"scifact-bert"'; then
    echo "ingesting $DOCS scifact documents with the BERT model (once)..." >&2
    rm -rf "$OUT/bert-docs"; mkdir -p "$OUT/bert-docs"
    ls "$DOCS_DIR" | sort | sed -n "1,${DOCS}p" | while read -r f; do cp "$DOCS_DIR/$f" "$OUT/bert-docs/"; done
    env "${BERT_ENV[@]}" "$BIN" ingest "$OUT/bert-docs" --collection scifact-bert --quiet
fi
load2=$(load)
start_serve serve2 "${BERT_ENV[@]}"
serve_p50 3 scifact-bert >/dev/null   # loads the model
S2=$(serve_p50 20 scifact-bert)
stop_serve
rc2=$RC
C2=$(cli_p50 5 scifact-bert "${BERT_ENV[@]}")
load2e=$(load)

# ---- 3. load run: 8 clients + an ingest job + a client leaving mid-answer ----
rm -f "$OUT/llm.port"
/usr/bin/python3 tests/servers/fake_llm.py --port-file "$OUT/llm.port" --log /dev/null --gate "$OUT/gate" >/dev/null 2>&1 &
LLM=$!
PIDS+=("$LLM")
for _ in $(seq 1 100); do [[ -s $OUT/llm.port ]] && break; sleep 0.1; done
rm -f "$OUT/gate"
load3=$(load)
"$BIN" collections delete load-ingest >/dev/null 2>&1 || true   # a real ingest, not an unchanged re-run
QUIET= start_serve serve3 RAGGED_LLM_PROVIDER=ollama RAGGED_LLM_URL="http://127.0.0.1:$(cat "$OUT/llm.port")" RAGGED_LLM_MODEL=gate
rm -rf "$OUT/load-docs"; mkdir -p "$OUT/load-docs"
ls "$DOCS_DIR" | sort | tail -n 500 | while read -r f; do cp "$DOCS_DIR/$f" "$OUT/load-docs/"; done
run_wrk scifact 2 8 >/dev/null   # warm-up, as in part 1
( sleep 1; curl -s -X POST "$URL/v1/ingest" -d "{\"paths\":[\"$OUT/load-docs\"],\"collection\":\"load-ingest\"}" >"$OUT/job.json" ) &
P1=$!
( sleep 2; curl -s -N --max-time 2 -X POST "$URL/v1/answer" -d '{"query":"vitamin D","collection":"scifact"}' >"$OUT/cut.sse" 2>/dev/null; touch "$OUT/gate" ) &
P2=$!
W3=$(run_wrk scifact "$SECS" 8)
wait "$P1" "$P2" || true   # the answer client times out on purpose (curl exit 28)
for _ in $(seq 1 600); do   # the job, bounded (60 s)
    curl -s "$URL/v1/jobs/1" | grep -q '"state": "running"' || break
    sleep 0.1
done
JOB=$(curl -s "$URL/v1/jobs/1" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print("%s, %d files, %.1f s" % (j["state"], j["files_done"], j["seconds"]))')
CUT=$(grep -c '^event: text' "$OUT/cut.sse" || true)
CLOSED=$(grep -c 'closed early' "$OUT/serve3.err" || true)
stop_serve
rc3=$RC
kill "$LLM" 2>/dev/null || true
load3e=$(load)

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
ratio() { awk "BEGIN{printf \"%.1f\", $1 / $2}"; }
{
echo "## Serving: \`ragged serve\` under load (\`bench/serve/run.sh\`)"
echo
echo "- machine: $machine (shared: 8 engineers on 2 cores, loads below); commit $commit; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- binary: $BIN; wrk (2 threads, 1 for 1 client) with a Lua script cycling the first 50 SciFact queries (k=10), ${SECS} s a run"
echo
echo "### SciFact (5,183 documents, builtin embedder, leann)   load $load1 -> $load1e"
echo
echo "| mode | clients | p50 ms | p99 ms | queries/s | errors | server CPU ms/query | CPU-bound capacity on $(nproc) idle cores |"
echo "|---|---|---|---|---|---|---|---|"
for mode in vector hybrid; do
    for c in 8 1; do
        r=${W[$mode.$c]}
        echo "| $mode | $c | $(field p50_ms "$r") | $(field p99_ms "$r") | $(field rps "$r") | $(field errors "$r") + $(field non2xx "$r") non-2xx | ${CPUQ[$mode.$c]} | ~$(awk "BEGIN{printf \"%d\", $(nproc) * 1000 / ${CPUQ[$mode.$c]}}") q/s |"
    done
done
echo
echo "Peer, default mode (hybrid), 30 queries one after another: serve via curl (incl. curl's start-up) p50 $S1 ms;"
echo "one-shot \`ragged query\` p50 $C1 ms."
echo
echo "Wall-clock numbers are what this machine gave at the load shown (other engineers' builds and tests); the"
echo "server's CPU time per query does not depend on that load, and bounds what idle cores could serve."
echo
echo "serve exit code after SIGINT: $rc1"
echo
echo "### MiniLM-shaped BERT (first $DOCS SciFact documents)   load $load2 -> $load2e"
echo
echo "| | p50 ms |"
echo "|---|---|"
echo "| serve, warm (model loaded once), curl | $S2 |"
echo "| one-shot \`ragged query\` (loads the model every time) | $C2 |"
echo "| ratio | $(ratio "$C2" "$S2")x |"
echo
echo "serve exit code after SIGINT: $rc2"
echo
echo "### Load run: 8 clients + one ingest job (500 documents) + a client leaving mid-answer   load $load3 -> $load3e"
echo
echo "- queries: p50 $(field p50_ms "$W3") ms, p99 $(field p99_ms "$W3") ms, $(field rps "$W3") queries/s, $(field requests "$W3") requests, errors $(field errors "$W3"), non-2xx $(field non2xx "$W3")"
echo "- ingest job: $JOB"
echo "- answer client: received $CUT text events, then disconnected; server logged $CLOSED early close(s)"
echo "- serve exit code after SIGINT: $rc3 (0: clean; under ASan, non-zero on any leak or error report)"
} | tee bench/serve/RESULTS.md
