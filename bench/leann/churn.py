#!/usr/bin/env python3
"""Graph health under churn on SciFact, with the walk forced (issue 16).

Every SciFact document becomes one file; the files are ingested into leann
(vectorstore.leann.scan_threshold 0, so every query walks the graph) and into
the exact backend (the oracle, same run).  Then three churn cycles: 30% of the
files (a different third each cycle) are removed and `ingest --prune`d, then
put back and ingested again.  After the fresh ingest and after every cycle it
records, from `backend stats` and queries through the CLI: live nodes
unreachable from the entry point, tombstones, hubs, nodes, the collection's
bytes on disk, and vector-mode recall@10 against the exact backend.

    bench/leann/churn.py RAGGED_BINARY OUT.md [NQ]     (bench/leann/churn.sh wraps it)
    CYCLES=N (default 3); RAGGED_VECTORSTORE_LEANN_* settings pass through to both runs.
"""
import hashlib, json, os, resource, shutil, subprocess, sys, tempfile, time

ragged, out_path = sys.argv[1], sys.argv[2]
nq = int(sys.argv[3]) if len(sys.argv) > 3 else 200
data = os.path.join(os.environ.get("RAGGED_SHARED", "../shared"), "data", "scifact")
w = tempfile.mkdtemp(prefix="leann-churn-")
env = dict(os.environ, XDG_DATA_HOME=w + "/data", XDG_CONFIG_HOME=w + "/config", HOME=w + "/home",
           RAGGED_VECTORSTORE_LEANN_SCAN_THRESHOLD="0")
docs, away = w + "/docs", w + "/away"
os.makedirs(docs)
os.makedirs(away)
for line in open(os.path.join(data, "corpus.jsonl")):
    d = json.loads(line)
    with open(os.path.join(docs, "d%s.txt" % d["_id"]), "w") as f:
        f.write((d.get("title") or "") + "\n\n" + d["text"] + "\n")
queries = [json.loads(l)["text"] for l in open(os.path.join(data, "queries.jsonl"))][:nq]
names = sorted(os.listdir(docs))


def run(*args):
    p = subprocess.run([ragged, *args], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("ragged %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr[-2000:]))
    return p.stdout


def max_rss():
    """Largest resident set of any child so far, in MB (getrusage)."""
    return "%.0f" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0)


def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ingest(backend, prune=False):
    t = cpu()
    run("ingest", docs, "--backend", backend, "--collection", "churn", "--quiet", *(["--prune"] if prune else []))
    return cpu() - t


def top(backend, q):
    j = json.loads(run("query", q, "--backend", backend, "--collection", "churn", "--mode", "vector", "-k", "10",
                       "--format", "json"))
    return [r["id"] for r in j["results"]]


rows = []


def measure(label, leann_cpu, exact_cpu):
    s = json.loads(run("backend", "stats", "--backend", "leann", "--collection", "churn", "--format", "json"))
    st = s["backends"][0]["collections"][0]["stats"]
    det = st["details"]
    hit = tot = 0
    for q in queries:
        a, b = top("leann", q), top("exact", q)
        hit += len(set(a) & set(b))
        tot += len(b)
    live = st["records"]
    comp = st.get("bytes_by_component", {})
    peak = max_rss()
    # "unreachable" is in backend stats from issue 16 on; older binaries: n/a
    un = det.get("unreachable")
    unr = "%d (%.1f%%)" % (un, 100.0 * un / max(live, 1)) if un is not None else "n/a"
    rows.append("| %s | %d | %d | %s | %d | %d | %.3f | %s | %s | %s | %s | %s | %.1f | %.1f |" % (
        label, live, det["nodes"], unr, st["tombstones"], det["hubs"], hit / max(tot, 1),
        format(st["bytes_total"], ","), format(comp.get("codes", 0), ","), format(comp.get("passages", 0), ","),
        det.get("consolidation_passes", "n/a"), peak, leann_cpu, exact_cpu))
    print(rows[-1], flush=True)


def load():
    return open("/proc/loadavg").read().split()[:3]


start_load = load()
t0 = time.time()
lc, ec = ingest("leann"), ingest("exact")
measure("fresh", lc, ec)
for cycle in range(1, int(os.environ.get("CYCLES", "3")) + 1):
    pick = [n for n in names if int(hashlib.sha256(("%d/%s" % (cycle, n)).encode()).hexdigest()[:8], 16) % 10 < 3]
    for n in pick:
        shutil.move(os.path.join(docs, n), os.path.join(away, n))
    lc, ec = ingest("leann", True), ingest("exact", True)
    for n in pick:
        shutil.move(os.path.join(away, n), os.path.join(docs, n))
    lc2, ec2 = ingest("leann"), ingest("exact")
    measure("after %d cycle%s" % (cycle, "s" if cycle > 1 else ""), lc + lc2, ec + ec2)
end_load = load()
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
with open(out_path, "w") as f:
    f.write("# leann under churn: SciFact, walk forced (scan_threshold 0)\n\n")
    f.write("- date: %s, ragged: %s (commit of this tree: %s)\n" % (time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
                                                                     ragged, commit))
    f.write("- machine: %s, %d cores (shared); load average at start %s, at end %s; %.0f s wall\n" % (
        cpu_model, os.cpu_count(), " ".join(start_load), " ".join(end_load), time.time() - t0))
    f.write("- %d SciFact documents, one file each, builtin embedder, default chunking; %d queries (queries.jsonl),"
            " vector mode, k = 10, recall = share of the exact backend's top 10 (same run) that leann returns\n" % (
                len(names), len(queries)))
    f.write("- a cycle: 30% of the files (another third each cycle) removed, `ingest --prune`, put back, `ingest`;"
            " ingest CPU s = user+sys of the ingests of that step\n\n")
    f.write("- codes, passages: bytes of those components (`backend stats`); passes: consolidation passes completed;"
            " max RSS: the largest resident set of any ragged process of the run so far (leann and exact)\n\n")
    f.write("| state | live | nodes | unreachable live | tombstones | hubs | recall@10 | disk bytes | codes | passages"
            " | passes | max RSS MB | leann ingest CPU s | exact ingest CPU s |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    f.write("\n".join(rows) + "\n")
shutil.rmtree(w)
