#!/usr/bin/env bash
# Retrieval quality of the native BM25 index against the FTS5 sidecar it
# replaced: `ragged eval` on SciFact train (exact backend, builtin embedder,
# BM25 and hybrid) with this tree's binary and with FTS5_COMMIT's, one after
# the other under the same load.  Writes bench/bm25/QUALITY.md.
#   bench/bm25/quality.sh        (FTS5_BIN=path reuses a built FTS5 binary)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
S=${RAGGED_SHARED:-$ROOT/../shared}/data/scifact
[[ -f $S/qrels/train.tsv ]] || { echo "quality: $S not found; skipped" >&2; exit 77; }
FTS5_COMMIT=${FTS5_COMMIT:-ddb9f61}
make -s -j2 all
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ragged-bench-bm25q-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp build/ragged "$WORK/native"
if [[ -n ${FTS5_BIN:-} ]]; then
    cp "$FTS5_BIN" "$WORK/fts5"
else
    mkdir "$WORK/src"
    git archive "$FTS5_COMMIT" | tar -x -C "$WORK/src"
    make -s -C "$WORK/src" -j2 build/ragged >/dev/null
    cp "$WORK/src/build/ragged" "$WORK/fts5"
fi
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo "+dirty")
cd "$WORK"
unset RAGGED_CONFIG
EV=(eval --corpus "$S/corpus.jsonl" --queries "$S/queries.jsonl" --qrels "$S/qrels/train.tsv" --quiet --format json
    --backend exact --mode bm25,hybrid)
L0=$(cut -d' ' -f1-3 /proc/loadavg)
for b in fts5 native; do
    XDG_DATA_HOME=$WORK/data-$b XDG_CONFIG_HOME=$WORK/config nice "$WORK/$b" "${EV[@]}" >"$WORK/$b.json"
done
L1=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 - "$WORK" "$ROOT/bench/bm25/QUALITY.md" "$COMMIT" "$FTS5_COMMIT" "$L0" "$L1" <<'PY'
import json, sys, datetime
work, out, commit, fcommit, l0, l1 = sys.argv[1:7]
J = {b: {r["mode"]: r for r in json.load(open(f"{work}/{b}.json"))["results"]} for b in ("fts5", "native")}
L = ["## BM25 quality: native index vs FTS5 sidecar (`bench/bm25/quality.sh`)", "",
     f"SciFact train (809 queries), exact backend, builtin embedder, `ragged eval` defaults. Commit {commit} "
     f"(FTS5: {fcommit}), {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC. Load average before/after: {l0} / {l1} "
     "(2 shared cores: latencies are the whole one-shot retrieval and noisy).", "",
     "| mode | index | nDCG@10 | Recall@100 | p50 ms | p95 ms |", "|---|---|---:|---:|---:|---:|"]
for m in ("bm25", "hybrid"):
    for b in ("fts5", "native"):
        r = J[b][m]
        L.append(f"| {m} | {b} | {r['ndcg@10']:.4f} | {r['recall@100']:.4f} | {r['latency_ms']['p50']:.1f} | {r['latency_ms']['p95']:.1f} |")
L.append("")
for m in ("bm25", "hybrid"):
    d1 = J["native"][m]["ndcg@10"] - J["fts5"][m]["ndcg@10"]
    d2 = J["native"][m]["recall@100"] - J["fts5"][m]["recall@100"]
    L.append(f"- {m}: nDCG@10 {d1:+.4f}, Recall@100 {d2:+.4f} (goal: within ±0.002).")
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
