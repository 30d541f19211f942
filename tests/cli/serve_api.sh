# ragged serve: /v1 answers exactly what the CLI prints, errors are JSON with
# the CLI's codes, requests are checked (Host, Origin, size, token), queries
# go on while an ingest job runs, SIGINT stops it with exit 0.
source "$(dirname "$0")/_lib.sh"
source "$(dirname "$0")/_serve.sh"
trap stop_serve EXIT
REPO=${RAGGED_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
expect_exit 0 "$RAGGED" ingest "$REPO/samples" --quiet
expect_exit 0 "$RAGGED" ingest "$REPO/samples" --backend exact --collection exa --quiet
start_serve

http GET /v1/health
[[ $CODE == 200 ]] || fail "health: $CODE $BODY"
[[ $(json_get "$BODY" '(j["status"], j["llm"])') == "('ok', False)" ]] || fail "$BODY"

# /v1/collections is `collections list --format json`.
http GET /v1/collections
expect_exit 0 "$RAGGED" collections list --format json
[[ $BODY == "$OUT" ]] || fail "collections differ: $BODY vs $OUT"
http GET '/v1/collections?backend=exact'
[[ $(json_get "$BODY" '[c["name"] for c in j["collections"]]') == "['exa']" ]] || fail "$BODY"

# /v1/query is `query --format json`, byte for byte but for the timing.
same_as_cli() {   # same_as_cli JSON-BODY CLI-ARGS...
    local req=$1
    shift
    http POST /v1/query -H 'Content-Type: application/json' -d "$req"
    [[ $CODE == 200 ]] || fail "query $req: $CODE $BODY"
    expect_exit 0 "$RAGGED" query "$@" --format json
    diff <(grep -v '"seconds"' <<<"$BODY") <(grep -v '"seconds"' <<<"$OUT") >"$TMP/diff" ||
        fail "serve and CLI differ for $req: $(head -20 "$TMP/diff")"
    [[ $(grep -c '"rank"' <<<"$BODY") -ge 1 ]] || fail "no results for $req"
}
same_as_cli '{"query":"how are backups kept"}' "how are backups kept"
same_as_cli '{"query":"backup drive","k":3,"mode":"vector"}' "backup drive" -k 3 --mode vector
same_as_cli '{"query":"backup drive","mode":"bm25","collection":"exa","backend":"exact"}' "backup drive" --mode bm25 --collection exa --backend exact
same_as_cli '{"query":"backup","where":{"chunk_position":0},"k":2}' backup --where '{"chunk_position":0}' -k 2

# Errors: JSON with the CLI's code names and a fitting HTTP status.
err_is() {   # err_is STATUS CODE-NAME TEXT
    [[ $CODE == "$1" ]] || fail "expected HTTP $1, got $CODE: $BODY"
    [[ $(json_get "$BODY" 'j["error"]["code"]') == "$2" ]] || fail "expected error code $2: $BODY"
    contains "$BODY" "$3"
}
http POST /v1/query -d '{"query":'
err_is 400 invalid "not valid JSON"
http POST /v1/query -d '{"k":3}'
err_is 400 invalid '\"query\" is missing'
http POST /v1/query -d '{"query":"x","k":0}'
err_is 400 invalid '\"k\" takes a number from 1'
http POST /v1/query -d '{"query":"x","mode":"fuzzy"}'
err_is 400 invalid "fuzzy"
http POST /v1/query -d '{"query":"x","where":{"page_number":{"$near":3}}}'
err_is 400 invalid "where"
http POST /v1/query -d '{"query":"x","colour":"red"}'
err_is 400 invalid "unknown member"
http POST /v1/query -d '{"query":"x","collection":"missing"}'
err_is 404 not_found "does not exist"
http POST /v1/query -d '{"query":"x","collection":"../etc"}'
err_is 400 invalid ""
http GET /v1/query
err_is 405 invalid "POST only"
http GET /v2/nothing
err_is 404 not_found "/v1/query"
head -c 1100000 /dev/zero | tr '\0' ' ' >"$TMP/big.json"
http POST /v1/query --data-binary @"$TMP/big.json"
err_is 413 invalid "larger than 1048576 bytes"
http POST /v1/answer -d '{"query":"x"}'
err_is 503 unavailable "no LLM is configured"
http GET /v1/jobs/99
err_is 404 not_found "no such job"

# DNS rebinding and cross-site requests are refused; the server's own names pass.
http GET /v1/health -H "Host: attacker.example:$SERVE_PORT"
err_is 403 invalid "DNS rebinding"
http GET /v1/health -H "Host: 127.0.0.1:1"
err_is 403 invalid "Host"
http POST /v1/query -H 'Origin: http://attacker.example' -d '{"query":"x"}'
err_is 403 invalid "cross-origin"
http POST /v1/query -H 'Origin: null' -d '{"query":"x"}'
err_is 403 invalid "cross-origin"
http GET /v1/health -H "Host: localhost:$SERVE_PORT" -H "Origin: http://localhost:$SERVE_PORT"
[[ $CODE == 200 ]] || fail "own origin refused: $CODE $BODY"

# Ingest as a job: 202 with its URL, progress until done; queries run meanwhile.
mkdir -p "$TMP/more"
for i in $(seq 1 60); do
    printf 'Note %d about the greenhouse irrigation schedule and tomato seedlings, row %d.\n\n%s\n' "$i" "$i" \
        "$(seq -s ' ' 1 400)" >"$TMP/more/note$i.txt"
done
http POST /v1/ingest -d "{\"paths\":[\"$TMP/more\"],\"collection\":\"more\"}"
[[ $CODE == 202 ]] || fail "ingest: $CODE $BODY"
job=$(json_get "$BODY" 'j["url"]')
[[ $job == /v1/jobs/1 ]] || fail "$BODY"
pids=()
for i in $(seq 1 8); do
    curl -sS --max-time 30 -o "$TMP/par$i.json" -w '%{http_code}' -X POST "$SERVE_URL/v1/query" \
        -d '{"query":"backups on the cellar drive"}' >"$TMP/par$i.code" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent query failed"; done
for i in $(seq 1 8); do
    [[ $(cat "$TMP/par$i.code") == 200 ]] || fail "concurrent query $i: $(cat "$TMP/par$i.code") $(cat "$TMP/par$i.json")"
    cmp -s <(grep -v seconds "$TMP/par1.json") <(grep -v seconds "$TMP/par$i.json") || fail "concurrent answers differ"
done
for ((i = 0; i < 300; i++)); do
    http GET "$job"
    [[ $(json_get "$BODY" 'j["state"]') == running ]] || break
    sleep 0.1
done
[[ $(json_get "$BODY" '(j["state"], j["files_done"], j["files_ingested"])') == "('done', 60, 60)" ]] || fail "job: $BODY"
http POST /v1/query -d '{"query":"greenhouse irrigation","collection":"more","k":1}'
[[ $CODE == 200 ]] || fail "$BODY"
contains "$BODY" "$TMP/more/note"
http POST /v1/ingest -d '{"paths":["/nonexistent/dir"]}'
err_is 404 not_found "/nonexistent/dir"
http POST /v1/ingest -d '{"paths":[]}'
err_is 400 invalid "paths"

# The page is served with a policy that forbids anything from elsewhere.
curl -sS -D "$TMP/page.h" -o "$TMP/page.html" "$SERVE_URL/" || fail "GET /"
grep -qi '^Content-Security-Policy: default-src .none.' "$TMP/page.h" || fail "no CSP: $(cat "$TMP/page.h")"
grep -q '<form id="search"' "$TMP/page.html" || fail "page not served"
! grep -Eq '(src|href)="(https?:)?//' "$TMP/page.html" || fail "the page loads something from elsewhere"

# The log has method and path, never bodies.
contains "$(cat "$TMP/serve.err")" "POST /v1/query"
not_contains "$(cat "$TMP/serve.err")" "backups on the cellar drive"

# SIGINT: a clean stop, exit 0.
kill -INT "$SERVE_PID"
wait "$SERVE_PID"
rc=$?
SERVE_PID=
[[ $rc == 0 ]] || fail "serve exited $rc on SIGINT: $(tail -3 "$TMP/serve.err")"
contains "$(cat "$TMP/serve.err")" "stopping"
