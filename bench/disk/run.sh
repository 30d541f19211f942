#!/usr/bin/env bash
# Disk footprint of one SciFact collection (default embedder and chunking),
# leann vs a real ChromaDB server measured in the same run, by component.
# Writes bench/disk/RESULTS.md.
#
# usage: bench/disk/run.sh [--no-chroma]
#   --no-chroma   reuse the ChromaDB bytes of the previous run (bench/out/disk/chroma.bytes)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CHROMA=1
[[ ${1:-} == --no-chroma ]] && CHROMA=0
make -s all
DOCS=$(bench/scifact/prepare.sh)
OUT=$ROOT/bench/out/disk
mkdir -p "$OUT"
# A private copy: rebuilding the tree during the run cannot change the binary measured.
cp "$ROOT/build/ragged" "$OUT/ragged"
RAGGED=$OUT/ragged
rm -rf "$OUT/data" "$OUT/config"
export XDG_DATA_HOME=$OUT/data XDG_CONFIG_HOME=$OUT/config
unset RAGGED_CONFIG
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
commit=$(git rev-parse --short HEAD)$(git diff --quiet || echo "+dirty")
date=$(date -u '+%Y-%m-%d %H:%M UTC')
load1=$(cut -d' ' -f1 /proc/loadavg)

t0=$(date +%s.%N)
"$RAGGED" ingest "$DOCS" --collection scifact --backend leann >"$OUT/leann-ingest.log" 2>&1
t1=$(date +%s.%N)

LDIR=$XDG_DATA_HOME/ragged/leann
leann_bytes=$(du -sb "$LDIR/scifact" | cut -f1)
lex_bytes=$(du -sb "$LDIR"/.lexical/scifact.bm25 | cut -f1)
records=$("$RAGGED" backend stats --collection scifact --backend leann | sed -n 's/.*: \([0-9]*\) records.*/\1/p' | head -n1)
"$RAGGED" backend stats --collection scifact --backend leann >"$OUT/leann-stats.txt"

if [[ $CHROMA == 1 ]]; then
    CPID=$OUT/chroma.pid
    stop_chroma() { [[ -f $CPID ]] && scripts/chroma-server.sh stop --pid-file "$CPID" >/dev/null 2>&1 || true; }
    trap stop_chroma EXIT
    rm -rf "$OUT/chroma"; mkdir -p "$OUT/chroma"
    url=$(scripts/chroma-server.sh start --port auto --path "$OUT/chroma" --pid-file "$CPID" 2>"$OUT/chroma.log")
    RAGGED_VECTORSTORE_CHROMADB_URL=$url "$RAGGED" ingest "$DOCS" --collection scifact --backend chromadb \
        >"$OUT/chroma-ingest.log" 2>&1
    stop_chroma; trap - EXIT
    du -sb "$OUT/chroma" | cut -f1 >"$OUT/chroma.bytes"
    # ChromaDB by component: HNSW segment files, and its SQLite by table
    # (dbstat; documents are rows of embedding_metadata, key chroma:document).
    {
        echo "hnsw_segments $(find "$OUT/chroma" -mindepth 2 -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')"
        sqlite3 "$OUT/chroma/chroma.sqlite3" "SELECT CASE
                WHEN name LIKE 'embedding_fulltext_search%' THEN 'fulltext_index'
                WHEN name LIKE '%embedding_metadata%' THEN 'documents_and_metadata'
                WHEN name LIKE 'embeddings_queue%' THEN 'embeddings_queue'
                WHEN name LIKE '%embeddings%' THEN 'embedding_ids'
                ELSE 'other_sqlite' END AS k, sum(pgsize) FROM dbstat GROUP BY k ORDER BY 2 DESC" | tr '|' ' '
        echo "sqlite_free_and_wal $(( $(stat -c %s "$OUT/chroma/chroma.sqlite3") - $(sqlite3 "$OUT/chroma/chroma.sqlite3" 'SELECT sum(pgsize) FROM dbstat') + $(cat "$OUT/chroma/chroma.sqlite3-wal" 2>/dev/null | wc -c) ))"
    } >"$OUT/chroma.components"
    cside=$(find "$XDG_DATA_HOME"/ragged/lexical/chromadb -name 'scifact.bm25' 2>/dev/null || true)
    if [[ -n $cside ]]; then du -cb $cside | tail -n1 | cut -f1; else echo 0; fi >"$OUT/chroma-sidecar.bytes"
