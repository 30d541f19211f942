# docs/configuration.md documents every key of the schema, as generated.
source "$(dirname "$0")/_lib.sh"
expect_exit 0 "$RAGGED" config schema
doc="$RAGGED_REPO/docs/configuration.md"
while IFS= read -r line; do
    grep -qxF -- "$line" "$doc" || fail "docs/configuration.md is out of date (missing: ${line:0:120}); run scripts/gen-config-docs.sh"
done <<<"$OUT"
exit 0
