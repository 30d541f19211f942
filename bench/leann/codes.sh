#!/usr/bin/env bash
# PQ code size sweep (vectorstore.leann.code_bytes / code_bits) on scifact: for each shape, build exact + leann
# once, then cold-cache queries with the adaptive rerank (the default) and report recall, latency, recomputed
# embeddings per query and the codes file size.  Writes bench/leann/RESULTS-codes.md (or RESULTS-codes-bert.md).
#
#   bench/leann/codes.sh [--bert] [NQ] [SHAPE...]     SHAPE = BYTES:BITS, e.g. 128:8 64:8 64:4 128:4 (0 = auto)
#   BATCH=N: add the corpus N records at a time (automatic rebuilds + incremental inserts, as ingest does)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=builtin
[[ ${1:-} == --bert ]] && { MODE=bert; shift; }
DATA=${RAGGED_SHARED:-../shared}/data/scifact
[[ -f $DATA/corpus.jsonl ]] || { echo "skip: $DATA/corpus.jsonl is absent"; exit 77; }
NQ=${1:-200}
[[ $# -gt 0 ]] && shift
SHAPES=${*:-0:0 128:8 64:8 64:4 128:4 32:4}
make -s -j2 all
BIN=build/bench_leann
bench/cc.sh bench/leann/bench_leann.c $BIN
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
OUT=bench/leann/RESULTS-codes${BATCH:+-batch$BATCH}.md
if [[ $MODE == bert ]]; then
    OUT=bench/leann/RESULTS-codes-bert.md
    VOCAB=${RAGGED_SHARED:-../shared}/models/all-MiniLM-L6-v2/vocab.txt
    MODEL=$W/all-MiniLM-L6-v2
    /usr/bin/python3 tests/ref/make_tiny_bert.py "$MODEL" --seed 2024 --layers 6 --hidden 384 --heads 12 \
        --intermediate 1536 --max-seq-length 256 --max-position 512 --vocab-file "$VOCAB" --std 0.05 >/dev/null
    export RAGGED_BENCH_PROVIDER=bert RAGGED_BENCH_MODEL=$MODEL RAGGED_BENCH_DOCS=${RAGGED_BENCH_DOCS:-1000}
fi
{
echo "# leann PQ code shapes ($MODE embedder, scifact)"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench/leann || echo "+dirty")"
echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load average at start: $(load)"
echo "- $NQ queries, cold cache (cache_mb 0), adaptive rerank, search_complexity 1000; recall against the exact backend"
echo "- shape BYTES:BITS = vectorstore.leann.code_bytes:code_bits (0 = automatic); build_cpu_s is the whole leann build"
echo "  (graph + PQ training + encoding); codes_bytes is the size of codes-G.bin"
echo
for s in $SHAPES; do
    rm -rf "$W/c"
    export RAGGED_BENCH_CODE_BYTES=${s%%:*} RAGGED_BENCH_CODE_BITS=${s##*:}
    [[ $RAGGED_BENCH_CODE_BITS == 0 ]] && RAGGED_BENCH_CODE_BITS=auto
    echo "### shape $s"
    echo
    echo '```'
    $BIN build "$W/c" "$DATA/corpus.jsonl" exact,leann "${BATCH:-100000}"
    echo "codes_bytes=$(stat -c %s "$W"/c/leann/*/codes-*.bin 2>/dev/null | head -n1)"
    echo '```'
    echo
    $BIN query "$W/c" "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$NQ" 0 1000 | grep -v '^\(disk\|component\|details\)'
    echo
done
echo "load average at end: $(load)"
} | tee "$OUT"
