/* Markdown: a line-based reduction to readable text, not a renderer.  What
 * retrieval needs is the words in order with headings on their own lines, so
 * markup is dropped (emphasis, link targets, fences, table rules) and
 * front matter is consumed for its title.  CommonMark corner cases that
 * would only change formatting are deliberately ignored. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>

#include "reader.h"
#include "reader_priv.h"

static const char *const md_extensions[] = {"md", "markdown", "mdown", "mkd", "mkdn", "mdwn", "mdx", NULL};

typedef struct md_line {
    const char *s;
    size_t n;
} md_line;

typedef struct md_state {
    rg_buf out;   /* the document text */
    rg_buf para;  /* the paragraph being built, markup already removed */
    rg_buf raw;   /* prose lines not yet converted: code spans and links may
                     continue on the next line, so inline markup is removed
                     per run of lines, not per line */
    bool raw_own_line;  /* the run starts a new line in para (list item) */
    char *title;
} md_state;

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

static size_t indent_of(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

static void rtrim(const char *s, size_t *n)
{
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
}

/* ---- inline markup ---- */

static bool word_char(int c)
{
    return c >= 0x80 || isalnum(c);
}

/* Decodes "&name;", "&#123;" or "&#x7b;" at s; returns bytes consumed or 0. */
static size_t md_entity(const char *s, size_t n, rg_buf *out)
{
    size_t i = 1;
    char name[40];
    size_t k = 0;
    while (i < n && k + 1 < sizeof name && s[i] != ';' && (isalnum((unsigned char)s[i]) || s[i] == '#'))
        name[k++] = s[i++];
    name[k] = '\0';
    if (i >= n || s[i] != ';' || k == 0)
        return 0;
    unsigned long cp = 0;
    if (name[0] == '#') {
        char *end;
        cp = (name[1] == 'x' || name[1] == 'X') ? strtoul(name + 2, &end, 16) : strtoul(name + 1, &end, 10);
        if (*end || end == name + 1 || cp == 0)
            return 0;
    } else {
        const htmlEntityDesc *e = htmlEntityLookup((const xmlChar *)name);
        if (!e)
            return 0;
        cp = e->value;
    }
    rg_utf8_put(out, cp);
    return i + 1;
}

/* Inline markup is removed by a recursive descent into link texts, and
 * looking for a closing bracket or backtick run scans ahead.  Both are
 * bounded so a hostile file cannot exhaust the stack or take quadratic time
 * (60,000 nested links were a stack overflow and 400 KB of them two
 * minutes): link texts nested deeper than MD_MAX_DEPTH and everything after
 * the scan budget is spent are kept as literal text.  The budget is a fixed
 * multiple of the run's length, so the work stays linear in the input. */
#define MD_MAX_DEPTH 16
#define MD_SCAN_FACTOR 32
#define MD_SCAN_MIN 65536

typedef struct md_inline_ctx {
    size_t budget; /* bytes the scans ahead may still look at */
    int depth;     /* link texts we are inside */
} md_inline_ctx;

/* Charges k bytes of scanning; false once the budget is spent. */
static bool md_charge(md_inline_ctx *cx, size_t k)
{
    if (cx->budget < k) {
        cx->budget = 0;
        return false;
    }
    cx->budget -= k;
    return true;
}

/* Index just after the bracket closing the one at s[open], or 0.  A scan
 * that would exceed the budget finds nothing. */
static size_t match_close(md_inline_ctx *cx, const char *s, size_t n, size_t open, char o, char c)
{
    int depth = 0;
    size_t i = open;
    for (; i < n; i++) {
        if (s[i] == '\\') {
            i++;
            continue;
        }
        if (s[i] == o)
            depth++;
        else if (s[i] == c && --depth == 0)
            break;
    }
    if (!md_charge(cx, i - open + 1) || i >= n)
        return 0;
    return i + 1;
}

static void md_inline(md_inline_ctx *cx, const char *s, size_t n, rg_buf *out);

/* [text](target), [text][ref], ![alt](src): keeps the text.  Returns bytes
 * consumed from s (which starts at '['), or 0 if it is not a link. */
static size_t md_link(md_inline_ctx *cx, const char *s, size_t n, rg_buf *out)
{
    if (cx->depth >= MD_MAX_DEPTH || !cx->budget)
        return 0;
    size_t close = match_close(cx, s, n, 0, '[', ']');
    if (!close)
        return 0;
    size_t after = close;
    if (after < n && s[after] == '(') {
        size_t end = match_close(cx, s, n, after, '(', ')');
        if (!end)
            return 0;
        after = end;
    } else if (after < n && s[after] == '[') {
        size_t end = match_close(cx, s, n, after, '[', ']');
        if (!end)
            return 0;
        after = end;
    } else {
        return 0; /* "[x]" in prose or a task box: leave it alone */
    }
    cx->depth++;
    md_inline(cx, s + 1, close - 2, out);
    cx->depth--;
    return after;
}

static void md_inline(md_inline_ctx *cx, const char *s, size_t n, rg_buf *out)
{
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c == '\\' && i + 1 < n && ispunct((unsigned char)s[i + 1])) {
            rg_buf_putc(out, s[i + 1]);
            i += 2;
        } else if (c == '`') {
            size_t k = 0;
            while (i + k < n && s[i + k] == '`')
                k++;
            /* Find a closing run of exactly k backticks. */
            size_t j = i + k, end = 0;
            while (j < n && cx->budget) {
                if (s[j] == '`') {
                    size_t m = 0;
                    while (j + m < n && s[j + m] == '`')
                        m++;
                    if (m == k) {
                        end = j;
                        break;
                    }
                    j += m;
                } else {
                    j++;
                }
            }
            md_charge(cx, j - i);
            if (!end) {
                rg_buf_append(out, s + i, k);
                i += k;
                continue;
            }
            size_t a = i + k, b = end;
            if (b - a >= 2 && s[a] == ' ' && s[b - 1] == ' ')
                a++, b--;
            rg_buf_append(out, s + a, b - a);
            i = end + k;
        } else if (c == '!' && i + 1 < n && s[i + 1] == '[') {
            size_t used = md_link(cx, s + i + 1, n - i - 1, out);
            if (used)
                i += 1 + used;
            else
                rg_buf_putc(out, c), i++;
        } else if (c == '[') {
            size_t used = md_link(cx, s + i, n - i, out);
            if (used)
                i += used;
            else
                rg_buf_putc(out, c), i++;
        } else if (c == '<') {
            if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
                const char *end = memmem(s + i + 4, n - i - 4, "-->", 3);
                i = end ? (size_t)(end - s) + 3 : n;
                continue;
            }
            size_t j = i + 1;
            while (j < n && s[j] != '>' && s[j] != '<' && s[j] != ' ')
                j++;
            bool autolink = j < n && s[j] == '>' && (memchr(s + i, ':', j - i) || memchr(s + i, '@', j - i));
            if (autolink) {
                rg_buf_append(out, s + i + 1, j - i - 1);
                i = j + 1;
                continue;
            }
            /* An inline HTML tag: <b>, </span>, <img src=...>. */
            bool tag = i + 1 < n && (isalpha((unsigned char)s[i + 1]) || s[i + 1] == '/');
            const char *gt = tag && cx->budget ? memchr(s + i, '>', n - i) : NULL;
            if (tag)
                md_charge(cx, gt ? (size_t)(gt - s) - i : n - i);
            if (gt) {
                i = (size_t)(gt - s) + 1;
                continue;
            }
            rg_buf_putc(out, c);
            i++;
        } else if (c == '&') {
            size_t used = md_entity(s + i, n - i, out);
            if (used)
                i += used;
            else
                rg_buf_putc(out, c), i++;
        } else if (c == '*' || c == '_' || c == '~') {
            size_t k = 0;
            while (i + k < n && s[i + k] == c)
                k++;
            int prev = i > 0 ? (unsigned char)s[i - 1] : ' ';
            int next = i + k < n ? (unsigned char)s[i + k] : ' ';
            bool prev_space = isspace(prev) || i == 0, next_space = isspace(next) || i + k == n;
            /* Delimiters touch text on exactly one side; snake_case, 2*3 and
             * " * " are literal. */
            bool literal = (prev_space && next_space) || (word_char(prev) && word_char(next)) ||
                           (c == '~' && k < 2);
            if (literal)
                rg_buf_append(out, s + i, k);
            i += k;
        } else {
            rg_buf_putc(out, c);
            i++;
        }
    }
}

