/* PDF reader: pages, page offsets, metadata title, and refusals for
 * encrypted, damaged and image-only files.  The PDFs are written here by
 * hand (Type 1 Helvetica, one text line per Tj) so the test needs no
 * fixture files and no PDF writer library. */
#include "test_reader_util.h"

typedef struct pdf_spec {
    const char *const *pages; /* each page: lines separated by '\n'; "" is a page without text */
    size_t npages;
    const char *title;        /* /Info /Title, or NULL */
    int encrypt;              /* add a Standard security handler no empty password opens */
} pdf_spec;

static void obj_start(rg_buf *b, size_t *offsets, int num)
{
    offsets[num] = b->len;
    rg_buf_printf(b, "%d 0 obj\n", num);
}

static char *make_pdf(const pdf_spec *s, size_t *len)
{
    rg_buf b;
    rg_buf_init(&b);
    int font = 3 + 2 * (int)s->npages, info = font + 1, enc = info + 1, nobj = enc + 1;
    size_t *off = rg_xcalloc((size_t)nobj, sizeof *off);
    rg_buf_puts(&b, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    obj_start(&b, off, 1);
    rg_buf_puts(&b, "<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    obj_start(&b, off, 2);
    rg_buf_puts(&b, "<< /Type /Pages /Kids [");
    for (size_t i = 0; i < s->npages; i++)
        rg_buf_printf(&b, " %d 0 R", 3 + 2 * (int)i);
    rg_buf_printf(&b, " ] /Count %zu >>\nendobj\n", s->npages);
    for (size_t i = 0; i < s->npages; i++) {
        int page = 3 + 2 * (int)i, content = page + 1;
        obj_start(&b, off, page);
        rg_buf_printf(&b,
                      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> "
                      "/Contents %d 0 R >>\nendobj\n",
                      font, content);
        rg_buf stream;
        rg_buf_init(&stream);
        if (*s->pages[i]) {
            rg_buf_puts(&stream, "BT /F1 12 Tf 72 720 Td 16 TL\n");
            const char *p = s->pages[i];
            while (*p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                rg_buf_printf(&stream, "(%.*s) Tj T*\n", (int)n, p);
                p += n + (nl ? 1 : 0);
            }
            rg_buf_puts(&stream, "ET\n");
        } else {
            rg_buf_puts(&stream, "0 0 1 rg 72 72 100 100 re f\n"); /* a drawing, no text */
        }
        obj_start(&b, off, content);
        rg_buf_printf(&b, "<< /Length %zu >>\nstream\n%s\nendstream\nendobj\n", stream.len, stream.data);
        rg_buf_free(&stream);
    }
    obj_start(&b, off, font);
    rg_buf_puts(&b, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>\nendobj\n");
    obj_start(&b, off, info);
    rg_buf_printf(&b, "<< /Producer (ragged tests) %s%s%s >>\nendobj\n", s->title ? "/Title (" : "",
                  s->title ? s->title : "", s->title ? ")" : "");
    obj_start(&b, off, enc);
    if (s->encrypt)
        rg_buf_puts(&b, "<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 "
                        "/O <6f776e65722070617373776f726420686173682c206e6f7420656d707479212121> "
                        "/U <7573657220686173682074686174206e6f2070617373776f7264206d617463682e> >>\nendobj\n");
    else
        rg_buf_puts(&b, "null\nendobj\n");
    size_t xref = b.len;
    rg_buf_printf(&b, "xref\n0 %d\n0000000000 65535 f \n", nobj);
    for (int i = 1; i < nobj; i++)
        rg_buf_printf(&b, "%010zu 00000 n \n", off[i]);
    rg_buf_printf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R", nobj, info);
    if (s->encrypt)
        rg_buf_printf(&b, " /Encrypt %d 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]",
                      enc);
    rg_buf_printf(&b, " >>\nstartxref\n%zu\n%%%%EOF\n", xref);
    free(off);
    *len = b.len;
    return rg_buf_steal(&b);
}

static rg_status read_pdf(const char *name, const pdf_spec *s, rg_document *doc, rg_error *err, long *stderr_bytes)
{
    size_t len;
    char *pdf = make_pdf(s, &len);
    rt_capture cap;
    rt_capture_begin(&cap);
    rg_status st = rt_read(name, pdf, len, doc, err);
    long leaked = rt_capture_end(&cap);
    if (stderr_bytes)
        *stderr_bytes = leaked;
    free(pdf);
    return st;
}

TEST(reader_pdf_pages_offsets_and_title)
{
    const char *pages[] = {"Alpha page one begins here.\nSecond line of page one.",
                           "Bravo text on page two.",
                           "Charlie closes page three."};
    pdf_spec s = {pages, 3, "Home Server Handbook", 0};
    rg_document doc;
    rg_error err = {0};
    long leaked = -1;
    CHECK_OK(read_pdf("book.pdf", &s, &doc, &err, &leaked), &err);
    CHECK_EQ_INT(leaked, 0);
    CHECK_EQ_STR(doc.format, "pdf");
    CHECK_EQ_STR(doc.title, "Home Server Handbook");
    CHECK_EQ_INT(doc.npages, 3);
    CHECK_EQ_INT(doc.len, strlen(doc.text));
    CHECK(rg_utf8_valid(doc.text, doc.len));
    const char *a = strstr(doc.text, "Alpha page one");
    const char *a2 = strstr(doc.text, "Second line of page one");
    const char *b = strstr(doc.text, "Bravo text");
    const char *c = strstr(doc.text, "Charlie closes");
    CHECK_MSG(a && a2 && b && c, "text: %s", doc.text);
    CHECK(a < a2 && a2 < b && b < c);
    CHECK_EQ_INT(doc.page_offsets[0], 0);
    CHECK_EQ_INT(doc.page_offsets[1], (size_t)(b - doc.text));
    CHECK_EQ_INT(doc.page_offsets[2], (size_t)(c - doc.text));
    CHECK_EQ_INT(rg_document_page_at(&doc, (size_t)(a2 - doc.text)), 1);
    CHECK_EQ_INT(rg_document_page_at(&doc, (size_t)(b - doc.text) + 3), 2);
    CHECK_EQ_INT(rg_document_page_at(&doc, (size_t)(c - doc.text)), 3);
    CHECK_EQ_INT(rg_document_page_at(&doc, doc.len), 3);
    /* Pages are separate paragraphs. */
    CHECK(b >= doc.text + 2 && b[-1] == '\n' && b[-2] == '\n');
    rg_document_free(&doc);
}

TEST(reader_pdf_empty_page_keeps_numbering)
{
    const char *pages[] = {"First page words.", "", "Third page words."};
    pdf_spec s = {pages, 3, NULL, 0};
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(read_pdf("gap.pdf", &s, &doc, &err, NULL), &err);
    CHECK(doc.title == NULL);
    CHECK_EQ_INT(doc.npages, 3);
    const char *third = strstr(doc.text, "Third page");
    CHECK(third != NULL);
    CHECK_EQ_INT(rg_document_page_at(&doc, (size_t)(third - doc.text)), 3);
    CHECK_EQ_INT(rg_document_page_at(&doc, 0), 1);
    rg_document_free(&doc);
}

TEST(reader_pdf_misnamed_file_is_still_pdf)
{
    const char *pages[] = {"Content sniffing works."};
    pdf_spec s = {pages, 1, NULL, 0};
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(read_pdf("really-a-pdf.txt", &s, &doc, &err, NULL), &err);
    CHECK_EQ_STR(doc.format, "pdf");
    CHECK(strstr(doc.text, "Content sniffing works.") != NULL);
    rg_document_free(&doc);
}

TEST(reader_pdf_encrypted_is_refused)
{
    const char *pages[] = {"Secret words."};
    pdf_spec s = {pages, 1, NULL, 1};
    rg_document doc;
    rg_error err = {0};
    long leaked = -1;
    CHECK_EQ_INT(read_pdf("locked.pdf", &s, &doc, &err, &leaked), RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "locked.pdf") && strstr(err.msg, "encrypted"), "message: %s", err.msg);
    CHECK_EQ_INT(leaked, 0);
    CHECK(doc.text == NULL);
}

TEST(reader_pdf_corrupt_is_refused_quietly)
{
    rg_document doc;
    rg_error err = {0};
    const char junk[] = "%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ngarbage garbage\n%%EOF\n";
    rt_capture cap;
    rt_capture_begin(&cap);
    rg_status st = rt_read("corrupt.pdf", junk, sizeof junk - 1, &doc, &err);
    long leaked = rt_capture_end(&cap);
    CHECK_EQ_INT(st, RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "corrupt.pdf"), "message: %s", err.msg);
    CHECK_EQ_INT(leaked, 0);

    /* A real PDF cut in half: poppler may rebuild what is left or refuse,
     * but it must do one of the two cleanly. */
    const char *pages[] = {"Page one of a truncated file.", "Page two of a truncated file."};
    pdf_spec s = {pages, 2, NULL, 0};
    size_t len;
    char *pdf = make_pdf(&s, &len);
    rt_capture_begin(&cap);
    st = rt_read("truncated.pdf", pdf, len / 2, &doc, &err);
    leaked = rt_capture_end(&cap);
    free(pdf);
    CHECK_EQ_INT(leaked, 0);
    if (st == RG_OK) {
        CHECK(strstr(doc.text, "Page one of a truncated file.") != NULL);
        rg_document_free(&doc);
    } else {
        CHECK_EQ_INT(st, RG_ERR_INVALID);
        CHECK_MSG(strstr(err.msg, "truncated.pdf"), "message: %s", err.msg);
    }
}

TEST(reader_pdf_without_text_is_refused)
{
    const char *pages[] = {"", ""};
    pdf_spec s = {pages, 2, NULL, 0};
    rg_document doc;
    rg_error err = {0};
    CHECK_EQ_INT(read_pdf("scan.pdf", &s, &doc, &err, NULL), RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "scan.pdf") && strstr(err.msg, "OCR"), "message: %s", err.msg);
}

