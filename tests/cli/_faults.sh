# Helpers for the fault-injection tests (kill -9 loops, disk full,
# concurrency).  Sourced after _lib.sh.
CHECK="/usr/bin/python3 $(dirname "${BASH_SOURCE[0]}")/_store_check.py"

# Backends to exercise: exact always, leann once it is built in (its open()
# reports "not available" while it is a placeholder).
fault_backends() {
    local b out
    for b in exact leann; do
        out=$("$RAGGED" collections list --backend "$b" 2>&1) && echo "$b" && continue
        [[ $b == exact ]] && fail "exact backend does not open: $out"
        echo "note: backend $b skipped: ${out:0:200}" >&2
    done
}

# listing BACKEND COLLECTION: every record as `query --format json` prints
# them.  --mode vector: a listing of the store itself.  Hybrid reads the
# store and the BM25 sidecar one after the other, so during a write its union
# can hold part of a document committed between the two reads.  ChromaDB's
# vector search is approximate even with k >= the record count (its HNSW
# index leaves a few out), so its collections are read from the server's own
# API instead (the server the test points RAGGED_VECTORSTORE_CHROMADB_URL at).
listing() {
    if [[ $1 == chromadb ]]; then
        /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/_chroma_dump.py" "$RAGGED_VECTORSTORE_CHROMADB_URL" "$2" 2>/dev/null
    else
        "$RAGGED" query "backup restore" --backend "$1" --collection "$2" -k 10000 --mode vector --format json 2>/dev/null
    fi
}

# snapshot BACKEND COLLECTION FILE: info + every record.
snapshot() {
    local info query
    info=$("$RAGGED" collections info "$2" --backend "$1" --format json 2>/dev/null)
    query=$(listing "$1" "$2")
    printf '{"info": %s, "query": %s}\n' "${info:-null}" "${query:-null}" >"$3"
}

# Random integer in [0, $1) from /dev/urandom (bash's RANDOM is seeded per shell).
rand_below() { echo $(( $(od -An -N4 -tu4 /dev/urandom) % $1 )); }

# ms_sleep N: sleeps N milliseconds.
ms_sleep() { sleep "$(awk "BEGIN{printf \"%.3f\", $1/1000}")"; }

# now_ms: wall clock in milliseconds.
now_ms() { date +%s%3N; }

# digest BACKEND COLLECTION: one JSON line {"records", "hash"} or {"absent":
# true} (see _store_check.py digest); the vector listing and a BM25 query
# matching every record must agree.  Fails the test on a violation.  A third
# argument (right after a fault): the BM25 query may instead refuse with the
# message naming `collections reindex` (queries never repair the index).
ALL_WORDS=$($CHECK words)
digest() {
    local info query bm25 res
    info=$("$RAGGED" collections info "$2" --backend "$1" --format json 2>/dev/null)
    query=$(listing "$1" "$2")
    bm25=$("$RAGGED" query "$ALL_WORDS" --backend "$1" --collection "$2" -k 10000 --mode bm25 --format json 2>/dev/null)
    printf '{"info": %s, "query": %s, "bm25": %s}\n' "${info:-null}" "${query:-null}" "${bm25:-null}" >"$TMP/digest.json"
    res=$($CHECK digest "$TMP/digest.json" ${3:+--bm25-may-refuse} 2>"$TMP/digest.err") || fail "$1/$2: $(cat "$TMP/digest.err") ($res)"
    echo "$res"
}

# strace_run ARGS...: strace with LeakSanitizer off for the traced process.
# LeakSanitizer cannot run under ptrace: in an ASan build it would turn every
# completed traced run into a failure of its own.
strace_run() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace "$@"; }

# leann_state COLLECTION FIELD...: one line of the leann collection's `backend
# stats` values, in FIELD order: "records" and "tombstones" from its stats, any
# other FIELD from the leann details (unreachable, nodes, built_n, codes_n, ...).
leann_state() {
    local c=$1
    shift
    expect_exit 0 "$RAGGED" backend stats --backend leann --collection "$c" --format json
    /usr/bin/python3 -c 'import json, sys
s = json.loads(sys.argv[1])["backends"][0]["collections"][0]["stats"]
print(" ".join(str(s[f] if f in ("records", "tombstones") else s["details"][f]) for f in sys.argv[2:]))' "$OUT" "$@"
}
