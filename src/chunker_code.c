/* The code chunker (see chunker_code.h).  Not a parser: one pass over the
 * lines keeps bracket depth, block-comment and multi-line-string state,
 * which is enough to see where a top-level definition starts in the
 * languages people keep documentation-grade code in.  A wrong guess only
 * moves a chunk boundary; every line still lands in a chunk. */
#include "chunker_code.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum family {
    FAM_BRACE,  /* C-like: a definition starts at bracket depth 0, column 0 */
    FAM_INDENT, /* Python: a definition starts at indentation 0 */
    FAM_COLUMN  /* anything else: a column-0 line after a blank line */
};

typedef struct lang_rules {
    const char *name;
    enum family fam;
    bool slash_comments;  /* // and block comments */
    bool hash_comments;   /* # to the end of the line */
    bool quote_strings;   /* '...' is a string (not a char literal or a lifetime) */
    bool backtick_strings; /* `...` may span lines (JS template literals, Go raw strings) */
    bool preprocessor;    /* lines starting with # are directives (C, C++) */
} lang_rules;

static const lang_rules rules[] = {
    {"c", FAM_BRACE, true, false, false, false, true},
    {"cpp", FAM_BRACE, true, false, false, false, true},
    {"csharp", FAM_BRACE, true, false, false, false, true},
    {"rust", FAM_BRACE, true, false, false, false, false},
    {"go", FAM_BRACE, true, false, false, true, false},
    {"java", FAM_BRACE, true, false, false, false, false},
    {"kotlin", FAM_BRACE, true, false, false, false, false},
    {"scala", FAM_BRACE, true, false, false, false, false},
    {"swift", FAM_BRACE, true, false, false, false, false},
    {"dart", FAM_BRACE, true, false, true, false, false},
    {"zig", FAM_BRACE, true, false, false, false, false},
    {"javascript", FAM_BRACE, true, false, true, true, false},
    {"typescript", FAM_BRACE, true, false, true, true, false},
    {"php", FAM_BRACE, true, true, true, false, false},
    {"shell", FAM_BRACE, false, true, true, false, false},
    {"perl", FAM_BRACE, false, true, true, false, false},
    {"python", FAM_INDENT, false, true, true, false, false},
};

static const lang_rules generic_rules = {"", FAM_COLUMN, false, true, true, false, false};

static const lang_rules *rules_for(const char *language)
{
    for (size_t i = 0; language && i < RG_ARRAY_LEN(rules); i++)
        if (strcmp(rules[i].name, language) == 0)
            return &rules[i];
    return &generic_rules;
}

typedef struct line_info {
    size_t start, end;  /* bytes, end excludes the '\n' */
    size_t tokens;
    bool blank;
    bool boundary;      /* a top-level unit starts here */
} line_info;

/* Scan state carried from line to line. */
typedef struct scan_state {
    int depth;          /* open brackets */
    bool block_comment; /* inside a block comment */
    bool backtick;      /* inside a `...` string */
    int triple;         /* inside a Python triple-quoted string: its quote char */
} scan_state;

/* What one line tells the boundary rule. */
typedef struct line_scan {
    bool in_text;       /* the line starts inside a comment or multi-line string */
    int depth_start;
    char last;          /* last character outside comments (0 if none) */
    bool comment_only;  /* nothing but a comment */
} line_scan;

static size_t skip_quoted(const char *s, size_t i, size_t n, char q)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == q)
            return i + 1;
    }
    return n;
}

