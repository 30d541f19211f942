# The leann core stands alone (issue 16, item 8): its tests (search, insert,
# delete, consolidation, rebuild over an in-memory leann_source) pass in
# build/test_leann_core, which the Makefile links without -lsqlite3, and
# the core's objects reference no sqlite3 symbol.
source "$(dirname "$0")/_lib.sh"
BUILD_DIR=$(dirname "$RAGGED")
bin="$BUILD_DIR/test_leann_core"
[[ -x $bin ]] || fail "$bin is missing (make $bin)"
out=$("$bin" leann_core 2>&1) || fail "test_leann_core failed: $out"
[[ $out =~ ([0-9]+)\ passed,\ 0\ failed ]] && ((BASH_REMATCH[1] >= 2)) || fail "test_leann_core: $out"
for o in leann_build leann_pq leann_search leann_insert leann_vacuum leann_utils leann_format; do
    obj="$BUILD_DIR/obj/$o.o"
    [[ -f $obj ]] || fail "$obj is missing"
    if nm -u "$obj" | grep -q sqlite3; then fail "$o.o needs SQLite: $(nm -u "$obj" | grep sqlite3 | head -3)"; fi
done
exit 0
