# The web page of ragged serve in a real browser (Debian's chromium,
# headless, driven over the DevTools protocol): a query typed into the
# search box and submitted with Enter,
# the rendered results show sources and highlighted terms; an answer is
# streamed in with its citations turned into links to the passages.
source "$(dirname "$0")/_answer.sh"
source "$(dirname "$0")/_serve.sh"
trap 'stop_fake_llm; stop_serve' EXIT
CHROMIUM=$(command -v chromium || command -v chromium-browser) || skip "chromium is not installed (scripts/install-deps.sh)"
make_corpus
start_fake_llm
export RAGGED_VECTORSTORE_BACKEND=exact RAGGED_LLM_PROVIDER=ollama RAGGED_LLM_URL="$LLM_URL" RAGGED_LLM_MODEL=ok
start_serve --quiet

# dom QUERY [ARGS]: the page's HTML after typing QUERY into the search box
# and pressing Enter (--answer: clicking Answer), driven over the DevTools
# protocol (tests/cli/_cdp.py; bounded waits).
dom() {
    CDP_USER_DATA="$TMP/chromium" timeout 90 /usr/bin/python3 "$(dirname "$0")/_cdp.py" "$CHROMIUM" "$SERVE_URL/" "$@" \
        2>"$TMP/cdp.err" || fail "browser run failed: $(cat "$TMP/cdp.err"; tail -5 "$TMP/chromium.log")"
}
# items PYEXPR: evaluates PYEXPR over the result items parsed from $DOM
# (each: id, src, marks, text).
items() {
    /usr/bin/python3 -c '
import sys, json
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.items = []; s.cur = None; s.field = None; s.answer = None; s.links = []; s.depth = 0
    def handle_starttag(s, tag, a):
        a = dict(a)
        if tag == "li" and "result" in (a.get("class") or ""): s.cur = {"id": a.get("id"), "src": "", "marks": [], "text": ""}; s.items.append(s.cur)
        elif s.cur is not None and tag == "span" and a.get("class") == "src": s.field = "src"
        elif s.cur is not None and tag == "mark": s.field = "mark"; s.cur["marks"].append("")
        if tag == "div" and a.get("id") == "answer": s.answer = ""; s.depth = 1
        elif s.answer is not None and s.depth and tag == "a": s.links.append((a.get("class"), a.get("href")))
    def handle_endtag(s, tag):
        if tag == "li": s.cur = None
        if tag in ("span", "mark"): s.field = None
        if tag == "div" and s.depth: s.depth = 0
    def handle_data(s, d):
        if s.cur is not None:
            s.cur["text"] += d
            if s.field == "src": s.cur["src"] += d
            if s.field == "mark": s.cur["marks"][-1] += d
        if s.depth: s.answer += d
p = P(); p.feed(sys.stdin.read())
items, answer, links = p.items, p.answer, p.links
print(eval(sys.argv[1]))' "$1" <<<"$DOM"
}

DOM=$(dom "how is the database backed up" --mode bm25)
[[ $(items 'len(items)') -ge 2 ]] || fail "no results rendered: ${DOM:0:2000}"
[[ $(items 'items[0]["src"]') == "$TMP/docs/backup.md" ]] || fail "first source: $(items 'items[0]')"
[[ $(items 'sorted(set(m.lower() for i in items for m in i["marks"]))') == *database* ]] || fail "terms not highlighted: $(items items)"
contains "$(items 'items[0]["text"]')" "backed up every night"
contains "$DOM" "passages from exact/default (bm25"
# Text from the documents is shown as text, never as markup.
printf '<img src=x onerror=alert(1)> Tomato <b>blight</b> spreads in wet weather.\n' >"$TMP/docs/evil.txt"
expect_exit 0 "$RAGGED" ingest "$TMP/docs" --quiet
DOM=$(dom "tomato blight" --mode bm25)
[[ $(items 'items[0]["src"]') == "$TMP/docs/evil.txt" ]] || fail "$(items items)"
contains "$(items 'items[0]["text"]')" "<img src=x"
not_contains "$DOM" "<img src=\"x\""
# The streamed answer, its citations links to the passages they cite.
DOM=$(dom "how is the database backed up" --answer)
contains "$(items 'answer')" "According to the notes"
[[ $(items 'sorted(set(links))') == "[('cite', '#p1'), ('cite', '#p2')]" ]] || fail "citation links: $(items 'links')"
[[ $(items '[i["id"] for i in items][:2]') == "['p1', 'p2']" ]] || fail "passages the links point at: $(items items)"
contains "$DOM" 'data-state="answered"'
