#!/usr/bin/python3
"""Renders bench/scale/RESULTS.md from the files bench/scale/run.sh leaves in
bench/out/scale (argument: that directory).  Every number comes from those
files."""
import glob
import json
import os
import re
import sys

out = sys.argv[1]


def kv(path):
    d = {}
    if not os.path.exists(path):
        return d
    for line in open(path):
        for m in re.finditer(r"(\w+)=(\S+)", line):
            d.setdefault(m.group(1), m.group(2))
    return d


def timefile(name):
    """/usr/bin/time -v output."""
    d = {}
    p = f"{out}/{name}.time"
    if not os.path.exists(p):
        return None
    for line in open(p):
        k, _, v = line.strip().rpartition(": ")
        d[k] = v
    wall = d.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", "0:0")
    parts = [float(x) for x in wall.split(":")]
    secs = sum(x * 60 ** i for i, x in enumerate(reversed(parts)))
    return {
        "wall": secs,
        "cpu": float(d.get("User time (seconds)", 0)) + float(d.get("System time (seconds)", 0)),
        "rss_mb": int(d.get("Maximum resident set size (kbytes)", 0)) / 1024,
        "status": d.get("Exit status", "?"),
    }


def ingest(name):
    t = timefile(name)
    if t is None:
        return None
    try:
        j = json.load(open(f"{out}/{name}.json"))
    except (OSError, ValueError):
        j = {}
    l = {}
    for line in open(f"{out}/{name}.load"):
        k, _, v = line.strip().partition("=")
        l[k] = v
    return t, j, l


def du(paths):
    total = 0
    for p in paths:
        for f in glob.glob(p):
            if os.path.isfile(f):
                total += os.path.getsize(f)
            for root, _, files in os.walk(f):
                for x in files:
                    total += os.path.getsize(os.path.join(root, x))
    return total


def stats(backend, coll):
    try:
        j = json.load(open(f"{out}/stats-{backend}.json"))
    except (OSError, ValueError):
        return None
    for b in j.get("backends", []):
        for c in b.get("collections", []):
            if c["collection"] == coll:
                return c["stats"]
    return None


def queries(name):
    rows, extra = [], {}
    p = f"{out}/{name}.txt"
    if not os.path.exists(p):
        return rows, extra
    for line in open(p):
        d = dict(re.findall(r"(\w+)=(\S+)", line))
        if "backend" in d:
            rows.append(d)
        else:
            extra.update(d)
    return rows, extra


meta = kv(f"{out}/meta.txt")
pkgs = [l.split()[1] for l in open(f"{out}/meta.txt") if l.startswith("package_dir=")]
data = f"{out}/data/ragged"
print("## Scale: Debian documentation packages")
print()
print(f"- date: {meta.get('date', '?')} {meta.get('date_time', '')}".rstrip() + f", commit: {meta.get('commit', '?')}")
print(f"- machine: {open(f'{out}/meta.txt').read().split('machine=')[1].splitlines()[0]}. **Shared**: other helpers"
      " compiled and ran tests on the same 2 cores during the run, so wall-clock times are inflated; CPU times"
      " (user + sys) and load averages are given next to them.")
print(f"- corpus: the HTML shipped by {', '.join('`' + p + '`' for p in pkgs)} "
      f"({int(meta.get('corpus_bytes', 0)) / 1e6:.0f} MB of files), read in place by `ragged ingest` "
      "(its directory walk, HTML reader and chunker) with the default configuration: builtin embedder "
      "(1024-d), chunking.size 256, chunking.overlap 32. Command: `bench/scale/install-corpus.sh && bench/scale/run.sh`.")
print()
print("### Ingest")
print()
print("| run | backend | files | chunks | wall s | CPU s (user+sys) | peak RSS MB | load avg before -> after |")
print("|---|---|---:|---:|---:|---:|---:|---|")
labels = {"full-exact": "whole corpus", "full-exact-again": "whole corpus again, nothing changed",
          "subset-exact": "subset (reference for leann)", "subset-leann": "subset"}
for name, backend in [("full-exact", "exact"), ("full-exact-again", "exact"), ("subset-exact", "exact"),
                      ("subset-leann", "leann")]:
    r = ingest(name)
    if r is None:
        continue
    t, j, l = r
    files = j.get("files_found", "?")
    chunks = j.get("records_in_collection", "?")
    status = "" if t["status"] == "0" else f" (exit {t['status']})"
    print(f"| {labels[name]}{status} | {backend} | {files} | {chunks} | {t['wall']:.0f} | {t['cpu']:.0f} | "
          f"{t['rss_mb']:.0f} | {l.get('load_before', '?')} -> {l.get('load_after', '?')} |")
print()
print("### Disk")
print()
print("| store | chunks | bytes | bytes per chunk |")
print("|---|---:|---:|---:|")
for coll in ["docs", "subset"]:
    s = stats("exact", coll)
    if s:
        n = s["records"]
        print(f"| exact `{coll}`: whole directory | {n} | {du([f'{data}/exact/{coll}'])} | "
              f"{du([f'{data}/exact/{coll}']) / n:.0f} |")
        for comp, b in s["bytes_by_component"].items():
            print(f"| - {comp} | | {b} | {b / n:.0f} |")
        lex = du([f"{data}/exact/.lexical/{coll}.fts.sqlite*"])
        print(f"| BM25 index of `{coll}` (FTS5 sidecar) | {n} | {lex} | {lex / n:.0f} |")
    s = stats("leann", coll)
    if s:
        n = s["records"]
        print(f"| leann `{coll}`: whole directory | {n} | {s['bytes_total']} | {s['bytes_total'] / n:.0f} |")
        for comp, b in s["bytes_by_component"].items():
            print(f"| - {comp} | | {b} | {b / n:.0f} |")
print()
print("### Queries")
print()
print("Sentences of 5 to 20 words drawn from the collection's chunks (random chunks, seed 42,"
      " `bench/scale/queries.py`), run in one process through the same retrieval call as `ragged query`"
      " (query embedding, k 10, passages and metadata returned). The first query of each backend and mode also"
      " pays for loading (the exact backend reads every vector into memory) and is shown alone; p50/p95 are over"
      " the others. Recall@10 is the share of the exact backend's top 10, in the same mode, that leann returns.")
print()
print("| collection | backend | mode | queries | open ms | first query ms | p50 ms | p95 ms | recall@10 vs exact | process peak RSS MB | load avg |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
for name, coll in [("full-exact-query", "docs"), ("subset-query", "subset")]:
    rows, extra = queries(name)
    for d in rows:
        rec = next((v for k, v in d.items() if k.startswith("recall10")), "")
        print(f"| {coll} | {d['backend']} | {d['mode']} | {d['queries']} | {d['open_ms']} | {d['first_query_ms']} | "
              f"{d['p50_ms']} | {d['p95_ms']} | {rec} | {int(extra.get('maxrss_kb', 0)) / 1024:.0f} | "
              f"{extra.get('load_before', '?')} -> {extra.get('load_after', '?')} |")
notes = f"{out}/notes.md"
if os.path.exists(notes):
    print()
    print(open(notes).read().rstrip())
