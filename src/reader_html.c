/* HTML via libxml2's forgiving HTML parser: visible text in document order,
 * block elements as paragraphs (headings always their own), navigation and
 * script noise dropped.  Never touches the network (HTML_PARSE_NONET) and
 * never prints parser complaints (NOERROR/NOWARNING): broken markup is the
 * norm on disk, not an event the user must hear about. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include "reader.h"
#include "reader_priv.h"

static const char *const html_extensions[] = {"html", "htm", "xhtml", "shtml", NULL};

static bool html_sniff(const unsigned char *head, size_t n)
{
    size_t i = 0;
    if (n >= 3 && head[0] == 0xef && head[1] == 0xbb && head[2] == 0xbf)
        i = 3;
    while (i < n && isspace(head[i]))
        i++;
    static const char *const starts[] = {"<!doctype html", "<html"};
    for (size_t k = 0; k < RG_ARRAY_LEN(starts); k++) {
        size_t l = strlen(starts[k]);
        if (n - i >= l && strncasecmp((const char *)head + i, starts[k], l) == 0)
            return true;
    }
    return false;
}

/* Separation owed before the next visible character; the largest pending
 * one wins so "</p>  <p>" yields exactly one paragraph break. */
enum { BRK_NONE, BRK_SPACE, BRK_LINE, BRK_PARA };

typedef struct html_out {
    rg_buf buf;
    int pending;
    int pre;  /* depth of <pre>: whitespace is kept there */
} html_out;

static void brk(html_out *o, int level)
{
    if (level > o->pending)
        o->pending = level;
}

static void flush_pending(html_out *o)
{
    if (o->buf.len) {
        if (o->pending == BRK_SPACE)
            rg_buf_putc(&o->buf, ' ');
        else if (o->pending == BRK_LINE)
            rg_buf_putc(&o->buf, '\n');
        else if (o->pending == BRK_PARA)
            rg_buf_append(&o->buf, "\n\n", 2);
    }
    o->pending = BRK_NONE;
}

static void emit_text(html_out *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (o->pre) {
            /* Keep the lines of <pre>, but a blank line inside is not a
             * paragraph boundary of the page. */
            if (*p == '\n') {
                brk(o, BRK_LINE);
                p++;
                continue;
            }
        } else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' ||
                   (p[0] == 0xc2 && p[1] == 0xa0)) { /* &nbsp; */
            brk(o, BRK_SPACE);
            p += *p == 0xc2 ? 2 : 1;
            continue;
        }
        const unsigned char *q = p;
        while (*q && *q != '\n' &&
               (o->pre || !(*q == ' ' || *q == '\t' || *q == '\r' || *q == '\f' || (q[0] == 0xc2 && q[1] == 0xa0))))
            q++;
        if (q == p)
            continue;
        flush_pending(o);
        /* Control characters would break the paragraph structure downstream. */
        for (const unsigned char *c = p; c < q; c++)
            if (*c >= 0x20 || *c == '\t')
                rg_buf_putc(&o->buf, (char)*c);
        p = q;
    }
}

static bool name_is(const char *n, const char *name)
{
    /* The first letter rules out most names without a call (this runs for
     * every element against every list). */
    return n && (n[0] | 0x20) == name[0] && strcasecmp(n, name) == 0;
}

static bool name_in(const char *n, const char *const *names)
{
    for (; *names; names++)
        if (name_is(n, *names))
            return true;
    return false;
}

/* Elements whose content is not part of what the page says. */
static const char *const skipped[] = {"head",   "script", "style",  "noscript", "template", "nav",
                                      "iframe", "svg",    "math",   "canvas",   "object",   "embed",
                                      "select", "button", "textarea", "audio",  "video",    "map", NULL};

static const char *const paragraph_blocks[] = {
    "p",      "div",     "section", "article",    "main",    "header", "footer", "aside",
    "blockquote", "pre", "table",   "thead",      "tbody",   "tfoot",  "ul",     "ol",
    "dl",     "figure",  "figcaption", "address", "details", "summary", "fieldset", "form",
    "hr",     "body",    "center",  "caption",    "h1",      "h2",     "h3",     "h4",
    "h5",     "h6",      "hgroup",  "legend",     "menu",    NULL};

static const char *const line_blocks[] = {"li", "tr", "dt", "dd", "br", "option", "label", NULL};

/* The value of attribute name in a SAX attribute list (name, value, ...,
 * NULL); *present says whether it is there at all (a bare "hidden" has no
 * value). */
