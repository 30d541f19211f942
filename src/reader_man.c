/* Man pages (roff with the man(7) or mdoc(7) macros) to text, without
 * running groff or man: what retrieval needs is the words in order with
 * section headings as paragraphs, so this is a reduction, not a
 * typesetter.  Font, size and motion escapes are dropped, special
 * characters (\(em, \[aq], \*(lq) become UTF-8, the font-alternating
 * macros (.BR, .IR) join their arguments, tables (.TS) keep their rows,
 * macro definitions (.de ... ..) and conditionals are skipped.  Nothing is
 * expanded or included (.so is noted, not followed), so the work is one
 * pass over the lines, whatever the input.
 *
 * Title: the NAME section's line ("ls - list directory contents"), else
 * .TH's (or mdoc's .Dt) name and section, "LS(1)". */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reader.h"
#include "reader_priv.h"

static const char *const man_extensions[] = {"man", NULL};

/* "1".."9", optionally followed by a suffix: "3pm", "1ssl", "8posix". */
static bool man_extension(const char *ext)
{
    if (ext[0] < '1' || ext[0] > '9')
        return false;
    size_t n = strlen(ext);
    if (n > 12)
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)ext[i]))
            return false;
    return true;
}

/* Roff source: comment lines and requests, among them one that starts
 * man or mdoc pages (or .so, an alias page), before text lines.  ".1"
 * files that are rotated logs or shared libraries fail this and are left
 * alone.  A head of nothing but comments and requests (a long licence
 * header) counts as roff. */
static bool man_sniff(const unsigned char *head, size_t n)
{
    if (memchr(head, 0, n))
        return false;
    size_t roff = 0, text = 0;
    bool definition = false;
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && head[e] != '\n')
            e++;
        const char *l = (const char *)head + i;
        size_t ln = e - i;
        i = e + 1;
        while (ln && (l[0] == ' ' || l[0] == '\t' || l[0] == '\r'))
            l++, ln--;
        if (ln == 0)
            continue;
        if (definition) { /* a macro body (.de NAME ... ..) is not text */
            size_t k = 1;
            while (k < ln && (l[k] == ' ' || l[k] == '\t'))
                k++;
            definition = !(l[0] == '.' && k < ln && l[k] == '.');
            continue;
        }
        if (l[0] == '\\') { /* \" comment, or an escape-only line */
            roff++;
            continue;
        }
        if (l[0] != '.' && l[0] != '\'') {
            /* A text line before the page starts: one is tolerated (a
             * string definition continued on the next line), a log is
             * all text. */
            if (++text > roff)
                return false;
            continue;
        }
        roff++;
        static const char *const starts[] = {"TH", "Dd", "Dt", "SH", "so", "Sh"};
        size_t k = 1;
        while (k < ln && (l[k] == ' ' || l[k] == '\t'))
            k++;
        for (size_t s = 0; s < RG_ARRAY_LEN(starts); s++)
            if (ln - k >= 2 && memcmp(l + k, starts[s], 2) == 0 &&
                (ln - k == 2 || l[k + 2] == ' ' || l[k + 2] == '\t' || l[k + 2] == '\r'))
                return true;
        definition = ln - k >= 2 && (memcmp(l + k, "de", 2) == 0 || memcmp(l + k, "ig", 2) == 0 ||
                                     memcmp(l + k, "am", 2) == 0);
    }
    return roff > 0;
}

/* A page's own strings (.ds NAME VALUE), expanded by \*(NAME one level
 * deep: a definition's own \* references are dropped, so expansion is at
 * most MAN_DEF_MAX bytes per reference and cannot recurse. */
#define MAN_DEFS 128
#define MAN_DEF_MAX 256

typedef struct man_def {
    char name[16];
    char *value;
} man_def;

