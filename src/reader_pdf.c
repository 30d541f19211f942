/* PDF via poppler-glib: the text of each page in reading order, with the
 * byte offset where each page starts so chunks can cite a page number.
 * Encrypted, damaged and image-only PDFs are refused with a message that
 * says which of the three it is.
 *
 * poppler-glib is not linked but opened on the first PDF (dynlib.h):
 * linked, it and its GLib, cairo, NSS and image-format dependencies slowed
 * the start-up of every command (bench/startup/). */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <poppler.h>

#include "dynlib.h"
#include "reader.h"
#include "reader_priv.h"
#include "util.h"

#ifndef RG_POPPLER_SONAME
#error "RG_POPPLER_SONAME is not set: mk/dynlib.mk reads it from the poppler-glib development package (libpoppler-glib-dev)"
#endif
#ifndef RG_POPPLER_PACKAGE
#define RG_POPPLER_PACKAGE ""
#endif

/* Every poppler-glib, GObject and GLib function this file calls, with the
 * prototypes of the headers it is built against.  The GLib ones are looked
 * up through poppler-glib's handle, so they come from the GLib it uses. */
#define POPPLER_FUNCS(X)                                                                                               \
    X(poppler_document_new_from_bytes)                                                                                 \
    X(poppler_document_get_n_pages)                                                                                    \
    X(poppler_document_get_page)                                                                                       \
    X(poppler_document_get_title)                                                                                      \
    X(poppler_page_get_text)                                                                                           \
    X(poppler_page_get_text_layout)                                                                                    \
    X(poppler_error_quark)                                                                                             \
    X(g_bytes_new_static)                                                                                              \
    X(g_bytes_unref)                                                                                                   \
    X(g_error_free)                                                                                                    \
    X(g_free)                                                                                                          \
    X(g_log_default_handler)                                                                                           \
    X(g_log_set_handler)                                                                                               \
    X(g_object_unref)

typedef struct poppler_api {
#define X(f) __typeof__(f) *f;
    POPPLER_FUNCS(X)
#undef X
} poppler_api;

enum {
#define X(f) POPPLER_FUNC_##f,
    POPPLER_FUNCS(X)
#undef X
    POPPLER_NFUNCS
};

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
 * dropped unless RAGGED_DEBUG asks to see them. */
static void poppler_log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
    const poppler_api *pa = data;
    if (getenv("RAGGED_DEBUG"))
        pa->g_log_default_handler(domain, level, message, NULL);
}

/* Loaded once per process and never unloaded: GLib's type system and log
 * handlers are process-wide and GObject libraries cannot be unloaded, and
 * the log handler must be installed once (a per-call install/remove would
 * race between ingest threads).  The reader has no context object to keep
 * a handle in, so these are written only inside pthread_once and read-only
 * after it; a failure is kept too, so every PDF reports the same message. */
static pthread_once_t poppler_once = PTHREAD_ONCE_INIT;
static poppler_api poppler_fns;
static rg_error poppler_load_err;