static const char *attr(const xmlChar **atts, const char *name, bool *present)
{
    *present = false;
    for (size_t i = 0; atts && atts[i]; i += 2)
        if (strcmp((const char *)atts[i], name) == 0) {
            *present = true;
            return (const char *)atts[i + 1];
        }
    return NULL;
}

static bool attr_is(const xmlChar **atts, const char *name, const char *value)
{
    bool present;
    const char *v = attr(atts, name, &present);
    return v && strcasecmp(v, value) == 0;
}

static bool skip_element(const char *name, const xmlChar **atts)
{
    bool hidden;
    if (name_in(name, skipped))
        return true;
    attr(atts, "hidden", &hidden);
    return hidden || attr_is(atts, "aria-hidden", "true") || attr_is(atts, "role", "navigation");
}

static void enter(html_out *o, const char *n)
{
    if (name_in(n, paragraph_blocks))
        brk(o, BRK_PARA);
    else if (name_in(n, line_blocks))
        brk(o, BRK_LINE);
    else if (name_is(n, "td") || name_is(n, "th"))
        brk(o, BRK_SPACE);
    if (name_is(n, "pre"))
        o->pre++;
}

static void leave(html_out *o, const char *n)
{
    if (name_in(n, paragraph_blocks))
        brk(o, BRK_PARA);
    else if (name_in(n, line_blocks))
        brk(o, BRK_LINE);
    else if (name_is(n, "td") || name_is(n, "th"))
        brk(o, BRK_SPACE);
    if (name_is(n, "pre") && o->pre > 0)
        o->pre--;
}

/* The page is read in one streaming pass of SAX events, never as a tree:
 * libxml2's tree of a 10 MB rustdoc source page (a <span> per token) took
 * 250 MB, the peak of a whole-corpus ingest (issue 16 item 5); the events
 * need the input, the text and a stack of open element names.
 *
 * Site chrome (banners, menus not marked <nav>, sidebars, footers) repeats
 * on every page of a site and drowns the page's own words in retrieval.
 * When the page marks its content with one <main> (or role="main") or one
 * <article>, only that is read.  Which one applies is known only at the end,
 * so three views of the same events are kept: the whole root element, its
 * first main landmark and its first article; a landmark view is dropped as
 * soon as a second landmark of its kind appears. */
enum { VIEW_ROOT, VIEW_MAIN, VIEW_ARTICLE, NVIEWS };

typedef struct html_view {
    html_out o;
    int depth;          /* depth of the element read: -1 not met yet, -2 over */
    int skip;           /* depth of the outermost skipped element inside it, -1 none */
    int count;          /* landmarks of this kind met so far (stops at 2) */
    bool hidden;        /* the landmark itself is skipped: not used */
} html_view;

/* The text of one element and its descendants (title, h1), skipped ones
 * included, as libxml2's xmlNodeGetContent gives it. */
typedef struct html_capture {
    rg_buf text;
    int depth;          /* -1 not met yet, -2 over */
} html_capture;

enum { CAP_HEAD_TITLE, CAP_TITLE, CAP_H1, NCAPS };

typedef struct html_sax {
    html_view view[NVIEWS];
    html_capture cap[NCAPS];
    int head;           /* depth of the first <head> while inside it, -1 before, -2 after */
    int depth;          /* open elements */
    char **names;       /* their names (dictionary strings of the parser are
                           not guaranteed to outlive the event: copied) */
    size_t cap_names;
    rg_buf scratch;     /* one text event, NUL-terminated for emit_text */
} html_sax;

static void capture_start(html_capture *c, int d)
{
    if (c->depth == -1)
        c->depth = d;
}

static void capture_end(html_capture *c, int d)
{
    if (c->depth == d)
        c->depth = -2;
}

