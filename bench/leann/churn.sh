#!/usr/bin/env bash
# Graph health under churn (bench/leann/churn.py): writes bench/leann/RESULTS-churn.md.
#   bench/leann/churn.sh [NQ]       this tree's build/ragged
#   RAGGED_BIN=/path/ragged OUT=file bench/leann/churn.sh [NQ]   another binary (e.g. main's, for a same-run baseline)
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -f ${RAGGED_SHARED:-../shared}/data/scifact/corpus.jsonl ]] || { echo "skip: scifact is absent"; exit 77; }
[[ -n ${RAGGED_BIN:-} ]] || make -s -j2 all
exec nice /usr/bin/python3 bench/leann/churn.py "${RAGGED_BIN:-build/ragged}" "${OUT:-bench/leann/RESULTS-churn.md}" "${1:-200}"
