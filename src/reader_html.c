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

static bool name_is(const xmlNode *n, const char *name)
{
    /* The first letter rules out most names without a call (this runs for
     * every element against every list). */
    return n->name && (n->name[0] | 0x20) == name[0] && strcasecmp((const char *)n->name, name) == 0;
}

static bool name_in(const xmlNode *n, const char *const *names)
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

static bool skip_element(const xmlNode *n)
{
    if (name_in(n, skipped))
        return true;
    if (xmlHasProp((xmlNode *)n, (const xmlChar *)"hidden"))
        return true;
    bool skip = false;
    xmlChar *v = xmlGetProp((xmlNode *)n, (const xmlChar *)"aria-hidden");
    if (v && strcasecmp((const char *)v, "true") == 0)
        skip = true;
    xmlFree(v);
    v = xmlGetProp((xmlNode *)n, (const xmlChar *)"role");
    if (v && strcasecmp((const char *)v, "navigation") == 0)
        skip = true;
    xmlFree(v);
    return skip;
}

static void enter(html_out *o, const xmlNode *n)
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

static void leave(html_out *o, const xmlNode *n)
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

/* Iterative walk: broken pages can nest deeply and the C stack should not
 * depend on the input. */
static void walk(html_out *o, xmlNode *root)
{
    xmlNode *n = root;
    while (n) {
        if (n->type == XML_ELEMENT_NODE && !skip_element(n)) {
            enter(o, n);
            if (n->children) {
                n = n->children;
                continue;
            }
            leave(o, n);
        } else if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content) {
            emit_text(o, (const char *)n->content);
        }
        while (n != root && !n->next) {
            n = n->parent;
            leave(o, n);
        }
        if (n == root)
            break;
        n = n->next;
    }
}

/* First element called name below root (document order), or NULL. */
static xmlNode *find_element(xmlNode *root, const char *name)
{
    xmlNode *n = root;
    while (n) {
        if (n->type == XML_ELEMENT_NODE && name_is(n, name))
            return n;
        if (n->children && n->type == XML_ELEMENT_NODE) {
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

static bool has_role(xmlNode *n, const char *role)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)"role");
    bool yes = v && strcasecmp((const char *)v, role) == 0;
    xmlFree(v);
    return yes;
}

/* Counts elements called name (or with role=name) below root, up to 2, and
 * returns the first. */
static xmlNode *find_landmark(xmlNode *root, const char *name, int *count)
{
    xmlNode *first = NULL, *n = root;
    *count = 0;
    while (n) {
        if (n->type == XML_ELEMENT_NODE && (name_is(n, name) || has_role(n, name))) {
            if (!first)
                first = n;
            if (++*count == 2)
                return first;
        }
        if (n->children && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            continue;
        }
        while (n != root && !n->next)
            n = n->parent;
        if (n == root)
            break;
        n = n->next;
    }
    return first;
}

/* Site chrome (banners, menus not marked <nav>, sidebars, footers) repeats on
 * every page of a site and drowns the page's own words in retrieval.  When
 * the page marks its content, with one <main> (or role="main") or one
 * <article>, only that is read. */
static xmlNode *main_content(xmlNode *root)
{
    int count;
    xmlNode *m = find_landmark(root, "main", &count);
    if (m && count == 1 && !skip_element(m))
        return m;
    m = find_landmark(root, "article", &count);
    if (m && count == 1 && !skip_element(m))
        return m;
    return root;
}

static char *element_text(xmlNode *n)
{
    if (!n)
        return NULL;
    xmlChar *c = xmlNodeGetContent(n);
    if (!c)
        return NULL;
    char *s = rg_xstrdup((const char *)c);
    xmlFree(c);
    size_t len = rg_text_squeeze_spaces(s, strlen(s));
    if (!len) {
        free(s);
        return NULL;
    }
    return s;
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
    htmlDocPtr hd = NULL;
    char charset[64];
    bool utf8 = rg_utf8_valid(data, len);
    if (!utf8 && declared_charset(data, len, charset, sizeof charset) && strcasecmp(charset, "iso-8859-1") != 0 &&
        strcasecmp(charset, "windows-1252") != 0 && strcasecmp(charset, "latin1") != 0 && !memchr(data, 0, len)) {
        /* A page in Shift_JIS or KOI8-R says so; libxml2 converts it
         * (through iconv) better than any guess of ours. */
        rg_buf capped;
        rg_buf_init(&capped);
        if (cap_attributes(data, len, &capped))
            hd = htmlReadMemory(capped.data, (int)RG_MIN(capped.len, (size_t)INT32_MAX), NULL, charset, opts);
        else
            hd = htmlReadMemory(data, (int)RG_MIN(len, (size_t)INT32_MAX), NULL, charset, opts);
        rg_buf_free(&capped);
    }
    if (!hd) {
        rg_status st = rg_text_decode(path, data, len, &text, err);
        if (st != RG_OK) {
            rg_buf_free(&text);
            return st;
        }
        if (text.len > (size_t)INT32_MAX) {
            rg_buf_free(&text);
            return rg_error_set(err, RG_ERR_INVALID, "%s is too large for the HTML parser (over 2 GiB)", path);
        }
        if (text.len == 0) {
            rg_buf_free(&text);
            doc->text = rg_xstrdup("");
            doc->len = 0;
            doc->format = "html";
            return RG_OK;
        }
        /* The bytes are UTF-8 now whatever the page declares. */
        rg_buf capped;
        rg_buf_init(&capped);
        if (cap_attributes(text.data, text.len, &capped))
            hd = htmlReadMemory(capped.data, (int)capped.len, NULL, "UTF-8", opts | HTML_PARSE_IGNORE_ENC);
        else
            hd = htmlReadMemory(text.data, (int)text.len, NULL, "UTF-8", opts | HTML_PARSE_IGNORE_ENC);
        rg_buf_free(&capped);
    }
    rg_buf_free(&text);
    if (!hd)
        return rg_error_set(err, RG_ERR_INVALID, "%s could not be parsed as HTML", path);

    xmlNode *root = xmlDocGetRootElement(hd);
    html_out o = {0};
    rg_buf_init(&o.buf);
    if (root)
        walk(&o, main_content(root));
    char *title = NULL;
    if (root) {
        xmlNode *head = find_element(root, "head");
        title = element_text(head ? find_element(head, "title") : NULL);
        if (!title)
            title = element_text(find_element(root, "title"));
        if (!title)
            title = element_text(find_element(root, "h1"));
    }
    xmlFreeDoc(hd);

    /* One more pass settles trailing spaces and blank-line runs exactly as
     * for the other formats. */
    rg_buf final;
    rg_buf_init(&final);
    rg_text_append_paragraphs(&final, o.buf.data ? o.buf.data : "", o.buf.len);
    rg_buf_free(&o.buf);
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
