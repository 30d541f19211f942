# Store directories are created 0700 and files 0600 whatever the umask, on
# every available backend, including the files SQLite or a backend leaves
# after a kill -9 (journals, WAL, temporary files).
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_faults.sh"
umask 000
D="$TMP/docs"; mkdir -p "$D"
/usr/bin/python3 "$(dirname "$0")/_store_check.py" corpus "$D" 30 5
for b in $(fault_backends); do
    expect_exit 0 "$RAGGED" ingest "$D" --backend "$b" --collection perms --quiet
    expect_exit 0 "$RAGGED" collections create other --backend "$b"
    # Leave whatever a killed writer leaves behind.
    printf 'More text about backups.\n' >"$D/extra.txt"
    "$RAGGED" ingest "$D" --backend "$b" --collection perms --quiet >/dev/null 2>&1 &
    pid=$!; ms_sleep 150; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    rm -f "$D/extra.txt"
done
root="$XDG_DATA_HOME/ragged"
[[ -d $root ]] || fail "no store directory at $root"
bad=$(find "$root" \( -type d ! -perm 0700 \) -o \( -type f ! -perm 0600 \) -printf '%M %p\n')
[[ -z $bad ]] || fail "store entries with group/other access (umask 000): $bad"
echo "permissions: $(find "$root" -type d | wc -l) directories 0700, $(find "$root" -type f | wc -l) files 0600 under umask 000"
