# The HTML, Markdown and PDF readers never fetch remote resources: documents
# that reference a local listener in every way the formats allow (images,
# stylesheets, scripts, frames, external DTDs and entities, XInclude, PDF
# URI/GoToR/Launch actions and external streams) are ingested and the
# listener must see no connection.
source "$(dirname "$0")/_lib.sh"
L="$TMP/listener.log"; : >"$L"
/usr/bin/python3 "$(dirname "$0")/_listener.py" "$L" "$TMP/port" &
lpid=$!
trap 'kill $lpid 2>/dev/null' EXIT
for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.05; done
[[ -s $TMP/port ]] || fail "the test listener did not start"
P=$(cat "$TMP/port"); U="http://127.0.0.1:$P"
# The listener works (so silence below means something).
/usr/bin/python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1] + '/probe', timeout=5).read()" "$U" ||
    fail "cannot reach the test listener"
[[ $(wc -l <"$L") -eq 1 ]] || fail "listener did not record the probe"
: >"$L"

D="$TMP/docs"; mkdir -p "$D"
cat >"$D/page.html" <<HTML
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "$U/dtd/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:xi="http://www.w3.org/2001/XInclude">
<head><base href="$U/base/"><title>Remote references</title>
<link rel="stylesheet" href="$U/style.css"><link rel="preload" href="$U/font.woff">
<script src="$U/script.js"></script><meta http-equiv="refresh" content="0; url=$U/refresh">
<style>@import url("$U/import.css"); body { background: url($U/bg.png) }</style></head>
<body><p>The page about remote fetching.</p><img src="$U/img.png" srcset="$U/img2.png 2x">
<iframe src="$U/frame.html"></iframe><object data="$U/object.swf"></object><embed src="$U/embed.swf">
<video src="$U/video.mp4" poster="$U/poster.png"></video><audio src="$U/audio.mp3"></audio>
<xi:include href="$U/xinclude.xml"/><svg><image href="$U/svg.png"/></svg>
<a href="$U/link">a link</a></body></html>
HTML
cat >"$D/entities.html" <<HTML
<?xml version="1.0"?>
<?xml-stylesheet href="$U/xsl.xsl" type="text/xsl"?>
<!DOCTYPE html [ <!ENTITY ext SYSTEM "$U/entity.txt"> <!ENTITY % pe SYSTEM "$U/pe.dtd"> %pe; ]>
<html><body><p>Entity: &ext; and text about remote fetching.</p></body></html>
HTML
cat >"$D/notes.md" <<MD
# Remote references in Markdown

![image]($U/md.png) and [a link]($U/md-link) and <img src="$U/md-html.png">

[ref]: $U/ref
MD
/usr/bin/python3 - "$D/remote.pdf" "$U" <<'PY'
import sys
path, u = sys.argv[1], sys.argv[2]
text = b"BT /F1 12 Tf 72 720 Td (A PDF about remote fetching.) Tj ET"
objs = [
    b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R /URI << /Base (" + u.encode() + b"/base) >> >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Annots [7 0 R 8 0 R]"
    b" /Resources << /Font << /F1 5 0 R >> /XObject << /X1 9 0 R >> >> >>",
    b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    b"<< /S /URI /URI (" + u.encode() + b"/open-action) >>",
    b"<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A << /S /URI /URI (" + u.encode() + b"/annot) >> >>",
    b"<< /Type /Annot /Subtype /Link /Rect [0 100 100 200] /A << /S /GoToR /F << /FS /URL /F (" + u.encode()
    + b"/remote.pdf) >> /D [0 /Fit] >> >>",
    b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8"
    b" /Length 0 /F << /FS /URL /F (" + u.encode() + b"/external-stream) >> >>\nstream\n\nendstream",
]
out = bytearray(b"%PDF-1.4\n")
offs = []
for i, o in enumerate(objs, 1):
    offs.append(len(out))
    out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
x = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offs)
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
open(path, "wb").write(out)
PY

expect_exit 0 "$RAGGED" ingest "$D" --backend exact --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') -eq 4 ]] || fail "expected 4 documents ingested: $OUT"
expect_exit 0 "$RAGGED" query "remote fetching" --backend exact -k 20 --format json
sleep 0.5
[[ ! -s $L ]] || fail "a reader connected to the network: $(cat "$L")"
echo "no_remote_fetch: HTML (2 pages), Markdown and PDF with $(grep -o "$U" "$D"/* | wc -l) references to $U: 0 connections"
