#!/usr/bin/env bash
# Retrieval quality on SciFact (BEIR; train judgements, 809 queries):
# nDCG@10 and Recall@100 of vector, BM25 and hybrid retrieval with the
# builtin embedder, on the exact and leann backends, plus the measurements
# behind the retrieval defaults (fusion sweep, BM25 stemmer, k1/b).
# Writes bench/retrieval/RESULTS.md (assembled into docs/benchmarks.md by
# bench/run-all.sh).  One command: bench/retrieval/run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${RAGGED_SHARED:-$ROOT/../shared}
S=$SHARED/data/scifact
OUT=$ROOT/bench/retrieval
[[ -f $S/qrels/train.tsv ]] || { echo "retrieval bench: $S not found; skipped" >&2; exit 0; }
make -C "$ROOT" -s all >/dev/null
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src || echo "+changes")
# A private copy: rebuilding the tree during the run cannot change the binary measured.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ragged-bench-retrieval-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp "$ROOT/build/ragged" "$WORK/ragged"
RAGGED=$WORK/ragged
cd "$WORK"                       # no ./ragged.yml from the caller
export XDG_DATA_HOME=$WORK/data XDG_CONFIG_HOME=$WORK/config
unset RAGGED_CONFIG
EV=(eval --corpus "$S/corpus.jsonl" --queries "$S/queries.jsonl" --qrels "$S/qrels/train.tsv" --quiet --format json)
load() { cut -d' ' -f1 /proc/loadavg; }
LOADS=()
for b in exact leann; do
    LOADS+=("$(load)")
    extra=()
    [[ $b == exact ]] && extra=(--sweep)
    "$RAGGED" "${EV[@]}" --backend "$b" "${extra[@]}" >"$WORK/$b.json"
done
# Plain RRF (k = 60, equal weights) for comparison with the chosen fusion.
"$RAGGED" "${EV[@]}" --backend exact --reuse --mode hybrid --fusion rrf --rrf-k 60 --vector-weight 1 --bm25-weight 1 \
    >"$WORK/rrf.json"
# BM25 stemmers and parameters (the index is rebuilt for each stemmer).
for st in english porter none; do
    "$RAGGED" "${EV[@]}" --backend exact --reuse --mode bm25 --set retrieval.bm25_stemmer=$st >"$WORK/stem-$st.json"
done
for kb in "1.2 0.75" "0.9 0.4" "1.2 0.5" "1.5 0.75"; do
    set -- $kb
    "$RAGGED" "${EV[@]}" --backend exact --reuse --mode bm25 --set retrieval.bm25_k1=$1 --set retrieval.bm25_b=$2 \
        >"$WORK/k1b-$1-$2.json"
done
LOADS+=("$(load)")
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
/usr/bin/python3 - "$WORK" "$OUT/RESULTS.md" "$COMMIT" "$CPU" "$(nproc)" "${LOADS[*]}" <<'PY'
import json, sys, os, datetime
work, out, commit, cpu, ncpu, loads = sys.argv[1:7]
J = lambda n: json.load(open(os.path.join(work, n)))
ex, le, rrf = J("exact.json"), J("leann.json"), J("rrf.json")
now = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
L = []
w = L.append
w("## Retrieval quality (SciFact)")
w("")
w("`bench/retrieval/run.sh` runs `ragged eval` on BEIR SciFact from `../shared/data/scifact`: %d documents "
  "(title + \" \" + text, %d chunks), the **train** judgements (%d queries; the published numbers below are on the "
  "*test* split, which is not in `../shared`), builtin embedder `%s`. A document scores as its best chunk; "
  "nDCG@10 and Recall@100 as BEIR (trec_eval) computes them; latency is one query's `rg_retrieve` (embedding, "
  "search, fusion) over %d chunk hits per side." % (ex["documents"], ex["chunks"], ex["queries"], ex["embedder"], ex["depth"]))
w("")
w("Machine: %s, %s cores visible. Commit %s, %s. Load average (1 min) at the start of each backend and at the end: %s "
  "(2 cores shared with other jobs: latencies are inflated and noisy; quality numbers are not affected)." % (cpu, ncpu, commit, now, loads))
w("")
w("| backend | mode | fusion | nDCG@10 | Recall@100 | p50 ms | p95 ms |")
w("|---|---|---|---:|---:|---:|---:|")
def fus(r):
    if r["mode"] != "hybrid": return "-"
    if r["fusion"] == "rrf": return "rrf k=%d, %.2g/%.2g" % (r["rrf_k"], r["vector_weight"], r["bm25_weight"])
    return "score, %.2g/%.2g" % (r["vector_weight"], r["bm25_weight"])
for name, d in (("exact", ex), ("leann", le)):
    for r in d["results"]:
        w("| %s | %s | %s | %.4f | %.4f | %.1f | %.1f |" % (name, r["mode"], fus(r), r["ndcg@10"], r["recall@100"], r["latency_ms"]["p50"], r["latency_ms"]["p95"]))
for r in rrf["results"]:
    w("| exact | %s | %s | %.4f | %.4f | %.1f | %.1f |" % (r["mode"], fus(r), r["ndcg@10"], r["recall@100"], r["latency_ms"]["p50"], r["latency_ms"]["p95"]))
w("")
def get(d, m): return [r for r in d["results"] if r["mode"] == m][0]
for m in ("vector", "bm25", "hybrid"):
    a, b = get(ex, m), get(le, m)
    w("- leann vs exact, %s: nDCG@10 %+.4f, Recall@100 %+.4f." % (m, b["ndcg@10"] - a["ndcg@10"], b["recall@100"] - a["recall@100"]))
w("- Published (test split, for scale): BM25 0.665 nDCG@10 / 0.908 R@100 (BEIR, Elasticsearch multifield); "
  "all-MiniLM-L6-v2 0.645 / 0.925 (MTEB).")
w("")
w("Fusion settings fused from the same two candidate lists (exact backend; `ragged eval --sweep`), best five by nDCG@10 "
  "and the plain RRF settings:")
w("")
w("| fusion | rrf_k | vector weight | BM25 weight | nDCG@10 | Recall@100 |")
w("|---|---:|---:|---:|---:|---:|")
sw = sorted(ex["sweep"], key=lambda r: -r["ndcg@10"])
rows = sw[:5] + [r for r in ex["sweep"] if r["fusion"] == "rrf" and r["rrf_k"] == 60 and r["bm25_weight"] in (1.0, 3.0)]
for r in rows:
    w("| %s | %s | %.2f | %.2f | %.4f | %.4f |" % (r["fusion"], r.get("rrf_k", "-"), r["vector_weight"], r["bm25_weight"], r["ndcg@10"], r["recall@100"]))
w("")
w("BM25 alone (exact backend) by stemmer and by (k1, b):")
w("")
w("| setting | nDCG@10 | Recall@100 |")
w("|---|---:|---:|")
for st in ("english", "porter", "none"):
    r = J("stem-%s.json" % st)["results"][0]
    w("| stemmer %s | %.4f | %.4f |" % (st, r["ndcg@10"], r["recall@100"]))
for kb in ("1.2-0.75", "0.9-0.4", "1.2-0.5", "1.5-0.75"):
    r = J("k1b-%s.json" % kb)["results"][0]
    k1, b = kb.split("-")
    w("| k1 %s, b %s | %.4f | %.4f |" % (k1, b, r["ndcg@10"], r["recall@100"]))
w("")
open(out, "w").write("\n".join(L))
PY
echo "wrote $OUT/RESULTS.md" >&2
