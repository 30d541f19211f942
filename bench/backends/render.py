#!/usr/bin/python3
"""Renders bench/backends/RESULTS.md (stdout) and the measured block of
docs/backends.md from the JSON that bench/backends/run.sh wrote in OUT."""
import json, os, sys
out = sys.argv[1]
machine, commit, date, load, bert_note, bert_docs, bert_queries = (
    open(os.path.join(out, "meta.txt")).read().split("\n")[:7])
def mib(b): return "unknown" if b is None else f"{b/1048576:.1f} MiB"
def table(j, judged, chroma_ratio=True):
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
    if chroma and leann and chroma_ratio:
        rows.append("")
        rows.append(f"leann uses **{100*leann['bytes']/chroma['bytes']:.2f}%** of ChromaDB's disk for the same collection "
                    f"({100-100*leann['bytes']/chroma['bytes']:.1f}% less).")
    return "\n".join(rows)
print("## Backends on SciFact (`bench/backends/run.sh`)\n")
print(f"Machine: {machine}. Commit {commit}, {date}. 1-minute load average before/after the builtin run: {load} "
      "(other work shared the machine).\n")
b = b_json = json.load(open(os.path.join(out, "builtin.json")))
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
    print("ChromaDB's disk here is its whole persist directory, which still holds the segment directories of the "
          "builtin run's deleted collections (the server leaves them behind), so it is not comparable and no "
          "ratio is drawn from it.\n")
    print(table(json.load(open(os.path.join(out, "bert.json"))), False, chroma_ratio=False))
    print("\n![backends, MiniLM-shaped model](img/backends-minilm-shape.svg)")
# The measured matrix in the backend guide comes from the same run.
guide = os.path.join(os.path.dirname(out), "..", "..", "docs", "backends.md")
text = open(guide).read()
a, b = "<!-- measured:begin -->", "<!-- measured:end -->"
if a in text and b in text:
    block = (f"Builtin embedder, all of SciFact ({date}, commit {commit}):\n\n" + table(b_json, True) +
             "\n\n![backends](img/backends-builtin.svg)\n")
    text = text[:text.index(a) + len(a)] + "\n" + block + text[text.index(b):]
    open(guide, "w").write(text)