static void sax_start(void *ctx, const xmlChar *xname, const xmlChar **atts)
{
    html_sax *s = ctx;
    const char *name = (const char *)xname;
    int d = s->depth;
    html_view *root = &s->view[VIEW_ROOT];
    /* Only the first top-level element is the page (libxml2's root). */
    bool in_root = d == 0 ? root->depth == -1 : root->depth >= 0;
    if (in_root) {
        bool skip = skip_element(name, atts);
        if (d == 0) {
            root->depth = 0;
            root->hidden = skip;
        }
        html_view *lm[2] = {&s->view[VIEW_MAIN], &s->view[VIEW_ARTICLE]};
        const char *kind[2] = {"main", "article"};
        for (int k = 0; k < 2; k++) {
            if (lm[k]->count >= 2 || !(name_is(name, kind[k]) || attr_is(atts, "role", kind[k])))
                continue;
            if (++lm[k]->count == 1) {
                lm[k]->depth = d;
                lm[k]->hidden = skip;
            } else {
                /* Not unique: this view is not used, stop growing it. */
                lm[k]->depth = -2;
                rg_buf_free(&lm[k]->o.buf);
            }
        }
        for (int v = 0; v < NVIEWS; v++) {
            html_view *w = &s->view[v];
            if (w->depth < 0 || w->hidden || w->skip >= 0)
                continue;
            if (d > w->depth && skip)
                w->skip = d;
            else
                enter(&w->o, name);
        }
        if (s->head == -1 && name_is(name, "head"))
            s->head = d;
        if (name_is(name, "title")) {
            if (s->head >= 0)
                capture_start(&s->cap[CAP_HEAD_TITLE], d);
            capture_start(&s->cap[CAP_TITLE], d);
        }
        if (name_is(name, "h1"))
            capture_start(&s->cap[CAP_H1], d);
    }
    if ((size_t)d == s->cap_names) {
        s->cap_names = s->cap_names ? s->cap_names * 2 : 64;
        s->names = rg_xrealloc(s->names, s->cap_names * sizeof *s->names);
    }
    s->names[d] = rg_xstrdup(name);
    s->depth++;
}

static void sax_end(void *ctx, const xmlChar *xname)
{
    (void)xname; /* the parser closes what it opened; the stack says what */
    html_sax *s = ctx;
    if (s->depth == 0)
        return;
    int d = --s->depth;
    char *name = s->names[d];
    for (int v = 0; v < NVIEWS; v++) {
        html_view *w = &s->view[v];
        if (w->depth < 0 || d < w->depth)
            continue;
        if (w->skip == d)
            w->skip = -1;
        else if (w->skip < 0 && !w->hidden)
            leave(&w->o, name);
        if (d == w->depth)
            w->depth = -2;
    }
    if (s->head == d)
        s->head = -2;
    for (int c = 0; c < NCAPS; c++)
        capture_end(&s->cap[c], d);
    free(name);
}

static void sax_text(void *ctx, const xmlChar *ch, int len)
{
    html_sax *s = ctx;
    if (s->depth == 0 || len <= 0)
        return; /* text outside any element is not part of the tree */
    for (int c = 0; c < NCAPS; c++)
        if (s->cap[c].depth >= 0)
            rg_buf_append(&s->cap[c].text, ch, (size_t)len);
    s->scratch.len = 0;
    rg_buf_append(&s->scratch, ch, (size_t)len);
    for (int v = 0; v < NVIEWS; v++) {
        html_view *w = &s->view[v];
        if (w->depth >= 0 && !w->hidden && w->skip < 0)
            emit_text(&w->o, s->scratch.data);
    }
}

/* The squeezed text of a capture, or NULL when it has none. */
static char *capture_text(html_capture *c)
{
    if (!c->text.data)
        return NULL;
    /* As the tree's text: a NUL (never produced by the parser) would end it. */
    size_t len = rg_text_squeeze_spaces(c->text.data, strlen(c->text.data));
    if (!len)
        return NULL;
    return rg_xstrndup(c->text.data, len);
}

/* Parses len bytes of data (in encoding, switched as htmlReadMemory does)
 * into s; false only when libxml2 could not set up a parser. */
static bool sax_parse(html_sax *s, const char *data, size_t len, const char *encoding, int opts)
{
    htmlParserCtxtPtr ctxt = htmlCreateMemoryParserCtxt(data, (int)RG_MIN(len, (size_t)INT32_MAX));
    if (!ctxt)
        return false;
    /* Only the events read here: no tree, no document. */
    memset(ctxt->sax, 0, sizeof *ctxt->sax);
    ctxt->sax->startElement = sax_start;
    ctxt->sax->endElement = sax_end;
    ctxt->sax->characters = sax_text;
    ctxt->sax->cdataBlock = sax_text;
    ctxt->userData = s;
    htmlCtxtUseOptions(ctxt, opts);
    if (encoding) {
        xmlCharEncodingHandlerPtr h = xmlFindCharEncodingHandler(encoding);
        if (h) {
            xmlSwitchToEncoding(ctxt, h);
            if (ctxt->input->encoding)
                xmlFree((xmlChar *)ctxt->input->encoding);
            ctxt->input->encoding = xmlStrdup((const xmlChar *)encoding);
        }
    }
    htmlParseDocument(ctxt);
    if (ctxt->myDoc)
        xmlFreeDoc(ctxt->myDoc);
    ctxt->myDoc = NULL;
    xmlFreeParserCtxt(ctxt);
    return true;
}

