/* Documents that are zip archives of XML: DOCX (Word), ODT
 * (OpenDocument text) and EPUB.  The archive is read by zip_archive.c
 * (libarchive), the XML by libxml2 (already linked for HTML).
 *
 * - DOCX: word/document.xml, the text of <w:t> runs, <w:p> paragraphs,
 *   tabs and breaks; deleted revisions and field codes are not text.
 *   Title: docProps/core.xml's dc:title.
 * - ODT: content.xml's <text:p>/<text:h> paragraphs, <text:s> spaces,
 *   annotations and tracked-change records dropped.  Title: meta.xml's
 *   dc:title.
 * - EPUB: META-INF/container.xml names the package (OPF); its spine gives
 *   the reading order of the XHTML chapters, each read by the HTML
 *   reader.  Title: the OPF's dc:title.
 *
 * Bounds: the zip layer caps members and expanded bytes (zip bombs); the
 * XML parser runs without network access, entity substitution or DTD
 * loading, with libxml2's default depth limit; tree walks are iterative;
 * an EPUB's text stops at the same byte bound however often its spine
 * repeats a chapter. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "reader.h"
#include "reader_priv.h"
#include "zip_archive.h"

static const char *const docx_extensions[] = {"docx", "docm", "dotx", NULL};
static const char *const odt_extensions[] = {"odt", "ott", NULL};
static const char *const epub_extensions[] = {"epub", NULL};

/* ---- XML ---- */

static void init_libxml(void)
{
    xmlInitParser();
}

/* Parses one member; NULL if it is not well-formed enough to recover. */
static xmlDoc *parse_xml(const rg_zip_member *m)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_libxml);
    if (!m || m->len > (size_t)INT32_MAX)
        return NULL;
    /* No XML_PARSE_NOENT (entities stay unexpanded: no billion laughs),
     * no DTD loading, no network; RECOVER keeps the text of a document a
     * tool wrote slightly wrong. */
    return xmlReadMemory(m->data, (int)m->len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_RECOVER);
}

static bool local_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, name) == 0;
}

static bool local_in(const xmlNode *n, const char *const *names)
{
    for (; names && *names; names++)
        if (local_is(n, *names))
            return true;
    return false;
}

/* How a format's body XML becomes text. */
typedef struct xml_rules {
    const char *const *paragraphs; /* elements that are paragraphs */
    const char *const *skipped;    /* elements whose content is not text */
    const char *text_parent;       /* non-NULL: only text directly inside this element counts (DOCX w:t) */
} xml_rules;

static void put_text(rg_buf *out, const char *s)
{
    /* Line breaks in the XML source are layout of the file, not of the
     * document: they become spaces. */
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        rg_buf_putc(out, c == '\n' || c == '\r' || c == '\t' ? ' ' : (char)c);
    }
}

static void enter_element(const xml_rules *r, const xmlNode *n, rg_buf *out)
{
    if (local_in(n, r->paragraphs)) {
        rg_buf_puts(out, "\n\n");
    } else if (local_is(n, "tab")) {
        rg_buf_putc(out, ' ');
    } else if (local_is(n, "br") || local_is(n, "cr") || local_is(n, "line-break")) {
        rg_buf_putc(out, '\n');
    } else if (local_is(n, "s")) {
        /* ODT's <text:s text:c="3"/>: that many spaces (capped). */
        xmlChar *c = xmlGetProp((xmlNode *)n, (const xmlChar *)"c");
        long k = c ? strtol((const char *)c, NULL, 10) : 1;
        xmlFree(c);
        for (long i = 0; i < RG_MIN(RG_MAX(k, 1L), 8L); i++)
            rg_buf_putc(out, ' ');
    }
}

/* Iterative walk (no recursion whatever the nesting). */
static void xml_text(const xml_rules *r, xmlNode *root, rg_buf *out)
{
    xmlNode *n = root;
    while (n) {
        if (n->type == XML_ELEMENT_NODE && !local_in(n, r->skipped)) {
            enter_element(r, n, out);
            if (n->children) {
                n = n->children;
                continue;
            }
        } else if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content &&
                   (!r->text_parent || local_is(n->parent, r->text_parent))) {
            put_text(out, (const char *)n->content);
        }
        while (n != root && !n->next) {
            n = n->parent;
            if (local_in(n, r->paragraphs))
                rg_buf_puts(out, "\n\n");
        }
        if (n == root)
            break;
        n = n->next;
    }
}

