#!/usr/bin/env bash
# The leann build benchmark at scale (issue 16, items 3 and 5): the whole
# Debian-doc corpus of run.sh ingested with defaults into the exact backend
# (the oracle) and into leann, one after the other in the same run, each
# under /usr/bin/time -v (CPU = user + sys, peak RSS); then vector-mode
# queries through bench_scale (exact as reference: recall@10, p50).
# Appends one block of results to $OUT/build-results.txt.
#
#   bench/scale/build.sh [--reuse-exact] [--queries N] [--tag TAG] [--only B]
#                        [--dirs "DIR..."] [--out DIR]
#
#   --reuse-exact   keep the exact collection of an earlier run (its ingest
#                   stage is then not re-measured; say so next to the ratio)
#   --queries N     queries sampled with seed 42 (default 200)
#   --tag TAG       label of this run in the results (default: the commit)
#   --only B        ingest only backend B (exact or leann); queries need both
#   --dirs "D..."   ingest these directories instead of the whole corpus
#                   (a subset for iterating; the results say so)
#   --out DIR       results and data under DIR (default bench/out/scale-build)
#   --compact       then time `collections compact` of the leann collection
#                   (above vectorstore.leann.build_memory_mb it streams) and
#                   query it again
#   --ragged BIN    ingest with this ragged binary (another commit's build,
#                   for a same-run comparison; give --tag too)
#
# While an ingest or the compact runs, a monitor samples the process every 5 s
# (CPU seconds, RSS, peak RSS, load) into $OUT/$TAG-$NAME-monitor.txt
# ($TAG-compact-monitor.txt): where the memory peaks is what the bound of
# issue 16 item 5 is about.
#
# Separate from run.sh (which the BM25 measurements use) so both can change.
# The binary is copied first: rebuilding the tree during a run is safe.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
REUSE=0 NQ=200 TAG="" ONLY="" CUSTOM_DIRS="" OUT="" BIN="" COMPACT=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --reuse-exact) REUSE=1; shift ;;
        --queries) NQ=$2; shift 2 ;;
        --tag) TAG=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --dirs) CUSTOM_DIRS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --compact) COMPACT=1; shift ;;
        --ragged) BIN=$(realpath "$2"); shift 2 ;;
        *) echo "usage: $0 [--reuse-exact] [--queries N] [--tag TAG] [--only B] [--dirs \"DIR...\"] [--out DIR]" >&2; exit 2 ;;
    esac
done
DIRS=(/usr/share/doc/linux-doc-6.1/html /usr/share/doc/python3.11/html /usr/share/doc/rust-doc
      /usr/share/doc/openjdk-17-jre-headless/api /usr/share/doc/python-scipy-doc/html
      /usr/share/doc/libboost1.81-doc/doc /usr/share/qt5/doc /usr/share/doc/postgresql-doc-15/html
      /usr/share/doc/python-django-doc/html)
if [[ -n $CUSTOM_DIRS ]]; then read -r -a DIRS <<<"$CUSTOM_DIRS"; fi
for d in "${DIRS[@]}"; do
    [[ -d $d ]] || { echo "skip: $d is absent; run bench/scale/install-corpus.sh first" >&2; exit 77; }
done
make -s -j2 all
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo "+dirty")
[[ -z $BIN ]] || COMMIT="binary:$BIN"
[[ -n $TAG ]] || TAG=$COMMIT
[[ -n $OUT ]] || OUT=$ROOT/bench/out/scale-build
mkdir -p "$OUT/bin"
cp "${BIN:-build/ragged}" "$OUT/bin/ragged-$TAG"
bench/cc.sh bench/scale/bench_scale.c "$OUT/bin/bench_scale-$TAG"
RAGGED=$OUT/bin/ragged-$TAG
export XDG_DATA_HOME=$OUT/data XDG_CONFIG_HOME=$OUT/config
unset RAGGED_CONFIG
DATA=$OUT/data/ragged
RES=$OUT/build-results.txt
load() { cut -d' ' -f1-3 /proc/loadavg; }
say() { echo "$*" | tee -a "$RES"; }

