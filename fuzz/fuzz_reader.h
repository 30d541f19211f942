/* One reader's read() on arbitrary bytes (shared by fuzz_reader_*.c).
 * Properties: refusal with a message, or UTF-8 text without NULs whose
 * length matches, a UTF-8 title, and page offsets that are ordered and
 * inside the text. */
#include "fuzz.h"
#include "reader.h"

static void fuzz_reader(const rg_reader_ops *r, const char *path, const uint8_t *data, size_t size)
{
    rg_document doc;
    memset(&doc, 0, sizeof doc);
    /* Readers that expand their input (gzip, zip) stop at this bound; the
     * default (64 MiB) would make every bomb a slow input. */
    doc.max_expanded = (size_t)4 << 20;
    rg_error err = {0};
    rg_status st = r->read(path, (const char *)data, size, &doc, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK && doc.text) {
        FUZZ_CHECK(strlen(doc.text) == doc.len, "text length %zu, strlen %zu", doc.len, strlen(doc.text));
        if (!rg_utf8_valid(doc.text, doc.len)) {
            size_t bad = 0;
            while (bad < doc.len && rg_utf8_valid(doc.text, bad + 1))
                bad++;
            FUZZ_CHECK(rg_utf8_valid(doc.text, doc.len), "text is not valid UTF-8 near byte %zu of %zu: '%.*s'", bad,
                       doc.len, (int)RG_MIN(doc.len - bad, 16), doc.text + bad);
        }
        FUZZ_CHECK(!doc.title || rg_utf8_valid(doc.title, strlen(doc.title)), "title is not valid UTF-8");
        for (size_t i = 0; i < doc.npages; i++) {
            FUZZ_CHECK(doc.page_offsets[i] <= doc.len, "page %zu starts at %zu beyond %zu", i + 1,
                       doc.page_offsets[i], doc.len);
            FUZZ_CHECK(i == 0 || doc.page_offsets[i] >= doc.page_offsets[i - 1], "page offsets go backwards");
        }
    }
    rg_document_free(&doc);
}
