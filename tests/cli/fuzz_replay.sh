# Replays every fuzz target's corpus (fuzz/corpus/TARGET: seeds and each
# input that once crashed) through the target built with the normal
# compiler (and under ASan + UBSan in `make check-asan`): a fixed crash
# stays fixed.  The fuzzers themselves run in `make fuzz-smoke` / `make fuzz`.
source "$(dirname "$0")/_lib.sh"
BUILD_DIR=$(dirname "$RAGGED")
REPO=${RAGGED_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0
for src in "$REPO"/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    bin="$BUILD_DIR/fuzz-replay/$t"
    [[ -x $bin ]] || fail "$bin is not built (make check builds it)"
    [[ -d $REPO/fuzz/corpus/$t ]] || fail "no seed corpus for $t in fuzz/corpus/$t"
    out=$(cd "$REPO" && TMPDIR="$TMP" "$bin" "fuzz/corpus/$t" 2>&1) || fail "$t: $out"
    echo "$t: ${out##*$'\n'}"
    n=$((n + 1))
done
echo "fuzz_replay: $n targets"
