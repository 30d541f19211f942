#!/usr/bin/python3
"""Deterministic queries for the scale benchmark: NQ chunks drawn with a fixed
seed from an exact collection's SQLite file, and from each one sentence of 5
to 20 words (the first such line or sentence after a random start).
   queries.py EXACT_SQLITE NQ SEED > queries.txt
   queries.py --dirs NQ SEED DIR... > queries.txt
The second form draws files of the corpus instead (their text without HTML
tags), for a run without an exact collection."""
import html
import os
import random
import re
import sqlite3
import sys


def sentences(doc):
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", doc)]
    return [" ".join(p.split()) for p in parts if 5 <= len(p.split()) <= 20 and re.search(r"[A-Za-z]{3}", p)]


if sys.argv[1] == "--dirs":
    nq, seed = int(sys.argv[2]), int(sys.argv[3])
    files = sorted(os.path.join(r, f) for d in sys.argv[4:] for r, _, fs in os.walk(d) for f in fs
                   if f.endswith((".html", ".htm")))
    rng = random.Random(seed)
    out = []
    for path in rng.sample(files, min(len(files), nq * 3)):
        text = open(path, encoding="utf-8", errors="replace").read()
        text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", text)
        text = html.unescape(re.sub(r"(?s)<[^>]*>", "\n", text))
        parts = sentences(text)
        if parts:
            out.append(parts[rng.randrange(len(parts))])
        if len(out) == nq:
            break
    print("\n".join(out))
    sys.exit(0)

path, nq, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
seqs = [r[0] for r in db.execute("SELECT seq FROM records ORDER BY seq")]
rng = random.Random(seed)
out = []
for seq in rng.sample(seqs, min(len(seqs), nq * 3)):
    doc = db.execute("SELECT document FROM records WHERE seq = ?", (seq,)).fetchone()[0] or ""
    parts = sentences(doc)
    if not parts:
        continue
    out.append(parts[rng.randrange(len(parts))])
    if len(out) == nq:
        break
print("\n".join(out))
