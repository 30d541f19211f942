#!/usr/bin/env bash
# The native BM25 index against the SQLite FTS5 sidecar it replaced, on the
# Debian documentation corpus of bench/scale (read in place by ragged's own
# readers and chunker; no embedding), in one process: bytes, build CPU,
# first query, top-10 p50/p95.  Writes bench/bm25/RESULTS.md.
#
#   bench/bm25/run.sh [MAX_CHUNKS [NQ]]     (default 262144 chunks, 300 queries)
#
# The FTS5 code is src/lexical.c of FTS5_COMMIT (the last commit with the
# sidecar), its symbols renamed fts5_lexical_* so both link into one driver.
# The machine is shared: load averages are recorded with the numbers.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
MAX=${1:-262144} NQ=${2:-300}
FTS5_COMMIT=${FTS5_COMMIT:-ddb9f61}
DIRS=(/usr/share/doc/linux-doc-6.1/html /usr/share/doc/python3.11/html /usr/share/doc/rust-doc
      /usr/share/doc/openjdk-17-jre-headless/api /usr/share/doc/python-scipy-doc/html
      /usr/share/doc/libboost1.81-doc/doc /usr/share/qt5/doc /usr/share/doc/postgresql-doc-15/html
      /usr/share/doc/python-django-doc/html)
have=()
for d in "${DIRS[@]}"; do [[ -d $d ]] && have+=("$d"); done
((${#have[@]})) || { echo "skip: no corpus; run bench/scale/install-corpus.sh first" >&2; exit 77; }
make -s -j2 all
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ragged-bench-bm25-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
git show "$FTS5_COMMIT:src/lexical.c" | sed 's/rg_lexical/fts5_lexical/g; s/RG_LEXICAL/FTS5_LEXICAL/g; s/"lexical.h"/"fts5_lexical.h"/' \
    >"$WORK/fts5_lexical.c"
git show "$FTS5_COMMIT:src/lexical.h" | sed 's/rg_lexical/fts5_lexical/g; s/RG_LEXICAL/FTS5_LEXICAL/g' >"$WORK/fts5_lexical.h"
PKGS="yaml-0.1 sqlite3 jansson libutf8proc libxml-2.0 libzstd"
# shellcheck disable=SC2046
cc -std=c17 -D_GNU_SOURCE -O2 -g -Isrc -Iinclude -I"$WORK" $(pkg-config --cflags $PKGS) -pthread \
    bench/bm25/bench_bm25.c "$WORK/fts5_lexical.c" build/libragged.a $(pkg-config --libs $PKGS) \
    $(pkg-config --libs libcurl 2>/dev/null) -lstemmer -lm -o "$WORK/bench_bm25"
export XDG_DATA_HOME=$WORK/data XDG_CONFIG_HOME=$WORK/config
unset RAGGED_CONFIG
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo "+dirty")
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
L0=$(cut -d' ' -f1-3 /proc/loadavg)
D0=$(date -u '+%Y-%m-%d %H:%M UTC')
nice "$WORK/bench_bm25" "$WORK/idx" "$MAX" "$NQ" "${have[@]}" | tee "$WORK/out.txt"
L1=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo "## BM25 index: native segments vs SQLite FTS5 (\`bench/bm25/run.sh\`)"
    echo
    echo "Machine: $CPU, $(nproc) cores shared with other jobs (load average before: $L0; after: $L1)."
    echo "Commit $COMMIT (FTS5 side: src/lexical.c of $FTS5_COMMIT), $D0. Corpus: ${have[*]}."
    echo "Both indexes built in one process from the same chunks (ragged's readers and chunker, default chunking),"
    echo "in batches of 4,096 as ingest writes them; queries: $NQ sentences of 5-20 words sampled from the chunks (seed 42), k 10, no filter."
    echo
    echo '```'
    cat "$WORK/out.txt"
    echo '```'
} >bench/bm25/RESULTS.md
