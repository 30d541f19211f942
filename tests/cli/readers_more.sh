# The readers added for issue 18: gzip by inner name, man pages (plain and
# .gz), DOCX, ODT and EPUB (written here with python3's zipfile), source
# code with its language.  A tree of them is ingested; queries must land on
# the right document with the right format, title and language; files that
# only look like candidates (a rotated log named .1, a tarball, a PNG in
# gzip) are passed over quietly, while a gzip bomb and a damaged DOCX are
# warnings naming the file, and the run still succeeds.
source "$(dirname "$0")/_lib.sh"
[[ -x /usr/bin/python3 ]] || skip "python3 is needed to write the test documents"
D="$TMP/tree"; mkdir -p "$D/src" "$D/man/man1" "$D/doc"
/usr/bin/python3 - "$D" <<'PY'
import gzip, io, sys, zipfile
d = sys.argv[1]
def gz(path, text, mtime=0):
    open(path, "wb").write(gzip.compress(text.encode() if isinstance(text, str) else text, mtime=mtime))
def zipdoc(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)

gz(d + "/doc/notes.txt.gz", "The lighthouse lamp is cleaned every Tuesday with vinegar and newspaper.\n")
gz(d + "/doc/guide.md.gz", "# Beekeeping Guide\n\nInspect the hive for queen cells every nine days in swarm season.\n")
gz(d + "/doc/changelog.Debian.gz",
   "bellows (2.1-1) unstable; urgency=medium\n\n  * Fix the accordion bellows leak on cold mornings.\n\n"
   " -- Maintainer <m@example.org>  Mon, 01 Jan 2024 10:00:00 +0000\n")
gz(d + "/doc/README.gz", "Harpsichord tuning uses a quarter-comma meantone temperament by default.\n")
gz(d + "/man/man1/quillsharp.1.gz",
   ".TH QUILLSHARP 1 \"2024\" \"quill 1.0\"\n.SH NAME\nquillsharp \\- sharpen goose feather quills\n"
   ".SH DESCRIPTION\n.B quillsharp\ntrims the \\fIbarrel\\fR of a quill at a \\(em steep \\(em angle and\n"
   "hardens the nib in hot sand.\n.TP\n.BR \\-a \", \" \\-\\-angle\nthe cutting angle in degrees\n")
open(d + "/man/man1/sundial.8", "w").write(
   ".\\\" plain, uncompressed man page\n.TH SUNDIAL 8\n.SH NAME\nsundial \\- align a garden sundial\n"
   ".SH DESCRIPTION\nPoint the gnomon at true north and tilt it to the local latitude.\n")
