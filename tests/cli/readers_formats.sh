# Every reader end to end: the bundled samples (Markdown, text, HTML) and a
# two-page PDF written here, then queries that must land on the right
# document, title and PDF page; an encrypted PDF is skipped with a warning.
source "$(dirname "$0")/_lib.sh"
[[ -x /usr/bin/python3 ]] || skip "python3 is needed to write the test PDF"
D="$TMP/docs"; mkdir -p "$D"
cp "$RAGGED_REPO"/samples/pantry/* "$D/"
/usr/bin/python3 - "$D" <<'PY'
import sys
def pdf(path, pages, title=None, encrypt=False):
    objs = {1: b"<< /Type /Catalog /Pages 2 0 R >>"}
    n = len(pages); font = 3 + 2 * n; info = font + 1; enc = info + 1
    objs[2] = ("<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join("%d 0 R" % (3 + 2 * i) for i in range(n)), n)).encode()
    for i, lines in enumerate(pages):
        stream = "BT /F1 12 Tf 72 720 Td 16 TL\n" + "".join("(%s) Tj T*\n" % l for l in lines) + "ET"
        objs[3 + 2 * i] = ("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (font, 4 + 2 * i)).encode()
        objs[4 + 2 * i] = ("<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)).encode()
    objs[font] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    objs[info] = ("<< /Title (%s) >>" % title).encode() if title else b"<< >>"
    objs[enc] = (b"<< /Filter /Standard /V 1 /R 2 /P -44 /O <" + b"6f" * 32 + b"> /U <" + b"75" * 32 + b"> >>") if encrypt else b"null"
    out = bytearray(b"%PDF-1.4\n"); off = {}
    for k in sorted(objs):
        off[k] = len(out); out += b"%d 0 obj\n" % k + objs[k] + b"\nendobj\n"
    x = len(out); out += b"xref\n0 %d\n0000000000 65535 f \n" % (enc + 1)
    for k in range(1, enc + 1): out += b"%010d 00000 n \n" % off[k]
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R" % (enc + 1, info)
    if encrypt: out += b" /Encrypt %d 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]" % enc
    out += b" >>\nstartxref\n%d\n%%%%EOF\n" % x
    open(path, "wb").write(out)
d = sys.argv[1]
# Pages long enough (about 400 tokens each) that chunks start on both pages.
pdf(d + "/garden-handbook.pdf", [
    ["Compost note %d: turn the compost heap with a fork and keep it moist." % i for i in range(36)],
    ["Greenhouse note %d: tomato seedlings are pricked out in early April." % i for i in range(36)]],
    title="The Allotment Handbook")
pdf(d + "/locked.pdf", [["Nothing readable here."]], encrypt=True)
PY
B=(--backend exact)

expect_exit 0 "$RAGGED" ingest "$D" "${B[@]}" --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') == 8 ]] || fail "expected 7 samples + 1 PDF: $OUT"
[[ $(json_get "$OUT" 'j["files_skipped"]') == 1 ]] || fail "the encrypted PDF must be skipped: $OUT"
contains "$OUT" "locked.pdf"
contains "$OUT" "encrypted"

# The demo question finds the backup notes, titled from the first heading.
expect_exit 0 "$RAGGED" query "How do I back up the database?" "${B[@]}" -k 1 --format json
[[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("backups.md")') == True ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["results"][0]["metadata"]["title"]') == "Backups on Pantry" ]] || fail "$OUT"

# HTML: title from <title>, text from the table.
expect_exit 0 "$RAGGED" query "What port does Jellyfin use?" "${B[@]}" -k 1 --format json
[[ $(json_get "$OUT" 'j["results"][0]["document_path"].endswith("services.html")') == True ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["results"][0]["metadata"]["title"]') == "Pantry services and ports" ]] || fail "$OUT"

# Front matter title wins over the heading.
expect_exit 0 "$RAGGED" query "hardware processor memory NVMe drive ZFS mirror" "${B[@]}" -k 1 --format json
[[ $(json_get "$OUT" 'j["results"][0]["metadata"]["title"]') == "Pantry: the household server" ]] || fail "$OUT"

# PDF: metadata title, and the page each chunk starts on.
expect_exit 0 "$RAGGED" query "turn the compost heap with a fork" "${B[@]}" --where '{"format": "pdf"}' -k 1 --format json
[[ $(json_get "$OUT" 'j["results"][0]["metadata"]["title"]') == "The Allotment Handbook" ]] || fail "$OUT"
[[ $(json_get "$OUT" 'j["results"][0]["metadata"]["page_number"]') == 1 ]] || fail "compost is on page 1: $OUT"
expect_exit 0 "$RAGGED" query "greenhouse tomato seedlings pricked out" "${B[@]}" --where '{"format": "pdf"}' -k 1 --format json
[[ $(json_get "$OUT" 'j["results"][0]["metadata"]["page_number"]') == 2 ]] || fail "the greenhouse is on page 2: $OUT"
exit 0
