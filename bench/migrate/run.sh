#!/usr/bin/env bash
# Benchmark of `ragged migrate`: SciFact (../shared/data/scifact/corpus.jsonl,
# 5,183 docs) moved between every pair of backends that opens here, with
# --verify; then 50,000+ generated records (SciFact copied 10 times under
# other file names) for time and peak RSS, to show memory stays bounded.
# Writes bench/migrate/RESULTS.md.  Needs GNU time (/usr/bin/time).
#   bench/migrate/run.sh [--skip-50k | --with-leann-50k]
# (leann at 50k records takes tens of minutes on a shared 2-core machine, so
# it runs only with --with-leann-50k.)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
RAGGED=${RAGGED:-$REPO/build/ragged}
SHARED=${RAGGED_SHARED:-$(cd .. && pwd)/shared}
CORPUS=$SHARED/data/scifact/corpus.jsonl
[[ -x $RAGGED ]] || { echo "build first: make" >&2; exit 1; }
[[ -f $CORPUS ]] || { echo "SciFact corpus not found at $CORPUS; nothing to measure" >&2; exit 77; }
[[ -x /usr/bin/time ]] || { echo "GNU time is needed (apt-get install time)" >&2; exit 1; }
SKIP50K=${1:-}
LEANN50K=0; [[ $SKIP50K == --with-leann-50k ]] && LEANN50K=1
W=$(mktemp -d "${TMPDIR:-/tmp}/ragged-bench-migrate-XXXXXX")
trap 'rm -rf "$W"' EXIT
export XDG_DATA_HOME=$W/data XDG_CONFIG_HOME=$W/config HOME=$W/home
unset RAGGED_CONFIG
# ChromaDB: a server given by RAGGED_TEST_CHROMADB_URL (and its --path in
# RAGGED_TEST_CHROMADB_PATH, so its bytes on disk can be reported).
if [[ -n ${RAGGED_TEST_CHROMADB_URL:-} ]]; then export RAGGED_VECTORSTORE_CHROMADB_URL=$RAGGED_TEST_CHROMADB_URL; fi
if [[ -n ${RAGGED_TEST_CHROMADB_PATH:-} ]]; then export RAGGED_VECTORSTORE_CHROMADB_PERSIST_DIRECTORY=$RAGGED_TEST_CHROMADB_PATH; fi
ROWS=$W/rows.jsonl; : >"$ROWS"

# One document per file, named by its corpus id (as `backend compare` expects).
/usr/bin/python3 - "$CORPUS" "$W/scifact" "$W/scifact50k" <<'PY'
import json, os, sys
src, one, many = sys.argv[1:4]
os.makedirs(one)
docs = [json.loads(l) for l in open(src)]
for d in docs:
    open(os.path.join(one, d["_id"] + ".txt"), "w").write(d["title"] + "\n\n" + d["text"] + "\n")
for k in range(10):
    sub = os.path.join(many, f"copy{k}")
    os.makedirs(sub)
    for d in docs:
        open(os.path.join(sub, d["_id"] + f"-c{k}.txt"), "w").write(d["title"] + "\n\n" + d["text"] + "\n")
PY

available=()
for be in exact leann chromadb; do
    if "$RAGGED" collections list --backend "$be" >/dev/null 2>"$W/err"; then available+=("$be")
    else echo "($be not available: $(head -c 200 "$W/err"))" >&2; fi
done
echo "backends: ${available[*]}" >&2

# measure LABEL MIGRATE-ARGS...: one migration, JSON report + wall time + peak RSS.
measure() {
    local label=$1; shift
    local rc=0
    /usr/bin/time -f "%e %M" -o "$W/time" "$RAGGED" migrate "$@" --format json --quiet >"$W/out.json" 2>"$W/err" || rc=$?
    /usr/bin/python3 - "$label" "$rc" "$W/out.json" "$W/time" "$W/err" >>"$ROWS" <<'PY'
import json, sys
label, rc, out, tm, err = sys.argv[1:6]
wall, rss = open(tm).read().split()[-2:]
try: j = json.load(open(out))
except Exception: j = {}
print(json.dumps({"label": label, "rc": int(rc), "wall": float(wall), "rss_kib": int(rss), "report": j,
                  "stderr": open(err).read()[-300:]}))
PY
    tail -n 1 "$ROWS" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print("  %s: rc %d, %.1f s, %d MiB" % (r["label"], r["rc"], r["wall"], r["rss_kib"] // 1024), file=sys.stderr)'
}

t0=$(date +%s.%N)
"$RAGGED" ingest "$W/scifact" --backend exact --collection scifact --quiet >/dev/null
echo "ingest scifact into exact: $(awk "BEGIN{print $(date +%s.%N)-$t0}") s" >&2

# SciFact: exact -> each backend (verified), and back to exact, and between
# leann and chromadb in both directions when both open.
for be in "${available[@]}"; do
    [[ $be == exact ]] && to=scifact-copy || to=scifact
    measure "scifact exact-to-$be --verify" "exact-to-$be" --collection scifact --to "$to" --verify
done
for be in "${available[@]}"; do
    [[ $be == exact ]] && continue
    measure "scifact $be-to-exact --verify" "$be-to-exact" --collection scifact --to "scifact-from-$be" --verify
done
if [[ " ${available[*]} " == *" leann "* && " ${available[*]} " == *" chromadb "* ]]; then
    measure "scifact chromadb-to-leann --verify" chromadb-to-leann --collection scifact --to scifact-from-chroma --verify
    measure "scifact leann-to-chromadb --verify" leann-to-chromadb --collection scifact --to scifact-from-leann --verify
fi
measure "scifact exact-to-exact --dry-run" exact-to-exact --collection scifact --to scifact-dry --dry-run
# Another embedder (dimension 256): every record is embedded again.
RAGGED_EMBEDDING_DIMENSION=256 measure "scifact exact-to-exact re-embedded (256-d) --verify" exact-to-exact \
    --collection scifact --to scifact-256 --verify

if [[ $SKIP50K != --skip-50k ]]; then
    t0=$(date +%s.%N)
    "$RAGGED" ingest "$W/scifact50k" --backend exact --collection big --quiet >/dev/null
    echo "ingest 50k into exact: $(awk "BEGIN{print $(date +%s.%N)-$t0}") s" >&2
    measure "50k exact-to-exact" exact-to-exact --collection big --to big-copy
    measure "50k exact-to-exact --verify" exact-to-exact --collection big --to big-copy2 --verify
    measure "5k exact-to-exact (same flags, for RSS)" exact-to-exact --collection scifact --to scifact-copy3
    # ChromaDB's bytes are the whole server's: start its 50k row from empty.
    if [[ " ${available[*]} " == *" chromadb "* ]]; then
        for c in $("$RAGGED" collections list --backend chromadb --format json |
                   /usr/bin/python3 -c 'import json,sys; print(" ".join(c["name"] for c in json.load(sys.stdin)["collections"]))'); do
            "$RAGGED" collections delete "$c" --backend chromadb >/dev/null
        done
    fi
    for be in "${available[@]}"; do
        [[ $be == exact ]] && continue
        [[ $be == leann && $LEANN50K == 0 ]] && continue
        measure "50k exact-to-$be" "exact-to-$be" --collection big --to big
        measure "50k $be-to-exact" "$be-to-exact" --collection big --to "big-from-$be"
    done
fi

# The table.
/usr/bin/python3 "$REPO/bench/migrate/table.py" "$ROWS" "$REPO" >"$REPO/bench/migrate/RESULTS.md"
cat "$REPO/bench/migrate/RESULTS.md"
