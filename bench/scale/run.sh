#!/usr/bin/env bash
# The scale benchmark: documentation that Debian packages ship (HTML of the
# Linux kernel, Python 3.11, Rust, OpenJDK 17 API, SciPy, Boost, Qt 5, PostgreSQL 15
# and Django docs), read in place with
# `ragged ingest` (the product's own walker, HTML reader and chunker, default
# chunking) into the exact backend, then a subset of the same files into the
# leann backend and into a second exact collection as its reference.
# Builtin embedder (default configuration).  Writes bench/scale/RESULTS.md.
#
#   bench/scale/run.sh [--leann-chunks N] [--queries N] [--skip-full]
#
#   --leann-chunks N   size of the leann subset (default 20000; 0 = whole corpus)
#   --queries N        queries sampled from the corpus with seed 42 (default 300)
#   --skip-full        reuse the full exact collection of an earlier run
#
# Install the corpus first: bench/scale/install-corpus.sh.  Outputs (about
# 3 GB) go to bench/out/scale.  The machine is shared: load averages and CPU
# times are recorded next to every wall-clock figure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
LEANN_CHUNKS=20000 NQ=300 SKIP_FULL=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --leann-chunks) LEANN_CHUNKS=$2; shift 2 ;;
        --queries) NQ=$2; shift 2 ;;
        --skip-full) SKIP_FULL=1; shift ;;
        *) echo "usage: $0 [--leann-chunks N] [--queries N] [--skip-full]" >&2; exit 2 ;;
    esac
done
DIRS=(/usr/share/doc/linux-doc-6.1/html /usr/share/doc/python3.11/html /usr/share/doc/rust-doc
      /usr/share/doc/openjdk-17-jre-headless/api /usr/share/doc/python-scipy-doc/html
      /usr/share/doc/libboost1.81-doc/doc /usr/share/qt5/doc /usr/share/doc/postgresql-doc-15/html
      /usr/share/doc/python-django-doc/html)
for d in "${DIRS[@]}"; do
    [[ -d $d ]] || { echo "skip: $d is absent; run bench/scale/install-corpus.sh first" >&2; exit 77; }
done
make -s -j2 all
bench/cc.sh bench/scale/bench_scale.c build/bench_scale
# The commit the binaries were built from, recorded with every stage (a
# --skip-full run reuses stages measured by an earlier build).
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo "+dirty")
RAGGED=$ROOT/build/ragged
OUT=$ROOT/bench/out/scale
mkdir -p "$OUT"
export XDG_DATA_HOME=$OUT/data XDG_CONFIG_HOME=$OUT/config
unset RAGGED_CONFIG
DATA=$OUT/data/ragged
load() { cut -d' ' -f1-3 /proc/loadavg; }

# One timed ingest: NAME BACKEND COLLECTION PATHS... -> $OUT/NAME.json, $OUT/NAME.time
timed_ingest() {
    local name=$1 backend=$2 coll=$3; shift 3
    echo "bench: $name: ingest into $backend/$coll (load $(load))" >&2
    printf 'commit=%s\nload_before=%s\n' "$COMMIT" "$(load)" >"$OUT/$name.load"
    /usr/bin/time -v -o "$OUT/$name.time" "$RAGGED" ingest "$@" --backend "$backend" --collection "$coll" \
        --format json --quiet >"$OUT/$name.json"
    echo "load_after=$(load)" >>"$OUT/$name.load"
}

if [[ $SKIP_FULL == 0 ]]; then
    rm -rf "$DATA/exact/docs" "$DATA/exact/.lexical/docs".*
    timed_ingest full-exact exact docs "${DIRS[@]}"
    # Nothing changed: what a repeated `ragged ingest` of the same tree costs.
    timed_ingest full-exact-again exact docs "${DIRS[@]}"
    # The BM25 index is updated by ingest; a rebuild from the store is timed
    # alone (what `collections` does when the index is missing or stale).
    python3 bench/scale/queries.py "$DATA/exact/docs/exact.sqlite" "$NQ" 42 >"$OUT/queries-full.txt"
    echo "bench: full-exact queries (load $(load))" >&2
    { echo "commit=$COMMIT load_before=$(load)"
      /usr/bin/time -f 'time_user=%U time_sys=%S wall=%e maxrss_kb=%M' build/bench_scale docs "$OUT/queries-full.txt" exact 2>&1
      echo "load_after=$(load)"; } >"$OUT/full-exact-query.txt"
fi

# The leann subset: every k-th file of the sorted file list, k chosen from the
# chunk counts of the full run so that the subset holds about LEANN_CHUNKS.
python3 - "$DATA/exact/docs/exact.sqlite" "$LEANN_CHUNKS" >"$OUT/subset-files.txt" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
per = {}
for (m,) in db.execute("SELECT metadata FROM records"):
    m = json.loads(m)
    per[m["document_path"]] = m["total_chunks"]
files = sorted(per)
total, want = sum(per.values()), int(sys.argv[2])
step = 1 if want <= 0 or want >= total else max(1, round(total / want))
print("\n".join(files[::step]))
PY
mapfile -t SUBSET <"$OUT/subset-files.txt"
# The whole corpus: name the directories (62,000 file names exceed the
# argument list limit).
[[ $LEANN_CHUNKS -le 0 ]] && SUBSET=("${DIRS[@]}")
rm -rf "$DATA/leann/subset" "$DATA/exact/subset" "$DATA"/*/.lexical/subset.*
timed_ingest subset-exact exact subset "${SUBSET[@]}"
timed_ingest subset-leann leann subset "${SUBSET[@]}"
python3 bench/scale/queries.py "$DATA/exact/subset/exact.sqlite" "$NQ" 42 >"$OUT/queries-subset.txt"
echo "bench: subset queries, exact then leann (load $(load))" >&2
{ echo "commit=$COMMIT load_before=$(load)"
  /usr/bin/time -f 'time_user=%U time_sys=%S wall=%e maxrss_kb=%M' build/bench_scale subset "$OUT/queries-subset.txt" exact,leann 2>&1
  echo "load_after=$(load)"; } >"$OUT/subset-query.txt"

# Disk by component (backend stats), the raw text size, and the machine.
"$RAGGED" backend stats --backend exact --format json --quiet >"$OUT/stats-exact.json"
"$RAGGED" backend stats --backend leann --format json --quiet >"$OUT/stats-leann.json"
{
    echo "machine=$(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM"
    echo "commit=$COMMIT"
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "corpus_bytes=$(du -sb --apparent-size "${DIRS[@]}" | awk '{s+=$1} END {print s}')"
    for d in "${DIRS[@]}"; do echo "package_dir=$d $(dpkg -S "$d" 2>/dev/null | head -n1 | cut -d: -f1)"; done
    echo "leann_chunks_target=$LEANN_CHUNKS queries=$NQ"
} >"$OUT/meta.txt"
python3 bench/scale/render.py "$OUT" >bench/scale/RESULTS.md
echo "wrote bench/scale/RESULTS.md" >&2
