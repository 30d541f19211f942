#!/usr/bin/env bash
# The backend comparison on SciFact: `ragged backend compare` puts the same
# 5,183 abstracts into every backend (exact, leann, and a real ChromaDB 1.0
# server started here on a free loopback port), runs the 809 judged train
# queries on each, and writes bench/backends/RESULTS.md plus SVG charts in
# docs/img/.  Embedders: the builtin one (whole corpus), and - when the native
# engine is built in - a model with the all-MiniLM-L6-v2 shape and fixed
# random weights (a subset: random weights rank nothing meaningfully, so only
# disk, latency and recall-vs-exact are reported for it).
#
# usage: bench/backends/run.sh [--bert-docs N] [--bert-queries N]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BERT_DOCS=1000 BERT_QUERIES=100
while [[ $# -gt 0 ]]; do
    case $1 in
        --bert-docs) BERT_DOCS=$2; shift 2 ;;
        --bert-queries) BERT_QUERIES=$2; shift 2 ;;
        *) echo "usage: $0 [--bert-docs N] [--bert-queries N]" >&2; exit 2 ;;
    esac
done
SHARED=${RAGGED_SHARED:-$ROOT/../shared}
SF=$SHARED/data/scifact
make -s all
RAGGED=$ROOT/build/ragged
DOCS=$(bench/scifact/prepare.sh)
OUT=$ROOT/bench/out/backends
rm -rf "$OUT"; mkdir -p "$OUT" "$ROOT/docs/img"
export XDG_DATA_HOME=$OUT/data XDG_CONFIG_HOME=$OUT/config
unset RAGGED_CONFIG

# A real ChromaDB server for the chromadb column, when the backend is built in.
CHROMA_PID=$OUT/chroma.pid
stop_chroma() { [[ -f $CHROMA_PID ]] && scripts/chroma-server.sh stop --pid-file "$CHROMA_PID" >/dev/null 2>&1 || true; }
trap stop_chroma EXIT
if [[ -x scripts/chroma-server.sh ]]; then
    mkdir -p "$OUT/chroma"
    if url=$(scripts/chroma-server.sh start --port auto --path "$OUT/chroma" --pid-file "$CHROMA_PID" 2>"$OUT/chroma.log"); then
        export RAGGED_VECTORSTORE_CHROMADB_URL=$url RAGGED_VECTORSTORE_CHROMADB_PERSIST_DIRECTORY=$OUT/chroma
    else
        echo "bench: ChromaDB server did not start (see $OUT/chroma.log); its column will say so" >&2
    fi
fi

machine="$(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
commit=$(git rev-parse --short HEAD)$(git diff --quiet || echo "+dirty")
date=$(date -u '+%Y-%m-%d %H:%M UTC')

echo "bench: builtin embedder, full SciFact" >&2
load1=$(cut -d' ' -f1 /proc/loadavg)
"$RAGGED" backend compare "$DOCS" --queries "$SF/queries.jsonl" --qrels "$SF/qrels/train.tsv" -k 10 \
    --chart "$ROOT/docs/img/backends-builtin.svg" --format json --quiet >"$OUT/builtin.json"
load2=$(cut -d' ' -f1 /proc/loadavg)

bert_note="not run: the native BERT engine is not built in (embedding.provider bert unavailable)"
if "$RAGGED" model --help >/dev/null 2>&1 && [[ -f tests/ref/make_tiny_bert.py ]]; then
    MODEL=$ROOT/bench/out/models/minilm-shape
    [[ -f $MODEL/model.safetensors ]] || /usr/bin/python3 tests/ref/make_tiny_bert.py "$MODEL" --seed 2024 \
        --layers 6 --hidden 384 --heads 12 --intermediate 1536 --max-seq-length 256 --max-position 512 \
        --vocab-file "$SHARED/models/all-MiniLM-L6-v2/vocab.txt" >/dev/null
    SUB=$OUT/subset; mkdir -p "$SUB"
    (set +o pipefail; ls "$DOCS" | sort | head -n "$BERT_DOCS") | while read -r f; do cp "$DOCS/$f" "$SUB/"; done
    /usr/bin/python3 - "$SF/queries.jsonl" "$BERT_QUERIES" >"$OUT/bert-queries.txt" <<'PY'
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    if i >= int(sys.argv[2]): break
    print(json.loads(line)["text"])
PY
    echo "bench: MiniLM-shaped model, $BERT_DOCS documents, $BERT_QUERIES queries" >&2
    if RAGGED_EMBEDDING_PROVIDER=bert RAGGED_EMBEDDING_MODEL=$MODEL "$RAGGED" backend compare "$SUB" \
        --queries "$OUT/bert-queries.txt" -k 10 --chart "$ROOT/docs/img/backends-minilm-shape.svg" --format json \
        --quiet >"$OUT/bert.json" 2>"$OUT/bert.log"; then
        bert_note=""
    else
        bert_note="failed: $(tail -n 1 "$OUT/bert.log")"
    fi
fi

printf '%s\n' "$machine" "$commit" "$date" "$load1 -> $load2" "$bert_note" "$BERT_DOCS" "$BERT_QUERIES" >"$OUT/meta.txt"
/usr/bin/python3 bench/backends/render.py "$OUT" >"$ROOT/bench/backends/RESULTS.md"
echo "wrote bench/backends/RESULTS.md" >&2
