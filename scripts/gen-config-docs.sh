#!/usr/bin/env bash
# Regenerates docs/configuration.md from the schema compiled into ragged
# (src/config_schema.c).  tests/cli/docs_config.sh fails when they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
RAGGED=${RAGGED:-build/ragged}
{
cat <<'HEAD'
# Configuration

ragged reads one YAML file, then environment variables, then command-line flags; each layer overrides the one
before it:

1. built-in defaults (below);
2. the configuration file: `--config FILE`, else `$RAGGED_CONFIG`, else `./ragged.yml`, else
   `$XDG_CONFIG_HOME/ragged/config.yml` (`~/.config/ragged/config.yml`) — the first that exists;
3. environment variables: `RAGGED_` + the key in capitals with `.` written `_`
   (`vectorstore.leann.graph_degree` → `RAGGED_VECTORSTORE_LEANN_GRAPH_DEGREE`);
4. flags such as `--backend`.

`ragged config show` prints the effective configuration and where each value came from;
`ragged config validate [FILE]` checks a file; `ragged config init --write ragged.yml` writes one with every default.

Relative paths in a file resolve against the directory of that file (in the environment or a flag: against the
current directory). Data lives under `$XDG_DATA_HOME/ragged` (`~/.local/share/ragged`) by default.

An unknown key, a wrong type or a value out of range is an error that names the file, the line and the valid
choices, with a "did you mean" for near misses; ragged exits with code 2 and changes nothing.

Secrets (API keys, tokens) are never written in the file: keys ending in `_env` name the environment variable
that holds them.

The product spec's keys, exactly:

```yaml
vectorstore:
  backend: leann          # or chromadb (or exact)
  leann:
    persist_directory: ./data/leann
    graph_degree: 32
    search_complexity: 100
```

## Every key

This table is generated from the schema (`scripts/gen-config-docs.sh`, i.e. `ragged config schema`).

HEAD
"$RAGGED" config schema
} > docs/configuration.md
echo "wrote docs/configuration.md" >&2