/* First element called name below root, in document order. */
static xmlNode *find_element(xmlNode *root, const char *name)
{
    xmlNode *n = root;
    while (n) {
        if (local_is(n, name))
            return n;
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            continue;
        }
        while (n != root && !n->next)
            n = n->parent;
        if (n == root)
            return NULL;
        n = n->next;
    }
    return NULL;
}

/* The text directly inside an element, squeezed; NULL if empty. */
static char *element_text(xmlNode *e)
{
    if (!e)
        return NULL;
    rg_buf b;
    rg_buf_init(&b);
    for (xmlNode *c = e->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            put_text(&b, (const char *)c->content);
    if (!b.len) {
        rg_buf_free(&b);
        return NULL;
    }
    b.len = rg_text_squeeze_spaces(b.data, b.len);
    if (!b.len) {
        rg_buf_free(&b);
        return NULL;
    }
    char *s = rg_buf_steal(&b);
    size_t l = strlen(s);
    rg_utf8_sanitize(&s, &l);
    return s;
}

/* dc:title of a metadata member (core.xml, meta.xml, the OPF), or NULL. */
static char *metadata_title(const rg_zip_member *m)
{
    xmlDoc *d = parse_xml(m);
    if (!d)
        return NULL;
    char *t = element_text(find_element(xmlDocGetRootElement(d), "title"));
    xmlFreeDoc(d);
    return t;
}

/* Finishes doc from the raw paragraphs in raw. */
static void set_text(rg_document *doc, rg_buf *raw, const char *format)
{
    rg_buf final;
    rg_buf_init(&final);
    rg_text_append_paragraphs(&final, raw->data ? raw->data : "", raw->len);
    doc->len = final.len;
    doc->text = rg_buf_steal(&final);
    rg_utf8_sanitize(&doc->text, &doc->len);
    doc->format = format;
}

static size_t limit_of(const rg_document *doc)
{
    return doc->max_expanded ? doc->max_expanded : RG_READ_EXPANDED_DEFAULT;
}

/* ---- DOCX and ODT ---- */

typedef struct office_format {
    const char *name;
    const char *body;     /* member with the text */
    const char *meta;     /* member with the title */
    xml_rules rules;
} office_format;

static const char *const docx_paragraphs[] = {"p", NULL};
static const char *const docx_skipped[] = {"delText", "instrText", "del", "drawing", "pict", "object", NULL};
static const char *const odt_paragraphs[] = {"p", "h", NULL};
static const char *const odt_skipped[] = {"annotation", "tracked-changes", "forms", "script", "sequence-decls",
                                          NULL};

static const office_format docx_format = {"docx", "word/document.xml", "docProps/core.xml",
                                          {docx_paragraphs, docx_skipped, "t"}};
static const office_format odt_format = {"odt", "content.xml", "meta.xml", {odt_paragraphs, odt_skipped, NULL}};

static bool keep_office(const char *name, void *ctx)
{
    const office_format *f = ctx;
    return strcmp(name, f->body) == 0 || strcmp(name, f->meta) == 0;
}

static rg_status office_read(const office_format *f, const char *path, const char *data, size_t len,
                             rg_document *doc, rg_error *err)
{
    rg_zip z;
    rg_status st = rg_zip_read(path, data, len, keep_office, (void *)f, limit_of(doc), &z, err);
    if (st != RG_OK)
        return st;
    const rg_zip_member *body = rg_zip_find(&z, f->body);
    if (!body) {
        st = rg_error_set(err, RG_ERR_INVALID, "%s is not a %s document: it has no %s", path,
                          f == &docx_format ? "Word (DOCX)" : "OpenDocument text (ODT)", f->body);
        rg_zip_free(&z);
        return st;
    }
    xmlDoc *d = parse_xml(body);
    if (!d) {
        st = rg_error_set(err, RG_ERR_INVALID, "%s: %s is not readable XML (damaged document)", path, f->body);
        rg_zip_free(&z);
        return st;
    }
    rg_buf raw;
    rg_buf_init(&raw);
    xmlNode *root = xmlDocGetRootElement(d);
    if (root)
        xml_text(&f->rules, root, &raw);
    xmlFreeDoc(d);
    doc->title = metadata_title(rg_zip_find(&z, f->meta));
    rg_zip_free(&z);
    set_text(doc, &raw, f->name);
    rg_buf_free(&raw);
    return RG_OK;
}

static rg_status docx_read(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    return office_read(&docx_format, path, data, len, doc, err);
}

static rg_status odt_read(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    return office_read(&odt_format, path, data, len, doc, err);
}

/* ---- EPUB ---- */

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

static bool keep_epub(const char *name, void *ctx)
{
    (void)ctx;
    return ends_with_ci(name, ".opf") || ends_with_ci(name, ".xhtml") || ends_with_ci(name, ".html") ||
           ends_with_ci(name, ".htm") || strcmp(name, "META-INF/container.xml") == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The member name an href in the OPF at opf_path points to: relative to
 * the OPF's directory, percent-decoded, "." and ".." resolved, fragment
 * dropped. */
static char *resolve_href(const char *opf_path, const char *href)
{
    rg_buf joined;
    rg_buf_init(&joined);
    const char *slash = strrchr(opf_path, '/');
    if (slash && href[0] != '/')
        rg_buf_append(&joined, opf_path, (size_t)(slash - opf_path) + 1);
    for (const char *p = href[0] == '/' ? href + 1 : href; *p && *p != '#' && *p != '?'; p++) {
        int h1, h2;
        if (*p == '%' && (h1 = hexval(p[1])) >= 0 && (h2 = hexval(p[2])) >= 0) {
            rg_buf_putc(&joined, (char)(h1 * 16 + h2));
            p += 2;
        } else {
            rg_buf_putc(&joined, *p);
        }
    }
    rg_buf_append(&joined, "", 0); /* allocated and NUL-terminated even when empty */
    /* Resolve segments into out. */
    rg_buf out;
    rg_buf_init(&out);
    char *save = NULL;
    for (char *seg = strtok_r(joined.data, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        if (strcmp(seg, ".") == 0)
            continue;
        if (strcmp(seg, "..") == 0) {
            char *last = out.len ? memrchr(out.data, '/', out.len) : NULL;
            out.len = last ? (size_t)(last - out.data) : 0;
            continue;
        }
        if (out.len)
            rg_buf_putc(&out, '/');
        rg_buf_puts(&out, seg);
    }
    rg_buf_free(&joined);
    rg_buf_append(&out, "", 0);
    out.data[out.len] = '\0';
    return rg_buf_steal(&out);
}

/* Reads one chapter through the HTML reader and appends its text.  Returns
 * false (and sets *why once) when the chapter cannot be read. */
static bool append_chapter(const char *path, const rg_zip_member *m, rg_buf *raw, rg_error *why)
{
    rg_document sub;
    memset(&sub, 0, sizeof sub);
    rg_error e = {0};
    if (rg_reader_html.read(path, m->data, m->len, &sub, &e) != RG_OK) {
        if (!why->msg[0])
            *why = e;
        rg_document_free(&sub);
        return false;
    }
    if (sub.len) {
        rg_buf_puts(raw, "\n\n");
        rg_buf_append(raw, sub.text, sub.len);
    }
    rg_document_free(&sub);
    return true;
}

/* Spine entries and manifest items looked at: matching them is a nested
 * loop, and real books have hundreds of chapters, not thousands. */
#define EPUB_MAX_CHAPTERS 4096

/* The spine's members in reading order, resolved against the OPF; the
 * caller frees each and the array. */
static char **spine_members(const rg_zip_member *opf, size_t *count, char **title, bool *too_many)
{
    *count = 0;
    *too_many = false;
    xmlDoc *d = parse_xml(opf);
    if (!d)
        return NULL;
    xmlNode *root = xmlDocGetRootElement(d);
    xmlNode *meta = find_element(root, "metadata");
    *title = element_text(find_element(meta ? meta : root, "title"));
    xmlNode *manifest = find_element(root, "manifest");
    xmlNode *spine = find_element(root, "spine");
    char **out = NULL;
    size_t n = 0, cap = 0;
    for (xmlNode *ref = spine ? spine->children : NULL; ref && manifest; ref = ref->next) {
        if (!local_is(ref, "itemref"))
            continue;
        if (n == EPUB_MAX_CHAPTERS) {
            *too_many = true;
            break;
        }
        xmlChar *idref = xmlGetProp(ref, (const xmlChar *)"idref");
        if (!idref)
            continue;
        size_t seen = 0;
        for (xmlNode *item = manifest->children; item && seen < EPUB_MAX_CHAPTERS; item = item->next) {
            if (!local_is(item, "item"))
                continue;
            seen++;
            xmlChar *id = xmlGetProp(item, (const xmlChar *)"id");
            bool match = id && xmlStrEqual(id, idref);
            xmlFree(id);
            if (!match)
                continue;
            xmlChar *href = xmlGetProp(item, (const xmlChar *)"href");
            if (href) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 16;
                    out = rg_xrealloc(out, cap * sizeof *out);
                }
                out[n++] = resolve_href(opf->name, (const char *)href);
            }
            xmlFree(href);
            break;
        }
        xmlFree(idref);
    }
    xmlFreeDoc(d);
    *count = n;
    return out;
}

static rg_status epub_read(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    size_t limit = limit_of(doc);
    rg_zip z;
    rg_status st = rg_zip_read(path, data, len, keep_epub, NULL, limit, &z, err);
    if (st != RG_OK)
        return st;
    /* The package document: named by the container, else the first .opf. */
    const rg_zip_member *opf = NULL;
    xmlDoc *cd = parse_xml(rg_zip_find(&z, "META-INF/container.xml"));
    if (cd) {
        xmlNode *rf = find_element(xmlDocGetRootElement(cd), "rootfile");
        xmlChar *fp = rf ? xmlGetProp(rf, (const xmlChar *)"full-path") : NULL;
        if (fp)
            opf = rg_zip_find(&z, (const char *)fp);
        xmlFree(fp);
        xmlFreeDoc(cd);
    }
    for (size_t i = 0; !opf && i < z.n; i++)
        if (ends_with_ci(z.items[i].name, ".opf"))
            opf = &z.items[i];
    size_t nspine = 0;
    char *title = NULL;
    bool too_many = false;
    char **spine = opf ? spine_members(opf, &nspine, &title, &too_many) : NULL;
    if (too_many)
        st = rg_error_set(err, RG_ERR_INVALID, "%s has more than %d chapters in its spine; not read", path,
                          EPUB_MAX_CHAPTERS);

    rg_buf raw;
    rg_buf_init(&raw);
    rg_error why = {0};
    size_t read = 0, failed = 0;
    for (size_t i = 0; i < nspine && st == RG_OK; i++) {
        const rg_zip_member *m = rg_zip_find(&z, spine[i]);
        if (!m)
            continue; /* an image or a missing file: nothing to read */
        if (append_chapter(path, m, &raw, &why))
            read++;
        else
            failed++;
        if (raw.len > limit)
            st = rg_error_set(err, RG_ERR_INVALID,
                              "%s: its chapters expand to more than %.1f MB of text (ingest.max_file_mb); skipped",
                              path, (double)limit / 1048576.0);
    }
    /* No usable spine (a damaged or minimal package): the XHTML members in
     * archive order. */
    if (st == RG_OK && read == 0 && failed == 0) {
        for (size_t i = 0; i < z.n && st == RG_OK; i++) {
            if (!ends_with_ci(z.items[i].name, "html") && !ends_with_ci(z.items[i].name, ".htm"))
                continue;
            if (append_chapter(path, &z.items[i], &raw, &why))
                read++;
            else
                failed++;
            if (raw.len > limit)
                st = rg_error_set(err, RG_ERR_INVALID,
                                  "%s: its chapters expand to more than %.1f MB of text (ingest.max_file_mb); "
                                  "skipped",
                                  path, (double)limit / 1048576.0);
        }
    }
    for (size_t i = 0; i < nspine; i++)
        free(spine[i]);
    free(spine);
    rg_zip_free(&z);
    if (st == RG_OK && read == 0 && failed > 0)
        st = rg_error_set(err, RG_ERR_INVALID, "%s: no chapter of the EPUB could be read (%s)", path, why.msg);
    else if (st == RG_OK && read == 0 && !opf)
        st = rg_error_set(err, RG_ERR_INVALID, "%s is not an EPUB book: it has no package (.opf) and no chapters",
                          path);
    if (st != RG_OK) {
        free(title);
        rg_buf_free(&raw);
        return st;
    }
    /* A chapter that failed while others were read is left out: the reader
     * contract has no warnings, and a book missing one damaged chapter is
     * more useful than no book. */
    doc->title = title;
    set_text(doc, &raw, "epub");
    rg_buf_free(&raw);
    return RG_OK;
}

const rg_reader_ops rg_reader_docx = {
    .name = "docx",
    .extensions = docx_extensions,
    .read = docx_read,
};

const rg_reader_ops rg_reader_odt = {
    .name = "odt",
    .extensions = odt_extensions,
    .read = odt_read,
};

const rg_reader_ops rg_reader_epub = {
    .name = "epub",
    .extensions = epub_extensions,
    .read = epub_read,
};
