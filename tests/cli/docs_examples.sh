# Every command example in README.md and docs/*.md runs: the commands of the
# ```sh blocks and the "$ " lines of transcripts, in a scratch directory with
# samples/, ~/notes and an exact collection "scifact", `ragged` and
# `build/ragged` both being the binary under test.  Each must exit 0.
# Commands that need what a test machine does not have are skipped by the
# allow-list below, each with its reason; anything else that fails is a
# documentation bug (or a regression).
source "$(dirname "$0")/_lib.sh"
REPO=${RAGGED_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}

# pattern (bash glob on the command)      reason
ALLOW=(
    'make demo*'                          'builds and runs the demo: the test suite itself covers it'
    'make check*'                         'the test suite itself'
    'make -j*'                            'a build (the test runs the built binary)'
    'scripts/install-deps.sh*'            'installs system packages (root, network)'
    'sudo *'                              'root'
    'brew *'                              'another operating system'
    'dnf *'                               'another operating system'
    'cc app.c*'                           'needs an installed libragged (make install)'
    'scripts/chroma-server.sh*'           'starts a ChromaDB server (tests/cli/chromadb.sh covers it)'
    'export RAGGED_LLM_*'                 'configures an LLM server'
    '*--answer*'                          'needs an LLM server (tests/cli/answer_*.sh use a fake one)'
    '*ragged serve*'                      'a server that runs until stopped (tests/cli/serve_*.sh start and stop one)'
    '*ragged mcp*'                        'a stdio server that runs until its input ends (tests/cli/mcp.sh)'
    '*ragged watch*'                      'runs until interrupted (tests/cli/watch.sh)'
    '*ragged ask*'                        'an interactive chat that needs an LLM server (tests/cli/ask.sh uses a fake one)'
    'curl *'                              'talks to a running ragged serve (tests/cli/serve_api.sh)'
)

allowed() {
    local i
    for ((i = 0; i < ${#ALLOW[@]}; i += 2)); do
        # shellcheck disable=SC2053
        [[ $1 == ${ALLOW[i]} ]] && return 0
    done
    return 1
}

W="$TMP/work"
mkdir -p "$W/build" "$W/bin" "$HOME/notes"
cp -r "$REPO/samples" "$W/samples"
cp "$REPO"/samples/pantry/* "$HOME/notes/"
# ~/src/project for the selection examples: a Markdown file, and one under vendor/.
mkdir -p "$HOME/src/project/vendor"
printf '# Project\n\nBackups run nightly with pg_dump.\n' >"$HOME/src/project/README.md"
printf '# Vendored\n\nnot ours\n' >"$HOME/src/project/vendor/NOTES.md"
ln -s "$RAGGED" "$W/build/ragged"
ln -s "$RAGGED" "$W/bin/ragged"
export PATH="$W/bin:$PATH"
cd "$W" || fail "no scratch directory"
expect_exit 0 "$RAGGED" ingest samples/pantry --backend exact --collection scifact --quiet

mapfile -t EXAMPLES < <(python3 "$REPO/tests/cli/_doc_examples.py" "$REPO/README.md" "$REPO"/docs/*.md)
[[ ${#EXAMPLES[@]} -gt 20 ]] || fail "found only ${#EXAMPLES[@]} examples: is the extractor broken?"
ran=0 skipped=0
for ex in "${EXAMPLES[@]}"; do
    where=${ex%%$'\t'*}
    cmd=${ex#*$'\t'}
    where=${where#"$REPO/"}
    if allowed "$cmd"; then
        skipped=$((skipped + 1))
        continue
    fi
    # Each in a subshell at the scratch directory, stdin empty unless piped.
    out=$(cd "$W" && timeout 60 bash -c "$cmd" </dev/null 2>&1)
    rc=$?
    [[ $rc -eq 0 ]] || fail "$where: exit $rc from: $cmd | ${out:0:600}"
    ran=$((ran + 1))
done
echo "ran $ran examples, skipped $skipped (allow-listed)"
[[ $ran -gt 15 ]] || fail "ran only $ran examples"
exit 0
