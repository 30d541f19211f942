#!/usr/bin/env bash
# Start-up cost of the `ragged` binary: wall and CPU time (user + sys) of
# `ragged --version`, `ragged query --mode vector` and `--mode hybrid` on the
# ingested sample collection (samples/pantry, default leann backend and
# builtin embedder), before and after in the same run, runs interleaved.
# "Before" is BASE (default 62fee9f, the last commit that linked
# poppler-glib, libcurl and OpenBLAS), built from `git archive` in
# bench/out/startup/; "after" is this checkout.  Also times
# empty programs linked against library sets, to show what each costs.
# Writes bench/startup/RESULTS.md.
#
# usage: bench/startup/run.sh [RUNS]     (default 30; BASE=commit to override)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RUNS=${1:-30}
BASE=${BASE:-62fee9f}
OUT=$ROOT/bench/out/startup
mkdir -p "$OUT"
CC=${CC:-cc}

make -s build/ragged >/dev/null
"$CC" -O2 -Wall -o "$OUT/spawn_time" bench/startup/spawn_time.c

base_short=$(git rev-parse --short "$BASE")
BEFORE_SRC=$OUT/before-$base_short
if [[ ! -x $BEFORE_SRC/build/ragged ]]; then
    rm -rf "$BEFORE_SRC"; mkdir -p "$BEFORE_SRC"
    git archive "$BASE" | tar -x -C "$BEFORE_SRC"
    echo "building $base_short in $BEFORE_SRC" >&2
    make -s -C "$BEFORE_SRC" -j2 build/ragged >/dev/null
fi
BEFORE=$BEFORE_SRC/build/ragged
AFTER=$ROOT/build/ragged

# Each binary queries a collection it ingested itself.
unset RAGGED_CONFIG
for side in before after; do
    bin=$BEFORE; [[ $side == after ]] && bin=$AFTER
    rm -rf "$OUT/$side-data"
    XDG_DATA_HOME=$OUT/$side-data XDG_CONFIG_HOME=$OUT/$side-data/config HOME=$OUT/$side-data \
        "$bin" ingest samples/pantry --collection pantry >/dev/null 2>&1
done
Q="How do I back up the database?"
env_for() { echo "XDG_DATA_HOME=$OUT/$1-data XDG_CONFIG_HOME=$OUT/$1-data/config HOME=$OUT/$1-data"; }

machine="$(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Makefile mk || echo "+dirty")
date=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# spawn_time prints one line per command: wall_median wall_min cpu_median cpu_min (ms)
declare -A R
measure() { # NAME ARGS...: before and after, interleaved
    local name=$1; shift
    local lines
    # shellcheck disable=SC2046
    lines=$("$OUT/spawn_time" "$RUNS" env $(env_for before) "$BEFORE" "$@" -- env $(env_for after) "$AFTER" "$@")
    R[$name.before]=$(sed -n 1p <<<"$lines")
    R[$name.after]=$(sed -n 2p <<<"$lines")
}
measure version --version
measure vector query "$Q" --collection pantry --mode vector -k 5
measure hybrid query "$Q" --collection pantry --mode hybrid -k 5
# `env` itself is part of every command above; time it alone to show it is noise.
env_line=$("$OUT/spawn_time" "$RUNS" env true)

# Empty programs linked (without --as-needed) against the libraries of the
# two binaries, the "after" set plus OpenBLAS (what linking it costs) and
# without libxml2 (the largest linked dependency left).
before_libs=$(cd "$BEFORE_SRC" && make -s -p -n build/ragged 2>/dev/null | sed -n 's/^LIBS := //p' | head -n1)
after_libs=$(make -s -p -n build/ragged 2>/dev/null | sed -n 's/^LIBS := //p' | head -n1)
echo 'int main(void) { return 0; }' >"$OUT/empty.c"
link() { "$CC" -o "$OUT/$1" "$OUT/empty.c" -Wl,--no-as-needed $2; }
link empty-before "$before_libs"
link empty-after "$after_libs"
link empty-after-openblas "$after_libs $(pkg-config --libs openblas)"
link empty-after-no-xml2 "$(sed 's/-lxml2//' <<<"$after_libs")"
link empty-none ""
lines=$("$OUT/spawn_time" "$RUNS" "$OUT/empty-before" -- "$OUT/empty-after" -- "$OUT/empty-after-openblas" \
    -- "$OUT/empty-after-no-xml2" -- "$OUT/empty-none")
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

nlibs() { ldd "$1" | wc -l; }
f() { awk '{printf "%s | %s | %s | %s", $1, $2, $3, $4}' <<<"$1"; }
{
    echo "## Start-up of the one-shot CLI (\`bench/startup/run.sh\`)"
    echo
    echo "\`bench/startup/run.sh $RUNS\`: each command run $RUNS times, before and after interleaved"
    echo "(spawn_time.c: fork + exec + wait4; CPU = user + sys of the process and its threads)."
    echo "Sample collection: samples/pantry ingested with the default settings (leann backend, builtin"
    echo "embedder), one per binary.  Query: \"$Q\", k = 5."
    echo
    echo "Machine: $machine.  Date: $date."
    echo "Before: $base_short (built from \`git archive\`).  After: $commit."
    echo "Load average (1, 5, 15 min) at start: $load_start; at end: $load_end (the 2 cores are shared"
    echo "with other jobs: wall times are noisy, CPU times less so)."
    echo
    echo "Shared libraries loaded (ldd): before $(nlibs "$BEFORE"), after $(nlibs "$AFTER")."
    echo
    echo "| command | binary | wall median (ms) | wall min (ms) | CPU median (ms) | CPU min (ms) |"
    echo "|---|---|---:|---:|---:|---:|"
    for m in version vector hybrid; do
        case $m in version) label="ragged --version" ;; vector) label="ragged query --mode vector" ;;
                    hybrid) label="ragged query --mode hybrid" ;; esac
        echo "| $label | before | $(f "${R[$m.before]}") |"
        echo "| $label | after | $(f "${R[$m.after]}") |"
    done
    echo "| env true (launcher, in every row above) | | $(f "$env_line") |"
    echo
    echo "Linking alone: empty \`main\` programs linked against the same libraries (and after + OpenBLAS,"
    echo "which is now opened only by BERT models; libxml2, used by the HTML and Markdown readers, stays linked)."
    echo
    echo "| libraries | count (ldd) | wall median (ms) | wall min (ms) | CPU median (ms) | CPU min (ms) |"
    echo "|---|---:|---:|---:|---:|---:|"
    i=1
    for e in "before:empty-before" "after:empty-after" "after + OpenBLAS:empty-after-openblas" \
             "after without libxml2:empty-after-no-xml2" "none (libc only):empty-none"; do
        echo "| ${e%%:*} | $(nlibs "$OUT/${e#*:}") | $(f "$(sed -n "${i}p" <<<"$lines")") |"
        i=$((i + 1))
    done
} >bench/startup/RESULTS.md
cat bench/startup/RESULTS.md
