#!/usr/bin/python3
"""Writes the seed corpora in fuzz/corpus/TARGET (small, deterministic).

Run from the repository root after changing a format; the outputs are
committed.  Not written here: fuzz_leann_graph / fuzz_leann_codes (graph and
codes files of small collections ragged built, stored as payload-only
".payload" and whole-file ".raw" inputs; the *-zstd ones are the same files
rewritten by the writer of LEANN_FILE_ZSTD, their payload mode byte holding
the header flags shifted left by one), fuzz_llm_stream and
fuzz_query_text, fuzz_excerpt and fuzz_config_set
(written by hand).  Crash inputs found later are added by hand (named crash-*), so
this script never deletes files it did not write."""
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
SEP = b"\n@@@\n"


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pdf(pages, title=None, compress=False):
    """A minimal PDF with Helvetica text, one content stream per page."""
    objs = []
    kids = []
    font = 3
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(None)  # pages, filled below
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for text in pages:
        lines = text.split("\n")
        ops = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(
            "(" + l.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for l in lines) + " ET"
        stream = ops.encode("latin-1")
        content_no = len(objs) + 1
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page_no = len(objs) + 1
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                    b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (content_no, font))
        kids.append(page_no)
    objs[1] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % len(kids)
    info = None
    if title:
        objs.append(b"<< /Title (" + title.encode("latin-1") + b") >>")
        info = len(objs)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R" % (len(objs) + 1)
    if info:
        out += b" /Info %d 0 R" % info
    out += b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def zipdoc(members):
    """A zip with stored (uncompressed) members, so mutations reach the XML."""
    import io
    import zipfile
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            z.writestr(zi, data)
    return b.getvalue()


def more_reader_seeds():
    import gzip
    def gz(data):
        return gzip.compress(data.encode() if isinstance(data, str) else data, mtime=0)
    man = (".\\\" comment\n.de XX\nbody\n..\n.ds Pn frob\n.TH FROB 1 \"2024\"\n.SH NAME\nfrob \\- twiddle \\*(Pn\n"
           ".SH SYNOPSIS\n.B frob\n[\\fB\\-v\\fR] \\fIFILE\\fP\n.SH DESCRIPTION\n.PP\nText \\(em more \\[u00E9]\\c\n"
           "joined\n.TP\n.BR \\-v \", \" \\-\\-verbose\nsay more\n.nf\ncode\n.fi\n.TS\ntab(;);\nl l.\na;b\nT{\nc\nT};d\n.TE\n")
    mdoc = ".Dd March 1, 2024\n.Dt TOOL 8\n.Os\n.Sh NAME\n.Nm tool\n.Nd manage\n.Sh SYNOPSIS\n.Nm\n.Op Fl v Ar file\n"
    put("fuzz_reader_man", "man.1", man)
    put("fuzz_reader_man", "mdoc.8", mdoc)
    put("fuzz_reader_man", "alias.1", ".so man1/other.1\n")
    # gzip: the first byte picks the inner name (fuzz_reader_gzip.c).
    put("fuzz_reader_gzip", "text.bin", b"\x00" + gz("Hello compressed world.\n\nSecond paragraph.\n"))
    put("fuzz_reader_gzip", "markdown.bin", b"\x01" + gz("# Title\n\nSome *text*.\n"))
    put("fuzz_reader_gzip", "man.bin", b"\x02" + gz(man))
    put("fuzz_reader_gzip", "two_members.bin", b"\x05" + gz("first\n") + gz("second\n"))
    put("fuzz_reader_code", "c.bin", b"\x00\x20" + b"#include <stdio.h>\n\n/* doc */\nstatic int\nf(int a)\n{\n"
        b"    return a; /* } */\n}\n\nint main(void) { return f('}'); }\n")
    put("fuzz_reader_code", "py.bin", b"\x01\x10" + b"import os\n\n@dec\ndef f(x):\n    \"\"\"doc\n\ndef no\n    \"\"\"\n"
        b"    return [\n        x,\n    ]\n\nclass C:\n    pass\n")
    put("fuzz_reader_code", "js.bin", b"\x03\x08" + b"const s = `multi\nline ${x}`;\nfunction g() {\n  return '}';\n}\n")
    put("fuzz_reader_code", "shebang.bin", b"\x08\x10" + b"#!/usr/bin/env bash\necho ${#x} # c\nf() {\n  :\n}\n")
    core = ('<cp:coreProperties xmlns:cp="x" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<dc:title>Report</dc:title></cp:coreProperties>')
    body = ('<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>Hello</w:t><w:tab/><w:t>docx</w:t></w:r></w:p>'
            '<w:p><w:r><w:br/><w:delText>gone</w:delText><w:t>again</w:t></w:r></w:p></w:body></w:document>')
    put("fuzz_reader_docx", "basic.docx", zipdoc([("docProps/core.xml", core), ("word/document.xml", body)]))
    meta = ('<office:document-meta xmlns:office="o" xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta>'
            '<dc:title>Notes</dc:title></office:meta></office:document-meta>')
    content = ('<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text>'
               '<text:h>Head</text:h><text:p>a<text:s text:c="3"/>b<text:tab/>c<text:line-break/>d'
               '<office:annotation><text:p>x</text:p></office:annotation></text:p></office:text></office:body>'
               '</office:document-content>')
    put("fuzz_reader_odt", "basic.odt", zipdoc([("mimetype", "application/vnd.oasis.opendocument.text"),
                                                ("meta.xml", meta), ("content.xml", content)]))
    container = ('<container><rootfiles><rootfile full-path="OEBPS/book.opf"/></rootfiles></container>')
    opf = ('<package><metadata><dc:title xmlns:dc="d">Book</dc:title></metadata><manifest>'
           '<item id="a" href="text/a%20b.xhtml"/><item id="b" href="../OEBPS/text/c.xhtml#x"/></manifest>'
           '<spine><itemref idref="b"/><itemref idref="a"/><itemref idref="a"/></spine></package>')
    put("fuzz_reader_epub", "basic.epub", zipdoc([("mimetype", "application/epub+zip"),
                                                  ("META-INF/container.xml", container), ("OEBPS/book.opf", opf),
                                                  ("OEBPS/text/a b.xhtml", "<html><body><h1>One</h1><p>x</p></body></html>"),
                                                  ("OEBPS/text/c.xhtml", "<html><body><p>Two</p></body></html>")]))
    put("fuzz_reader_epub", "no_opf.epub", zipdoc([("ch.xhtml", "<html><body><p>Lone chapter</p></body></html>")]))