typedef struct man_state {
    man_def defs[MAN_DEFS];
    size_t ndefs;
    char *mdoc_name; /* the first .Nm argument, repeated by a bare .Nm */
    rg_buf out;      /* the document */
    rg_buf para;     /* the paragraph being built */
    bool nofill;     /* .nf / .EX: lines are kept */
    bool join;       /* \c at the end of the last line: no space before the next */
    char *th_title;  /* "LS(1)" */
    char *name_line; /* the first paragraph of the NAME section */
    bool in_name;    /* inside the NAME section */
    bool mdoc_flag;  /* mdoc .Fl pending: prefix "-" */
} man_state;

/* ---- escapes ---- */

typedef struct named_char {
    const char *name;
    unsigned long cp;
} named_char;

/* The special characters man pages use (groff_char(7)); others are
 * dropped. */
static const named_char special_chars[] = {
    {"em", 0x2014}, {"en", 0x2013}, {"hy", '-'},    {"mi", '-'},    {"aq", '\''},   {"dq", '"'},
    {"lq", 0x201c}, {"rq", 0x201d}, {"oq", 0x2018}, {"cq", 0x2019}, {"bu", 0x2022}, {"co", 0xa9},
    {"rg", 0xae},   {"tm", 0x2122}, {"de", 0xb0},   {"ga", '`'},    {"aa", 0xb4},   {"ti", '~'},
    {"ha", '^'},    {"rs", '\\'},   {"sl", '/'},    {"ba", '|'},    {"br", '|'},    {"lB", '['},
    {"rB", ']'},    {"lC", '{'},    {"rC", '}'},    {"la", 0x27e8}, {"ra", 0x27e9}, {"<-", 0x2190},
    {"->", 0x2192}, {"<=", 0x2264}, {">=", 0x2265}, {"!=", 0x2260}, {"==", 0x2261}, {"mu", 0xd7},
    {"di", 0xf7},   {"+-", 0xb1},   {"sc", 0xa7},   {"ps", 0xb6},   {"Fo", 0xab},   {"Fc", 0xbb},
    {"fo", 0x2039}, {"fc", 0x203a}, {"at", '@'},    {"sh", '#'},    {"Do", '$'},    {"eu", 0x20ac},
    {"Eu", 0x20ac}, {"ct", 0xa2},   {"Po", 0xa3},   {"Ye", 0xa5},   {"ss", 0xdf},   {"'e", 0xe9},
    {"'E", 0xc9},   {"`e", 0xe8},   {":u", 0xfc},   {":o", 0xf6},   {":a", 0xe4},   {":U", 0xdc},
    {":O", 0xd6},   {":A", 0xc4},   {",c", 0xe7},   {"~n", 0xf1},   {"'a", 0xe1},   {"'o", 0xf3},
    {"'i", 0xed},   {"'u", 0xfa},   {"pl", '+'},    {"eq", '='},    {"ul", '_'},    {"rn", 0x203e},
};

/* Predefined strings (\*(lq, \*R, mdoc's \*[Lq]); unknown ones are
 * page-defined (.ds) and dropped, since definitions are not expanded. */
static const named_char strings[] = {
    {"lq", 0x201c}, {"rq", 0x201d}, {"Lq", 0x201c}, {"Rq", 0x201d}, {"R", 0xae},   {"Tm", 0x2122},
    {"aq", '\''},   {"Aq", '\''},   {"dq", '"'},    {"Dq", '"'},    {"Ba", '|'},   {"Pi", 0x3c0},
    {"Ne", 0x2260}, {"Le", 0x2264}, {"Ge", 0x2265}, {"Lt", '<'},    {"Gt", '>'},   {"Am", '&'},
    {"Em", 0x2014}, {"En", 0x2013}, {"Ua", 0x2191}, {"Ba", '|'},    {"Na", 0},
};

static bool lookup(const named_char *t, size_t n, const char *s, size_t len, unsigned long *cp)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(t[i].name) == len && memcmp(t[i].name, s, len) == 0) {
            *cp = t[i].cp;
            return true;
        }
    return false;
}

/* An escape's name after the escape letter: "x", "(xx" or "[name]".
 * Returns the bytes consumed; *name and *len point at the name. */