static void poppler_load_once(void)
{
    static const rg_dynlib lib = {RG_POPPLER_SONAME, RG_POPPLER_PACKAGE, "reading PDF files"};
    static const char *const names[] = {
#define X(f) #f,
        POPPLER_FUNCS(X)
#undef X
    };
    void *syms[POPPLER_NFUNCS];
    if (rg_dynlib_load(&lib, names, POPPLER_NFUNCS, syms, &poppler_load_err) != RG_OK)
        return;
#define X(f) poppler_fns.f = (__typeof__(poppler_fns.f))syms[POPPLER_FUNC_##f];
    POPPLER_FUNCS(X)
#undef X
    poppler_fns.g_log_set_handler("Poppler",
                                  (GLogLevelFlags)(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION),
                                  poppler_log_handler, &poppler_fns);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Index of the first of the n sorted values that is >= v. */
static size_t lower_bound_u64(const uint64_t *a, size_t n, uint64_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Index of the first of the n sorted values that is > v. */
static size_t upper_bound_u64(const uint64_t *a, size_t n, uint64_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Poppler gives one line per '\n' and never a blank line, so paragraphs are
 * recovered from the layout: a line that starts clearly further below the
 * previous one than the page's usual line pitch (or above it: a new column)
 * begins a paragraph.  Without a usable layout the lines are kept as they
 * are. */
static void append_page_text(const poppler_api *pa, rg_buf *out, PopplerPage *page, const char *t, size_t tl)
{
    size_t nchars = 0, nlines = 1;
    for (size_t i = 0; i < tl; i++) {
        nchars += ((unsigned char)t[i] & 0xc0) != 0x80;
        nlines += t[i] == '\n';
    }
    PopplerRectangle *rects = NULL;
    guint nrects = 0;
    if (!pa->poppler_page_get_text_layout(page, &rects, &nrects) || nrects != nchars || nlines < 3) {
        pa->g_free(rects);
        rg_text_append_paragraphs(out, t, tl);
        return;
    }
    double *top = rg_xmalloc(nlines * sizeof *top);
    for (size_t i = 0; i < nlines; i++)
        top[i] = INFINITY;
    size_t li = 0, k = 0;
    for (size_t i = 0; i < tl; i++) {
        unsigned char c = (unsigned char)t[i];
        if ((c & 0xc0) == 0x80)
            continue;
        if (c == '\n')
            li++;
        else if (c != ' ' && c != '\t' && rects[k].y1 < top[li])
            top[li] = rects[k].y1;
        k++;
    }
    pa->g_free(rects);

    double *pitch = rg_xmalloc(nlines * sizeof *pitch);
    size_t npitch = 0, prev = SIZE_MAX;
    for (size_t i = 0; i < nlines; i++) {
        if (isinf(top[i]))
            continue;
        if (prev != SIZE_MAX && top[i] > top[prev])
            pitch[npitch++] = top[i] - top[prev];
        prev = i;
    }
    /* The lower quartile, not the median: on pages of short paragraphs most
     * gaps are paragraph gaps, but a quarter are still plain line pitch. */
    double base = 0;
    if (npitch >= 2) {
        qsort(pitch, npitch, sizeof *pitch, cmp_double);
        base = pitch[npitch / 4];
    }
    free(pitch);

    rg_buf lines;
    rg_buf_init(&lines);
    rg_buf_reserve(&lines, tl + nlines);
    prev = SIZE_MAX;
    const char *p = t;
    for (size_t i = 0; i < nlines; i++) {
        const char *nl = memchr(p, '\n', tl - (size_t)(p - t));
        size_t n = nl ? (size_t)(nl - p) : tl - (size_t)(p - t);
        bool para_break = false;
        if (!isinf(top[i])) {
            if (prev != SIZE_MAX && base > 0) {
                double d = top[i] - top[prev];
                /* 1.3: list items and paragraph gaps are 1.4x the pitch or
                 * more, while lines of one paragraph vary by a few percent. */
                if (d <= 0 || d > 1.3 * base) {
                    rg_buf_putc(&lines, '\n');
                    para_break = true;
                }
            }
            prev = i;
        }
        /* Rejoin words hyphenated at a line end ("manip-" + "ulation"): only
         * lower-case on both sides, so "Wi-" + "Fi" and "-" bullets stay. */
        const char *q = p;
        while (q < p + n && *q == ' ')
            q++;
        if (!para_break && lines.len >= 3 && lines.data[lines.len - 1] == '\n' && lines.data[lines.len - 2] == '-' &&
            lines.data[lines.len - 3] >= 'a' && lines.data[lines.len - 3] <= 'z' && q < p + n && *q >= 'a' && *q <= 'z') {
            lines.len -= 2;
            n -= (size_t)(q - p);
            p = q;
        }
        rg_buf_append(&lines, p, n);
        rg_buf_putc(&lines, '\n');
        p += n + (nl ? 1 : 0);
    }
    free(top);
    rg_text_append_paragraphs(out, lines.data, lines.len);
    rg_buf_free(&lines);
}

/* A page's first or last line, digits folded so "Page 3" matches "Page 4";
 * 0 when there is no such line or it is too long to be a running head. */
static uint64_t edge_line_hash(const rg_buf *b, bool last, size_t *start, size_t *end)
{
    if (!b->len)
        return 0;
    const char *nl = last ? rg_memrchr(b->data, '\n', b->len) : memchr(b->data, '\n', b->len);
    *start = last ? (nl ? (size_t)(nl - b->data) + 1 : 0) : 0;
    *end = last ? b->len : (nl ? (size_t)(nl - b->data) : b->len);
    size_t n = *end - *start;
    if (n == 0 || n > 120)
        return 0;
    char norm[128];
    for (size_t i = 0; i < n; i++) {
        char c = b->data[*start + i];
        norm[i] = c >= '0' && c <= '9' ? '#' : c;
    }
    return rg_hash64(norm, n, 0x5eed) | 1;
}

/* Running heads and page numbers repeat at the top or bottom of most pages
 * and would otherwise land in every chunk.  A first or last line is dropped
 * when the same (digit-folded) line sits in that place on at least three
 * pages and a third of the pages with text. */
static void strip_running_lines(rg_buf *pages, size_t np)
{
    if (np < 3)
        return;
    uint64_t *h = rg_xcalloc(2 * np, sizeof *h);
    size_t *cut = rg_xcalloc(4 * np, sizeof *cut);
    size_t with_text = 0;
    for (size_t i = 0; i < np; i++) {
        with_text += pages[i].len > 0;
        h[2 * i] = edge_line_hash(&pages[i], false, &cut[4 * i], &cut[4 * i + 1]);
        h[2 * i + 1] = edge_line_hash(&pages[i], true, &cut[4 * i + 2], &cut[4 * i + 3]);
    }
    /* Equal lines are counted in sorted order, not pairwise: a PDF of many
     * thousand pages must not cost time quadratic in its page count.  The
     * place (first or last line) is folded into the key's low bit, which
     * edge_line_hash keeps set, so heads and feet are counted apart. */
    uint64_t *key = rg_xmalloc(2 * np * sizeof *key);
    for (size_t i = 0; i < 2 * np; i++)
        key[i] = h[i] ? (h[i] & ~(uint64_t)1) | (i % 2) : 0;
    uint64_t *sorted = rg_xmalloc(2 * np * sizeof *sorted);
    memcpy(sorted, key, 2 * np * sizeof *sorted);
    qsort(sorted, 2 * np, sizeof *sorted, cmp_u64);
    bool *drop = rg_xcalloc(2 * np, sizeof *drop);
    for (size_t i = 0; i < 2 * np; i++) {
        if (!h[i])
            continue;
        size_t count = upper_bound_u64(sorted, 2 * np, key[i]) - lower_bound_u64(sorted, 2 * np, key[i]);
        drop[i] = count >= 3 && count * 3 >= with_text;
    }
    free(sorted);
    free(key);
    for (size_t i = 0; i < np; i++) {
        rg_buf *b = &pages[i];
        size_t keep_from = drop[2 * i] ? cut[4 * i + 1] : 0;
        size_t keep_to = drop[2 * i + 1] ? cut[4 * i + 2] : b->len;
        if (keep_to < keep_from) /* a one-line page that is both */
            keep_to = keep_from;
        if (keep_from == 0 && keep_to == b->len)
            continue;
        memmove(b->data, b->data + keep_from, keep_to - keep_from);
        b->len = keep_to - keep_from;
        b->data[b->len] = '\0';
    }
    free(drop);
    free(cut);
    free(h);
}

static rg_status pdf_read(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    pthread_once(&poppler_once, poppler_load_once);
    if (poppler_load_err.code != RG_OK)
        return rg_error_set(err, poppler_load_err.code, "%s", poppler_load_err.msg);
    const poppler_api *pa = &poppler_fns;
    /* Static bytes: data outlives the PopplerDocument, which is gone before
     * we return. */
    GBytes *bytes = pa->g_bytes_new_static(data, len);
    GError *gerr = NULL;
    PopplerDocument *pd = pa->poppler_document_new_from_bytes(bytes, NULL, &gerr);
    if (!pd) {
        rg_status st;
        if (gerr && gerr->domain == pa->poppler_error_quark() && gerr->code == POPPLER_ERROR_ENCRYPTED)
            st = rg_error_set(err, RG_ERR_INVALID,
                              "%s is an encrypted (password-protected) PDF; ragged cannot read it. Save a copy "
                              "without the password (e.g. qpdf --decrypt --password=... in.pdf out.pdf) and ingest that",
                              path);
        else
            st = rg_error_set(err, RG_ERR_INVALID, "%s is not a readable PDF (%s); the file may be damaged or truncated",
                              path, gerr && gerr->message ? gerr->message : "unknown error");
        if (gerr)
            pa->g_error_free(gerr);
        pa->g_bytes_unref(bytes);
        return st;
    }

    int np = pa->poppler_document_get_n_pages(pd);
    if (np <= 0) {
        pa->g_object_unref(pd);
        pa->g_bytes_unref(bytes);
        return rg_error_set(err, RG_ERR_INVALID, "%s is a PDF without pages; nothing to read", path);
    }
    rg_buf *pages = rg_xcalloc((size_t)np, sizeof *pages);
    for (int i = 0; i < np; i++) {
        PopplerPage *page = pa->poppler_document_get_page(pd, i);
        char *t = page ? pa->poppler_page_get_text(page) : NULL;
        if (t) {
            size_t tl = strlen(t);
            /* Poppler's text is UTF-8 in practice; make sure of it, since
             * every later stage relies on it. */
            if (!rg_utf8_valid(t, tl)) {
                rg_buf fixed;
                rg_buf_init(&fixed);
                if (rg_text_decode(path, t, tl, &fixed, NULL) == RG_OK)
                    append_page_text(pa, &pages[i], page, fixed.data, fixed.len);
                rg_buf_free(&fixed);
            } else {
                append_page_text(pa, &pages[i], page, t, tl);
            }
            pa->g_free(t);
        }
        if (page)
            pa->g_object_unref(page);
    }
    strip_running_lines(pages, (size_t)np);
    rg_buf out;
    rg_buf_init(&out);
    size_t *offsets = rg_xmalloc((size_t)np * sizeof *offsets);
    for (int i = 0; i < np; i++) {
        size_t before = out.len;
        if (pages[i].len)
            rg_text_append_paragraphs(&out, pages[i].data, pages[i].len);
        rg_buf_free(&pages[i]);
        /* The page starts after the "\n\n" that separates it from the one before. */
        offsets[i] = out.len > before ? before + (before > 0 ? 2 : 0) : out.len;
    }
    free(pages);
    char *title = NULL;
    gchar *meta = pa->poppler_document_get_title(pd);
    if (meta) {
        size_t tl = rg_text_squeeze_spaces(meta, strlen(meta));
        if (tl && rg_utf8_valid(meta, tl))
            title = rg_xstrndup(meta, tl);
        pa->g_free(meta);
    }
    pa->g_object_unref(pd);
    pa->g_bytes_unref(bytes);

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