def main():
    # ---- config ----
    put("fuzz_config", "empty.yml", "")
    put("fuzz_config", "basic.yml", "vectorstore:\n  backend: exact\n  exact:\n    persist_directory: ./data\n"
        "embedding:\n  provider: builtin\n  dimension: 64\nchunking:\n  size: 128\n  overlap: 16\n")
    put("fuzz_config", "types.yml", "retrieval:\n  k: 10\n  mode: hybrid\n  vector_weight: 0.5\n"
        "vectorstore:\n  chromadb:\n    tls_verify: no\n    url: \"http://127.0.0.1:8000\"\n"
        "    auth_token_env: MY_TOKEN\nllm:\n  provider: ollama\n  temperature: 1.5\n  model: 'a: b # c'\n")
    put("fuzz_config", "anchors.yml", "base: &b\n  k: 3\nretrieval: *b\nembedding: {provider: builtin, model: ~}\n")
    put("fuzz_config", "bad.yml", "vectorstore:\n  backnd: leann\n  - list\n")
    put("fuzz_config", "strings.yml", "embedding:\n  query_prefix: \"query:\\t\\\"x\\\"\\n\"\n"
        "  document_prefix: |\n    multi\n    line\n")
    # ---- filter ----
    filters = [
        {"year": {"$gte": 2020}}, {"lang": "en"}, {"$and": [{"a": 1}, {"b": {"$ne": "x"}}]},
        {"$or": [{"c": True}, {"d": {"$lt": 2.5}}]}, {"a": {"$in": [1, "1", 2.0]}}, {"b": {"$nin": ["x", "y"]}},
        {"a": 1, "b": "x"}, {"$and": [{"$or": [{"a": {"$gt": 0}}, {"year": {"$lte": 2020}}]}, {"lang": {"$eq": "fr"}}]},
        {"k.e": 1}, {"a b": "é"},
        {"b": {"$contains": "x"}}, {"path": {"$not_contains": "%_"}}, {"a": {"$contains": "1"}},
        {"$or": [{"#document": {"$contains": "x"}}, {"b": "y"}]},
        {"$and": [{"#document": {"$not_contains": "z"}}, {"lang": {"$contains": "e"}}]},
    ]
    for i, f in enumerate(filters):
        put("fuzz_filter", "f%02d.json" % i, json.dumps(f))
    put("fuzz_filter", "kv1.txt", "lang=en")
    put("fuzz_filter", "kv2.txt", "year=2020")
    put("fuzz_filter", "bad1.json", '{"a": {"$regex": "x"}}')
    # ---- serve request bodies and MCP messages ----
    reqs = [
        {"query": "how are backups kept"},
        {"query": "backup", "k": 3, "mode": "bm25", "collection": "notes", "backend": "exact"},
        {"query": "x", "where": {"$and": [{"page_number": {"$gte": 2}}, {"lang": {"$in": ["en", "fr"]}}]}},
        {"query": "x", "where": "{\"a\": 1}", "complexity": 64},
        {"paths": ["/srv/docs", "notes.md"], "collection": "docs", "prune": True},
        {"query": "x", "k": 0},
    ]
    for i, r in enumerate(reqs):
        put("fuzz_serve_request", "r%02d.json" % i, json.dumps(r))
    put("fuzz_serve_request", "bad.json", '{"query": ')
    msgs = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "a", "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 2, "method": "ping"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "search", "arguments": {"query": "x"}}},
        {"jsonrpc": "2.0", "id": 4, "result": {}},
        {"jsonrpc": "2.0", "id": 5, "method": "resources/list", "params": []},
    ]
    for i, m in enumerate(msgs):
        put("fuzz_mcp_message", "m%02d.json" % i, json.dumps(m))
    put("fuzz_mcp_message", "batch.json", '[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]')

    # ---- readers ----
    put("fuzz_reader_text", "plain.txt", "Hello world.\n\nSecond paragraph, with a sentence. And another!\n")
    put("fuzz_reader_text", "latin1.txt", "Caf\xe9 na\xefve r\xe9sum\xe9\n".encode("latin-1"))
    put("fuzz_reader_text", "utf16.txt", "\ufeffUTF-16 text \u20ac\n".encode("utf-16-le"))
    put("fuzz_reader_text", "bom.txt", b"\xef\xbb\xbfBOM then text\r\nCRLF lines\r\n")
    for name in sorted(os.listdir(os.path.join(ROOT, "samples", "pantry"))):
        with open(os.path.join(ROOT, "samples", "pantry", name), "rb") as f:
            data = f.read()
        if name.endswith(".md"):
            put("fuzz_reader_markdown", name, data)
        elif name.endswith(".html"):
            put("fuzz_reader_html", name, data)
        else:
            put("fuzz_reader_text", name, data)
    put("fuzz_reader_markdown", "syntax.md", "---\ntitle: Front matter\n---\n# Title\n\nSome *emph* and **strong**, "
        "`code`, [link](http://127.0.0.1/x) ![img](y.png)\n\n```c\nint x;\n```\n\n    indented\n\n| a | b |\n|---|---|\n"
        "| 1 | 2 |\n\n> quote\n\n- item\n1. one\n\nSetext\n======\n<div>html</div>\n")
    put("fuzz_reader_html", "syntax.html", "<!DOCTYPE html><html><head><title>T &amp; t</title><meta charset=utf-8>"
        "<script>var x=1;</script><style>p{}</style><link rel=stylesheet href=\"http://127.0.0.1:9/x.css\"></head>"
        "<body><nav>menu</nav><h1>Head</h1><p>Para <b>bold</b> &eacute; &#x20AC;</p><pre>  pre\n  text</pre>"
        "<table><tr><td>a</td><td>b</td></tr></table><img src=\"http://127.0.0.1:9/i.png\"><iframe "
        "src=\"http://127.0.0.1:9/\"></iframe><ul><li>x<li>y</ul></body></html>")
    put("fuzz_reader_html", "latin1.html", "<html><head><meta charset=\"iso-8859-1\"></head><body>caf\xe9</body>"
        "</html>".encode("latin-1"))
    put("fuzz_reader_pdf", "one.pdf", pdf(["Hello PDF world.", "Second line."], title="A title"))
    put("fuzz_reader_pdf", "two.pdf", pdf(["Page one text.\nMore text on page one.", "Page two (text)."]))
    more_reader_seeds()
    # ---- chunker ----
    put("fuzz_chunker", "short.txt", b"\x20\x04" + b"One sentence. Two sentences here! A third one?\n\nNew paragraph.")
    with open(os.path.join(ROOT, "samples", "pantry", "overview.md"), "rb") as f:
        put("fuzz_chunker", "overview.txt", b"\x00\x08" + f.read())
    put("fuzz_chunker", "long_word.txt", b"\x00\x00" + b"x" * 3000 + " é中文字".encode() * 50)
    # ---- model files: a tiny random BERT from the tests' generator ----
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "ref", "make_tiny_bert.py"), d, "--layers", "1",
                        "--hidden", "8", "--heads", "2", "--intermediate", "16", "--max-seq-length", "12",
                        "--max-position", "16"], check=True)
        def rd(n):
            p = os.path.join(d, n)
            return open(p, "rb").read() if os.path.exists(p) else None
        st = rd("model.safetensors")
        put("fuzz_safetensors", "tiny_bert.safetensors", st)
        hdr = json.dumps({"__metadata__": {"format": "pt"}, "a": {"dtype": "F16", "shape": [2, 2],
                          "data_offsets": [0, 8]}, "b": {"dtype": "BF16", "shape": [3], "data_offsets": [8, 14]},
                          "c": {"dtype": "I64", "shape": [1], "data_offsets": [14, 22]}}).encode()
        put("fuzz_safetensors", "dtypes.safetensors", struct.pack("<Q", len(hdr)) + hdr + bytes(range(22)))
        vocab = rd("vocab.txt")
        put("fuzz_tokenizer", "vocab.bin", b"\x02" + vocab + SEP + "Hello, world! Café naïve 中文 token-izer".encode())
        tj = json.dumps({"model": {"type": "WordPiece", "vocab": {t: i for i, t in
                         enumerate(vocab.decode().splitlines())}}}).encode()
        put("fuzz_tokenizer", "tokenizer_json.bin", b"\x03" + tj + SEP + b"the quick brown fox jumps")
        put("fuzz_tokenizer", "fixed.bin", b"\x0a" + "unable tokenizer 123 ÉCOLE 中 !".encode())
        files = ["config.json", "vocab.txt", "model.safetensors", "modules.json", "1_Pooling/config.json",
                 "sentence_bert_config.json", "tokenizer_config.json"]
        put("fuzz_bert_model", "tiny.bin", SEP.join(rd(f) or b"" for f in files))
        put("fuzz_bert_model", "tiny_min.bin", SEP.join(rd(f) for f in files[:3]))
    # ---- cross-encoders and XLM-R: tiny generated models ----
    for name, args in (("xlmr_cross.bin", ["--arch", "xlmr", "--cross-encoder", "--byte-fallback",
                                           "--unigram-pieces", "60"]),
                       ("xlmr_bi.bin", ["--arch", "xlmr", "--post", "template", "--pretok", "ws",
                                        "--unigram-pieces", "60"]),
                       ("bert_cross.bin", ["--cross-encoder", "--num-labels", "2"])):
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([sys.executable, os.path.join(ROOT, "tests", "ref", "make_tiny_bert.py"), d,
                            "--layers", "1", "--hidden", "8", "--heads", "2", "--intermediate", "16",
                            "--max-seq-length", "12", "--max-position", "16"] + args, check=True)
            def rd2(n):
                p = os.path.join(d, n)
                return open(p, "rb").read() if os.path.exists(p) else b""
            files = ["config.json", "tokenizer.json", "model.safetensors", "tokenizer_config.json", "vocab.txt"]
            put("fuzz_cross_encoder", name, SEP.join(rd2(f) for f in files))
            if name.startswith("xlmr"):
                put("fuzz_tokenizer_unigram", name.replace(".bin", "_tok.bin"), rd2("tokenizer.json") + SEP +
                    "ﬁne Ａ café  straße e\u0301t\u00e9 ① 中文 😀 <s> мир".encode())
    put("fuzz_tokenizer_unigram", "fixed.bin", "the ab AB é  abab 中".encode())


if __name__ == "__main__":
    main()