static void scan_line(const lang_rules *r, scan_state *st, const char *s, size_t n, line_scan *ls)
{
    ls->in_text = st->block_comment || st->backtick || st->triple;
    ls->depth_start = st->depth;
    ls->last = 0;
    bool code = false, comment = false;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (st->block_comment) {
            comment = true;
            const char *e = memmem(s + i, n - i, "*/", 2);
            if (!e)
                break;
            st->block_comment = false;
            i = (size_t)(e - s) + 2;
            continue;
        }
        if (st->backtick) {
            code = true;
            while (i < n && s[i] != '`')
                i += s[i] == '\\' ? 2 : 1;
            if (i < n) {
                st->backtick = false;
                ls->last = '`';
                i++;
            }
            continue;
        }
        if (st->triple) {
            code = true;
            char q[3] = {(char)st->triple, (char)st->triple, (char)st->triple};
            const char *e = memmem(s + i, n - i, q, 3);
            if (!e)
                break;
            st->triple = 0;
            i = (size_t)(e - s) + 3;
            ls->last = q[0];
            continue;
        }
        if (c == ' ' || c == '\t') {
            i++;
            continue;
        }
        if (r->slash_comments && c == '/' && i + 1 < n && s[i + 1] == '/') {
            comment = true;
            break;
        }
        if (r->slash_comments && c == '/' && i + 1 < n && s[i + 1] == '*') {
            comment = true;
            st->block_comment = true;
            i += 2;
            continue;
        }
        /* "#" starts a comment at a word start ("$#" and "${#x}" do not). */
        if (r->hash_comments && c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
            comment = true;
            break;
        }
        code = true;
        if (r->fam == FAM_INDENT && (c == '"' || c == '\'') && i + 2 < n && s[i + 1] == c && s[i + 2] == c) {
            const char *q = s + i;
            const char *e = i + 3 < n ? memmem(s + i + 3, n - i - 3, q, 3) : NULL;
            if (!e) {
                st->triple = c;
                break;
            }
            i = (size_t)(e - s) + 3;
            ls->last = c;
            continue;
        }
        if (c == '"' || (c == '\'' && r->quote_strings)) {
            i = skip_quoted(s, i, n, c);
            ls->last = c;
            continue;
        }
        if (c == '\'') {
            /* 'x', '\n' are char literals; a lone ' is a Rust lifetime. */
            if (i + 2 < n && s[i + 1] != '\\' && s[i + 2] == '\'')
                i += 3;
            else if (i + 1 < n && s[i + 1] == '\\') {
                const char *e = memchr(s + i + 2, '\'', RG_MIN(n - i - 2, (size_t)12));
                i = e ? (size_t)(e - s) + 1 : i + 1;
            } else
                i++;
            ls->last = '\'';
            continue;
        }
        if (c == '`' && r->backtick_strings) {
            st->backtick = true;
            i++;
            continue;
        }
        if (c == '{' || c == '(' || c == '[')
            st->depth++;
        else if ((c == '}' || c == ')' || c == ']') && st->depth > 0)
            st->depth--;
        ls->last = c;
        i++;
    }
    ls->comment_only = comment && !code;
}

/* A decorator, annotation or attribute belongs to the definition below it. */
static bool attaches_down(const lang_rules *r, const char *s, size_t n, const line_scan *ls)
{
    if (ls->comment_only)
        return true;
    if (n && s[0] == '@')
        return true;
    if (n >= 2 && s[0] == '#' && s[1] == '[') /* Rust */
        return true;
    return r->fam == FAM_BRACE && n >= 8 && memcmp(s, "template", 8) == 0;
}

static bool starts_with_word(const char *s, size_t n, const char *w)
{
    size_t l = strlen(w);
    return n >= l && memcmp(s, w, l) == 0 && (n == l || !(isalnum((unsigned char)s[l]) || s[l] == '_'));
}