static size_t escape_name(const char *s, size_t n, const char **name, size_t *len)
{
    if (n == 0) {
        *name = s, *len = 0;
        return 0;
    }
    if (s[0] == '(') {
        size_t l = RG_MIN(n - 1, (size_t)2);
        *name = s + 1, *len = l;
        return 1 + l;
    }
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        size_t end = close ? (size_t)(close - s) : n;
        *name = s + 1, *len = end > 0 ? end - 1 : 0;
        return close ? end + 1 : n;
    }
    *name = s, *len = 1;
    return 1;
}

/* Skips a delimited argument ('...' or any delimiter) after an escape such
 * as \w or \h; returns the bytes consumed. */
static size_t skip_delimited(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    const char *close = n > 1 ? memchr(s + 1, s[0], n - 1) : NULL;
    return close ? (size_t)(close - s) + 1 : n;
}


static const char *user_string(const man_state *st, const char *name, size_t len)
{
    for (size_t i = 0; st && i < st->ndefs; i++)
        if (strlen(st->defs[i].name) == len && memcmp(st->defs[i].name, name, len) == 0)
            return st->defs[i].value;
    return NULL;
}

/* Appends the text of s (escapes resolved) to out; st (may be NULL) holds
 * the page's strings, depth is 1 inside one.  Returns false when the line
 * ends in \c (continue without a space). */
static bool unescape_in(const man_state *st, int depth, const char *s, size_t n, rg_buf *out)
{
    bool cont = false;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c != '\\') {
            /* Tabs separate words; other control bytes would break the
             * paragraph structure. */
            if (c == '\t')
                rg_buf_putc(out, ' ');
            else if ((unsigned char)c >= 0x20)
                rg_buf_putc(out, c);
            i++;
            continue;
        }
        if (i + 1 >= n) {
            i++;
            break;
        }
        char e = s[i + 1];
        i += 2;
        const char *name;
        size_t len;
        unsigned long cp;
        switch (e) {
        case '"':
        case '#':
            return !cont; /* comment to the end of the line */
        case 'f':
        case 's':
        case 'n':
        case 'F':
        case 'm':
        case 'M':
        case 'Y':
        case 'g':
        case 'V':
        case 'k':
        case 'z':
            if (e == 's' && i < n && (s[i] == '+' || s[i] == '-'))
                i++;
            if (e == 'n' && i < n && (s[i] == '+' || s[i] == '-'))
                i++;
            if (e == 's' && i < n && isdigit((unsigned char)s[i])) {
                i++;
                if (i < n && isdigit((unsigned char)s[i]) && s[i - 1] != '0' && s[i - 1] <= '3')
                    i++;
                break;
            }
            i += escape_name(s + i, n - i, &name, &len);
            break;
        case '(':
        case '[':
            i += escape_name(s + i - 1, n - i + 1, &name, &len) - 1;
            if (lookup(special_chars, RG_ARRAY_LEN(special_chars), name, len, &cp)) {
                rg_utf8_put(out, cp);
            } else if (len >= 5 && name[0] == 'u') { /* \[u00E9] */
                char hex[9] = {0};
                memcpy(hex, name + 1, RG_MIN(len - 1, (size_t)8));
                char *end;
                unsigned long v = strtoul(hex, &end, 16);
                if (!*end && v)
                    rg_utf8_put(out, v);
            }
            break;
        case '*': {
            i += escape_name(s + i, n - i, &name, &len);
            const char *v = user_string(st, name, len);
            if (v) {
                if (depth == 0)
                    unescape_in(st, 1, v, strlen(v), out);
            } else if (lookup(strings, RG_ARRAY_LEN(strings), name, len, &cp) && cp) {
                rg_utf8_put(out, cp);
            }
            break;
        }
        case 'w':
        case 'h':
        case 'v':
        case 'l':
        case 'L':
        case 'D':
        case 'o':
        case 'X':
        case 'Z':
        case 'b':
        case 'x':
        case 'R':
        case 'A':
        case 'B':
        case 'C':
        case 'N':
            if (e == 'C' || e == 'N') { /* \C'name', \N'123': a character */
                size_t k = skip_delimited(s + i, n - i);
                if (e == 'N' && k >= 3) {
                    unsigned long v = strtoul(s + i + 1, NULL, 10);
                    if (v >= 0x20)
                        rg_utf8_put(out, v);
                }
                i += k;
                break;
            }
            i += skip_delimited(s + i, n - i);
            break;
        case 'e':
        case '\\':
            rg_buf_putc(out, '\\');
            break;
        case '-':
            rg_buf_putc(out, '-');
            break;
        case ' ':
        case '~':
        case '0':
            rg_buf_putc(out, ' ');
            break;
        case 't':
            rg_buf_putc(out, ' ');
            break;
        case '\'':
            rg_buf_putc(out, '\'');
            break;
        case '`':
            rg_buf_putc(out, '`');
            break;
        case 'c':
            cont = true;
            break;
        case '|':
        case '^':
        case '&':
        case ')':
        case '%':
        case ':':
        case ',':
        case '/':
        case '{':
        case '}':
        case 'a':
        case 'd':
        case 'u':
        case 'r':
        case 'p':
            break;
        default:
            /* \. and any other escaped character stand for themselves. */
            if ((unsigned char)e >= 0x20)
                rg_buf_putc(out, e);
            break;
        }
    }
    return !cont;
}

