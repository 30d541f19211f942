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

/usr/bin/python3 - "$OUT" "$machine" "$commit" "$date" "$load1 -> $load2" "$bert_note" "$BERT_DOCS" "$BERT_QUERIES" \
    >"$ROOT/bench/backends/RESULTS.md" <<'PY'
import json, os, sys
out, machine, commit, date, load, bert_note, bert_docs, bert_queries = sys.argv[1:]
def mib(b): return "unknown" if b is None else f"{b/1048576:.1f} MiB"
def table(j, judged):
    ex = next(b for b in j["backends"] if b["backend"] == "exact")
    cols = "| backend | records | disk | disk vs exact | bytes/record | ingest s | query p50 ms | p95 ms | recall@10 vs exact |"
    sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    if judged:
        cols += " nDCG@10 | Recall@100 |"; sep += "---:|---:|"
    rows = [cols, sep]
    for b in j["backends"]:
        if not b["available"]:
            rows.append(f"| {b['backend']} | not available: {b.get('error','')[:140]} |"); continue
        ratio = "" if b["bytes"] is None else f"{100*b['bytes']/ex['bytes']:.1f}%"
        bpr = "" if b["bytes"] is None or not b["records"] else f"{b['bytes']/b['records']:.0f}"
        r = (f"| {b['backend']} | {b['records']} | {mib(b['bytes'])} | {ratio} | {bpr} | {b['ingest_seconds']:.1f} | "
             f"{b['query_p50_ms']:.2f} | {b['query_p95_ms']:.2f} | {b['recall_at_k']:.3f} |")
        if judged:
            r += f" {b['ndcg_at_10']:.4f} | {b['recall_at_100']:.4f} |"
        rows.append(r)
    chroma = next((b for b in j["backends"] if b["backend"] == "chromadb" and b["available"] and b["bytes"]), None)
    leann = next((b for b in j["backends"] if b["backend"] == "leann" and b["available"] and b["bytes"]), None)
    if chroma and leann:
        rows.append("")
        rows.append(f"leann uses **{100*leann['bytes']/chroma['bytes']:.2f}%** of ChromaDB's disk for the same collection "
                    f"({100-100*leann['bytes']/chroma['bytes']:.1f}% less).")
    return "\n".join(rows)
print("## Backends on SciFact (`bench/backends/run.sh`)\n")
print(f"Machine: {machine}. Commit {commit}, {date}. 1-minute load average before/after the builtin run: {load} "
      "(other work shared the machine).\n")
b = json.load(open(os.path.join(out, "builtin.json")))
print(f"### Builtin embedder, all 5,183 documents, {b['queries']} judged train queries\n")
print("Disk is the collection's whole directory (text, metadata and indexes included; for ChromaDB its persist "
      "directory). Recall is the overlap of each backend's top 10 with the exact backend's. nDCG@10 and Recall@100 "
      "use SciFact's train judgements (documents ranked by their best chunk).\n")
print(table(b, True))
print("\n![backends, builtin embedder](img/backends-builtin.svg)\n")
print(f"### Model with the all-MiniLM-L6-v2 shape (random weights), first {bert_docs} documents, {bert_queries} queries\n")
if bert_note:
    print(bert_note)
else:
    print("Random weights make rankings meaningless, so no judgements here; disk, latency (which includes "
          "re-embedding candidates for leann) and agreement with exact search are what this measures.\n")
    print(table(json.load(open(os.path.join(out, "bert.json"))), False))
    print("\n![backends, MiniLM-shaped model](img/backends-minilm-shape.svg)")
PY
echo "wrote bench/backends/RESULTS.md" >&2
