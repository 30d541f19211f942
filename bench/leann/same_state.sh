#!/usr/bin/env bash
# Do two ragged binaries leave the same leann collection?  A churn scenario
# on 1,200 SciFact documents (vectorstore.leann.scan_threshold 0): ingest
# 800, add 400 (incremental insert), remove 30% and `ingest --prune`
# (deletes + consolidation), put them back, `collections compact`.  After
# every stage it compares the graph and codes files byte for byte and the
# `sqlite3 .dump` of leann.sqlite (rows, overlay, meta).  For refactors
# that must not change behaviour (issue 16 item 8: the core / SQLite split
# gave identical state at every stage).
#   bench/leann/same_state.sh OLD_RAGGED NEW_RAGGED
# Needs the sqlite3 shell and ../shared (RAGGED_SHARED).  Exit 0: same.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 OLD_RAGGED NEW_RAGGED" >&2; exit 2; }
data=${RAGGED_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}/data/scifact/corpus.jsonl
[[ -f $data ]] || { echo "skip: $data is absent"; exit 77; }
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3 shell"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/leann-same-XXXXXX")
trap 'rm -rf "$T"' EXIT

scenario() {   # RAGGED OUT: snapshots of the collection after every stage
    local R=$1 O=$2 W=$T/w   # the same W for both: paths are in the metadata
    rm -rf "$W"; mkdir -p "$W/docs" "$W/later" "$W/away" "$O"
    export XDG_DATA_HOME=$W/data XDG_CONFIG_HOME=$W/config HOME=$W/home RAGGED_VECTORSTORE_LEANN_SCAN_THRESHOLD=0
    python3 - "$data" "$W" <<'PY'
import json, os, sys
for i, line in enumerate(open(sys.argv[1])):
    if i >= 1200:
        break
    d = json.loads(line)
    with open(os.path.join(sys.argv[2], "docs" if i < 800 else "later", "d%s.txt" % d["_id"]), "w") as f:
        f.write((d.get("title") or "") + "\n\n" + d["text"] + "\n")
PY
    local B=(--backend leann --collection same)
    snap() { cp -r "$XDG_DATA_HOME/ragged/leann/same" "$O/$1"; }
    "$R" ingest "$W/docs" "${B[@]}" --quiet >/dev/null; snap 1-ingest
    mv "$W"/later/* "$W/docs/"; "$R" ingest "$W/docs" "${B[@]}" --quiet >/dev/null; snap 2-add
    ls "$W/docs" | sort | awk 'NR % 10 < 3' | while read -r f; do mv "$W/docs/$f" "$W/away/"; done
    "$R" ingest "$W/docs" --prune "${B[@]}" --quiet >/dev/null; snap 3-prune
    mv "$W"/away/* "$W/docs/"; "$R" ingest "$W/docs" "${B[@]}" --quiet >/dev/null; snap 4-putback
    "$R" collections compact same --backend leann >/dev/null; snap 5-compact
}
scenario "$1" "$T/old"
scenario "$2" "$T/new"
differ=0
for s in 1-ingest 2-add 3-prune 4-putback 5-compact; do
    line="$s:"
    files_old=$(cd "$T/old/$s" && ls *.bin); files_new=$(cd "$T/new/$s" && ls *.bin)
    if [[ $files_old != "$files_new" ]]; then line+=" files differ ($files_old / $files_new)"; differ=1; fi
    for f in $files_old; do
        if cmp -s "$T/old/$s/$f" "$T/new/$s/$f"; then line+=" $f same"; else line+=" $f DIFFERS"; differ=1; fi
    done
    if cmp -s <(sqlite3 "$T/old/$s/leann.sqlite" .dump) <(sqlite3 "$T/new/$s/leann.sqlite" .dump); then
        line+=", leann.sqlite dump same"
    else
        line+=", leann.sqlite dump DIFFERS"; differ=1
    fi
    echo "$line"
done
exit $differ