static bool unescape_st(const man_state *st, const char *s, size_t n, rg_buf *out)
{
    return unescape_in(st, 0, s, n, out);
}

/* Splits a request's arguments (quoted with "..." where they hold spaces,
 * "" inside quotes for a quote) into args; returns how many (at most max). */
static size_t split_args(const char *s, size_t n, const char **args, size_t *lens, size_t max, rg_buf *scratch)
{
    /* Each argument is copied into scratch (quotes resolved) so args can
     * point at NUL-free spans of it. */
    size_t count = 0;
    size_t i = 0;
    rg_buf_reserve(scratch, n + 1);
    scratch->len = 0;
    size_t starts[32];
    while (i < n && count < max && count < RG_ARRAY_LEN(starts)) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i >= n)
            break;
        size_t start = scratch->len;
        if (s[i] == '"') {
            i++;
            while (i < n) {
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        rg_buf_putc(scratch, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (s[i] == '\\' && i + 1 < n) {
                    rg_buf_append(scratch, s + i, 2);
                    i += 2;
                    continue;
                }
                rg_buf_putc(scratch, s[i++]);
            }
        } else {
            while (i < n && s[i] != ' ' && s[i] != '\t') {
                if (s[i] == '\\' && i + 1 < n) {
                    /* "\ " is a space inside an argument. */
                    rg_buf_append(scratch, s + i, 2);
                    i += 2;
                    continue;
                }
                rg_buf_putc(scratch, s[i++]);
            }
        }
        starts[count] = start;
        lens[count++] = scratch->len - start;
    }
    for (size_t k = 0; k < count; k++)
        args[k] = scratch->data + starts[k];
    return count;
}

static void para_space(man_state *st)
{
    if (st->para.len && !st->join) {
        char last = st->para.data[st->para.len - 1];
        if (last != ' ' && last != '\n')
            rg_buf_putc(&st->para, st->nofill ? '\n' : ' ');
    }
    st->join = false;
}

static void flush_para(man_state *st)
{
    if (st->para.len) {
        if (st->in_name && !st->name_line) {
            st->name_line = rg_xstrndup(st->para.data, st->para.len);
            size_t l = rg_text_squeeze_spaces(st->name_line, strlen(st->name_line));
            if (!l) {
                free(st->name_line);
                st->name_line = NULL;
            }
        }
        rg_text_append_paragraphs(&st->out, st->para.data, st->para.len);
    }
    st->para.len = 0;
    if (st->para.data)
        st->para.data[0] = '\0';
    st->join = false;
}