/* Removes inline markup from one run of text with a fresh budget. */
static void md_inline_run(const char *s, size_t n, rg_buf *out)
{
    md_inline_ctx cx = {.budget = MD_SCAN_FACTOR * n + MD_SCAN_MIN, .depth = 0};
    md_inline(&cx, s, n, out);
}

/* ---- blocks ---- */

static void flush_raw(md_state *st)
{
    if (!st->raw.len)
        return;
    if (st->para.len)
        rg_buf_putc(&st->para, st->raw_own_line ? '\n' : ' ');
    md_inline_run(st->raw.data, st->raw.len, &st->para);
    st->raw.len = 0;
    st->raw.data[0] = '\0';
}

static void flush_para(md_state *st)
{
    flush_raw(st);
    if (st->para.len)
        rg_text_append_paragraphs(&st->out, st->para.data, st->para.len);
    st->para.len = 0;
    if (st->para.data)
        st->para.data[0] = '\0';
}

static void add_heading(md_state *st, const char *s, size_t n)
{
    flush_para(st);
    rg_buf h;
    rg_buf_init(&h);
    md_inline_run(s, n, &h);
    if (h.len) {
        h.len = rg_text_squeeze_spaces(h.data, h.len);
        if (h.len && !st->title)
            st->title = rg_xstrndup(h.data, h.len);
        rg_text_append_paragraphs(&st->out, h.data, h.len);
    }
    rg_buf_free(&h);
}

