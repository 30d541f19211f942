#!/usr/bin/env bash
# The filter benchmark: filtered queries (vector mode, k 10, as `ragged query
# --where` runs them) on a leann collection and on the exact backend's copy
# of the same records, at 1% and 10% selectivity (bench/filter/filters.py),
# with this build and, optionally, with an older one (BASE_DRIVER: a
# bench_filter built against that build's libragged.a) measured first on
# the same collection before this build upgrades it.
#
#   bench/filter/run.sh DATA_HOME COLLECTION [NQ]
#
# DATA_HOME is an $XDG_DATA_HOME holding ragged/leann/COLLECTION and
# ragged/exact/COLLECTION (ingested from the same files, e.g. the 256K-chunk
# Debian documentation of bench/scale/run.sh, or SciFact).  Set
# RAGGED_CONFIG for the configuration the collections were written with.
# Prints a results block (machine, commit, load next to every run).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA_HOME=$1 COLL=$2 NQ=${3:-100}
cd "$ROOT"
make -s -j2 all
bench/cc.sh bench/filter/bench_filter.c build/bench_filter
OUT=$ROOT/bench/out/filter/$COLL
mkdir -p "$OUT"
export XDG_DATA_HOME=$DATA_HOME
EXACT_DB=$DATA_HOME/ragged/exact/$COLL/exact.sqlite
python3 bench/filter/filters.py "$EXACT_DB" 42 >"$OUT/filters.tsv"
python3 bench/scale/queries.py "$EXACT_DB" "$NQ" 42 >"$OUT/queries.txt"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores; commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo "+dirty"); $(date -u '+%Y-%m-%d %H:%M UTC')"
cut -f1,2 "$OUT/filters.tsv" | tr '\t' ' ' | sed 's/^/filter: /'
run() {   # LABEL DRIVER BACKENDS
    echo "== $1 (load before: $(load))"
    /usr/bin/time -f 'time_user=%U time_sys=%S wall=%e' "$2" "$COLL" "$OUT/filters.tsv" "$OUT/queries.txt" "$3" 2>&1
    echo "(load after: $(load))"
}
[[ -n ${BASE_DRIVER:-} ]] && run "before (${BASE_LABEL:-base})" "$BASE_DRIVER" exact,leann
run "this build" build/bench_filter exact,leann