/* Marks the lines where a top-level unit starts. */
static void find_boundaries(const lang_rules *r, const char *t, line_info *lines, size_t nlines)
{
    scan_state st = {0};
    line_scan prev = {0};
    const line_info *pl = NULL; /* the previous line */
    const char *ps = NULL;
    for (size_t k = 0; k < nlines; k++) {
        line_info *li = &lines[k];
        const char *s = t + li->start;
        size_t n = li->end - li->start;
        line_scan ls;
        scan_line(r, &st, s, n, &ls);
        bool b = false;
        if (k == 0) {
            b = true;
        } else if (!li->blank && !ls.in_text && ls.depth_start == 0 && !(s[0] == ' ' || s[0] == '\t') &&
                   !strchr("})]", s[0])) {
            bool prev_blank = pl->blank;
            bool prev_attached = !prev_blank && attaches_down(r, ps, pl->end - pl->start, &prev);
            switch (r->fam) {
            case FAM_BRACE:
                b = prev_blank ||
                    (!prev_attached && (prev.last == '}' || prev.last == ';' ||
                                        (r->preprocessor && ps[0] == '#' && prev.last != '\\')));
                break;
            case FAM_INDENT: {
                bool prev_indented = !prev_blank && (ps[0] == ' ' || ps[0] == '\t');
                bool continues = prev.last == ':' || prev.last == '\\' || prev.last == ',';
                b = !starts_with_word(s, n, "else") && !starts_with_word(s, n, "elif") &&
                    !starts_with_word(s, n, "except") && !starts_with_word(s, n, "finally") &&
                    (prev_blank || prev_indented || (!prev_attached && !continues && prev.depth_start == 0));
                break;
            }
            case FAM_COLUMN:
                b = prev_blank && !starts_with_word(s, n, "end") && !starts_with_word(s, n, "fi") &&
                    !starts_with_word(s, n, "done") && !starts_with_word(s, n, "esac");
                break;
            }
        }
        li->boundary = b;
        if (!li->blank) {
            prev = ls;
        }
        pl = li;
        ps = s;
        if (li->blank)
            prev = (line_scan){0};
    }
}

static void push_chunk(rg_chunks *out, size_t start, size_t end, size_t tokens)
{
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 16;
        out->items = rg_xrealloc(out->items, out->cap * sizeof *out->items);
    }
    out->items[out->n++] = (rg_chunk){start, end, tokens};
}

/* Lines [a, b) as one chunk, trailing blank lines left out. */
static void emit_lines(const line_info *lines, size_t a, size_t b, rg_chunks *out)
{
    while (b > a && lines[b - 1].blank)
        b--;
    if (b == a)
        return;
    size_t tokens = 0;
    for (size_t k = a; k < b; k++)
        tokens += lines[k].tokens;
    push_chunk(out, lines[a].start, lines[b - 1].end, tokens);
}

/* A unit over the size: whole lines packed with overlap; a line over the
 * size goes through the prose chunker, which cuts between words. */
static void split_unit(const char *t, const line_info *lines, size_t a, size_t b, rg_embedder *emb, size_t size,
                       size_t overlap, rg_chunks *out)
{
    size_t p = a;
    while (p < b) {
        if (lines[p].tokens > size) {
            rg_chunks sub;
            rg_chunk_text(t + lines[p].start, lines[p].end - lines[p].start, emb, size, overlap, &sub);
            for (size_t i = 0; i < sub.n; i++)
                push_chunk(out, lines[p].start + sub.items[i].start, lines[p].start + sub.items[i].end,
                           sub.items[i].tokens);
            rg_chunks_free(&sub);
            p++;
            continue;
        }
        size_t q = p, tokens = 0;
        while (q < b && lines[q].tokens <= size && tokens + lines[q].tokens <= size)
            tokens += lines[q++].tokens;
        emit_lines(lines, p, q, out);
        if (q >= b)
            break;
        /* Repeat whole lines worth at most `overlap` tokens, but always
         * make progress; not after a long line cut by words. */
        size_t back = q, ov = 0;
        if (lines[q].tokens <= size)
            while (back > p + 1 && ov + lines[back - 1].tokens <= overlap) {
                ov += lines[back - 1].tokens;
                back--;
            }
        p = back;
    }
}

static size_t indent_of(const char *t, const line_info *li)
{
    size_t i = li->start;
    while (i < li->end && (t[i] == ' ' || t[i] == '\t'))
        i++;
    return i - li->start;
}