fi
chroma_bytes=$(cat "$OUT/chroma.bytes")
chroma_side=$(cat "$OUT/chroma-sidecar.bytes" 2>/dev/null || echo 0)
# The BM25 index by component: segment files (postings, lengths, term
# dictionary, ids) and the SQLite file with the manifest and journal.
lex_segs=$(find "$LDIR/.lexical/scifact.bm25" -name '*.seg' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
lex_nsegs=$(find "$LDIR/.lexical/scifact.bm25" -name '*.seg' | wc -l)
lex_rest=$((lex_bytes - lex_segs))
raw_text=$(find "$DOCS" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
load2=$(cut -d' ' -f1 /proc/loadavg)
dim=$(sed -n 's/.*"dimension":\([0-9]*\).*/\1/p' "$OUT/leann-stats.txt")

{
echo "## Disk footprint of SciFact (\`bench/disk/run.sh\`)"
echo
echo "Machine: $machine. Commit $commit, $date. 1-minute load average before/after: $load1 -> $load2."
echo "Default config (embedder $(sed -n 's/.*embedder \([^,]*\),.*/\1/p' "$OUT/leann-stats.txt" | head -n1), ${dim} dimensions), $records chunks."
echo "ChromaDB: a real server (npm chromadb, scripts/chroma-server.sh), whole persist directory after the same ingest$([[ $CHROMA == 1 ]] || echo ' (bytes from the previous run)')."
echo
echo "| component | bytes | bytes/chunk |"
echo "|---|---:|---:|"
sed -n 's/^    \([a-z()]*\) *\([0-9]*\)$/\1 \2/p' "$OUT/leann-stats.txt" | while read -r name b; do
    echo "| $name | $b | $((b / records)) |"
done
echo "| **leann collection directory** | **$leann_bytes** | **$((leann_bytes / records))** |"
echo "| BM25: segments ($lex_nsegs; postings, lengths, term dictionary, ids) | $lex_segs | $((lex_segs / records)) |"
echo "| BM25: index.sqlite (manifest, journal) and lock | $lex_rest | $((lex_rest / records)) |"
echo "| **BM25 index (.lexical/scifact.bm25, every backend)** | **$lex_bytes** | **$((lex_bytes / records))** |"
echo "| **leann + BM25 (the default hybrid config)** | **$((leann_bytes + lex_bytes))** | **$(((leann_bytes + lex_bytes) / records))** |"
if [[ -f $OUT/chroma.components ]]; then
    while read -r name b; do echo "| ChromaDB: $name | $b | $((b / records)) |"; done <"$OUT/chroma.components"
fi
echo "| **ChromaDB persist directory** | **$chroma_bytes** | **$((chroma_bytes / records))** |"
[[ $CHROMA == 1 ]] && echo "| ragged's BM25 index for the chromadb collection | $chroma_side | $((chroma_side / records)) |"
echo
awk -v l="$leann_bytes" -v x="$lex_bytes" -v c="$chroma_bytes" -v cs="$chroma_side" -v t="$raw_text" -v fresh="$CHROMA" 'BEGIN {
    printf "leann / ChromaDB: **%.2f%%**; leann + BM25 / ChromaDB: **%.2f%%** (goal 3.5%%, stretch 3%%)", 100*l/c, 100*(l+x)/c
    if (cs > 0 && fresh) printf "; leann + BM25 / (ChromaDB + its BM25 index): %.2f%%", 100*(l+x)/(c+cs)
    printf ".\nBM25 index / raw text of the corpus (%d bytes): **%.1f%%** (goal 15%%).\n", t, 100*x/t }'
echo
echo "leann ingest wall time: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s."
# Hand-written reading of a run (it names the commit it was written for).
[[ -f $ROOT/bench/disk/analysis.md ]] && cat "$ROOT/bench/disk/analysis.md"
} >"$ROOT/bench/disk/RESULTS.md"
cat "$ROOT/bench/disk/RESULTS.md"
