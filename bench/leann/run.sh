#!/usr/bin/env bash
# leann benchmark on ../shared/data/scifact (see bench/leann/bench_leann.c).
#   bench/leann/run.sh [NQ] [BATCH]      writes bench/leann/RESULTS.md
# Uses the builtin embedder unless RAGGED_BENCH_PROVIDER/RAGGED_BENCH_MODEL say
# otherwise.  The machine is shared: load average is recorded with the results.
set -euo pipefail
cd "$(dirname "$0")/../.."
NQ=${1:-200}
BATCH=${2:-64}
DATA=${RAGGED_SHARED:-../shared}/data/scifact
[[ -f $DATA/corpus.jsonl ]] || { echo "skip: $DATA/corpus.jsonl is absent"; exit 77; }
make -s -j2 build/libragged.a
PKGS="yaml-0.1 sqlite3 jansson libutf8proc libxml-2.0 poppler-glib libzstd openblas"
BIN=build/bench_leann
cc -std=c17 -D_GNU_SOURCE -O2 -g -Isrc $(pkg-config --cflags $PKGS) -pthread bench/leann/bench_leann.c \
   build/libragged.a $(pkg-config --libs $PKGS) $(pkg-config --libs libcurl 2>/dev/null) -lstemmer -lm -o $BIN
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
OUT=bench/leann/RESULTS.md
{
echo "# leann benchmark (scifact)"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit: $(git rev-parse --short HEAD)"
echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GB RAM; load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared with other jobs)"
echo "- embedder: ${RAGGED_BENCH_PROVIDER:-builtin} ${RAGGED_BENCH_MODEL:-} ; corpus: $(wc -l <$DATA/corpus.jsonl) documents (title + \" \" + text, one record each); $NQ queries from queries.jsonl"
echo "- defaults: graph_degree 32, pruned_degree 12, hub_fraction 0.02, search_complexity 100, rerank_candidates 0 (auto)"
echo
echo "## Build (ingest of pre-computed embeddings, batches of $BATCH)"
echo
echo '```'
$BIN build "$W" "$DATA/corpus.jsonl" exact "$BATCH"
/usr/bin/time -f "leann process: max RSS %M KB, wall %e s" $BIN build "$W" "$DATA/corpus.jsonl" leann "$BATCH" 2>&1
$BIN build "$W/bulk" "$DATA/corpus.jsonl" leann 100000 2>&1 | sed 's/^/one add() of everything: /'
echo '```'
echo
echo "## Queries, default settings, cold cache (cache_mb 0: every candidate recomputed, as in a one-shot CLI query)"
echo
echo "At this size the default scans all PQ codes (scan_threshold 16384); search_complexity only changes the"
echo "rerank size max(k + 20, L / 4)."
echo
$BIN query "$W" "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$NQ" 0 20,100,200,400 | sed 's/^\(queries\|disk\|component\|details\)/    \1/'
echo
echo "## Queries, graph walk forced (scan_threshold 0), cold cache"
echo
RAGGED_BENCH_SCAN=0 $BIN query "$W" "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$NQ" 0 50,100,200,400,800 | grep -v '^\(disk\|component\|details\)' | sed 's/^queries/    queries/'
echo
echo "## Queries, default settings, default cache (64 MB), second pass over the same queries"
echo
$BIN query "$W" "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$NQ" 64 100,100 | grep -v '^\(disk\|component\|details\)' | sed 's/^queries/    queries/'
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT"