/* Text (escapes resolved) appended to the paragraph. */
static void add_text(man_state *st, const char *s, size_t n)
{
    if (!n) {
        return;
    }
    para_space(st);
    if (st->nofill && st->para.len && st->para.data[st->para.len - 1] == ' ')
        st->para.data[st->para.len - 1] = '\n';
    st->join = !unescape_st(st, s, n, &st->para);
}

static void add_heading(man_state *st, const char *s, size_t n)
{
    flush_para(st);
    rg_buf h;
    rg_buf_init(&h);
    unescape_st(st, s, n, &h);
    if (h.len) {
        h.len = rg_text_squeeze_spaces(h.data, h.len);
        st->in_name = h.len == 4 && strncasecmp(h.data, "NAME", 4) == 0;
        if (h.len)
            rg_text_append_paragraphs(&st->out, h.data, h.len);
    }
    rg_buf_free(&h);
}

/* .BR a b c: fonts alternate, arguments are joined without spaces. */
static void add_alternating(man_state *st, const char **args, const size_t *lens, size_t nargs)
{
    para_space(st);
    for (size_t k = 0; k < nargs; k++)
        unescape_st(st, args[k], lens[k], &st->para);
}

static bool is_mdoc_macro(const char *s, size_t n)
{
    /* mdoc's callable macros: a capital and one or two lower-case letters
     * (Fl, Ar, Op, Xr, Pq, Ns, ...). */
    return n >= 2 && n <= 3 && isupper((unsigned char)s[0]) && islower((unsigned char)s[1]) &&
           (n == 2 || islower((unsigned char)s[2]));
}

/* An mdoc line (".Op Fl a Ar file"): the words without the macro names,
 * "-" before flags, no space after Ns. */
static void add_mdoc(man_state *st, const char *req, size_t rl, const char **args, const size_t *lens, size_t nargs)
{
    bool flag = rl == 2 && memcmp(req, "Fl", 2) == 0;
    bool nospace = false;
    if (flag && nargs == 0) {
        para_space(st);
        rg_buf_putc(&st->para, '-');
        return;
    }
    for (size_t k = 0; k < nargs; k++) {
        const char *a = args[k];
        size_t l = lens[k];
        if (is_mdoc_macro(a, l)) {
            if (l == 2 && memcmp(a, "Fl", 2) == 0)
                flag = true;
            if (l == 2 && memcmp(a, "Ns", 2) == 0)
                nospace = true;
            continue;
        }
        if (nospace)
            st->join = true;
        else
            para_space(st);
        nospace = false;
        if (flag)
            rg_buf_putc(&st->para, '-');
        flag = false;
        unescape_st(st, a, l, &st->para);
    }
}

/* .ds NAME VALUE: a leading quote of VALUE is dropped; later definitions
 * of a name replace earlier ones; past MAN_DEFS names new ones are
 * ignored (their references then expand to nothing). */
static void define_string(man_state *st, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t k = i;
    while (k < n && s[k] != ' ' && s[k] != '\t')
        k++;
    if (k == i || k - i >= sizeof st->defs[0].name)
        return;
    size_t v = k;
    while (v < n && (s[v] == ' ' || s[v] == '\t'))
        v++;
    if (v < n && s[v] == '"')
        v++;
    size_t vl = RG_MIN(n - v, (size_t)MAN_DEF_MAX);
    /* Cut at a character boundary: the value is UTF-8 text. */
    while (vl > 0 && vl < n - v && ((unsigned char)s[v + vl] & 0xc0) == 0x80)
        vl--;
    man_def *d = NULL;
    for (size_t j = 0; j < st->ndefs; j++)
        if (strlen(st->defs[j].name) == k - i && memcmp(st->defs[j].name, s + i, k - i) == 0)
            d = &st->defs[j];
    if (!d) {
        if (st->ndefs == MAN_DEFS)
            return;
        d = &st->defs[st->ndefs++];
        memcpy(d->name, s + i, k - i);
        d->name[k - i] = '\0';
    }
    free(d->value);
    d->value = rg_xstrndup(s + v, vl);
}

