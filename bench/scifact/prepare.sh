#!/usr/bin/env bash
# Writes ../shared/data/scifact/corpus.jsonl as one text file per document
# (DOCID.txt = title, blank line, abstract) under OUT (default
# bench/out/scifact/docs), so benchmarks measure ragged's real ingest path
# and BEIR judgements (corpus-id) match file names.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${RAGGED_SHARED:-$ROOT/../shared}
CORPUS=$SHARED/data/scifact/corpus.jsonl
OUT=${1:-$ROOT/bench/out/scifact/docs}
[[ -f $CORPUS ]] || { echo "prepare: $CORPUS not found (../shared/data/scifact is needed)" >&2; exit 1; }
if [[ -d $OUT && $(ls "$OUT" | wc -l) -eq $(wc -l <"$CORPUS") ]]; then
    echo "$OUT"; exit 0
fi
rm -rf "$OUT"; mkdir -p "$OUT"
/usr/bin/python3 - "$CORPUS" "$OUT" <<'PY'
import json, os, sys
corpus, out = sys.argv[1], sys.argv[2]
for line in open(corpus, encoding="utf-8"):
    d = json.loads(line)
    with open(os.path.join(out, d["_id"] + ".txt"), "w", encoding="utf-8") as f:
        f.write(d["title"] + "\n\n" + d["text"] + "\n")
PY
echo "$OUT"
