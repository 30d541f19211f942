# kill -9 of `ragged ingest` at every durability point of the BM25 index:
# strace kills the process when it enters its Nth fsync / fdatasync /
# rename (N = 1, 2, ... until a run completes), each time from the same
# starting store.  Segment files are written (fsynced, renamed) before the
# manifest that names them is committed, so after every kill: BM25 answers
# exactly for the records the store holds, or the query refuses with the
# message naming `collections reindex` (a query never replays the journal),
# and after the next ingest (which replays it) BM25 answers exactly and the
# index directory holds exactly the segments its manifest names (orphans of
# the killed writer are gone).  Skips without strace.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
command -v strace >/dev/null || skip "strace not installed (scripts/install-deps.sh installs it)"
strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
printf 'chunking:\n  size: 64\n  overlap: 8\n' >"$TMP/ragged.yml"
export RAGGED_CONFIG="$TMP/ragged.yml"
DATA="$XDG_DATA_HOME/ragged"
C=killbm25
IDX="$DATA/exact/.lexical/$C.bm25"

# segments named by the manifest == segment files present
segments_consistent() {
    /usr/bin/python3 - "$IDX" <<'PY'
import os, sqlite3, struct, sys
d = sys.argv[1]
blob = sqlite3.connect(os.path.join(d, "index.sqlite")).execute("SELECT data FROM manifest").fetchone()[0]
n, pos, named = struct.unpack_from("<I", blob, 12)[0], 48, set()
for _ in range(n):
    gen, ndocs = struct.unpack_from("<QI", blob, pos)
    named.add("%d.seg" % gen)
    pos += 32 + (ndocs + 7) // 8
files = {f for f in os.listdir(d) if ".seg" in f}
if files != named:
    sys.exit("segment files %s, manifest names %s" % (sorted(files), sorted(named)))
PY
}

D="$TMP/docs"
$CHECK corpus "$D" 8 5
expect_exit 0 "$RAGGED" ingest "$D" --backend exact --collection $C --quiet
$CHECK mutate "$D" 11
rm -rf "$TMP/saved"; cp -a "$DATA" "$TMP/saved"
points=0
for sc in fsync fdatasync rename; do
    for ((n = 1; ; n++)); do
        rm -rf "$DATA"; cp -a "$TMP/saved" "$DATA"
        strace_run -f -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when=$n \
            "$RAGGED" ingest "$D" --backend exact --collection $C --quiet 2>&1 | cat >"$TMP/out"
        rc=${PIPESTATUS[0]}
        [[ $rc -eq 0 ]] && break
        [[ $rc -eq 137 ]] || fail "ingest killed at $sc #$n: exit $rc: $(cat "$TMP/out")"
        points=$((points + 1))
        # BM25 == the store's records, or the query refuses naming the fix
        # (it never replays: the next write does)
        digest exact $C may-refuse >/dev/null
        expect_exit 0 "$RAGGED" ingest "$D" --backend exact --collection $C --quiet
        res=$(segments_consistent) || fail "after the kill at $sc #$n and a new ingest: $res"
        digest exact $C >/dev/null
    done
done
((points > 0)) || fail "no kill point was reached (strace injection not working?)"
echo "kill_bm25: $points kill points (fsync, fdatasync, rename); BM25 consistent after each, no orphaned segment"