static bool req_is(const char *req, size_t rl, const char *name)
{
    return strlen(name) == rl && memcmp(req, name, rl) == 0;
}

static char *make_title(const char **args, const size_t *lens, size_t nargs)
{
    if (nargs == 0)
        return NULL;
    rg_buf t;
    rg_buf_init(&t);
    unescape_st(NULL, args[0], lens[0], &t);
    if (nargs > 1) {
        rg_buf_putc(&t, '(');
        unescape_st(NULL, args[1], lens[1], &t);
        rg_buf_putc(&t, ')');
    }
    if (!t.len) {
        rg_buf_free(&t);
        return NULL;
    }
    t.len = rg_text_squeeze_spaces(t.data, t.len);
    return rg_buf_steal(&t);
}

static rg_status man_read(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    rg_buf text;
    rg_buf_init(&text);
    rg_status rc = rg_text_decode(path, data, len, &text, err);
    if (rc != RG_OK) {
        rg_buf_free(&text);
        return rc;
    }
    /* A backslash at the end of a line joins it to the next (roff's
     * escaped newline); "\\" at the end is an escaped backslash. */
    size_t o = 0;
    for (size_t i = 0; i < text.len; i++) {
        if (text.data[i] == '\\' && i + 1 < text.len) {
            if (text.data[i + 1] == '\n') {
                i++;
                continue;
            }
            text.data[o++] = text.data[i++];
        }
        text.data[o++] = text.data[i];
    }
    text.len = o;
    text.data[o] = '\0';
    size_t limit = doc->max_expanded ? doc->max_expanded : RG_READ_EXPANDED_DEFAULT;
    man_state st;
    memset(&st, 0, sizeof st);
    rg_buf_init(&st.out);
    rg_buf_init(&st.para);
    rg_buf scratch;
    rg_buf_init(&scratch);
    /* Skipping state: inside .de/.ig until "..", inside .TS until .TE. */
    bool skip_block = false, table = false, table_format = false;
    char table_tab = '\t'; /* the cell separator, tab(x) in the options */
    const char *args[32];
    size_t lens[32];

    for (size_t a = 0; a < text.len;) {
        if (st.out.len + st.para.len > limit) {
            /* Only string expansion can grow the text past the input. */
            rc = rg_error_set(err, RG_ERR_INVALID,
                              "%s: its strings expand to more than %.1f MB of text (ingest.max_file_mb); skipped",
                              path, (double)limit / 1048576.0);
            break;
        }
        const char *nl = memchr(text.data + a, '\n', text.len - a);
        size_t b = nl ? (size_t)(nl - text.data) : text.len;
        const char *s = text.data + a;
        size_t n = b - a;
        a = b + 1;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\r'))
            n--;
        bool control = n && (s[0] == '.' || s[0] == '\'');
        if (skip_block) {
            /* ".." ends a definition, also written ".  ." */
            if (control) {
                size_t k = 1;
                while (k < n && (s[k] == ' ' || s[k] == '\t'))
                    k++;
                skip_block = !(k < n && s[k] == '.');
            }
            continue;
        }
        /* The request name: after the control character and optional
         * spaces, up to a space or an escape. */
        const char *req = NULL;
        size_t rl = 0, ra = 0;
        if (control) {
            size_t k = 1;
            while (k < n && (s[k] == ' ' || s[k] == '\t'))
                k++;
            size_t r0 = k;
            while (k < n && s[k] != ' ' && s[k] != '\t' && s[k] != '\\')
                k++;
            req = s + r0;
            rl = k - r0;
            ra = k;
        }
        if (table) {
            if (control && req_is(req, rl, "TE")) {
                table = false;
                flush_para(&st);
                continue;
            }
            if (control)
                continue;
            if (table_format) {
                /* Options ("allbox tab(;);") and format lines ("l l."),
                 * the last ending in a period, come before the data. */
                const char *tab = memmem(s, n, "tab(", 4);
                if (tab && tab + 4 < s + n)
                    table_tab = tab[4];
                if (n && s[n - 1] == '.')
                    table_format = false;
                continue;
            }
            /* A data row: cells separated by tabs, T{ T} text blocks. */
            rg_buf row;
            rg_buf_init(&row);
            unescape_st(&st, s, n, &row);
            rg_buf cells;
            rg_buf_init(&cells);
            for (size_t k = 0; k < row.len; k++) {
                if (row.data[k] == 'T' && k + 1 < row.len && (row.data[k + 1] == '{' || row.data[k + 1] == '}')) {
                    k++;
                    continue;
                }
                rg_buf_putc(&cells, row.data[k] == table_tab ? ' ' : row.data[k]);
            }
            size_t cl = cells.len ? rg_text_squeeze_spaces(cells.data, cells.len) : 0;
            if (cl && !(cl == 1 && (cells.data[0] == '_' || cells.data[0] == '='))) {
                if (st.para.len)
                    rg_buf_putc(&st.para, '\n');
                rg_buf_append(&st.para, cells.data, cl);
            }
            rg_buf_free(&row);
            rg_buf_free(&cells);
            continue;
        }
        if (!control) {
            if (n == 0 || (n == 1 && s[0] == '\\')) {
                if (st.nofill)
                    rg_buf_putc(&st.para, '\n');
                else
                    flush_para(&st);
                continue;
            }
            add_text(&st, s, n);
            continue;
        }
        if (rl == 0)
            continue; /* "." alone, or a comment ".\"" */
        size_t nargs = split_args(s + ra, n - ra, args, lens, RG_ARRAY_LEN(args), &scratch);
        if (req_is(req, rl, "TH") || req_is(req, rl, "Dt")) {
            if (!st.th_title)
                st.th_title = make_title(args, lens, nargs);
        } else if (req_is(req, rl, "SH") || req_is(req, rl, "SS") || req_is(req, rl, "Sh") || req_is(req, rl, "Ss")) {
            if (nargs) {
                /* The arguments unquoted: .SH "SEE ALSO" is SEE ALSO. */
                rg_buf h;
                rg_buf_init(&h);
                for (size_t k = 0; k < nargs; k++) {
                    if (k)
                        rg_buf_putc(&h, ' ');
                    rg_buf_append(&h, args[k], lens[k]);
                }
                add_heading(&st, h.data, h.len);
                rg_buf_free(&h);
            } else {
                /* The heading is on the next line. */
                flush_para(&st);
                const char *nl2 = a < text.len ? memchr(text.data + a, '\n', text.len - a) : NULL;
                size_t e = nl2 ? (size_t)(nl2 - text.data) : text.len;
                if (a < text.len) {
                    add_heading(&st, text.data + a, e - a);
                    a = e + 1;
                }
            }
        } else if (req_is(req, rl, "PP") || req_is(req, rl, "LP") || req_is(req, rl, "P") || req_is(req, rl, "Pp") ||
                   req_is(req, rl, "sp") || req_is(req, rl, "TP") || req_is(req, rl, "TQ") || req_is(req, rl, "HP") ||
                   req_is(req, rl, "Bl") || req_is(req, rl, "El") || req_is(req, rl, "It") || req_is(req, rl, "Bd") ||
                   req_is(req, rl, "Ed")) {
            flush_para(&st);
            if (req_is(req, rl, "It") && nargs)
                add_mdoc(&st, req, rl, args, lens, nargs);
        } else if (req_is(req, rl, "IP")) {
            flush_para(&st);
            if (nargs)
                add_text(&st, args[0], lens[0]);
        } else if (req_is(req, rl, "br")) {
            if (st.para.len)
                rg_buf_putc(&st.para, '\n');
        } else if (req_is(req, rl, "nf") || req_is(req, rl, "EX")) {
            flush_para(&st);
            st.nofill = true;
        } else if (req_is(req, rl, "fi") || req_is(req, rl, "EE")) {
            flush_para(&st);
            st.nofill = false;
        } else if (req_is(req, rl, "B") || req_is(req, rl, "I") || req_is(req, rl, "SM") || req_is(req, rl, "SB")) {
            /* Without arguments the font applies to the next line, which
             * arrives as text anyway. */
            size_t k = ra;
            while (k < n && (s[k] == ' ' || s[k] == '\t'))
                k++;
            if (nargs)
                add_text(&st, s + k, n - k);
        } else if (rl == 2 && strchr("BIR", req[0]) && strchr("BIR", req[1]) && req[0] != req[1]) {
            add_alternating(&st, args, lens, nargs);
        } else if (req_is(req, rl, "UR") || req_is(req, rl, "MT")) {
            /* The link text follows; the address is kept after it only
             * when there is no text (.UE comes right after). */
        } else if (req_is(req, rl, "UE") || req_is(req, rl, "ME")) {
            if (nargs)
                add_alternating(&st, args, lens, nargs);
        } else if (req_is(req, rl, "de") || req_is(req, rl, "de1") || req_is(req, rl, "am") ||
                   req_is(req, rl, "ig")) {
            skip_block = true;
        } else if (req_is(req, rl, "TS")) {
            flush_para(&st);
            table = true;
            table_format = true;
            table_tab = '\t';
        } else if (req_is(req, rl, "so")) {
            /* An alias page: say where its text lives. */
            if (nargs) {
                flush_para(&st);
                rg_buf_puts(&st.para, "See ");
                unescape_st(&st, args[0], lens[0], &st.para);
                flush_para(&st);
            }
        } else if (req_is(req, rl, "ds") || req_is(req, rl, "ds1")) {
            define_string(&st, s + ra, n - ra);
        } else if (req_is(req, rl, "Nm")) {
            if (nargs && !st.mdoc_name)
                st.mdoc_name = rg_xstrndup(args[0], lens[0]);
            if (nargs) {
                add_mdoc(&st, req, rl, args, lens, nargs);
            } else if (st.mdoc_name) {
                const char *nm = st.mdoc_name;
                size_t nl_ = strlen(nm);
                add_mdoc(&st, req, rl, &nm, &nl_, 1);
            }
        } else if (req_is(req, rl, "Nd")) {
            para_space(&st);
            rg_buf_puts(&st.para, "- ");
            st.join = true;
            add_mdoc(&st, req, rl, args, lens, nargs);
        } else if (is_mdoc_macro(req, rl) && !req_is(req, rl, "Dd") && !req_is(req, rl, "Os")) {
            add_mdoc(&st, req, rl, args, lens, nargs);
        }
        /* Everything else (.ds, .nr, .if, .ie, .el, .in, .ti, .ft, .ad,
         * .RS/.RE, .PD, unknown macros) carries no text of its own. */
    }
    flush_para(&st);
    rg_buf_free(&scratch);
    for (size_t i = 0; i < st.ndefs; i++)
        free(st.defs[i].value);
    free(st.mdoc_name);
    rg_buf_free(&text);
    rg_buf_free(&st.para);

    if (rc != RG_OK) {
        free(st.name_line);
        free(st.th_title);
        rg_buf_free(&st.out);
        return rc;
    }
    if (st.name_line) {
        doc->title = st.name_line;
        free(st.th_title);
    } else {
        doc->title = st.th_title;
    }
    /* An escape name can swallow the first byte of a multi-byte
     * character ("\(é"); the contract is UTF-8. */
    if (doc->title) {
        size_t tl = strlen(doc->title);
        rg_utf8_sanitize(&doc->title, &tl);
    }
    doc->len = st.out.len;
    doc->text = rg_buf_steal(&st.out);
    rg_utf8_sanitize(&doc->text, &doc->len);
    doc->format = "man";
    return RG_OK;
}

const rg_reader_ops rg_reader_man = {
    .name = "man",
    .extensions = man_extensions,
    .extension_match = man_extension,
    .sniff = man_sniff,
    .extension_needs_sniff = true,
    .read = man_read,
};
