#!/usr/bin/env bash
# Runs libFuzzer targets built by `make fuzz-build` (build-fuzz/fuzz_*).
#   fuzz/run.sh SECONDS [TARGET...]      each target for SECONDS (default: all targets)
#   FUZZ_RUNS=N fuzz/run.sh ...          ... or until N executions, whichever comes first
# The seed corpus fuzz/corpus/TARGET is read, never written: new inputs go to
# build-fuzz/corpus/TARGET (kept between runs), crashes to
# build-fuzz/artifacts/TARGET/.  Prints one line per target:
#   TARGET  execs=N  exec/s=N  cov=N  ft=N  corpus=N  result=ok|CRASH
# and exits non-zero if any target crashed, leaked, hung or ran out of memory.
# A crash input belongs in fuzz/corpus/TARGET once fixed: `make check`
# replays that directory, so the fix stays.
set -uo pipefail
cd "$(dirname "$0")/.."
FB=${FUZZ_BUILD:-build-fuzz}
secs=${1:-10}; shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
    for f in fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
failed=0
for t in "${targets[@]}"; do
    bin="$FB/$t"
    [[ -x $bin ]] || { echo "$t: not built (make fuzz-build)" >&2; failed=1; continue; }
    corpus="$FB/corpus/$t"; art="$FB/artifacts/$t"
    mkdir -p "$corpus" "$art"
    seeds=(); [[ -d fuzz/corpus/$t ]] && seeds=("fuzz/corpus/$t")
    dict=(); [[ -f fuzz/dict/$t.dict ]] && dict=(-dict="fuzz/dict/$t.dict")
    log="$FB/$t.log"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb and
    # -malloc_limit_mb make an input-sized allocation over 1 GiB a finding.
    runs=(); [[ -n ${FUZZ_RUNS:-} ]] && runs=(-runs="$FUZZ_RUNS")
    "$bin" -max_total_time="$secs" "${runs[@]}" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" "$corpus" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    eps=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*'); ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
    corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*')
    result=ok
    if ((rc != 0)); then
        result=CRASH; failed=1
    fi
    printf '%-22s execs=%-9s exec/s=%-6s cov=%-6s ft=%-6s corpus=%-5s result=%s\n' "$t" "${execs:-?}" "${eps:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
    if [[ $result != ok ]]; then
        grep -E 'ERROR|SUMMARY|fuzz property|==[0-9]+==|Test unit written|#[0-9]+ in ' "$log" | head -30 | sed 's/^/    | /'
    fi
done
exit $failed
