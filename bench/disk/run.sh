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
RAGGED=$ROOT/build/ragged
DOCS=$(bench/scifact/prepare.sh)
OUT=$ROOT/bench/out/disk
mkdir -p "$OUT"
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
lex_bytes=$(du -cb "$LDIR"/.lexical/scifact.* | tail -n1 | cut -f1)
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
fi
chroma_bytes=$(cat "$OUT/chroma.bytes")
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
echo "| lexical sidecar (.lexical/, BM25 for every backend) | $lex_bytes | $((lex_bytes / records)) |"
echo "| ChromaDB persist directory | $chroma_bytes | $((chroma_bytes / records)) |"
echo
awk -v l="$leann_bytes" -v x="$lex_bytes" -v c="$chroma_bytes" 'BEGIN {
    printf "leann / ChromaDB: **%.2f%%** (goal 3%%, stretch 2%%); with the lexical sidecar: %.2f%%.\n", 100*l/c, 100*(l+x)/c }'
echo
echo "leann ingest wall time: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s."
} >"$ROOT/bench/disk/RESULTS.md"
cat "$ROOT/bench/disk/RESULTS.md"