static void sax_init(html_sax *s)
{
    memset(s, 0, sizeof *s);
    for (int v = 0; v < NVIEWS; v++) {
        rg_buf_init(&s->view[v].o.buf);
        s->view[v].depth = -1;
        s->view[v].skip = -1;
    }
    for (int c = 0; c < NCAPS; c++) {
        rg_buf_init(&s->cap[c].text);
        s->cap[c].depth = -1;
    }
    s->head = -1;
    rg_buf_init(&s->scratch);
}

static void sax_free(html_sax *s)
{
    for (int v = 0; v < NVIEWS; v++)
        rg_buf_free(&s->view[v].o.buf);
    for (int c = 0; c < NCAPS; c++)
        rg_buf_free(&s->cap[c].text);
    for (int d = 0; d < s->depth; d++)
        free(s->names[d]);
    free(s->names);
    rg_buf_free(&s->scratch);
}

/* The charset a page declares in its first bytes, if not UTF-8 (whose
 * declaration changes nothing), into out. */
static bool declared_charset(const char *data, size_t len, char *out, size_t outsz)
{
    size_t n = RG_MIN(len, (size_t)4096);
    for (size_t i = 0; i + 8 <= n; i++) {
        if (strncasecmp(data + i, "charset=", 8) != 0)
            continue;
        size_t j = i + 8;
        while (j < n && (data[j] == '"' || data[j] == '\'' || data[j] == ' '))
            j++;
        size_t k = 0;
        while (j < n && k + 1 < outsz && (isalnum((unsigned char)data[j]) || data[j] == '-' || data[j] == '_' ||
                                          data[j] == ':' || data[j] == '.'))
            out[k++] = data[j++];
        out[k] = '\0';
        return k > 0 && strcasecmp(out, "utf-8") != 0 && strcasecmp(out, "utf8") != 0;
    }
    return false;
}

/* libxml2 2.9 initialises itself lazily without a lock; doing it once here
 * keeps concurrent first reads (ingest workers) from racing. */
static void init_libxml(void)
{
    xmlInitParser();
}

/* Replaces bytes that are not part of a valid UTF-8 sequence with U+FFFD.
 * libxml2's iconv path can pass a raw byte of a declared legacy charset
 * through (seen with "&" followed by a high byte in ISO-8859-2), and the
 * reader contract promises UTF-8. */
static void utf8_repair(char **s, size_t *len)
{
    if (!*s || rg_utf8_valid(*s, *len))
        return;
    rg_buf b;
    rg_buf_init(&b);
    for (size_t i = 0; i < *len;) {
        size_t k = 1;
        while (k <= 4 && i + k <= *len && !rg_utf8_valid(*s + i, k))
            k++;
        if (k <= 4 && i + k <= *len) {
            rg_buf_append(&b, *s + i, k);
            i += k;
        } else {
            rg_buf_puts(&b, "\xEF\xBF\xBD");
            i++;
        }
    }
    free(*s);
    *len = b.len;
    *s = rg_buf_steal(&b);
}

/* libxml2 checks each attribute of a tag against all the tag's earlier
 * ones, so a tag with N attributes costs N^2 (80,000 of them, 700 KB, took
 * over a minute).  Attributes past this many in one tag are dropped before
 * parsing; text never lives in attributes, and the ones the reader looks at
 * (hidden, role, aria-hidden) come early in any real page. */
#define HTML_MAX_ATTRS 256

/* data with the attributes past HTML_MAX_ATTRS of every tag removed, into
 * out; false (out untouched) when no tag has that many.  One linear pass:
 * a tag is "<" and a letter up to the next ">" outside quotes, the way the
 * parser reads it. */
static bool cap_attributes(const char *data, size_t len, rg_buf *out)
{
    bool capped = false;
    size_t copied = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (data[i] != '<' || !isalpha((unsigned char)data[i + 1]))
            continue;
        size_t j = i + 1, attrs = 0, cut = 0;
        char quote = 0;
        bool space = false;
        for (; j < len; j++) {
            char ch = data[j];
            if (quote) {
                if (ch == quote)
                    quote = 0;
                continue;
            }
            if (ch == '>')
                break;
            if (ch == '"' || ch == '\'') {
                quote = ch;
            } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f') {
                space = true;
                continue;
            } else if (space && ch != '=' && ch != '/' && ++attrs > HTML_MAX_ATTRS && !cut) {
                cut = j;
            }
            space = false;
        }
        if (cut) {
            rg_buf_append(out, data + copied, cut - copied);
            copied = j < len ? j : len;   /* from the '>' on */
            capped = true;
        }
        i = j < len ? j : len;
    }
    if (capped)
        rg_buf_append(out, data + copied, len - copied);
    return capped;
}

