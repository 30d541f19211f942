# TLS certificate verification is on by default; turning it off needs the
# explicit key vectorstore.chromadb.tls_verify: false and warns on use.
source "$(dirname "$0")/_lib.sh"
expect_exit 0 "$RAGGED" config show --format json
[[ $(json_get "$OUT" '(j.get("config", j))["vectorstore"]["chromadb"]["tls_verify"]') == True ]] ||
    fail "tls_verify is not true by default: $OUT"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export RAGGED_VECTORSTORE_CHROMADB_URL="https://127.0.0.1:$port"
"$RAGGED" collections list --backend chromadb >"$TMP/out" 2>&1
if grep -qi "not compiled in\|not available" "$TMP/out"; then
    skip "the chromadb backend is not compiled in: $(head -c 200 "$TMP/out")"
fi
if grep -qi "TLS certificate verification is off" "$TMP/out"; then
    fail "warned about TLS verification being off while it is on: $(cat "$TMP/out")"
fi
RAGGED_VECTORSTORE_CHROMADB_TLS_VERIFY=false "$RAGGED" collections list --backend chromadb >"$TMP/out" 2>&1
grep -qi "TLS certificate verification is off" "$TMP/out" || fail "no warning with tls_verify false: $(cat "$TMP/out")"
echo "tls_verify: on by default; off warns"
