#!/usr/bin/env bash
# Runs a unit-test binary as N shards in parallel (RAGGED_TEST_SHARD=K/N)
# and prints one "unit: N passed, N failed, N skipped" line, for runners
# too slow to use one core at a time (qemu-user: make check-arm64).
#   tests/unit_shards.sh N COMMAND [PATTERN]
# Each shard's log is printed whole after it ends, so lines do not mix.
set -uo pipefail
n=$1; shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ragged-shards-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pids=()
for ((k = 0; k < n; k++)); do
    RAGGED_TEST_SHARD=$k/$n "$@" >"$tmp/$k.out" 2>"$tmp/$k.err" &
    pids+=($!)
done
passed=0 failed=0 skipped=0 rc=0
for ((k = 0; k < n; k++)); do
    wait "${pids[k]}"; st=$?
    echo "-- shard $k/$n (exit $st)" >&2
    cat "$tmp/$k.err" >&2
    if [[ $(cat "$tmp/$k.out") =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
        passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2])); skipped=$((skipped + BASH_REMATCH[3]))
        [[ $st -ne 0 && ${BASH_REMATCH[2]} -eq 0 ]] && { failed=$((failed + 1)); echo "shard $k/$n crashed (exit $st)" >&2; }
    else
        failed=$((failed + 1)); echo "shard $k/$n ended without a summary (exit $st)" >&2
    fi
    [[ $st -ne 0 ]] && rc=1
done
echo "unit: $passed passed, $failed failed, $skipped skipped"
exit $rc
