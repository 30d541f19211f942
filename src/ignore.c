#include "ignore.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct rule {
    char *pattern;   /* without "!", leading "/" or trailing "/" */
    bool negate;
    bool dir_only;
    bool anchored;   /* matched against the whole relative path, not the name */
} rule;

struct rg_ignore {
    rule *rules;
    size_t n, cap;
};

rg_ignore *rg_ignore_new(void)
{
    return rg_xcalloc(1, sizeof(rg_ignore));
}

void rg_ignore_free(rg_ignore *ig)
{
    if (!ig)
        return;
    for (size_t i = 0; i < ig->n; i++)
        free(ig->rules[i].pattern);
    free(ig->rules);
    free(ig);
}

size_t rg_ignore_count(const rg_ignore *ig)
{
    return ig ? ig->n : 0;
}

void rg_ignore_add(rg_ignore *ig, const char *line)
{
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    /* Trailing spaces are dropped unless escaped with a backslash. */
    while (len && line[len - 1] == ' ' && !(len >= 2 && line[len - 2] == '\\'))
        len--;
    if (!len || line[0] == '#')
        return;
    rule r = {0};
    const char *p = line;
    if (*p == '!') {
        r.negate = true;
        p++, len--;
    }
    if (len && p[len - 1] == '/' && !(len >= 2 && p[len - 2] == '\\')) {
        r.dir_only = true;
        len--;
    }
    /* A slash at the start or in the middle anchors the pattern to the
     * directory of the ignore file. */
    if (memchr(p, '/', len))
        r.anchored = true;
    while (len && *p == '/')
        p++, len--;
    if (!len)
        return;
    r.pattern = rg_xstrndup(p, len);
    if (ig->n == ig->cap) {
        ig->cap = ig->cap ? ig->cap * 2 : 16;
        ig->rules = rg_xrealloc(ig->rules, ig->cap * sizeof *ig->rules);
    }
    ig->rules[ig->n++] = r;
}

void rg_ignore_add_text(rg_ignore *ig, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - text) : len;
        char *line = rg_xstrndup(text + i, e - i);
        rg_ignore_add(ig, line);
        free(line);
        i = e + 1;
    }
}

/* One segment [s, e) copied so fnmatch sees it NUL-terminated; false when
 * it is too long to be a file name. */
static bool segment(const char *s, const char *e, char *out, size_t cap)
{
    size_t n = (size_t)(e - s);
    if (n >= cap)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

static bool match_from(const char *p, const char *s, long *budget)
{
    if (--*budget < 0)
        return false;
    if (!*p)
        return !*s;
    const char *pe = strchr(p, '/');
    const char *pnext = pe ? pe + 1 : p + strlen(p);
    if (!pe)
        pe = pnext;
    if (pe - p == 2 && p[0] == '*' && p[1] == '*') {
        if (!*pnext)
            return true; /* a trailing "**" takes everything below */
        for (const char *t = s;;) {
            if (match_from(pnext, t, budget))
                return true;
            const char *slash = strchr(t, '/');
            if (!slash)
                return false;
            t = slash + 1;
        }
    }
    if (!*s)
        return false;
    const char *se = strchr(s, '/');
    const char *snext = se ? se + 1 : s + strlen(s);
    if (!se)
        se = snext;
    char ps[1024], ss[1024];
    if (!segment(p, pe, ps, sizeof ps) || !segment(s, se, ss, sizeof ss))
        return false;
    if (fnmatch(ps, ss, 0) != 0)
        return false;
    if (!*pnext && *snext)
        return false;
    return match_from(pnext, snext, budget);
}

bool rg_glob_match(const char *pattern, const char *path)
{
    /* A pattern of many "**" against a deep path is exponential; 100k steps
     * is far more than any real pattern needs. */
    long budget = 100000;
    return match_from(pattern, path, &budget);
}

rg_ignore_verdict rg_ignore_match(const rg_ignore *ig, const char *rel, bool is_dir)
{
    if (!ig)
        return RG_IGNORE_NONE;
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    for (size_t i = ig->n; i-- > 0;) {
        const rule *r = &ig->rules[i];
        if (r->dir_only && !is_dir)
            continue;
        if (rg_glob_match(r->pattern, r->anchored ? rel : base))
            return r->negate ? RG_IGNORE_INCLUDE : RG_IGNORE_EXCLUDE;
    }
    return RG_IGNORE_NONE;
}
