# Helpers sourced by the CLI tests.  Each test runs with a fresh $TMP,
# XDG_DATA_HOME/XDG_CONFIG_HOME/HOME inside it, and $RAGGED the binary.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }
# expect_exit CODE CMD...: runs CMD, checks its exit code, keeps output in $OUT/$ERR.
expect_exit() {
    local want=$1; shift
    OUT=$("$@" 2>"$TMP/stderr"); local rc=$?
    ERR=$(cat "$TMP/stderr")
    [[ $rc -eq $want ]] || fail "expected exit $want, got $rc from: $* | stdout: ${OUT:0:400} | stderr: ${ERR:0:400}"
}
contains() { [[ "$1" == *"$2"* ]] || fail "expected to find '$2' in: ${1:0:600}"; }
not_contains() { [[ "$1" != *"$2"* ]] || fail "did not expect '$2' in: ${1:0:600}"; }
# json_get JSON PYEXPR: evaluates a Python expression on the parsed JSON `j`.
json_get() { /usr/bin/python3 -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1"; }
