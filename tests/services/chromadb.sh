#!/usr/bin/env bash
# Test service hook (tests/run.sh): a ChromaDB server for the chromadb backend's
# tests, on a free loopback port and a fresh temp directory, started with
# scripts/chroma-server.sh.  Prints the variables the tests read and the
# command run.sh calls on exit (also when tests fail) to stop it by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ ${1:-} == start ]] || { echo "usage: chromadb.sh start" >&2; exit 2; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/ragged-chroma-test-XXXXXX")
if ! url=$(scripts/chroma-server.sh start --port auto --path "$dir/db" --pid-file "$dir/chroma.pid" --timeout 90); then
    rm -rf "$dir"
    echo "could not start a ChromaDB server (scripts/chroma-server.sh start); chromadb tests will skip" >&2
    exit 1
fi
echo "export RAGGED_TEST_CHROMADB_URL=$url"
echo "export RAGGED_TEST_CHROMADB_PIDFILE=$dir/chroma.pid"
echo "export RAGGED_TEST_CHROMADB_PATH=$dir/db"
echo "cleanup: scripts/chroma-server.sh stop --pid-file '$dir/chroma.pid' >/dev/null 2>&1; rm -rf '$dir'"