# TPID MON: samples the child of /usr/bin/time (pid TPID) every 5 s into MON
# until it ends.
monitor() {
    local tpid=$1 mon=$2 pid=""
    : >"$mon"
    while kill -0 "$tpid" 2>/dev/null; do
        [[ -n $pid ]] || pid=$(pgrep -P "$tpid" | head -n1 || true)
        if [[ -n $pid && -r /proc/$pid/stat ]]; then
            # fields 14 and 15 of stat: utime and stime in clock ticks
            awk -v t="$(date -u +%H:%M:%S)" -v hz="$(getconf CLK_TCK)" -v l="$(load)" \
                -v rss="$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null)" \
                -v hwm="$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null)" \
                '{ sub(/^.*\) /, ""); printf "%s cpu_s=%.0f rss_mb=%d hwm_mb=%d load=[%s]\n", t, ($12 + $13) / hz, rss / 1024, hwm / 1024, l }' \
                "/proc/$pid/stat" >>"$mon" 2>/dev/null || true
        fi
        sleep 5
    done
}

# NAME BACKEND: ingest of the whole corpus into collection docs.
timed_ingest() {
    local name=$1 backend=$2 before
    rm -rf "$DATA/$backend/docs" "$DATA/$backend/.lexical/docs" "$DATA/$backend/.lexical/docs".*
    before=$(load)
    echo "bench: $TAG $name: ingest into $backend (load $before)" >&2
    nice /usr/bin/time -v -o "$OUT/$TAG-$name.time" "$RAGGED" ingest "${DIRS[@]}" --backend "$backend" \
        --collection docs --format json --quiet >"$OUT/$TAG-$name.json" &
    local tpid=$!
    monitor "$tpid" "$OUT/$TAG-$name-monitor.txt"
    wait "$tpid"
    local t=$OUT/$TAG-$name.time
    local u s w r
    u=$(sed -n 's/.*User time (seconds): //p' "$t"); s=$(sed -n 's/.*System time (seconds): //p' "$t")
    w=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$t"); r=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$t")
    say "ingest tag=$TAG commit=$COMMIT backend=$backend cpu_s=$(echo "$u + $s" | bc) user=$u sys=$s wall=$w peak_rss_mb=$((r / 1024)) load_before=[$before] load_after=[$(load)] chunks=$(jq -r '.chunks_written // empty' "$OUT/$TAG-$name.json" 2>/dev/null | head -n1)"
}

{ echo; echo "== $(date -u '+%Y-%m-%d %H:%M UTC') tag=$TAG commit=$COMMIT machine=$(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores"; } >>"$RES"
[[ -z $CUSTOM_DIRS ]] || say "corpus: subset: ${DIRS[*]}"
if [[ $ONLY == leann ]]; then
    :
elif [[ $REUSE == 0 || ! -d $DATA/exact/docs ]]; then
    timed_ingest exact exact
else
    say "exact: reused from an earlier run (not re-measured)"
fi
[[ $ONLY == exact ]] && exit 0
timed_ingest leann leann
[[ -d $DATA/exact/docs ]] || exit 0
du -sb "$DATA/leann/docs" | awk '{print "leann_dir_bytes=" $1}' | tee -a "$RES"
python3 bench/scale/queries.py "$DATA/exact/docs/exact.sqlite" "$NQ" 42 >"$OUT/queries.txt"
# NAME: vector and hybrid queries against exact, results tagged NAME.
queries() {
    local before
    before=$(load)
    /usr/bin/time -f 'time_user=%U time_sys=%S wall=%e maxrss_kb=%M' nice "$OUT/bin/bench_scale-$TAG" docs \
        "$OUT/queries.txt" exact,leann >"$OUT/$1-query.txt" 2>&1
    sed "s/^/query tag=$1 load_before=[$before] load_after=[$(load)] /" "$OUT/$1-query.txt" | tee -a "$RES"
}
queries "$TAG"
if [[ $COMPACT == 1 ]]; then
    before=$(load)
    t=$OUT/$TAG-compact.time
    nice /usr/bin/time -v -o "$t" "$RAGGED" collections compact docs --backend leann >/dev/null &
    tpid=$!
    monitor "$tpid" "$OUT/$TAG-compact-monitor.txt"
    wait "$tpid"
    u=$(sed -n 's/.*User time (seconds): //p' "$t"); s=$(sed -n 's/.*System time (seconds): //p' "$t")
    w=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$t"); r=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$t")
    say "compact tag=$TAG commit=$COMMIT cpu_s=$(echo "$u + $s" | bc) user=$u sys=$s wall=$w peak_rss_mb=$((r / 1024)) load_before=[$before] load_after=[$(load)]"
    du -sb "$DATA/leann/docs" | awk '{print "leann_dir_bytes_after_compact=" $1}' | tee -a "$RES"
    queries "$TAG-compacted"
fi
