#!/usr/bin/python3
"""Filters of known selectivity for the filter benchmark, drawn with a fixed
seed from an exact collection's SQLite file (metadata as JSON text).
   filters.py EXACT_SQLITE SEED > filters.tsv
One line a filter: NAME <tab> MATCHING_RECORDS <tab> JSON.  Kinds:
  paths-P%    $in over whole files' document_path, files drawn at random
              until their chunks make P% of the records (what "search these
              files" or a tag filter does)
  total-P%    $eq on the integer total_chunks, the value whose share is
              nearest P% (one comparison, many files)
  range-P%    chunk_position >= X, X the smallest with at most P%
  and-ne-P%   paths-P% $and chunk_position $ne 0 (a part the index cannot
              answer: its rows are checked one by one)"""
import collections
import json
import random
import sqlite3
import sys

path, seed = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
per_file = collections.Counter()
total_chunks = collections.Counter()
pos = collections.Counter()
n = 0
for (m,) in db.execute("SELECT metadata FROM records"):
    m = json.loads(m)
    n += 1
    per_file[m["document_path"]] += 1
    total_chunks[m.get("total_chunks")] += 1
    pos[m.get("chunk_position")] += 1
rng = random.Random(seed)
files = sorted(per_file)
rng.shuffle(files)
out = []
for pct in (1, 10):
    want = n * pct / 100
    chosen, got = [], 0
    for f in files:
        if got >= want:
            break
        chosen.append(f)
        got += per_file[f]
    paths = {"document_path": {"$in": chosen}}
    out.append((f"paths-{pct}%", got, paths))
    v, c = min(total_chunks.items(), key=lambda kv: abs(kv[1] - want))
    out.append((f"total-{pct}%", c, {"total_chunks": v}))
    acc, x = 0, max(pos) + 1
    for p in sorted(pos, reverse=True):
        if acc + pos[p] > want:
            break
        acc += pos[p]
        x = p
    out.append((f"range-{pct}%", acc, {"chunk_position": {"$gte": x}}))
    if pct == 1:
        cs = set(chosen)
        ne = 0
        for (m,) in db.execute("SELECT metadata FROM records"):
            m = json.loads(m)
            ne += m["document_path"] in cs and m.get("chunk_position") != 0
        out.append((f"and-ne-{pct}%", ne, {"$and": [paths, {"chunk_position": {"$ne": 0}}]}))
for name, cnt, f in out:
    print(f"{name}\t{cnt}\t{json.dumps(f, separators=(',', ':'))}")