/* A prose line joins the run before it with a space; a list item starts a
 * new line in the paragraph. */
static void add_line(md_state *st, const char *prefix, const char *s, size_t n, bool own_line)
{
    if (own_line)
        flush_raw(st);
    if (st->raw.len) {
        rg_buf_putc(&st->raw, ' ');
    } else {
        st->raw_own_line = own_line;
    }
    if (prefix)
        rg_buf_puts(&st->raw, prefix);
    rg_buf_append(&st->raw, s, n);
}

/* "===" or "---" under a line makes it a heading (setext). */
static bool is_setext_underline(const char *s, size_t n)
{
    size_t i = indent_of(s, n);
    if (i > 3 || i >= n || (s[i] != '=' && s[i] != '-'))
        return false;
    char c = s[i];
    while (i < n && s[i] == c)
        i++;
    return is_blank(s + i, n - i);
}

/* "***", "- - -", "___": a thematic break. */
static bool is_rule(const char *s, size_t n)
{
    size_t i = indent_of(s, n);
    if (i > 3 || i >= n || (s[i] != '-' && s[i] != '*' && s[i] != '_'))
        return false;
    char c = s[i];
    size_t count = 0;
    for (; i < n; i++) {
        if (s[i] == c)
            count++;
        else if (s[i] != ' ' && s[i] != '\t')
            return false;
    }
    return count >= 3;
}

/* Opening fence: up to 3 spaces, then ``` or ~~~ (at least 3). */
static size_t fence_len(const char *s, size_t n, char *fc)
{
    size_t i = indent_of(s, n);
    if (i > 3 || i >= n || (s[i] != '`' && s[i] != '~'))
        return 0;
    char c = s[i];
    size_t k = 0;
    while (i + k < n && s[i + k] == c)
        k++;
    if (k < 3)
        return 0;
    *fc = c;
    return k;
}

static bool is_table_delimiter(const char *s, size_t n)
{
    bool dash = false, pipe = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-')
            dash = true;
        else if (s[i] == '|')
            pipe = true;
        else if (s[i] != ':' && s[i] != ' ' && s[i] != '\t')
            return false;
    }
    return dash && pipe;
}

static void add_table_row(md_state *st, const char *s, size_t n)
{
    rg_buf row;
    rg_buf_init(&row);
    size_t i = indent_of(s, n);
    if (i < n && s[i] == '|')
        i++;
    rtrim(s, &n);
    if (n > i && s[n - 1] == '|' && (n < 2 || s[n - 2] != '\\'))
        n--;
    while (i <= n) {
        size_t j = i;
        while (j < n && !(s[j] == '|' && (j == 0 || s[j - 1] != '\\')))
            j++;
        rg_buf cell;
        rg_buf_init(&cell);
        md_inline_run(s + i, j - i, &cell);
        size_t cl = cell.len ? rg_text_squeeze_spaces(cell.data, cell.len) : 0;
        if (cl) {
            if (row.len)
                rg_buf_puts(&row, " | ");
            rg_buf_append(&row, cell.data, cl);
        }
        rg_buf_free(&cell);
        i = j + 1;
    }
    flush_raw(st);
    if (row.len) {
        if (st->para.len)
            rg_buf_putc(&st->para, '\n');
        rg_buf_append(&st->para, row.data, row.len);
    }
    rg_buf_free(&row);
}

