#!/usr/bin/env bash
# Graph-only leann benchmark (bench/leann/graph_lab.c): build CPU time and
# peak memory of leann_graph_build, and walk recall as search_complexity
# varies, on precomputed vectors of ../shared/data/scifact.
#   bench/leann/graph.sh [NDOCS] [NQ] [L-LIST]       prints a RESULTS-graph.md section
# RAGGED_BENCH_PROVIDER=bert RAGGED_BENCH_MODEL=DIR uses a bert model (slow:
# use NDOCS ~1500); vectors are cached in bench/out/graph/ by provider.
set -euo pipefail
cd "$(dirname "$0")/../.."
NDOCS=${1:-100000}
NQ=${2:-300}
LS=${3:-50,100,200,400,800,1600}
DATA=${RAGGED_SHARED:-../shared}/data/scifact
[[ -f $DATA/corpus.jsonl ]] || { echo "skip: $DATA/corpus.jsonl is absent"; exit 77; }
make -s -j2 build/libragged.a
BIN=build/graph_lab
bench/cc.sh bench/leann/graph_lab.c $BIN
OUT=bench/out/graph/${RAGGED_BENCH_PROVIDER:-builtin}-$NDOCS-$NQ
mkdir -p "$(dirname "$OUT")"
[[ -f $OUT.docs ]] || $BIN embed "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$NDOCS" "$NQ" "$OUT"
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit: $(git rev-parse --short HEAD), embedder: ${RAGGED_BENCH_PROVIDER:-builtin} ${RAGGED_BENCH_MODEL:-}"
echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared)"
echo
echo '```'
$BIN eval "$OUT" "$LS"
echo '```'
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
