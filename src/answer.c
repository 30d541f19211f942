/* Prompt building, token estimates, citations and secret masking for
 * answers (see answer.h). */
#include "answer.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store.h"
#include "util.h"

char *rg_passage_describe(const rg_passage *p, bool with_chunk)
{
    rg_buf b;
    rg_buf_init(&b);
    rg_buf_puts(&b, p->path && *p->path ? p->path : "(unknown source)");
    if (p->page >= 0)
        rg_buf_printf(&b, ", page %lld", (long long)p->page);
    if (with_chunk && p->chunk >= 0) {
        if (p->total > 0)
            rg_buf_printf(&b, ", chunk %lld/%lld", (long long)p->chunk + 1, (long long)p->total);
        else
            rg_buf_printf(&b, ", chunk %lld", (long long)p->chunk + 1);
    }
    return rg_buf_steal(&b);
}

/* ---- Token estimate --------------------------------------------------- */

/* Walks text piece by piece (the unit of the estimate) and stops before the
 * piece that would take the count above limit.  Returns the bytes consumed;
 * *count receives the tokens of those bytes. */
static size_t scan_tokens(const char *s, size_t n, int64_t limit, int64_t *count)
{
    int64_t t = 0;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t j = i + 1;
        int64_t cost;
        if (isalpha(c)) {
            while (j < n && isalpha((unsigned char)s[j]))
                j++;
            cost = (int64_t)((j - i + 3) / 4);
        } else if (isdigit(c)) {
            while (j < n && isdigit((unsigned char)s[j]))
                j++;
            cost = (int64_t)((j - i + 2) / 3);
        } else if (c == '\n' || c == '\r') {
            while (j < n && (s[j] == '\n' || s[j] == '\r'))
                j++;
            cost = 1;
        } else if (c == ' ' || c == '\t') {
            cost = 0;   /* BPE vocabularies fold the space into the next word */
        } else if (c >= 0x80) {
            while (j < n && ((unsigned char)s[j] & 0xc0) == 0x80)
                j++;
            cost = 1;
        } else {
            cost = 1;   /* punctuation, control characters */
        }
        if (t + cost > limit)
            break;
        t += cost;
        i = j;
    }
    *count = t;
    return i;
}

int64_t rg_answer_count_tokens(const char *text, size_t len)
{
    int64_t t;
    scan_tokens(text, len, INT64_MAX, &t);
    return t;
}

/* ---- Prompt ----------------------------------------------------------- */

static const char SYSTEM_PROMPT[] =
    "You answer questions using only the numbered passages the user provides. "
    "After each statement, cite the passages that support it with their numbers in square brackets, "
    "like [1] or [2][3]. Cite only numbers from the list. "
    "If the passages do not contain the answer, say so instead of guessing.";

void rg_prompt_free(rg_prompt *p)
{
    free(p->system);
    free(p->user);
    memset(p, 0, sizeof *p);
}

static int64_t tok(const char *s)
{
    return rg_answer_count_tokens(s, strlen(s));
}

