#!/usr/bin/env bash
# `make demo`: ingest the bundled sample into the default embedded store
# (leann, under $XDG_DATA_HOME/ragged) and answer a question from it.
set -euo pipefail
cd "$(dirname "$0")/.."
RAGGED=${RAGGED:-build/ragged}
QUESTION=${1:-"How do I back up the database?"}
echo "== ragged ingest samples/pantry --collection demo" >&2
"$RAGGED" ingest samples/pantry --collection demo
echo >&2
echo "== ragged query \"$QUESTION\" --collection demo -k 3" >&2
"$RAGGED" query "$QUESTION" --collection demo -k 3