TEST(reader_pdf_vertical_gaps_become_paragraphs)
{
    const char *pages[] = {"Line one of the first paragraph.\nLine two of the first paragraph.\n\n"
                           "Second paragraph, line one.\nSecond paragraph, line two.\nSecond paragraph, line three."};
    pdf_spec s = {pages, 1, NULL, 0};
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(read_pdf("gaps.pdf", &s, &doc, &err, NULL), &err);
    CHECK_EQ_STR(doc.text, "Line one of the first paragraph.\nLine two of the first paragraph.\n\n"
                           "Second paragraph, line one.\nSecond paragraph, line two.\nSecond paragraph, line three.");
    rg_document_free(&doc);
}

TEST(reader_pdf_running_heads_and_hyphens)
{
    const char *pages[] = {
        "Pantry Manual\nThe first page talks about manip-\nulation of compost and Wi-\nFi routers.\n\nPage 1",
        "Pantry Manual\nThe second page is about the greenhouse.\n\nPage 2",
        "Pantry Manual\nThe third page is about the orchard.\n\nPage 3",
        "A title page without the running head\nThe fourth page is about bees.\n\nPage 4",
    };
    pdf_spec s = {pages, 4, NULL, 0};
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(read_pdf("manual.pdf", &s, &doc, &err, NULL), &err);
    CHECK_MSG(strstr(doc.text, "Pantry Manual") == NULL, "running head kept: %s", doc.text);
    CHECK_MSG(strstr(doc.text, "Page ") == NULL, "page numbers kept: %s", doc.text);
    CHECK_MSG(strstr(doc.text, "about manipulation of compost and Wi-\nFi routers.") != NULL, "text: %s", doc.text);
    CHECK(strstr(doc.text, "A title page without the running head") != NULL);
    const char *third = strstr(doc.text, "The third page");
    CHECK(third != NULL);
    CHECK_EQ_INT(doc.page_offsets[2], (size_t)(third - doc.text));
    CHECK_EQ_INT(rg_document_page_at(&doc, (size_t)(third - doc.text)), 3);
    rg_document_free(&doc);
}
