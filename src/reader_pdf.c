/* PDF via poppler-glib: the text of each page in reading order, with the
 * byte offset where each page starts so chunks can cite a page number.
 * Encrypted, damaged and image-only PDFs are refused with a message that
 * says which of the three it is. */
#include <stdlib.h>
#include <string.h>

#include <poppler.h>

#include "reader.h"
#include "reader_priv.h"

static const char *const pdf_extensions[] = {"pdf", NULL};

static bool pdf_sniff(const unsigned char *head, size_t n)
{
    /* The header may follow a little junk (the spec allows it within the
     * first 1024 bytes, and readers accept it). */
    size_t lim = RG_MIN(n, (size_t)1024);
    return lim >= 5 && memmem(head, lim, "%PDF-", 5) != NULL;
}

/* Poppler reports syntax problems of damaged files through GLib logging in
 * its own domain.  We turn them into one rg_error instead, so they are
 * dropped unless RAGGED_DEBUG asks to see them.  Installed once per process:
 * a per-call install/remove would race between ingest threads. */
static void poppler_log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
    if (getenv("RAGGED_DEBUG"))
        g_log_default_handler(domain, level, message, data);
}

static void quiet_poppler(void)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        g_log_set_handler("Poppler", (GLogLevelFlags)(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION),
                          poppler_log_handler, NULL);
        g_once_init_leave(&once, 1);
    }
}

static rg_status pdf_read(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    quiet_poppler();
    /* Static bytes: data outlives the PopplerDocument, which is gone before
     * we return. */
    GBytes *bytes = g_bytes_new_static(data, len);
    GError *gerr = NULL;
    PopplerDocument *pd = poppler_document_new_from_bytes(bytes, NULL, &gerr);
    if (!pd) {
        rg_status st;
        if (gerr && g_error_matches(gerr, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
            st = rg_error_set(err, RG_ERR_INVALID,
                              "%s is an encrypted (password-protected) PDF; ragged cannot read it. Save a copy "
                              "without the password (e.g. qpdf --decrypt --password=... in.pdf out.pdf) and ingest that",
                              path);
        else
            st = rg_error_set(err, RG_ERR_INVALID, "%s is not a readable PDF (%s); the file may be damaged or truncated",
                              path, gerr && gerr->message ? gerr->message : "unknown error");
        if (gerr)
            g_error_free(gerr);
        g_bytes_unref(bytes);
        return st;
    }

    int np = poppler_document_get_n_pages(pd);
    if (np <= 0) {
        g_object_unref(pd);
        g_bytes_unref(bytes);
        return rg_error_set(err, RG_ERR_INVALID, "%s is a PDF without pages; nothing to read", path);
    }
    rg_buf out;
    rg_buf_init(&out);
    size_t *offsets = rg_xmalloc((size_t)np * sizeof *offsets);
    for (int i = 0; i < np; i++) {
        size_t before = out.len;
        PopplerPage *page = poppler_document_get_page(pd, i);
        char *t = page ? poppler_page_get_text(page) : NULL;
        if (t) {
            size_t tl = strlen(t);
            /* Poppler's text is UTF-8 in practice; make sure of it, since
             * every later stage relies on it. */
            if (!rg_utf8_valid(t, tl)) {
                rg_buf fixed;
                rg_buf_init(&fixed);
                if (rg_text_decode(path, t, tl, &fixed, NULL) == RG_OK)
                    rg_text_append_paragraphs(&out, fixed.data, fixed.len);
                rg_buf_free(&fixed);
            } else {
                rg_text_append_paragraphs(&out, t, tl);
            }
            g_free(t);
        }
        if (page)
            g_object_unref(page);
        /* The page starts after the "\n\n" that separates it from the one before. */
        offsets[i] = out.len > before ? before + (before > 0 ? 2 : 0) : out.len;
    }
    char *title = NULL;
    gchar *meta = poppler_document_get_title(pd);
    if (meta) {
        size_t tl = rg_text_squeeze_spaces(meta, strlen(meta));
        if (tl && rg_utf8_valid(meta, tl))
            title = rg_xstrndup(meta, tl);
        g_free(meta);
    }
    g_object_unref(pd);
    g_bytes_unref(bytes);

    if (out.len == 0) {
        rg_buf_free(&out);
        free(offsets);
        free(title);
        return rg_error_set(err, RG_ERR_INVALID,
                            "%s has %d page%s but no extractable text (a scan?); run OCR on it first, "
                            "e.g. ocrmypdf in.pdf out.pdf",
                            path, np, np == 1 ? "" : "s");
    }
    doc->len = out.len;
    doc->text = rg_buf_steal(&out);
    doc->title = title;
    doc->npages = (size_t)np;
    doc->page_offsets = offsets;
    doc->format = "pdf";
    return RG_OK;
}

const rg_reader_ops rg_reader_pdf = {
    .name = "pdf",
    .extensions = pdf_extensions,
    .sniff = pdf_sniff,
    .read = pdf_read,
};