/* List marker length ("- ", "12. ") or 0; *ordered tells which kind. */
static size_t list_marker(const char *s, size_t n, bool *ordered)
{
    size_t i = indent_of(s, n);
    if (i < n && (s[i] == '-' || s[i] == '*' || s[i] == '+') && i + 1 < n && (s[i + 1] == ' ' || s[i + 1] == '\t')) {
        *ordered = false;
        return i + 2;
    }
    size_t d = i;
    while (d < n && d - i < 9 && isdigit((unsigned char)s[d]))
        d++;
    if (d > i && d + 1 < n && (s[d] == '.' || s[d] == ')') && (s[d + 1] == ' ' || s[d + 1] == '\t')) {
        *ordered = true;
        return d + 2;
    }
    return 0;
}

/* Parses YAML ("---") or TOML ("+++") front matter; returns the number of
 * lines it spans (0 if there is none) and sets *title from its title key. */
static size_t front_matter(const md_line *lines, size_t nlines, char **title)
{
    if (nlines < 2)
        return 0;
    size_t n0 = lines[0].n;
    rtrim(lines[0].s, &n0);
    bool yaml = n0 == 3 && memcmp(lines[0].s, "---", 3) == 0;
    bool toml = n0 == 3 && memcmp(lines[0].s, "+++", 3) == 0;
    if (!yaml && !toml)
        return 0;
    size_t end = 0;
    for (size_t i = 1; i < nlines; i++) {
        size_t n = lines[i].n;
        rtrim(lines[i].s, &n);
        if (n == 3 && (memcmp(lines[i].s, toml ? "+++" : "---", 3) == 0 || (yaml && memcmp(lines[i].s, "...", 3) == 0))) {
            end = i;
            break;
        }
    }
    if (!end)
        return 0;
    for (size_t i = 1; i < end; i++) {
        const char *s = lines[i].s;
        size_t n = lines[i].n;
        if (n < 6 || strncasecmp(s, "title", 5) != 0)
            continue;
        size_t j = 5;
        while (j < n && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if (j >= n || s[j] != (yaml ? ':' : '='))
            continue;
        j++;
        while (j < n && (s[j] == ' ' || s[j] == '\t'))
            j++;
        size_t e = n;
        rtrim(s, &e);
        if (e > j + 1 && (s[j] == '"' || s[j] == '\'') && s[e - 1] == s[j])
            j++, e--;
        if (e > j && !*title)
            *title = rg_xstrndup(s + j, e - j);
    }
    return end + 1;
}

static rg_status md_read(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    rg_buf text;
    rg_buf_init(&text);
    rg_status rc = rg_text_decode(path, data, len, &text, err);
    if (rc != RG_OK) {
        rg_buf_free(&text);
        return rc;
    }
    /* Split into lines once; setext headings and front matter look ahead. */
    size_t nlines = 1;
    for (size_t i = 0; i < text.len; i++)
        nlines += text.data[i] == '\n';
    md_line *lines = rg_xmalloc(nlines * sizeof *lines);
    nlines = 0;
    for (size_t a = 0;;) {
        const char *nl = memchr(text.data + a, '\n', text.len - a);
        size_t b = nl ? (size_t)(nl - text.data) : text.len;
        lines[nlines++] = (md_line){text.data + a, b - a};
        if (!nl)
            break;
        a = b + 1;
    }

    md_state st = {0};
    rg_buf_init(&st.out);
    rg_buf_init(&st.para);
    rg_buf_init(&st.raw);
    char *fm_title = NULL;
    size_t first = front_matter(lines, nlines, &fm_title);
    char fence_char = 0;
    size_t fence = 0;
    bool in_comment = false, in_table = false, in_code = false, list_ctx = false;

    for (size_t li = first; li < nlines; li++) {
        const char *s = lines[li].s;
        size_t n = lines[li].n;
        rtrim(s, &n);
        if (fence) {
            char fc;
            size_t k = fence_len(s, n, &fc);
            if (k >= fence && fc == fence_char && is_blank(s + indent_of(s, n) + k, n - indent_of(s, n) - k)) {
                fence = 0;
                flush_para(&st);
            } else {
                /* Code keeps its lines; it often answers "how do I" questions. */
                if (st.para.len)
                    rg_buf_putc(&st.para, '\n');
                rg_buf_append(&st.para, s, n);
            }
            continue;
        }
        if (in_comment) {
            if (memmem(s, n, "-->", 3))
                in_comment = false;
            continue;
        }
        size_t ind = indent_of(s, n);
        if (n - ind >= 4 && memcmp(s + ind, "<!--", 4) == 0 && !memmem(s + ind, n - ind, "-->", 3)) {
            flush_para(&st);
            in_comment = true;
            continue;
        }
        /* Block quotes read as their content. */
        while (ind < n && ind <= 3 && s[ind] == '>') {
            s += ind + 1;
            n -= ind + 1;
            if (n && s[0] == ' ')
                s++, n--;
            ind = indent_of(s, n);
        }
        if (is_blank(s, n)) {
            flush_para(&st);
            in_table = false;
            continue;
        }
        /* Indented code (4 columns, not under a list item) keeps its lines. */
        size_t col = 0, strip = 0;
        while (strip < n && col < 4 && (s[strip] == ' ' || s[strip] == '\t'))
            col = s[strip++] == '\t' ? (col / 4 + 1) * 4 : col + 1;
        if (col >= 4 && (in_code || (!list_ctx && !st.para.len && !st.raw.len))) {
            in_code = true;
            flush_raw(&st);
            if (st.para.len)
                rg_buf_putc(&st.para, '\n');
            rg_buf_append(&st.para, s + strip, n - strip);
            continue;
        }
        in_code = false;
        if (ind == 0 && !st.para.len && !st.raw.len)
            list_ctx = false;
        size_t k = fence_len(s, n, &fence_char);
        if (k) {
            flush_para(&st);
            fence = k;
            continue;
        }
        if (ind <= 3 && s[ind] == '#') {
            size_t h = ind;
            while (h < n && s[h] == '#')
                h++;
            if (h - ind <= 6 && (h == n || s[h] == ' ' || s[h] == '\t')) {
                size_t e = n;
                /* Optional closing #s, only when separated by a space. */
                size_t t = e;
                while (t > h && s[t - 1] == '#')
                    t--;
                if (t == h || s[t - 1] == ' ' || s[t - 1] == '\t')
                    e = t;
                add_heading(&st, s + h, e - h);
                continue;
            }
        }
        if (!st.para.len && !st.raw.len && li + 1 < nlines && is_setext_underline(lines[li + 1].s, lines[li + 1].n) &&
            !is_rule(s, n) && !list_marker(s, n, &(bool){false})) {
            add_heading(&st, s + ind, n - ind);
            li++;
            continue;
        }
        if (is_rule(s, n)) {
            flush_para(&st);
            continue;
        }
        /* Link reference definitions carry no text. */
        if (s[ind] == '[') {
            md_inline_ctx cx = {.budget = n + 1, .depth = 0};
            size_t close = match_close(&cx, s, n, ind, '[', ']');
            if (close && close < n && s[close] == ':')
                continue;
        }
        if ((in_table && memchr(s, '|', n)) || s[ind] == '|' ||
            (memchr(s, '|', n) && li + 1 < nlines && is_table_delimiter(lines[li + 1].s, lines[li + 1].n))) {
            in_table = true;
            if (!is_table_delimiter(s, n))
                add_table_row(&st, s, n);
            continue;
        }
        if (is_table_delimiter(s, n))
            continue;
        bool ordered = false;
        size_t m = list_marker(s, n, &ordered);
        if (m) {
            list_ctx = true;
            if (ordered) {
                char num[16];
                size_t d = ind;
                while (d < n && d - ind < 10 && s[d] != '.' && s[d] != ')')
                    d++;
                snprintf(num, sizeof num, "%.*s. ", (int)(d - ind), s + ind);
                add_line(&st, num, s + m, n - m, true);
            } else {
                add_line(&st, "- ", s + m, n - m, true);
            }
            continue;
        }
        add_line(&st, NULL, s + ind, n - ind, false);
    }
    flush_para(&st);
    free(lines);
    rg_buf_free(&text);
    rg_buf_free(&st.para);
    rg_buf_free(&st.raw);

    doc->title = fm_title ? fm_title : st.title;
    if (fm_title)
        free(st.title);
    doc->len = st.out.len;
    doc->text = rg_buf_steal(&st.out);
    doc->format = "markdown";
    return RG_OK;
}

const rg_reader_ops rg_reader_markdown = {
    .name = "markdown",
    .extensions = md_extensions,
    .sniff = NULL,
    .read = md_read,
};
