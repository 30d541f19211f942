#!/usr/bin/env bash
# leann query latency on ../shared/data/scifact (see bench/leann/bench_leann.c).
#
#   bench/leann/run.sh [NQ]          builtin embedder, whole corpus (5,183 documents), NQ queries (default 200),
#                                    then the one-shot CLI (`ragged query`) on an ingested copy
#   bench/leann/run.sh --bert [NQ]   MiniLM-shaped bert model (6 layers, 384 hidden, random weights made by
#                                    tests/ref/make_tiny_bert.py, nothing downloaded), first 1,000 documents,
#                                    NQ queries (default 20)
#   bench/leann/run.sh --build [NQ]  builtin, and also the ingest-style build in batches of 64 (slow)
#
# Writes bench/leann/RESULTS.md (builtin) or bench/leann/RESULTS-bert.md.  Wall times depend on the load of
# the machine (printed with them); CPU ms (user+sys of the process, embedder threads included) much less so.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=builtin
case ${1:-} in
--bert) MODE=bert; shift ;;
--build) MODE=build; shift ;;
esac
DATA=${RAGGED_SHARED:-../shared}/data/scifact
[[ -f $DATA/corpus.jsonl ]] || { echo "skip: $DATA/corpus.jsonl is absent"; exit 77; }
make -s -j2 all
BIN=build/bench_leann
bench/cc.sh bench/leann/bench_leann.c $BIN
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
header() {
    echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench/leann/bench_leann.c bench/leann/run.sh || echo "+dirty")"
    echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GB RAM; load average at start: $(load)"
    echo "- defaults: graph_degree 32, pruned_degree 12, search_complexity 1000, scan_threshold 16384 (this corpus is scanned), rerank_candidates 0 (adaptive)"
    echo "- cold cache: cache_mb 0, every candidate recomputed by every query, as in a one-shot CLI query"
    echo "- wall times are under the load shown (2 shared cores); CPU ms is user+sys of the process for the query"
}
# Query table: cold cache, adaptive default, then fixed rerank sizes for comparison.
queries() {   # NQ FIXED...
    local nq=$1
    shift
    $BIN query "$W" "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$nq" 0 1000 | grep -v '^\(disk\|component\|details\)' |
        sed 's/^| 1000 |/| adaptive (default) |/; s/^| search_complexity |/| rerank |/'
    for r in "$@"; do
        RAGGED_BENCH_RERANK=$r $BIN query "$W" "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$nq" 0 1000 |
            grep '^| 1000 |' | sed "s/^| 1000 |/| fixed $r |/"
    done
}

if [[ $MODE == bert ]]; then
    NQ=${1:-20}
    OUT=bench/leann/RESULTS-bert.md
    VOCAB=${RAGGED_SHARED:-../shared}/models/all-MiniLM-L6-v2/vocab.txt
    [[ -f $VOCAB ]] || { echo "skip: $VOCAB is absent"; exit 77; }
    MODEL=$W/all-MiniLM-L6-v2
    /usr/bin/python3 tests/ref/make_tiny_bert.py "$MODEL" --seed 2024 --layers 6 --hidden 384 --heads 12 \
        --intermediate 1536 --max-seq-length 256 --max-position 512 --vocab-file "$VOCAB" --std 0.05 >/dev/null
    export RAGGED_BENCH_PROVIDER=bert RAGGED_BENCH_MODEL=$MODEL RAGGED_BENCH_DOCS=${RAGGED_BENCH_DOCS:-1000}
    {
    echo "# leann with a MiniLM-shaped bert model (scifact subset)"
    echo
    header
    echo "- model: all-MiniLM-L6-v2 shape (6 layers, 384 hidden, 12 heads, 1,536 FFN, max_seq_length 256, real vocabulary), random weights (make_tiny_bert.py --seed 2024 --std 0.05), fp32, embedding.threads = cores"
    echo "- corpus: first $RAGGED_BENCH_DOCS scifact documents; $NQ queries"
    echo
    echo '```'
    $BIN build "$W" "$DATA/corpus.jsonl" exact,leann 100000
    echo '```'
    echo
    queries "$NQ" ${RAGGED_BENCH_FIXED:-}
    echo
    echo "load average at end: $(load)"
    } | tee "$OUT"
    exit 0
