# Conventions (issue 18 item 7): unknown options named, "did you mean",
# `ragged help`, completions and the man page from the command table,
# `collections delete` confirmation on a terminal, config get/set/init json.
source "$(dirname "$0")/_lib.sh"

# Unknown options name themselves; a missing value says so.
expect_exit 2 "$RAGGED" query --frobnicate x
contains "$ERR" "unknown option '--frobnicate'"
expect_exit 2 "$RAGGED" ingest --frobnicate=3 x
contains "$ERR" "unknown option '--frobnicate'"
expect_exit 2 "$RAGGED" query x --where
contains "$ERR" "option '--where' needs a value"
expect_exit 2 "$RAGGED" query -z x
contains "$ERR" "unknown option '-z'"
expect_exit 2 "$RAGGED" --frobnicate query x
contains "$ERR" "unknown option '--frobnicate'"

# Mistyped commands get a suggestion; nonsense gets the list.
expect_exit 2 "$RAGGED" qurey x
contains "$ERR" "did you mean 'query'?"
expect_exit 2 "$RAGGED" colections list
contains "$ERR" "did you mean 'collections'?"
expect_exit 2 "$RAGGED" collections lsit
contains "$ERR" "did you mean 'list'?"
expect_exit 2 "$RAGGED" config shwo
contains "$ERR" "did you mean 'show'?"
expect_exit 2 "$RAGGED" xyzzy
not_contains "$ERR" "did you mean"
contains "$ERR" "Commands:"

# help [COMMAND] is the command's --help.
expect_exit 0 "$RAGGED" help
contains "$OUT" "completion"
expect_exit 0 "$RAGGED" help query
HELP_QUERY=$OUT
expect_exit 0 "$RAGGED" query --help
[[ $OUT == "$HELP_QUERY" ]] || fail "help query differs from query --help"
expect_exit 2 "$RAGGED" help qeury
contains "$ERR" "did you mean 'query'?"

# Completions: valid shell syntax, every command and the options of its
# --help (so a new option cannot be missed).
expect_exit 0 "$RAGGED" completion bash
BASH_COMP=$OUT
printf '%s\n' "$BASH_COMP" >"$TMP/ragged.bash"
bash -n "$TMP/ragged.bash" || fail "bash completion does not parse"
for cmd in ingest query collections migrate config backend embed model eval help completion; do
    contains "$BASH_COMP" "    $cmd) opts="