/* Inside a unit too long for one chunk (a class, a module wrapped in a
 * function, a long function): the same rule one level down.  Lines at
 * the body's indentation (the smallest below the unit's first line)
 * start a nested unit after a blank line or after deeper lines, so methods
 * stay whole; comments and decorators at that indentation go with what
 * follows, as at the top.  Returns false when the body has no
 * indentation to go by. */
static bool mark_nested(const char *t, line_info *lines, size_t a, size_t b)
{
    size_t body = SIZE_MAX;
    for (size_t k = a + 1; k < b; k++)
        if (!lines[k].blank)
            body = RG_MIN(body, indent_of(t, &lines[k]));
    if (body == 0 || body == SIZE_MAX)
        return false;
    size_t prev_indent = 0;
    bool prev_blank = false, any = false;
    for (size_t k = a + 1; k < b; k++) {
        lines[k].boundary = false;
        if (lines[k].blank) {
            prev_blank = true;
            continue;
        }
        size_t ind = indent_of(t, &lines[k]);
        char c = t[lines[k].start + ind];
        if (ind == body && (prev_blank || prev_indent > body) && !strchr("})]", c)) {
            lines[k].boundary = true;
            any = true;
        }
        prev_indent = ind;
        prev_blank = false;
    }
    return any;
}

/* Greedy packing of whole units of lines[a, b) (a unit starts at a and at
 * every boundary line); a chunk boundary is a unit boundary, so no overlap
 * is repeated there.  A unit over the size is packed by its nested units
 * (one level), else cut between lines. */
static void pack_units(const char *t, line_info *lines, size_t a, size_t b, bool nested, rg_embedder *emb,
                       size_t size, size_t overlap, rg_chunks *out)
{
    size_t u = a;
    while (u < b) {
        size_t v = u + 1, tokens = lines[u].tokens;
        while (v < b && !lines[v].boundary)
            tokens += lines[v++].tokens;
        if (tokens > size) {
            if (!nested && mark_nested(t, lines, u, v))
                pack_units(t, lines, u, v, true, emb, size, overlap, out);
            else
                split_unit(t, lines, u, v, emb, size, overlap, out);
            u = v;
            continue;
        }
        /* Add following units while they fit. */
        size_t w = v;
        while (w < b) {
            size_t x = w + 1, t2 = lines[w].tokens;
            while (x < b && !lines[x].boundary)
                t2 += lines[x++].tokens;
            if (tokens + t2 > size)
                break;
            tokens += t2;
            w = x;
        }
        emit_lines(lines, u, w, out);
        u = w;
    }
}

void rg_chunk_code(const char *t, size_t len, const char *language, rg_embedder *emb, size_t size, size_t overlap,
                   rg_chunks *out)
{
    memset(out, 0, sizeof *out);
    size = rg_chunk_effective_size(emb, size);
    if (overlap >= size / 2)
        overlap = size / 2;
    const lang_rules *r = rules_for(language);

    size_t nlines = 1;
    for (size_t i = 0; i < len; i++)
        nlines += t[i] == '\n';
    line_info *lines = rg_xcalloc(nlines, sizeof *lines);
    nlines = 0;
    for (size_t a = 0; a <= len;) {
        const char *nl = a < len ? memchr(t + a, '\n', len - a) : NULL;
        size_t b = nl ? (size_t)(nl - t) : len;
        line_info *li = &lines[nlines++];
        li->start = a;
        li->end = b;
        li->blank = true;
        for (size_t k = a; k < b; k++)
            if (!isspace((unsigned char)t[k])) {
                li->blank = false;
                break;
            }
        li->tokens = li->blank ? 0 : rg_embedder_count_tokens(emb, t + a, b - a);
        if (!nl)
            break;
        a = b + 1;
    }
    find_boundaries(r, t, lines, nlines);

    pack_units(t, lines, 0, nlines, false, emb, size, overlap, out);
    free(lines);
}
