# Bit rot (issue 21, item 4): single-bit flips at random places in every
# file of a small leann collection and its BM25 index.  Each flip must give
# a clear error or the correct answer, never a changed answer with exit 0.
# Asserted (0 silent changes allowed) for flips in passage, metadata, graph
# and codes bytes; flips in the BM25 index and in the rest of leann.sqlite
# (SQLite's own pages, ids, the overlay tables, which carry no checksums)
# are counted and reported.  `collections check` runs after every flip and
# its detections are reported too.  RAGGED_TEST_BITROT_FLIPS (default 25)
# flips per asserted category, RAGGED_TEST_BITROT_SEED to replay a run.
source "$(dirname "$0")/_lib.sh"
D="$TMP/docs"; mkdir -p "$D"
for i in $(seq 30); do
    printf 'Document %d is about topic %d: gardens, tomatoes and basil number %d grow in rows.\n' $i $((i % 7)) $i >"$D/d$i.txt"
done
expect_exit 0 "$RAGGED" ingest "$D" --backend leann --collection rot
# The first BM25 query builds the index; then both are at rest.
expect_exit 0 "$RAGGED" query "gardens" --backend leann --collection rot --mode bm25 -k 1
expect_exit 0 "$RAGGED" collections check rot --backend leann
/usr/bin/python3 - "$RAGGED" "$XDG_DATA_HOME/ragged/leann" "$TMP" "${RAGGED_TEST_BITROT_FLIPS:-25}" \
    "${RAGGED_TEST_BITROT_SEED:-$RANDOM$RANDOM}" <<'PY'
import glob, json, os, random, shutil, sqlite3, subprocess, sys
ragged, store, tmp, flips, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
coll = os.path.join(store, "rot")
lexdir = os.path.join(store, ".lexical")
# The BM25 index's entries (a file or a directory of files, whatever its
# format) and every data file in them; lock files hold no data.
lexentries = sorted(glob.glob(os.path.join(lexdir, "rot.*")))
lexfiles = sorted(os.path.join(d, f) for e in lexentries for d, _, fs in (os.walk(e) if os.path.isdir(e) else
                  [(os.path.dirname(e), None, [os.path.basename(e)])]) for f in fs
                  if not f.endswith(".lock") and f != "lock")
assert lexfiles, "no BM25 index files"
pristine = os.path.join(tmp, "pristine")
shutil.copytree(coll, os.path.join(pristine, "rot"))
os.makedirs(os.path.join(pristine, "lex"))
for e in lexentries:
    (shutil.copytree if os.path.isdir(e) else shutil.copy2)(e, os.path.join(pristine, "lex", os.path.basename(e)))
db_path = os.path.join(coll, "leann.sqlite")
assert not os.path.exists(db_path + "-wal") or os.path.getsize(db_path + "-wal") == 0, "leann.sqlite not checkpointed"
data = open(db_path, "rb").read()

def spans(column):
    db = sqlite3.connect("file:%s?mode=ro&immutable=1" % db_path, uri=True)
    out = []
    for (blob,) in db.execute("SELECT %s FROM rec" % column):
        at = data.find(blob)
        if at >= 0 and data.find(blob, at + 1) < 0:
            out.append((at, len(blob)))
    db.close()
    return out

doc_spans, meta_spans = spans("doc"), spans("meta")
assert len(doc_spans) >= 20 and len(meta_spans) >= 20, "blobs not found in leann.sqlite"
blob_bytes = set()
for at, n in doc_spans + meta_spans:
    blob_bytes.update(range(at, at + n))
graph = glob.glob(os.path.join(coll, "graph-*.bin"))[0]
codes = glob.glob(os.path.join(coll, "codes-*.bin"))[0]

def run(*args):
    p = subprocess.run([ragged] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr

def answer(mode):
    rc, out, err = run("query", "gardens tomatoes topic", "--backend", "leann", "--collection", "rot", "--mode", mode,
                       "-k", "30", "--format", "json")
    if rc != 0:
        return rc, err
    j = json.loads(out)
    return 0, [(r["id"], r["text"], json.dumps(r["metadata"], sort_keys=True), round(r["distance"], 4))
               for r in j["results"]]

def restore():
    shutil.rmtree(coll)
    shutil.copytree(os.path.join(pristine, "rot"), coll)
    for e in glob.glob(os.path.join(lexdir, "rot.*")):
        shutil.rmtree(e) if os.path.isdir(e) else os.unlink(e)
    for e in lexentries:
        src = os.path.join(pristine, "lex", os.path.basename(e))
        (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, e)

modes = ("vector", "bm25", "hybrid")
base = {m: answer(m) for m in modes}
for m in modes:
    assert base[m][0] == 0 and len(base[m][1]) == 30, "baseline %s: %r" % (m, base[m])

def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([b ^ (1 << rng.randrange(8))]))

def other_offset():
    while True:
        o = rng.randrange(len(data))
        if o not in blob_bytes:
            return o

categories = [
    ("passage", flips, lambda: (db_path, (lambda s: s[0] + rng.randrange(s[1]))(rng.choice(doc_spans))), ("vector",)),
    ("metadata", flips, lambda: (db_path, (lambda s: s[0] + rng.randrange(s[1]))(rng.choice(meta_spans))), ("vector",)),
    ("graph", flips, lambda: (graph, rng.randrange(os.path.getsize(graph))), ("vector",)),
    ("codes", flips, lambda: (codes, rng.randrange(os.path.getsize(codes))), ("vector",)),
    ("bm25", max(5, flips * 3 // 5), lambda: (lambda f: (f, rng.randrange(os.path.getsize(f))))(rng.choice(lexfiles)),
     ("bm25", "hybrid")),
    ("sqlite-other", max(5, flips * 3 // 5), lambda: (db_path, other_offset()), ("vector",)),
]
asserted = {"passage", "metadata", "graph", "codes"}
bad = []
print("seed %d" % seed)
for name, n, where, qmodes in categories:
    counts = {"error": 0, "same": 0, "silent": 0, "crash": 0, "check": 0}
    for _ in range(n):
        restore()
        path, off = where()
        flip(path, off)
        outcome = "same"
        for m in qmodes:
            rc, res = answer(m)
            if rc >= 128 or rc < 0:
                outcome = "crash"
                bad.append("%s flip at %s:%d crashed (%d)" % (name, os.path.basename(path), off, rc))
                break
            if rc != 0:
                if not res.strip():
                    bad.append("%s flip at %s:%d: exit %d without a message" % (name, os.path.basename(path), off, rc))
                outcome = "error"
                break
            if res != base[m][1]:
                outcome = "silent"
                if name in asserted:
                    bad.append("%s flip at %s:%d changed the %s answer with exit 0" % (name, os.path.basename(path), off, m))
                break
        counts[outcome] += 1
        rc, _, _ = run("collections", "check", "rot", "--backend", "leann")
        counts["check"] += rc == 1
    print("%-12s %3d flips: %3d clear error, %3d same answer, %3d changed answer with exit 0, %d crashes; "
          "collections check found %d" % (name, n, counts["error"], counts["same"], counts["silent"], counts["crash"],
                                          counts["check"]))
restore()
if bad:
    print("FAIL (seed %d):\n  " % seed + "\n  ".join(bad))
    sys.exit(1)
PY
rc=$?
[[ $rc -eq 0 ]] || fail "bit flips gave a changed answer or a crash (see above)"
expect_exit 0 "$RAGGED" collections check rot --backend leann
