#!/usr/bin/env bash
# Runs every test: the C unit tests (build/test_unit) and each end-to-end
# CLI script in tests/cli/ (exit 0 pass, 77 skip, anything else fail).
# Ends with one line "N passed, N failed, N skipped".
# tests/run.sh NAME... runs only those CLI tests (and the unit tests only if
# "unit" is one of the names), for quick runs while working.
set -uo pipefail
only=" $* "
wanted() { [[ $only == "  " || $only == *" $1 "* ]]; }
cd "$(dirname "$0")/.."
BUILD=${RAGGED_BUILD:-build}
export RAGGED="$PWD/$BUILD/ragged"
export RAGGED_REPO="$PWD"
export RAGGED_SHARED="${RAGGED_SHARED:-$(cd .. && pwd)/shared}"
# Tests never read the user's configuration or data.
unset RAGGED_CONFIG
for v in $(env | grep -o '^RAGGED_[A-Z_]*' | grep -v -e '^RAGGED_BUILD$' -e '^RAGGED_SHARED$' -e '^RAGGED_REPO$' -e '^RAGGED_TEST_' -e '^RAGGED$'); do unset "$v"; done

passed=0 failed=0 skipped=0
failures=()

# Optional services (started by hooks in tests/services/*.sh, stopped on exit;
# RAGGED_TEST_NO_SERVICES=1 starts none, their tests then skip).
cleanup_hooks=()
cleanup() { for h in "${cleanup_hooks[@]}"; do eval "$h"; done; }
trap cleanup EXIT INT TERM
for svc in tests/services/*.sh; do
    [[ ${RAGGED_TEST_NO_SERVICES:-} == 1 ]] && break
    [ -e "$svc" ] || continue
    # A service script prints "export VAR=..." lines and a "cleanup: CMD" line.
    out=$(bash "$svc" start 2>&1) || { echo "service $(basename "$svc") unavailable: $out" >&2; continue; }
    while IFS= read -r line; do
        case "$line" in
            export\ *) eval "$line" ;;
            cleanup:*) cleanup_hooks+=("${line#cleanup: }") ;;
        esac
    done <<<"$out"
done

if wanted unit; then
echo "== unit tests" >&2
unit_out=$("$BUILD/test_unit" 2> >(cat >&2))
unit_rc=$?
echo "$unit_out" >&2
if [[ $unit_out =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2])); skipped=$((skipped + BASH_REMATCH[3]))
else
    failed=$((failed + 1)); failures+=("unit test binary (exit $unit_rc, no summary)")
fi
if [[ $unit_rc -ne 0 && ${BASH_REMATCH[2]:-0} -eq 0 ]]; then
    failed=$((failed + 1)); failures+=("unit test binary crashed (exit $unit_rc)")
fi
fi

echo "== CLI tests" >&2
for t in tests/cli/[!_]*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .sh)
    wanted "$name" || continue
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/ragged-cli-XXXXXX")
    start=$(date +%s.%N)
    TMP="$tmp" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" HOME="$tmp/home" \
        timeout 600 bash "$t" >"$tmp.log" 2>&1
    rc=$?
    dur=$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $start}")
    if [[ $rc -eq 0 ]]; then
        passed=$((passed + 1)); echo "  ok   $name (${dur}s)" >&2
    elif [[ $rc -eq 77 ]]; then
        skipped=$((skipped + 1)); echo "  skip $name: $(tail -n 1 "$tmp.log")" >&2
    else
        failed=$((failed + 1)); failures+=("$name"); echo "  FAIL $name (exit $rc)" >&2
        sed 's/^/    | /' "$tmp.log" | tail -n 40 >&2
    fi
    rm -rf "$tmp" "$tmp.log"
done

if ((${#failures[@]})); then
    echo "failed: ${failures[*]}" >&2
fi
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