done
for opt in $(printf '%s\n' "$HELP_QUERY" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    contains "$BASH_COMP" "$opt"
done
# The bash script completes in a real shell.
got=$(bash -c 'source "$1"; COMP_WORDS=(ragged query --col); COMP_CWORD=2; _ragged; printf "%s " "${COMPREPLY[@]}"' _ "$TMP/ragged.bash")
contains "$got" "--collection"
contains "$got" "--color"
got=$(bash -c 'source "$1"; COMP_WORDS=(ragged collections d); COMP_CWORD=2; _ragged; printf "%s " "${COMPREPLY[@]}"' _ "$TMP/ragged.bash")
[[ $got == "delete " ]] || fail "collections d completed to '$got'"
got=$(bash -c 'source "$1"; COMP_WORDS=(ragged query x --format ""); COMP_CWORD=4; _ragged; printf "%s " "${COMPREPLY[@]}"' _ "$TMP/ragged.bash")
[[ $got == "text json " ]] || fail "--format completed to '$got'"
expect_exit 0 "$RAGGED" completion zsh
contains "$OUT" "#compdef ragged"
contains "$OUT" "'--contains=:value:_files'"
if command -v zsh >/dev/null; then
    printf '%s\n' "$OUT" >"$TMP/_ragged"
    zsh -n "$TMP/_ragged" || fail "zsh completion does not parse"
fi
expect_exit 0 "$RAGGED" completion fish
contains "$OUT" "__fish_seen_subcommand_from query' -l contains -r -F"
if command -v fish >/dev/null; then
    printf '%s\n' "$OUT" >"$TMP/ragged.fish"
    fish -n "$TMP/ragged.fish" || fail "fish completion does not parse"
fi
expect_exit 2 "$RAGGED" completion tcsh
contains "$ERR" "unknown shell 'tcsh'"

# The man page: roff with every command, no line starting with a stray
# control character from the help texts.
expect_exit 0 "$RAGGED" help --man
MAN=$OUT
contains "$MAN" ".TH RAGGED 1"
for cmd in ingest query collections migrate config backend embed model eval; do contains "$MAN" ".SS $cmd"; done
contains "$MAN" "NO_COLOR"
if command -v groff >/dev/null; then
    warn=$(printf '%s\n' "$MAN" | groff -man -Tutf8 -ww -z 2>&1)
    [[ -z $warn ]] || fail "groff warns about the man page: ${warn:0:400}"
fi

# config get / set / init --format json
export XDG_CONFIG_HOME="$TMP/cfg"
expect_exit 0 "$RAGGED" config get retrieval.k
K_DEFAULT=$OUT
expect_exit 0 "$RAGGED" config set retrieval.k 7
expect_exit 0 "$RAGGED" config get retrieval.k
[[ $OUT == 7 ]] || fail "config get after set: $OUT"
expect_exit 0 "$RAGGED" config get retrieval.k --format json
[[ $(json_get "$OUT" "j['value'], j['origin'].startswith('file:')") == "7 True" ]] || fail "config get json: $OUT"
expect_exit 2 "$RAGGED" config set retrieval.k many
contains "$ERR" "must be a whole number"
expect_exit 2 "$RAGGED" config get retrieval.kk
contains "$ERR" "did you mean 'retrieval.k'"
# A hand-written file keeps its comments and other keys.
printf '# my settings\nretrieval:\n  mode: bm25   # lexical only\n' >"$TMP/mine.yml"
expect_exit 0 "$RAGGED" --config "$TMP/mine.yml" config set retrieval.k 3
expect_exit 0 "$RAGGED" --config "$TMP/mine.yml" config set embedding.query_prefix 'query: "q"'
contains "$(cat "$TMP/mine.yml")" "# my settings"
contains "$(cat "$TMP/mine.yml")" "mode: bm25   # lexical only"
expect_exit 0 "$RAGGED" --config "$TMP/mine.yml" config set retrieval.mode hybrid
contains "$(cat "$TMP/mine.yml")" 'mode: "hybrid"  # lexical only'
expect_exit 0 "$RAGGED" --config "$TMP/mine.yml" config get embedding.query_prefix
[[ $OUT == 'query: "q"' ]] || fail "query_prefix round trip: $OUT"
expect_exit 0 "$RAGGED" --config "$TMP/mine.yml" config get retrieval.mode
[[ $OUT == hybrid ]] || fail "retrieval.mode: $OUT"
expect_exit 0 "$RAGGED" --config "$TMP/mine.yml" config get retrieval.k
[[ $OUT == 3 ]] || fail "other keys kept: $OUT"
# A layout the line edit cannot handle is refused, the file unchanged.
printf 'retrieval: {mode: bm25}\n' >"$TMP/flow.yml"
expect_exit 2 "$RAGGED" --config "$TMP/flow.yml" config set retrieval.k 3
contains "$ERR" "the file is unchanged"
[[ $(cat "$TMP/flow.yml") == 'retrieval: {mode: bm25}' ]] || fail "flow file changed"
unset XDG_CONFIG_HOME
expect_exit 0 "$RAGGED" config init --format json
[[ $(json_get "$OUT" "j['retrieval']['k']") == "$K_DEFAULT" ]] || fail "config init json: ${OUT:0:200}"
printf '%s\n' "$OUT" >"$TMP/init.json"
expect_exit 0 "$RAGGED" --config "$TMP/init.json" config validate

# collections delete: no question without a terminal or with --yes; on a
# terminal, only 'y' deletes.
export RAGGED_VECTORSTORE_BACKEND=exact
expect_exit 0 "$RAGGED" collections create keep-me
expect_exit 0 "$RAGGED" collections create gone-1
expect_exit 0 "$RAGGED" collections delete gone-1 </dev/null
if command -v script >/dev/null; then
    printf 'n\n' | script -qec "\"$RAGGED\" collections delete keep-me" /dev/null >"$TMP/tty.out" 2>&1
    contains "$(cat "$TMP/tty.out")" "Delete collection keep-me"
    contains "$(cat "$TMP/tty.out")" "not deleted"
    expect_exit 0 "$RAGGED" collections info keep-me
    printf 'y\n' | script -qec "\"$RAGGED\" collections delete keep-me" /dev/null >"$TMP/tty.out" 2>&1
    contains "$(cat "$TMP/tty.out")" "deleted collection keep-me"
    expect_exit 1 "$RAGGED" collections info keep-me
    expect_exit 0 "$RAGGED" collections create keep-me
    script -qec "\"$RAGGED\" collections delete keep-me --yes" /dev/null </dev/null >"$TMP/tty.out" 2>&1
    not_contains "$(cat "$TMP/tty.out")" "Delete collection"
    expect_exit 1 "$RAGGED" collections info keep-me
fi
exit 0
