# Checks shared by the migrate kill tests (kill_migrate.sh: random moments;
# kill_migrate_points.sh: every durability point).  Sourced after _lib.sh
# and _faults.sh.

# mf_sources BACKEND...: the same two collections src-a and src-b (40 text
# files each, different content) in every backend given; HASH[B/src-X],
# NREC[B/src-X] and HASH[src-X] hold their digests.  A target's hash equals
# its source's whatever the two backends.
declare -A HASH NREC
mf_sources() {
    local b s d
    $CHECK corpus "$TMP/docs-a" ${RAGGED_TEST_KILL_FILES:-40} 1
    $CHECK corpus "$TMP/docs-b" ${RAGGED_TEST_KILL_FILES:-40} 2
    for b in "$@"; do
        for s in a b; do
            expect_exit 0 "$RAGGED" ingest "$TMP/docs-$s" --backend "$b" --collection src-$s --quiet
            d=$(digest "$b" src-$s) || exit 1
            HASH[$b/src-$s]=$(json_get "$d" 'j["hash"]')
            NREC[$b/src-$s]=$(json_get "$d" 'j["records"]')
            [[ -z ${HASH[src-$s]:-} || ${HASH[src-$s]} == "${HASH[$b/src-$s]}" ]] ||
                fail "src-$s has another content hash in $b than in the backends before: $d"
            HASH[src-$s]=${HASH[$b/src-$s]}
        done
    done
    [[ ${HASH[src-a]} != "${HASH[src-b]}" ]] || fail "the two sources are equal"
}

# mf_names BACKEND: every collection as "name:records" on one line.
mf_names() {
    "$RAGGED" collections list --backend "$1" --format json |
        json_get "$(cat)" '" ".join("%s:%s" % (c["name"], c["records"]) for c in j["collections"])'
}

# mf_after_kill FROM TO TARGET SRC OLD RC WHAT: the checks after a migrate
# of FROM/SRC into TO/TARGET (which held src-OLD, or nothing for OLD=none)
# ended with exit RC (137: killed) — the source unchanged, the target
# absent, old or new, never half, BM25 indexes equal to the records (the
# target's may refuse naming `collections reindex`; the re-run repairs it).  Sets
# MF_STATE (where the kill landed, as seen from the stores) and MF_LIST (the
# target backend's collections).
mf_after_kill() {
    local from=$1 to=$2 T=$3 src=$4 old=$5 rc=$6 what=$7 d h staging backup n
    d=$(digest "$from" "$src") || exit 1
    [[ $(json_get "$d" 'j["hash"]') == "${HASH[$from/$src]}" ]] || fail "$what: the source $from/$src changed: $d"
    MF_LIST=$(mf_names "$to")
    d=$(digest "$to" "$T" may-refuse) || exit 1
    staging=$(grep -o "$T\.rgmig-staging-[0-9]*:[0-9-]*" <<<"$MF_LIST" | head -n 1)
    backup=$(grep -o "$T\.rgmig-backup-[0-9]*" <<<"$MF_LIST" | head -n 1)
    if [[ $d == *absent* ]]; then
        [[ $old == none || -n $backup ]] ||
            fail "$what: the old target is gone and not under a backup name: $MF_LIST"
        if [[ -n $backup ]]; then MF_STATE="publish: old target under its backup name"
        elif [[ -n $staging ]]; then MF_STATE="copy/verify: staging"
        else MF_STATE="before the copy"; fi
    else
        h=$(json_get "$d" 'j["hash"]')
        if [[ $h == "${HASH[$from/$src]}" ]]; then
            if [[ $rc -eq 0 ]]; then MF_STATE="finished first"
            elif [[ -n $backup ]]; then MF_STATE="after publish: old target not yet removed"
            else MF_STATE="after publish"; fi
        elif [[ $old != none && $h == "${HASH[src-$old]}" ]]; then
            MF_STATE="before the copy"
            if [[ -n $staging ]]; then
                n=${staging##*:}
                if [[ $n -lt ${NREC[$from/$src]} ]]; then MF_STATE="copy (some records staged)"
                else MF_STATE="build/verify (staging complete)"; fi
            fi
        else
            fail "$what: the target $to/$T is neither the old nor the new collection: $d ($MF_LIST)"
        fi
    fi
}

# mf_rerun FROM TO TARGET SRC CMD...: CMD (a migrate with --verify) completes,
# cleans what a kill left (MF_LIST from mf_after_kill), and leaves no staging
# or backup collection and no file named after one; the target equals SRC.
mf_rerun() {
    local from=$1 to=$2 T=$3 src=$4 d list left; shift 4
    expect_exit 0 "$@"
    contains "$OUT" "verification: passed"
    [[ $MF_LIST != *rgmig* ]] || contains "$OUT" "cleaned"
    list=$(mf_names "$to")
    [[ $list != *rgmig* ]] || fail "leftovers after the re-run: $list"
    left=$(find "$XDG_DATA_HOME" -name '*rgmig*' | head -n 3)
    [[ -z $left ]] || fail "files of a migration's staging or backup collection left after the re-run: $left"
    d=$(digest "$to" "$T") || exit 1
    [[ $(json_get "$d" 'j["hash"]') == "${HASH[$from/$src]}" ]] || fail "the re-run's target differs from $src: $d"
}