# Only look like candidates: a rotated log named .1, a tarball, a PNG inside gzip.
open(d + "/doc/syslog.1", "w").write("Jan  1 00:00:01 host CRON[1]: walrus maintenance job ran\n")
gz(d + "/doc/bundle.tar.gz", b"walrus tarball bytes")
gz(d + "/doc/image.png.gz", b"\x89PNG\r\n\x1a\nwalrus")
# A gzip bomb: 3 MB of text in a few KiB, over ingest.max_file_mb = 1.
gz(d + "/doc/bomb.txt.gz", "walrus " * 450000)

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
zipdoc(d + "/doc/minutes.docx", [
    ("[Content_Types].xml", "<Types/>"),
    ("docProps/core.xml", '<cp:coreProperties xmlns:cp="c" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                          "<dc:title>Allotment Committee Minutes</dc:title></cp:coreProperties>"),
    ("word/document.xml", "<w:document %s><w:body><w:p><w:r><w:t>The committee voted to buy a shared "
                          "rotavator for the allotments.</w:t></w:r></w:p><w:p><w:r><w:delText>rejected draft"
                          "</w:delText></w:r></w:p></w:body></w:document>" % W)])
zipdoc(d + "/doc/field.odt", [
    ("mimetype", "application/vnd.oasis.opendocument.text"),
    ("meta.xml", '<office:document-meta xmlns:office="o" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                 "<office:meta><dc:title>Moth Survey</dc:title></office:meta></office:document-meta>"),
    ("content.xml", '<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text>'
                    "<text:h>Night counts</text:h><text:p>Forty elephant hawk-moths came to the mercury "
                    "vapour trap.</text:p></office:text></office:body></office:document-content>")])
zipdoc(d + "/doc/voyage.epub", [
    ("mimetype", "application/epub+zip"),
    ("META-INF/container.xml", '<container><rootfiles><rootfile full-path="OPS/pkg.opf"/></rootfiles></container>'),
    ("OPS/pkg.opf", '<package><metadata><dc:title xmlns:dc="http://purl.org/dc/elements/1.1/">The Long Voyage'
                    '</dc:title></metadata><manifest><item id="c1" href="c1.xhtml"/><item id="c2" href="c2.xhtml"/>'
                    '</manifest><spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>'),
    ("OPS/c2.xhtml", "<html><body><h1>Landfall</h1><p>The schooner anchored off a volcanic island.</p></body></html>"),
    ("OPS/c1.xhtml", "<html><body><h1>Departure</h1><p>They sailed from Bristol at dawn.</p></body></html>")])
# A damaged DOCX: the first half of a real one.
b = io.BytesIO()
with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("word/document.xml", "<w:document><w:body>" + "<w:p><w:r><w:t>x</w:t></w:r></w:p>" * 200 + "</w:body></w:document>")
open(d + "/doc/broken.docx", "wb").write(b.getvalue()[: len(b.getvalue()) // 2])

open(d + "/src/kiln.c", "w").write(
    "#include <stdio.h>\n\n/* Ramps the kiln temperature for bisque firing. */\nstatic int\nramp_kiln(int c)\n{\n"
    "    return c + 100;\n}\n\nint main(void)\n{\n    return ramp_kiln(900) > 1000;\n}\n")
open(d + "/src/glaze.py", "w").write(
    "import math\n\n\n@staticmethod\ndef mix_celadon_glaze(weight):\n    \"\"\"Celadon glaze: feldspar, silica, whiting and iron oxide.\"\"\"\n"
    "    return {\"feldspar\": weight * 0.4}\n\n\nclass Kiln:\n    def fire(self):\n        return 'cone 10'\n")
open(d + "/src/deploy", "w").write("#!/usr/bin/env bash\n# Uploads the pottery catalogue to the web server.\nrsync -a site/ web:/srv\n")
PY
B=(--backend exact)

expect_exit 0 env RAGGED_INGEST_MAX_FILE_MB=1 "$RAGGED" ingest "$D" "${B[@]}" --format json
# notes, guide, changelog, README, two man pages, docx, odt, epub, 3 code files.
[[ $(json_get "$OUT" 'j["files_ingested"]') == 12 ]] || fail "expected 12 files ingested: $OUT"
[[ $(json_get "$OUT" 'j["files_skipped"]') == 2 ]] || fail "the bomb and the damaged DOCX are skipped: $OUT"
contains "$OUT" "bomb.txt.gz"
contains "$OUT" "gzip bomb"
contains "$OUT" "broken.docx"
not_contains "$OUT" "syslog.1"
not_contains "$OUT" "bundle.tar.gz"
not_contains "$OUT" "image.png.gz"

q() { expect_exit 0 "$RAGGED" query "$1" "${B[@]}" -k 1 --format json; }
top() { json_get "$OUT" "j['results'][0]$1"; }

q "how often is the lighthouse lamp cleaned"
[[ $(top '["document_path"].endswith("notes.txt.gz")') == True ]] || fail "$OUT"
[[ $(top '["metadata"]["format"]') == text ]] || fail "$OUT"
q "inspect hive queen cells swarm season"
[[ $(top '["metadata"]["title"]') == "Beekeeping Guide" ]] || fail "$OUT"
[[ $(top '["metadata"]["format"]') == markdown ]] || fail "$OUT"
q "accordion bellows leak cold mornings"
[[ $(top '["document_path"].endswith("changelog.Debian.gz")') == True ]] || fail "$OUT"
q "harpsichord meantone temperament"
[[ $(top '["document_path"].endswith("README.gz")') == True ]] || fail "$OUT"
q "sharpen goose feather quills nib hot sand"
[[ $(top '["metadata"]["format"]') == man ]] || fail "$OUT"
[[ $(top '["metadata"]["title"]') == "quillsharp - sharpen goose feather quills" ]] || fail "$OUT"
not_contains "$(top '["text"]')" '\f'
q "gnomon true north latitude"
[[ $(top '["metadata"]["title"]') == "sundial - align a garden sundial" ]] || fail "$OUT"
q "committee rotavator allotments"
[[ $(top '["metadata"]["format"]') == docx ]] || fail "$OUT"
[[ $(top '["metadata"]["title"]') == "Allotment Committee Minutes" ]] || fail "$OUT"
not_contains "$(top '["text"]')" "rejected draft"
q "elephant hawk-moths mercury vapour trap"
[[ $(top '["metadata"]["title"]') == "Moth Survey" ]] || fail "$OUT"
q "schooner anchored volcanic island"
[[ $(top '["metadata"]["format"]') == epub ]] || fail "$OUT"
[[ $(top '["metadata"]["title"]') == "The Long Voyage" ]] || fail "$OUT"
# Chapters in spine order, not archive order.
t=$(top '["text"]')
[[ $t == *Departure*Landfall* ]] || fail "spine order lost: $t"

# Code: format, language, and a chunk that starts at the definition.
expect_exit 0 "$RAGGED" query "celadon glaze feldspar" "${B[@]}" -k 1 --where '{"language": "python"}' --format json
[[ $(top '["metadata"]["format"]') == code ]] || fail "$OUT"
[[ $(top '["document_path"].endswith("glaze.py")') == True ]] || fail "$OUT"
expect_exit 0 "$RAGGED" query "kiln temperature bisque" "${B[@]}" -k 1 --where '{"language": "c"}' --format json
[[ $(top '["document_path"].endswith("kiln.c")') == True ]] || fail "$OUT"
expect_exit 0 "$RAGGED" query "upload pottery catalogue" "${B[@]}" -k 1 --where '{"language": "shell"}' --format json
[[ $(top '["document_path"].endswith("deploy")') == True ]] || fail "$OUT"

# What was passed over is not in the collection.
expect_exit 0 "$RAGGED" query "walrus" "${B[@]}" -k 20 --format json
not_contains "$OUT" "syslog.1"
not_contains "$OUT" "tar.gz"
not_contains "$OUT" "bomb.txt.gz"

# Re-ingest: nothing changed, nothing rewritten.
expect_exit 0 env RAGGED_INGEST_MAX_FILE_MB=1 "$RAGGED" ingest "$D" "${B[@]}" --format json
[[ $(json_get "$OUT" 'j["files_unchanged"]') == 12 ]] || fail "$OUT"
exit 0
