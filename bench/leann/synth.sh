#!/usr/bin/env bash
# leann recall at scale on a model-like synthetic set (issue 16, item 3c):
# bench/leann/synth.c's generator (384-d anisotropic cluster mixture, every
# vector regenerated from its record id, so recompute works without a model).
#
#   bench/leann/synth.sh [N ...]     default 262144; one build + query run per N
#
# Each run builds collection "synth" (one add of N records, default settings;
# RAGGED_BENCH_* knobs as in synth.c), then answers 200 k = 10 queries on a
# fresh handle, against a brute-force exact top 10 over the same N vectors
# computed in the same run.  Prints table rows for bench/leann/RESULTS-synth.md;
# the build takes about 1 s of CPU per 1,000 records at 256K on this machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s -j2 build/libragged.a
bench/cc.sh bench/leann/synth.c build/synth
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ), commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench/leann/synth.c || echo "+dirty")"
echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores (shared)"
echo
echo "| records | queries | recall@10 | p50 ms | p95 ms | CPU p50 ms | recomputed/query | path | open ms | oracle s |"
echo "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
for n in "${@:-262144}"; do
    echo "load before build: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    build/synth build "$W/$n" "$n" "$n" >&2
    echo "load before queries: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    build/synth query "$W/$n" "$n" 200
    rm -rf "${W:?}/$n"
done
