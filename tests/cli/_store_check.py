#!/usr/bin/python3
"""Checks a collection's invariants from ragged's own output (any backend).

usage:
  _store_check.py corpus DIR N SEED            write N deterministic text files
  _store_check.py mutate DIR SEED              change, delete and add some files
  _store_check.py manifest DIR                 {realpath: sha256} of the files, as JSON
  _store_check.py check SNAPSHOT [options]     check a snapshot (see below)
      --manifest M     every file of M must be present completely, with M's hash
      --previous P     ... or with the hash P had (a run killed mid-way)
      --strict         one version per document (after a completed command)
      --absent-ok      the collection may be missing (killed create/delete)
      --no-count       skip comparing the record count of `info` with the
                       query (two commands: a writer may run between them)
  _store_check.py digest SNAPSHOT              count + content hash of a collection
  _store_check.py words                        every word corpus/mutate use (one line)

digest: SNAPSHOT as below, optionally with "bm25": <query --mode bm25 ...>
of a text holding every corpus word.  Prints {"absent": true} for a missing
collection, else {"records": N, "hash": H}: H hashes the sorted (id,
document, metadata) triples, so equal collections in different backends
have equal hashes.  Violations: the query does not return every record the
collection counts, an id twice, or BM25 ids that differ from the records
(the sidecar claims records the backend does not hold, or misses some).

SNAPSHOT is a JSON object {"info": <collections info --format json>,
"query": <query ... -k 10000 --format json>}.  Checks: the query returns
every record the collection counts; within a document every version
(file_hash) is complete (chunk positions 0..total_chunks-1, each once,
total_chunks equal), i.e. no half-written record is visible; the expected
files are present.  Prints one JSON line of counts; exits 1 on a violation."""
import hashlib
import json
import os
import random
import sys

WORDS = ("backup restore disk pool snapshot kernel module network router switch cable power battery "
         "garden tomato basil water summer winter recipe bread flour yeast oven timer river bridge "
         "train station ticket window door lamp desk chair paper pencil letter number figure table "
         "graph vector query passage search index token model engine server client socket packet").split()


def text_for(rng, paras):
    out = []
    for _ in range(paras):
        sents = []
        for _ in range(rng.randint(2, 6)):
            ws = [rng.choice(WORDS) for _ in range(rng.randint(5, 16))]
            sents.append(" ".join(ws).capitalize() + ".")
        out.append(" ".join(sents))
    return "\n\n".join(out) + "\n"


def corpus(d, n, seed):
    rng = random.Random(seed)
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        sub = os.path.join(d, "part%d" % (i % 4))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "doc%04d.txt" % i), "w") as f:
            f.write(text_for(rng, rng.randint(2, 12)))


