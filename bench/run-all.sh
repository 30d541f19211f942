#!/usr/bin/env bash
# Runs every benchmark suite and rebuilds docs/benchmarks.md from their
# RESULTS.md files.  `--assemble` only rebuilds the document.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# Sections are kept in docs/benchmarks.md by each suite; --assemble is for suites that only write RESULTS.md.
if [[ "${1:-}" != "--assemble" ]]; then
    for suite in bench/*/; do
        name=$(basename "$suite")
        [[ $name == out || $name == scifact ]] && continue
        if [[ -x $suite/run.sh ]]; then runner=$suite/run.sh
        elif [[ -x $suite/run.py ]]; then runner=$suite/run.py
        else continue; fi
        echo "== $runner" >&2
        "$runner" || echo "bench: $runner failed; its previous RESULTS.md (if any) is kept" >&2
    done
fi
{
    echo "# Benchmarks"
    echo
    echo "Every table below is written by a script in \`bench/\` (\`bench/run-all.sh\` runs them all and rebuilds this"
    echo "page); each section names its machine, date and commit. Nothing here is typed by hand."
    echo
    for f in bench/*/RESULTS.md; do
        cat "$f"
        echo
    done
} >docs/benchmarks.md
echo "wrote docs/benchmarks.md" >&2