rg_status rg_prompt_build(const char *question, const rg_passage *passages, size_t n, int64_t context_tokens,
                          int64_t answer_tokens, rg_prompt *out, rg_error *err)
{
    memset(out, 0, sizeof *out);
    if (answer_tokens >= context_tokens)
        return rg_error_set(err, RG_ERR_INVALID,
                            "llm.answer_tokens (%lld) must be smaller than llm.context_tokens (%lld): the prompt "
                            "and the answer share the model's context window",
                            (long long)answer_tokens, (long long)context_tokens);
    int64_t budget = context_tokens - answer_tokens;
    static const char intro[] = "Passages:\n\n";
    char *tail = rg_xasprintf("Question: %s", question);
    int64_t fixed = 2 * RG_PROMPT_MESSAGE_OVERHEAD + tok(SYSTEM_PROMPT) + tok(intro) + tok(tail);
    if (fixed + RG_PROMPT_MIN_PASSAGE_TOKENS > budget) {
        free(tail);
        return rg_error_set(err, RG_ERR_INVALID,
                            "the question and instructions (about %lld tokens) leave no room for passages in "
                            "llm.context_tokens=%lld with llm.answer_tokens=%lld reserved for the answer; raise "
                            "llm.context_tokens (up to the model's context window), lower llm.answer_tokens or "
                            "shorten the question",
                            (long long)fixed, (long long)context_tokens, (long long)answer_tokens);
    }
    rg_buf user;
    rg_buf_init(&user);
    rg_buf_puts(&user, intro);
    int64_t used = fixed;
    size_t included = 0;
    bool trimmed = false, cut_one = false;
    for (size_t i = 0; i < n && !trimmed; i++) {
        char *src = rg_passage_describe(&passages[i], false);
        char *header = rg_xasprintf("[%zu] Source: %s\n", included + 1, src);
        free(src);
        const char *text = passages[i].text ? passages[i].text : "";
        size_t len = strlen(text);
        while (len && isspace((unsigned char)text[len - 1]))
            len--;
        /* header + text + the blank line after it */
        int64_t head_cost = tok(header) + 1;
        int64_t text_cost = rg_answer_count_tokens(text, len);
        int64_t room = budget - used - head_cost;
        if (text_cost <= room) {
            rg_buf_puts(&user, header);
            rg_buf_append(&user, text, len);
            rg_buf_puts(&user, "\n\n");
            used += head_cost + text_cost;
            included++;
        } else if (room >= RG_PROMPT_MIN_PASSAGE_TOKENS) {
            /* Cut at the last space before the limit so no word is split;
             * the marker tells the model the passage goes on. */
            static const char more[] = " [...]";
            int64_t got;
            size_t cut = scan_tokens(text, len, room - tok(more), &got);
            size_t at = cut;
            while (at > 0 && !isspace((unsigned char)text[at - 1]))
                at--;
            if (at > cut / 2)
                cut = at;
            while (cut > 0 && isspace((unsigned char)text[cut - 1]))
                cut--;
            rg_buf_puts(&user, header);
            rg_buf_append(&user, text, cut);
            rg_buf_puts(&user, more);
            rg_buf_puts(&user, "\n\n");
            used += head_cost + rg_answer_count_tokens(text, cut) + tok(more);
            included++;
            trimmed = cut_one = true;
        } else {
            trimmed = true;   /* no room for a useful piece: stop here */
            free(header);
            break;
        }
        free(header);
    }
    if (included == 0) {
        /* Only possible when there were no passages at all. */
        rg_buf_puts(&user, "(none)\n\n");
    }
    rg_buf_puts(&user, tail);
    free(tail);
    out->system = rg_xstrdup(SYSTEM_PROMPT);
    out->user = rg_buf_steal(&user);
    out->npassages = included;
    out->last_trimmed = cut_one;
    out->tokens = used;
    out->budget = budget;
    return RG_OK;
}

/* ---- Citations -------------------------------------------------------- */

typedef struct {
    long lo, hi;
    size_t end;              /* offset just after the (last) number */
} cite_item;

#define GROUP_MAX 64
#define RANGE_MAX 100

static size_t skip_spaces(const char *g, size_t i, size_t len)
{
    while (i < len && (g[i] == ' ' || g[i] == '\t'))
        i++;
    return i;
}

static size_t parse_number(const char *g, size_t i, size_t len, long *v)
{
    size_t start = i;
    long x = 0;
    while (i < len && isdigit((unsigned char)g[i]) && i - start < 6)
        x = x * 10 + (g[i++] - '0');
    if (i == start || (i < len && isdigit((unsigned char)g[i])))
        return 0;
    *v = x;
    return i;
}

/* Optional word before the numbers: "[Passage 2]", "[source 1]". */
static size_t skip_label(const char *g, size_t i, size_t len)
{
    static const char *const labels[] = {"passages", "passage", "sources", "source", "refs", "ref", "doc"};
    for (size_t k = 0; k < RG_ARRAY_LEN(labels); k++) {
        size_t l = strlen(labels[k]);
        if (i + l <= len && strncasecmp(g + i, labels[k], l) == 0 &&
            !(i + l < len && isalpha((unsigned char)g[i + l])))
            return skip_spaces(g, i + l, len);
    }
    return i;
}

/* g is a whole bracket group "[...]".  Returns the items, or 0 if the group
 * is not a citation. */
static size_t parse_group(const char *g, size_t len, cite_item *items, size_t max)
{
    if (len < 3 || g[0] != '[' || g[len - 1] != ']')
        return 0;
    size_t n = 0, i = skip_label(g, skip_spaces(g, 1, len), len), end = len - 1;
    for (;;) {
        long lo, hi;
        size_t j = parse_number(g, i, end, &lo);
        if (!j)
            return 0;
        hi = lo;
        i = skip_spaces(g, j, end);
        size_t dash = 0;
        if (i < end && g[i] == '-')
            dash = 1;
        else if (i + 2 < end && (unsigned char)g[i] == 0xe2 && (unsigned char)g[i + 1] == 0x80 &&
                 (unsigned char)g[i + 2] == 0x93)
            dash = 3;   /* en dash */
        if (dash) {
            size_t k = parse_number(g, skip_spaces(g, i + dash, end), end, &hi);
            if (!k || hi < lo || hi - lo > RANGE_MAX)
                return 0;
            j = k;
            i = skip_spaces(g, k, end);
        }
        if (n < max)
            items[n++] = (cite_item){lo, hi, j};
        if (i == end)
            return n;
        if (g[i] == ',' || g[i] == ';')
            i = skip_label(g, skip_spaces(g, i + 1, end), end);
        else if (!isdigit((unsigned char)g[i]))
            return 0;
    }
}

