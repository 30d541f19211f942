/* Deterministic random inputs through every text-like reader: each read
 * must either succeed with valid, NUL-free UTF-8 whose length matches, or
 * fail with RG_ERR_INVALID and a message naming the file.  Under
 * `make check-asan` this is also the memory-safety net for the hand-written
 * Markdown and decoding code. */
#include "test_reader_util.h"

#include <stdint.h>

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: fixed seed, same inputs on every run. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}

/* Bytes biased towards what the parsers treat specially. */
static size_t random_doc(uint64_t *s, char *buf, size_t cap)
{
    static const char *const atoms[] = {
        "#", "# ", "## ", "\n", "\n\n", "\r\n", "\r", " ", "  ", "\t", "*", "**", "_", "__", "~~", "`", "```",
        "~~~", "[", "]", "(", ")", "![", "<", ">", "</", "<!--", "-->", "&", "&amp;", "&#", "&#x", ";", "|",
        "---", "+++", "===", "- ", "1. ", "> ", "\\", "title: x", "<p>", "<h1>", "</h1>", "<script>", "<pre>",
        "<br>", "<td>", "<nav>", "é", "€", "\xff", "\xe9", "\xc3", "\xf0\x9f", "\x01", "\x1b", "\f", "word",
        "Word.", "x_y", "2*3", "\xEF\xBB\xBF", ".TH ", ".SH ", ".de x\n", "\n..\n", ".ds A ", "\\*A", "\\*(", "\\f",
        "\\(", "\\[", "\\c", ".TS\n", ".BR ", "{", "}", "\"\"\"", "def ", "/*", "*/", "//",
    };
    size_t n = 0;
    size_t target = (size_t)(rng_next(s) % cap);
    while (n < target) {
        const char *a;
        char byte[2] = {0, 0};
        if (rng_next(s) % 8 == 0) {
            byte[0] = (char)(rng_next(s) % 255 + 1);
            a = byte;
        } else {
            a = atoms[rng_next(s) % RG_ARRAY_LEN(atoms)];
        }
        size_t l = strlen(a);
        if (n + l > cap)
            break;
        memcpy(buf + n, a, l);
        n += l;
    }
    return n;
}

/* 0: contract broken, 1: refused cleanly, 2: read cleanly. */
static int check_read(const rg_reader_ops *r, const char *path, const char *data, size_t n)
{
    rg_document doc;
    memset(&doc, 0, sizeof doc);
    rg_error err = {0};
    rg_status st = r->read(path, data, n, &doc, &err);
    int ok;
    if (st == RG_OK) {
        ok = doc.text && strlen(doc.text) == doc.len && rg_utf8_valid(doc.text, doc.len) &&
             (!doc.title || rg_utf8_valid(doc.title, strlen(doc.title)));
        if (!ok)
            fprintf(stderr, "    %s reader: bad output for a %zu-byte input\n", r->name, n);
    } else {
        ok = st == RG_ERR_INVALID && strstr(err.msg, path) != NULL;
        if (!ok)
            fprintf(stderr, "    %s reader: status %d, message: %s\n", r->name, st, err.msg);
    }
    rg_document_free(&doc);
    return ok ? (st == RG_OK ? 2 : 1) : 0;
}

TEST(reader_fuzz_text_markdown_html)
{
    const rg_reader_ops *readers[] = {&rg_reader_text, &rg_reader_markdown, &rg_reader_html, &rg_reader_man,
                                      &rg_reader_code};
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    char buf[4096];
    rt_capture cap;
    rt_capture_begin(&cap);
    int failures = 0, reads = 0, refusals = 0;
    for (int i = 0; i < 1500 && failures == 0; i++) {
        size_t n = random_doc(&seed, buf, sizeof buf);
        for (size_t k = 0; k < RG_ARRAY_LEN(readers); k++) {
            int r = check_read(readers[k], "fuzz-input", buf, n);
            failures += r == 0;
            refusals += r == 1;
            reads += r == 2;
        }
    }
    long leaked = rt_capture_end(&cap);
    CHECK_EQ_INT(failures, 0);
    CHECK_EQ_INT(leaked, 0);
    /* The inputs must exercise both outcomes, or the test proves little. */
    CHECK_MSG(reads > 1000 && refusals > 100, "%d reads, %d refusals", reads, refusals);
}

TEST(reader_fuzz_mutated_pdf)
{
    /* A small valid PDF with bytes flipped: poppler must refuse or read, and
     * we must turn either into a clean result. */
    static const char pdf[] =
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        "/Contents 4 0 R >> endobj\n"
        "4 0 obj << /Length 44 >> stream\nBT /F1 12 Tf 72 720 Td (Hello world) Tj ET\nendstream endobj\n"
        "5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj\n"
        "trailer << /Root 1 0 R >>\n%%EOF\n";
    uint64_t seed = 42;
    char buf[sizeof pdf];
    rt_capture cap;
    rt_capture_begin(&cap);
    int failures = 0, read_ok = 0;
    for (int i = 0; i < 300 && failures == 0; i++) {
        memcpy(buf, pdf, sizeof pdf);
        int flips = 1 + (int)(rng_next(&seed) % 4);
        for (int f = 0; f < flips; f++)
            buf[8 + rng_next(&seed) % (sizeof pdf - 9)] = (char)(rng_next(&seed) & 0xff);
        rg_document doc;
        memset(&doc, 0, sizeof doc);
        rg_error err = {0};
        rg_status st = rg_reader_pdf.read("mutant.pdf", buf, sizeof pdf - 1, &doc, &err);
        if (st == RG_OK) {
            read_ok++;
            if (!(strlen(doc.text) == doc.len && rg_utf8_valid(doc.text, doc.len) && doc.npages >= 1))
                failures++;
        } else if (st != RG_ERR_INVALID || !strstr(err.msg, "mutant.pdf")) {
            fprintf(stderr, "    status %d, message: %s\n", st, err.msg);
            failures++;
        }
        rg_document_free(&doc);
    }
    long leaked = rt_capture_end(&cap);
    CHECK_EQ_INT(failures, 0);
    CHECK_EQ_INT(leaked, 0);
    CHECK(read_ok > 0); /* most single-byte flips leave a readable file */
}
