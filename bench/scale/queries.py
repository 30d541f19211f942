#!/usr/bin/python3
"""Deterministic queries for the scale benchmark: NQ chunks drawn with a fixed
seed from an exact collection's SQLite file, and from each one sentence of 5
to 20 words (the first such line or sentence after a random start).
   queries.py EXACT_SQLITE NQ SEED > queries.txt"""
import random
import re
import sqlite3
import sys

path, nq, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
seqs = [r[0] for r in db.execute("SELECT seq FROM records ORDER BY seq")]
rng = random.Random(seed)
out = []
for seq in rng.sample(seqs, min(len(seqs), nq * 3)):
    doc = db.execute("SELECT document FROM records WHERE seq = ?", (seq,)).fetchone()[0] or ""
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", doc)]
    parts = [" ".join(p.split()) for p in parts if 5 <= len(p.split()) <= 20 and re.search(r"[A-Za-z]{3}", p)]
    if not parts:
        continue
    out.append(parts[rng.randrange(len(parts))])
    if len(out) == nq:
        break
print("\n".join(out))
