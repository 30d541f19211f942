/* Plain text: decoded to UTF-8, blank lines delimit paragraphs. */
#include <stdlib.h>
#include <string.h>

#include "reader.h"
#include "reader_priv.h"

static const char *const text_extensions[] = {"txt", "text", "log", "rst", "org", "adoc", "asciidoc", NULL};

/* Used only for files without an extension (README, NOTES): text if the
 * first bytes hold no NUL and few control characters. */
static bool text_sniff(const unsigned char *head, size_t n)
{
    if (n >= 2 && ((head[0] == 0xff && head[1] == 0xfe) || (head[0] == 0xfe && head[1] == 0xff)))
        return true;
    size_t ctrl = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = head[i];
        if (c == 0)
            return false;
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b) || c == 0x7f)
            ctrl++;
    }
    return ctrl * 10 <= n;
}

static rg_status text_read(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    rg_status st = rg_text_read_document(path, data, len, doc, err);
    if (st == RG_OK)
        doc->format = "text";
    return st;
}

const rg_reader_ops rg_reader_text = {
    .name = "text",
    .extensions = text_extensions,
    .sniff = text_sniff,
    .read = text_read,
};