def mutate(d, seed):
    rng = random.Random(seed)
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs)
    for p in rng.sample(files, max(1, len(files) // 10)):
        r = rng.random()
        if r < 0.2:
            os.unlink(p)
        elif r < 0.6:
            with open(p, "a") as f:
                f.write("\n" + text_for(rng, rng.randint(1, 4)))
        else:
            with open(p, "w") as f:  # shorter: fewer chunks than before
                f.write(text_for(rng, rng.randint(1, 3)))
    for i in range(rng.randint(1, 4)):
        with open(os.path.join(d, "new%d_%d.txt" % (seed, i)), "w") as f:
            f.write(text_for(rng, rng.randint(1, 8)))


def manifest(d):
    m = {}
    for r, _, fs in os.walk(d):
        for f in fs:
            p = os.path.realpath(os.path.join(r, f))
            with open(p, "rb") as fh:
                m[p] = hashlib.sha256(fh.read()).hexdigest()
    return m


def check(args):
    snap = json.load(open(args[0]))
    opts = {"strict": "--strict" in args, "absent_ok": "--absent-ok" in args}
    man = json.load(open(args[args.index("--manifest") + 1])) if "--manifest" in args else None
    prev = json.load(open(args[args.index("--previous") + 1])) if "--previous" in args else {}
    errors = []
    info, query = snap.get("info") or {}, snap.get("query") or {}
    if "error" in info or "records" not in info:
        if opts["absent_ok"] and info.get("error", {}).get("code") == "not_found":
            print(json.dumps({"absent": True}))
            return 0
        errors.append("collection does not open: %s" % json.dumps(info)[:400])
    elif "results" not in query:
        errors.append("query fails: %s" % json.dumps(query)[:400])
    else:
        n = info["records"]
        res = query["results"]
        if len(res) != min(n, 10000) and "--no-count" not in args:
            errors.append("query returned %d of %d records" % (len(res), n))
        docs = {}
        ids = set()
        for r in res:
            if r["id"] in ids:
                errors.append("record %s returned twice" % r["id"])
            ids.add(r["id"])
            m = r.get("metadata") or {}
            for k in ("document_id", "file_hash", "chunk_position", "total_chunks", "document_path"):
                if k not in m:
                    errors.append("record %s has no %s" % (r["id"], k))
            docs.setdefault(m.get("document_id"), {}).setdefault(m.get("file_hash"), []).append(m)
        stale = 0
        orphans = 0
        complete = {}
        for did, versions in docs.items():
            if len(versions) > 1:
                stale += 1
                if opts["strict"]:
                    errors.append("document %s has %d versions after a completed ingest" % (did, len(versions)))
            whole = {}
            for h, ms in versions.items():
                totals = {m["total_chunks"] for m in ms}
                pos = sorted(m["chunk_position"] for m in ms)
                if len(totals) == 1 and pos == list(range(next(iter(totals)))):
                    whole[h] = len(pos)
                    complete.setdefault(ms[0]["document_path"], set()).add(h)
            for h, ms in versions.items():
                if h in whole:
                    continue
                totals = {m["total_chunks"] for m in ms}
                pos = sorted(m["chunk_position"] for m in ms)
                # Ingest replaces a changed file by an upsert of the new
                # chunks (same ids for the first positions) and then a delete
                # of the old ids beyond them.  A kill between the two leaves
                # the old version's tail beside the complete new version:
                # stale, repaired by the next ingest, but not a half write.
                tail = len(totals) == 1 and any(pos == list(range(n, next(iter(totals)))) for n in whole.values())
                if tail and not opts["strict"]:
                    orphans += 1
                else:
                    errors.append("document %s version %s is half-written: positions %s of totals %s"
                                  % (did, h[:12], pos[:20], sorted(totals)))
        missing = 0
        if man is not None:
            for p, h in man.items():
                ok = {h} | ({prev[p]} if p in prev else set())
                if not (complete.get(p, set()) & ok):
                    missing += 1
                    errors.append("acknowledged file %s (hash %s) is not present completely (have %s)"
                                  % (p, h[:12], sorted(x[:12] for x in complete.get(p, set()))))
            if opts["strict"]:
                extra = set(complete) - set(man)
                if extra:
                    errors.append("%d documents of deleted files remain after a completed --prune: %s"
                                  % (len(extra), sorted(extra)[:3]))
        # Files whose new version is already stored: the killed run got that far.
        progressed = sum(1 for p, h in (man or {}).items() if p in prev and prev[p] != h and h in complete.get(p, ()))
        print(json.dumps({"records": n, "documents": len(docs), "stale_documents": stale, "missing": missing,
                          "progressed": progressed, "orphaned_tails": orphans}))
    for e in errors[:20]:
        print("VIOLATION: " + e, file=sys.stderr)
    return 1 if errors else 0


def digest(args):
    snap = json.load(open(args[0]))
    may_refuse = "--bm25-may-refuse" in args
    info, query, bm25 = snap.get("info") or {}, snap.get("query") or {}, snap.get("bm25")
    errors = []
    if "error" in info or "records" not in info:
        if info.get("error", {}).get("code") == "not_found":
            print(json.dumps({"absent": True}))
            return 0
        errors.append("collection does not open: %s" % json.dumps(info)[:400])
    elif "results" not in query:
        errors.append("query fails: %s" % json.dumps(query)[:400])
    else:
        res = query["results"]
        ids = [r["id"] for r in res]
        if len(res) != info["records"]:
            errors.append("query returned %d of %d records" % (len(res), info["records"]))
        if len(set(ids)) != len(ids):
            errors.append("an id is returned twice")
        if bm25 is not None and may_refuse and "collections reindex" in json.dumps(bm25.get("error") or ""):
            pass   # out of step after a fault, and the query says so (never rebuilds: issue 17)
        elif bm25 is not None:
            if "results" not in bm25:
                errors.append("BM25 query fails: %s" % json.dumps(bm25)[:400])
            else:
                lex = {r["id"] for r in bm25["results"]}
                extra, lacking = lex - set(ids), set(ids) - lex
                if extra:
                    errors.append("the BM25 index holds %d records the collection does not (%s)"
                                  % (len(extra), sorted(extra)[:3]))
                if lacking:
                    errors.append("the BM25 index lacks %d records (%s)" % (len(lacking), sorted(lacking)[:3]))
        lines = sorted(json.dumps([r["id"], r.get("text"), r.get("metadata") or {}], sort_keys=True) for r in res)
        h = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
        print(json.dumps({"records": len(res), "hash": h}))
    for e in errors[:20]:
        print("VIOLATION: " + e, file=sys.stderr)
    return 1 if errors else 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "corpus":
        corpus(args[0], int(args[1]), int(args[2]))
    elif cmd == "mutate":
        mutate(args[0], int(args[1]))
    elif cmd == "manifest":
        json.dump(manifest(args[0]), sys.stdout)
    elif cmd == "check":
        sys.exit(check(args))
    elif cmd == "words":  # every word the corpus uses: a BM25 query that matches every record
        print(" ".join(WORDS))
    elif cmd == "digest":
        sys.exit(digest(args))


if __name__ == "__main__":
    main()