fi

NQ=${1:-200}
OUT=bench/leann/RESULTS.md
{
echo "# leann query latency (scifact, builtin embedder)"
echo
header
echo "- corpus: $(wc -l <"$DATA/corpus.jsonl") documents (title + \" \" + text, one record each); $NQ queries from queries.jsonl"
echo
echo "## Build (one add() of pre-computed embeddings)"
echo
echo '```'
$BIN build "$W" "$DATA/corpus.jsonl" exact,leann 100000
if [[ $MODE == build ]]; then
    /usr/bin/time -f "leann process: max RSS %M KB, wall %e s" $BIN build "$W/batches" "$DATA/corpus.jsonl" leann 64 2>&1 |
        sed 's/^/batches of 64: /'
fi
echo '```'
echo
echo "## Queries, cold cache (k = 10 timed; recall against the exact backend)"
echo
echo "\"fixed R\" recomputes R candidates per query (rerank_candidates R); R = 30 was the old default (k + 20)."
echo
queries "$NQ" 20 30
echo
echo "## Queries, 64 MB cache, second pass over the same queries (a long-running process)"
echo
$BIN query "$W" "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$NQ" 64 1000,1000 | grep -v '^\(disk\|component\|details\)'
echo
echo "## One-shot CLI: \`ragged query TEXT --backend leann\` on an ingested copy (process start to exit)"
echo
# The real ingest path (files -> chunks -> collection + BM25 sidecar) into a private XDG tree.
DOCS=$(bench/scifact/prepare.sh)
export XDG_DATA_HOME=$W/xdg/data XDG_CONFIG_HOME=$W/xdg/config
unset RAGGED_CONFIG
build/ragged ingest "$DOCS" --collection scifact --backend leann >"$W/ingest.log" 2>&1
echo "ingest: $(tail -n1 "$W/ingest.log")"
echo
echo "| mode | queries | wall p50 ms | wall p95 ms | CPU p50 ms | CPU mean ms | max RSS MB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
NCLI=${RAGGED_BENCH_CLI:-30}
head -n "$NCLI" "$DATA/queries.jsonl" | /usr/bin/python3 -c 'import json,sys; [print(json.loads(l)["text"]) for l in sys.stdin]' >"$W/q.txt"
build/ragged --version </dev/null >/dev/null
for mode in startup vector hybrid; do
    : >"$W/t.txt"
    while IFS= read -r q; do
        if [[ $mode == startup ]]; then
            /usr/bin/time -a -o "$W/t.txt" -f "%e %U %S %M" build/ragged --version </dev/null >/dev/null
        else
            /usr/bin/time -a -o "$W/t.txt" -f "%e %U %S %M" build/ragged query "$q" --collection scifact \
                --backend leann --mode $mode </dev/null >/dev/null
        fi
    done <"$W/q.txt"
    /usr/bin/python3 - "$mode" "$W/t.txt" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[2]) if l.strip() and l.split()[0][0].isdigit()]
wall = sorted(float(r[0]) * 1000 for r in rows)
cpu = sorted((float(r[1]) + float(r[2])) * 1000 for r in rows)
n = len(rows)
print("| %s | %d | %.0f | %.0f | %.0f | %.1f | %.0f |" % (sys.argv[1], n, wall[n // 2], wall[min(n - 1, int(n * 0.95))],
      cpu[n // 2], sum(cpu) / n, max(int(r[3]) for r in rows) / 1024))
PY
done
echo
echo "\`startup\` is \`ragged --version\`: process start and exit (dynamic loading of the linked libraries)."
echo "/usr/bin/time reports CPU in 10 ms steps: the CPU mean over the queries is the finer number."
echo
echo "load average at end: $(load)"
} | tee "$OUT"
