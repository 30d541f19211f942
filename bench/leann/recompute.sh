#!/usr/bin/env bash
# Recompute cost of leann with a MiniLM-shaped bert model (issue 16, item 6):
# cold k = 10 queries, recall against the exact backend in the same run, and
# embeddings recomputed a query, for the default PQ code and the previous
# default (96 bytes), then the rerank-order lab on the same vectors.
#
#   bench/leann/recompute.sh [NDOCS] [NQ]     default 1000 documents, 30 queries
#
# The model has the all-MiniLM-L6-v2 shape and random weights
# (tests/ref/make_tiny_bert.py; no real weights exist here).  The document
# vectors are embedded once by graph_lab (bench/out/graph/, reused by later
# runs) and handed to bench_leann through RAGGED_BENCH_VECS; queries embed at
# query time.  RAGGED_BENCH_PRECISION=int8 runs the int8 engine (a collection
# of int8 identity: its vectors are int8's, embedded again).
# RAGGED_BENCH_CODES lists the code_bytes to compare (default "0 96").
# Writes bench/leann/RESULTS-recompute.md (RESULTS-recompute-int8.md for int8).
set -euo pipefail
cd "$(dirname "$0")/../.."
NDOCS=${1:-1000}
NQ=${2:-30}
DATA=${RAGGED_SHARED:-../shared}/data/scifact
VOCAB=${RAGGED_SHARED:-../shared}/models/all-MiniLM-L6-v2/vocab.txt
[[ -f $DATA/corpus.jsonl && -f $VOCAB ]] || { echo "skip: scifact or the MiniLM vocabulary is absent"; exit 77; }
make -s -j2 all
bench/cc.sh bench/leann/bench_leann.c build/bench_leann
bench/cc.sh bench/leann/graph_lab.c build/graph_lab
bench/cc.sh bench/leann/rerank_lab.c build/rerank_lab
PREC=${RAGGED_BENCH_PRECISION:-fp32}
MODEL=bench/out/models/minilm-shape-$PREC/all-MiniLM-L6-v2
if [[ ! -f $MODEL/model.safetensors ]]; then
    mkdir -p "$MODEL"
    /usr/bin/python3 tests/ref/make_tiny_bert.py "$MODEL" --seed 2024 --layers 6 --hidden 384 --heads 12 \
        --intermediate 1536 --max-seq-length 256 --max-position 512 --vocab-file "$VOCAB" --std 0.05 >/dev/null
fi
export RAGGED_BENCH_PROVIDER=bert RAGGED_BENCH_MODEL=$MODEL RAGGED_BENCH_DOCS=$NDOCS
VECS=bench/out/graph/bert-$PREC-$NDOCS-300
mkdir -p bench/out/graph
[[ -f $VECS.docs ]] || build/graph_lab embed "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$NDOCS" 300 "$VECS"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
OUT=bench/leann/RESULTS-recompute$([[ $PREC == fp32 ]] || echo "-$PREC").md
{
echo "# leann recompute with a MiniLM-shaped model ($PREC)"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench/leann || echo "+dirty")"
echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores (shared); load average at start: $(load)"
echo "- corpus: first $NDOCS scifact documents (title + text, up to 256 tokens); $NQ queries; k = 10 timed, cold cache (cache_mb 0)"
echo "- recall against the exact backend (same vectors, same run); CPU ms = user+sys of the process (both engine threads)"
echo
for cb in ${RAGGED_BENCH_CODES:-0 96}; do
    echo "## code_bytes $cb ($([[ $cb == 0 ]] && echo "automatic: the default" || echo "the previous default"))"
    echo
    echo '```'
    RAGGED_BENCH_VECS=$VECS.docs RAGGED_BENCH_CODE_BYTES=$cb build/bench_leann build "$W/$cb" "$DATA/corpus.jsonl" exact,leann 100000
    echo '```'
    echo
    build/bench_leann query "$W/$cb" "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$NQ" 0 1000 | grep -v '^\(component\|details\|disk exact\)'
    echo
done
echo "## Rerank-order lab ($NDOCS documents, 300 queries, every document a candidate, adaptive cap 75)"
echo
for shape in "96 96" "192 192"; do
    echo "first-stage code bytes / residual bytes: $shape"
    echo
    build/rerank_lab "$VECS" $shape
    echo
done
echo "load average at end: $(load)"
} | tee "$OUT"