static void citations_add(rg_citations *c, long v)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i] == v)
            return;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 8;
        c->items = rg_xrealloc(c->items, c->cap * sizeof *c->items);
    }
    c->items[c->n++] = (int)v;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void rg_citations_extract(const char *text, size_t len, rg_citations *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '[')
            continue;
        size_t j = i + 1;
        while (j < len && j - i < GROUP_MAX && text[j] != ']' && text[j] != '[' && text[j] != '\n')
            j++;
        if (j >= len || text[j] != ']')
            continue;
        cite_item items[32];
        size_t n = parse_group(text + i, j - i + 1, items, RG_ARRAY_LEN(items));
        for (size_t k = 0; k < n; k++)
            for (long v = items[k].lo; v <= items[k].hi; v++)
                citations_add(out, v);
        if (n)
            i = j;
    }
    if (out->n > 1)
        qsort(out->items, out->n, sizeof *out->items, cmp_int);
}

void rg_citations_free(rg_citations *c)
{
    free(c->items);
    memset(c, 0, sizeof *c);
}

void rg_cite_filter_init(rg_cite_filter *f, size_t npassages, rg_text_fn out, void *ctx)
{
    memset(f, 0, sizeof *f);
    f->npassages = npassages;
    f->out = out;
    f->ctx = ctx;
    rg_buf_init(&f->pending);
}

static void cf_emit(rg_cite_filter *f, const char *s, size_t n)
{
    if (n && !f->failed && !f->out(f->ctx, s, n))
        f->failed = true;
}

/* The held-back group is complete (ends with ']'): emit it, marked. */
static void cf_group(rg_cite_filter *f)
{
    const char *g = f->pending.data;
    size_t len = f->pending.len;
    cite_item items[32];
    size_t n = parse_group(g, len, items, RG_ARRAY_LEN(items));
    size_t from = 0;
    for (size_t k = 0; k < n; k++) {
        if (items[k].lo >= 1 && (size_t)items[k].hi <= f->npassages)
            continue;
        cf_emit(f, g + from, items[k].end - from);
        cf_emit(f, "?", 1);
        from = items[k].end;
        f->flagged++;
    }
    cf_emit(f, g + from, len - from);
    f->pending.len = 0;
}

bool rg_cite_filter_feed(rg_cite_filter *f, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && !f->failed) {
        if (f->pending.len == 0) {
            const char *open = memchr(text + i, '[', len - i);
            size_t run = open ? (size_t)(open - (text + i)) : len - i;
            cf_emit(f, text + i, run);
            i += run;
            if (open) {
                rg_buf_putc(&f->pending, '[');
                i++;
            }
            continue;
        }
        char c = text[i++];
        if (c == '[') {
            /* "[[" or "[x [": what was held is not a citation. */
            cf_emit(f, f->pending.data, f->pending.len);
            f->pending.len = 0;
            rg_buf_putc(&f->pending, '[');
        } else if (c == ']') {
            rg_buf_putc(&f->pending, c);
            cf_group(f);
        } else {
            rg_buf_putc(&f->pending, c);
            if (c == '\n' || f->pending.len >= GROUP_MAX) {
                cf_emit(f, f->pending.data, f->pending.len);
                f->pending.len = 0;
            }
        }
    }
    return !f->failed;
}

bool rg_cite_filter_flush(rg_cite_filter *f)
{
    cf_emit(f, f->pending.data, f->pending.len);
    f->pending.len = 0;
    return !f->failed;
}

void rg_cite_filter_free(rg_cite_filter *f)
{
    rg_buf_free(&f->pending);
}

/* ---- Secrets ---------------------------------------------------------- */

char *rg_url_for_display(const char *url)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    size_t host_len = strcspn(host, "/?#");
    const char *at = rg_memrchr(host, '@', host_len);
    if (at)
        return rg_xasprintf("%.*s%s", (int)(host - url), url, at + 1);
    return rg_xstrdup(url);
}

static const char REDACTED[] = "[redacted]";

void rg_redactor_init(rg_redactor *r, const char *secret, rg_text_fn out, void *ctx)
{
    memset(r, 0, sizeof *r);
    r->slen = secret ? strlen(secret) : 0;
    r->secret = r->slen >= RG_SECRET_MIN ? secret : NULL;
    r->out = out;
    r->ctx = ctx;
    rg_buf_init(&r->pending);
}

static void rd_emit(rg_redactor *r, const char *s, size_t n)
{
    if (n && !r->failed && !r->out(r->ctx, s, n))
        r->failed = true;
}