static rg_status html_read(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_libxml);
    /* XML_PARSE_HUGE: without it libxml2 silently truncates text nodes over
     * 10 MB, and a one-line page would lose its end.  HTML has no entity
     * expansion to abuse, so lifting the limit costs no safety. */
    int opts = HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
               HTML_PARSE_COMPACT | XML_PARSE_HUGE;
    rg_buf text;
    rg_buf_init(&text);
    html_sax s;
    sax_init(&s);
    bool parsed = false;
    char charset[64];
    bool utf8 = rg_utf8_valid(data, len);
    if (!utf8 && declared_charset(data, len, charset, sizeof charset) && strcasecmp(charset, "iso-8859-1") != 0 &&
        strcasecmp(charset, "windows-1252") != 0 && strcasecmp(charset, "latin1") != 0 && !memchr(data, 0, len)) {
        /* A page in Shift_JIS or KOI8-R says so; libxml2 converts it
         * (through iconv) better than any guess of ours. */
        rg_buf capped;
        rg_buf_init(&capped);
        if (cap_attributes(data, len, &capped))
            parsed = sax_parse(&s, capped.data, capped.len, charset, opts);
        else
            parsed = sax_parse(&s, data, len, charset, opts);
        rg_buf_free(&capped);
    }
    if (!parsed) {
        rg_status st = rg_text_decode(path, data, len, &text, err);
        if (st != RG_OK) {
            rg_buf_free(&text);
            sax_free(&s);
            return st;
        }
        if (text.len > (size_t)INT32_MAX) {
            rg_buf_free(&text);
            sax_free(&s);
            return rg_error_set(err, RG_ERR_INVALID, "%s is too large for the HTML parser (over 2 GiB)", path);
        }
        if (text.len == 0) {
            rg_buf_free(&text);
            sax_free(&s);
            doc->text = rg_xstrdup("");
            doc->len = 0;
            doc->format = "html";
            return RG_OK;
        }
        /* The bytes are UTF-8 now whatever the page declares. */
        rg_buf capped;
        rg_buf_init(&capped);
        if (cap_attributes(text.data, text.len, &capped)) {
            rg_buf_free(&text); /* only the capped copy is parsed */
            parsed = sax_parse(&s, capped.data, capped.len, "UTF-8", opts | HTML_PARSE_IGNORE_ENC);
        } else {
            parsed = sax_parse(&s, text.data, text.len, "UTF-8", opts | HTML_PARSE_IGNORE_ENC);
        }
        rg_buf_free(&capped);
    }
    rg_buf_free(&text);
    if (!parsed) {
        sax_free(&s);
        return rg_error_set(err, RG_ERR_INVALID, "%s could not be parsed as HTML", path);
    }

    /* The one main landmark, else the one article, else the whole page
     * (see html_sax). */
    html_view *use = &s.view[VIEW_ROOT];
    if (s.view[VIEW_MAIN].count == 1 && !s.view[VIEW_MAIN].hidden)
        use = &s.view[VIEW_MAIN];
    else if (s.view[VIEW_ARTICLE].count == 1 && !s.view[VIEW_ARTICLE].hidden)
        use = &s.view[VIEW_ARTICLE];
    char *title = capture_text(&s.cap[CAP_HEAD_TITLE]);
    if (!title)
        title = capture_text(&s.cap[CAP_TITLE]);
    if (!title)
        title = capture_text(&s.cap[CAP_H1]);

    /* One more pass settles trailing spaces and blank-line runs exactly as
     * for the other formats. */
    rg_buf final;
    rg_buf_init(&final);
    rg_text_append_paragraphs(&final, use->o.buf.data ? use->o.buf.data : "", use->o.buf.len);
    sax_free(&s);
    doc->len = final.len;
    doc->text = rg_buf_steal(&final);
    utf8_repair(&doc->text, &doc->len);
    if (title) {
        size_t tl = strlen(title);
        utf8_repair(&title, &tl);
    }
    doc->title = title;
    doc->format = "html";
    return RG_OK;
}

const rg_reader_ops rg_reader_html = {
    .name = "html",
    .extensions = html_extensions,
    .sniff = html_sniff,
    .read = html_read,
};