bool rg_redactor_feed(rg_redactor *r, const char *text, size_t len)
{
    if (!r->secret) {
        rd_emit(r, text, len);
        return !r->failed;
    }
    rg_buf_append(&r->pending, text, len);
    char *p = r->pending.data;
    size_t n = r->pending.len, start = 0;
    /* The answer is decoded text: the secret in any letter case. */
    for (size_t i = start; i + r->slen <= n; i++) {
        size_t span = rg_secret_span(p + i, n - i, r->secret, false);
        if (!span)
            continue;
        rd_emit(r, p + start, i - start);
        rd_emit(r, REDACTED, sizeof REDACTED - 1);
        start = i + span;
        i = start - 1;
    }
    /* Keep the longest tail that could still become the secret. */
    size_t keep = 0;
    for (size_t k = RG_MIN(r->slen - 1, n - start); k > 0; k--)
        if (strncasecmp(p + n - k, r->secret, k) == 0) {
            keep = k;
            break;
        }
    rd_emit(r, p + start, n - start - keep);
    memmove(p, p + n - keep, keep);
    r->pending.len = keep;
    p[keep] = 0;
    return !r->failed;
}

bool rg_redactor_flush(rg_redactor *r)
{
    rd_emit(r, r->pending.data, r->pending.len);
    r->pending.len = 0;
    return !r->failed;
}

void rg_redactor_free(rg_redactor *r)
{
    if (r->pending.data)
        memset(r->pending.data, 0, r->pending.cap);
    rg_buf_free(&r->pending);
}

/* ---- The answer stream ----------------------------------------------- */

static bool stream_after_redaction(void *ctx, const char *text, size_t len)
{
    rg_answer_stream *s = ctx;
    if (s->answer.len == 0) {
        /* Models often open with blank lines. */
        while (len && (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t'))
            text++, len--;
        if (!len)
            return true;
    }
    rg_buf_append(&s->answer, text, len);
    return !s->out || rg_cite_filter_feed(&s->cf, text, len);
}

void rg_answer_stream_init(rg_answer_stream *s, const char *secret, size_t npassages, rg_text_fn out, void *ctx)
{
    s->out = out;
    rg_buf_init(&s->answer);
    rg_cite_filter_init(&s->cf, npassages, out, ctx);
    rg_redactor_init(&s->red, secret, stream_after_redaction, s);
}

bool rg_answer_stream_feed(rg_answer_stream *s, const char *text, size_t len)
{
    return rg_redactor_feed(&s->red, text, len);
}

void rg_answer_stream_flush(rg_answer_stream *s)
{
    rg_redactor_flush(&s->red);
    if (s->out)
        rg_cite_filter_flush(&s->cf);
}

void rg_answer_stream_free(rg_answer_stream *s)
{
    rg_cite_filter_free(&s->cf);
    rg_redactor_free(&s->red);
    rg_buf_free(&s->answer);
}

/* ---- Passages and sources from retrieved hits ------------------------- */

static int64_t meta_int(const json_t *m, const char *key)
{
    json_t *v = json_object_get(m, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

rg_passage *rg_passages_from_hits(const rg_hits *hits)
{
    rg_passage *p = rg_xcalloc(hits->n ? hits->n : 1, sizeof *p);
    for (size_t i = 0; i < hits->n; i++) {
        const rg_hit *h = &hits->items[i];
        const char *path = json_string_value(json_object_get(h->metadata, "document_path"));
        p[i] = (rg_passage){.text = h->document ? h->document : "",
                            .path = path ? path : h->id,
                            .page = meta_int(h->metadata, "page_number"),
                            .chunk = meta_int(h->metadata, "chunk_position"),
                            .total = meta_int(h->metadata, "total_chunks")};
    }
    return p;
}

json_t *rg_answer_source_json(const rg_hit *h, size_t i)
{
    json_t *o = json_pack("{s:I, s:s}", "n", (json_int_t)(i + 1), "id", h->id);
    static const char *const lift[] = {"document_path", "title", "page_number", "chunk_position", "total_chunks"};
    for (size_t f = 0; h->metadata && f < RG_ARRAY_LEN(lift); f++)
        if (json_object_get(h->metadata, lift[f]))
            json_object_set(o, lift[f], json_object_get(h->metadata, lift[f]));
    return o;
}

void rg_answer_citations_json(const rg_citations *cites, const rg_hits *hits, size_t npassages, json_t **citations,
                              json_t **sources, json_t **invalid)
{
    *citations = json_array();
    *sources = json_array();
    *invalid = json_array();
    for (size_t i = 0; i < cites->n; i++) {
        int n = cites->items[i];
        bool ok = n >= 1 && (size_t)n <= npassages && (size_t)n <= hits->n;
        json_array_append_new(*citations, json_pack("{s:i, s:b}", "n", n, "valid", ok));
        if (ok)
            json_array_append_new(*sources, rg_answer_source_json(&hits->items[n - 1], (size_t)n - 1));
        else
            json_array_append_new(*invalid, json_integer(n));
    }
}
