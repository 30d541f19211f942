/* Query results a person can judge: see query_output.h. */
#include "query_output.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "filter.h"
#include "rerank.h"
#include "util.h"

void rg_query_result_init(rg_query_result *r)
{
    memset(r, 0, sizeof *r);
    rg_hits_init(&r->hits);
}

void rg_query_result_free(rg_query_result *r)
{
    for (size_t i = 0; r->duplicates && i < r->hits.n; i++)
        json_decref(r->duplicates[i]);
    free(r->duplicates);
    free(r->first_scores);
    rg_hits_free(&r->hits);
    rg_query_result_init(r);
}

/* ---- running the query ---- */

/* Conditions left to rg_query_run: the passage text always (backends filter
 * metadata), substring matches on metadata where the backend has none. */
static bool checked_here(const rg_filter *leaf, void *ctx)
{
    bool chromadb = *(const bool *)ctx;
    if (!strcmp(leaf->key, RG_FILTER_DOCUMENT))
        return true;
    return chromadb && (leaf->op == RG_FILTER_CONTAINS || leaf->op == RG_FILTER_NOT_CONTAINS);
}

/* The fields of a hit that say where it comes from. */
static const char *const SOURCE_FIELDS[] = {"document_path", "title", "page_number", "chunk_position", "total_chunks"};

static json_t *source_json(const rg_hit *h)
{
    json_t *o = json_pack("{s:s, s:f}", "id", h->id, "score", 1.0 - h->distance);
    for (size_t f = 0; h->metadata && f < RG_ARRAY_LEN(SOURCE_FIELDS); f++) {
        json_t *v = json_object_get(h->metadata, SOURCE_FIELDS[f]);
        if (v)
            json_object_set(o, SOURCE_FIELDS[f], v);
    }
    return o;
}

/* Fills out from one round's hits: filter checks, then duplicates folded
 * into the first (best-ranked) copy; keeps at most k passages but records
 * every duplicate of a kept one found in the round. */
static void collapse(rg_hits *hits, const float *firsts, const rg_filter *where, bool post, int k,
                     rg_query_result *out)
{
    json_t *seen = json_object();   /* hash of the text -> index in out->hits */
    out->duplicates = rg_xcalloc(hits->n ? hits->n : 1, sizeof *out->duplicates);
    if (firsts)
        out->first_scores = rg_xcalloc(hits->n ? hits->n : 1, sizeof *out->first_scores);
    for (size_t i = 0; i < hits->n; i++) {
        rg_hit *h = &hits->items[i];
        if (post && !rg_filter_match_record(where, h->metadata, h->document))
            continue;
        const char *doc = h->document ? h->document : "";
        char key[40];
        snprintf(key, sizeof key, "%016llx-%zu", (unsigned long long)rg_hash64(doc, strlen(doc), 0x5eed), strlen(doc));
        json_t *at = json_object_get(seen, key);
        if (at) {
            size_t j = (size_t)json_integer_value(at);
            const char *kept = out->hits.items[j].document ? out->hits.items[j].document : "";
            if (!strcmp(kept, doc)) {
                if (!out->duplicates[j])
                    out->duplicates[j] = json_array();
                json_array_append_new(out->duplicates[j], source_json(h));
                continue;
            }
            /* A 64-bit hash collision between different texts: kept apart. */
        }
        if ((int)out->hits.n >= k)
            continue;
        json_object_set_new(seen, key, json_integer((json_int_t)out->hits.n));
        if (firsts)
            out->first_scores[out->hits.n] = firsts[i];
        rg_hit *dst;
        rg_hits_push(&out->hits, h->id, h->distance, NULL, NULL);
        dst = &out->hits.items[out->hits.n - 1];
        dst->document = h->document;   /* moved, not copied */
        dst->metadata = h->metadata;
        h->document = NULL;
        h->metadata = NULL;
    }
    json_decref(seen);
}

rg_status rg_query_run(rg_collection *c, const char *text, const rg_retrieve_opts *o, rg_query_result *out,
                       rg_error *err)
{
    rg_query_result_init(out);
    if (o->k < 1)
        return rg_error_set(err, RG_ERR_INVALID, "k must be at least 1 (got %d)", o->k);
    bool chromadb = !strcmp(rg_store_backend(rg_collection_store(c)), "chromadb");
    bool post = false;
    rg_filter *pushed = rg_filter_without(o->where, checked_here, &chromadb, &post);
    /* Checked conditions usually reject most passages: start wider. */
    int64_t fetch = post ? RG_MAX((int64_t)o->k * 4, 50) : o->k, total = -1;
    rg_status rc = RG_OK;
    int rounds = 0;
    for (;;) {
        if (total >= 0 && fetch > total)
            fetch = RG_MAX(total, 1);
        if (fetch > INT_MAX)
            fetch = INT_MAX;
        rg_retrieve_opts q = *o;
        q.k = (int)fetch;
        q.where = pushed;
        q.include |= RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS;
        /* With a reranker, each returned passage's first-stage score. */
        float *firsts = o->reranker ? rg_xcalloc((size_t)fetch, sizeof *firsts) : NULL;
        q.first_scores = firsts;
        rg_hits hits;
        rg_hits_init(&hits);
        rc = rg_retrieve(c, text, &q, &hits, err);
        if (rc == RG_OK) {
            rg_query_result_free(out);
            collapse(&hits, firsts, o->where, post, o->k, out);
            out->fetched = hits.n;
            out->reranker = o->reranker ? o->reranker->name : NULL;
        }
        size_t got = hits.n;
        free(firsts);
        rg_hits_free(&hits);
        rounds++;
        if (rc != RG_OK || (int64_t)out->hits.n >= o->k || (int64_t)got < fetch)
            break;
        if (total < 0 && (rc = rg_collection_count(c, &total, err)) != RG_OK)
            break;
        if (fetch >= total || fetch >= INT_MAX)
            break;
        fetch *= 4;
    }
    rg_filter_free(pushed);
    if (rc != RG_OK)
        rg_query_result_free(out);
    out->rounds = rounds;
    return rc;
}

/* ---- JSON ---- */

json_t *rg_query_result_to_json(const rg_query_result *r, const char *query, const char *collection,
                                const char *backend, const char *mode, int k, double seconds)
{
    json_t *results = json_array();
    for (size_t i = 0; i < r->hits.n; i++) {
        const rg_hit *h = &r->hits.items[i];
        json_t *o = json_pack("{s:I, s:s, s:f, s:f}", "rank", (json_int_t)(i + 1), "id", h->id, "score",
                              1.0 - h->distance, "distance", (double)h->distance);
        if (r->first_scores) {
            json_object_set_new(o, "rerank_score", json_real(1.0 - h->distance));
            json_object_set_new(o, "retrieval_score", json_real(r->first_scores[i]));
        }
        json_t *m = h->metadata;
        for (size_t f = 0; m && f < RG_ARRAY_LEN(SOURCE_FIELDS); f++)
            if (json_object_get(m, SOURCE_FIELDS[f]))
                json_object_set(o, SOURCE_FIELDS[f], json_object_get(m, SOURCE_FIELDS[f]));
        if (h->document)
            json_object_set_new(o, "text", json_string(h->document));
        if (m)
            json_object_set(o, "metadata", m);
        if (r->duplicates && r->duplicates[i])
            json_object_set(o, "duplicates", r->duplicates[i]);
        json_array_append_new(results, o);
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:o}", "query", query, "collection", collection, "backend",
                          backend, "mode", mode, "k", k, "seconds", seconds, "results", results);
    if (r->reranker)
        json_object_set_new(j, "reranker", json_string(r->reranker));
    return j;
}

/* ---- excerpts ---- */

#define BOLD "\x1b[1m"
#define UNBOLD "\x1b[22m"
#define DIM "\x1b[2m"
#define UNDIM "\x1b[22m"

typedef struct term {
    char *s;
    size_t len;
    bool anywhere;   /* --contains text: matched at any byte, case-sensitive */
} term;

static bool word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

static bool stopword(const char *w, size_t n)
{
    static const char *const STOP[] = {"a",    "an",   "and",  "are",  "as",   "at",  "be",   "by",   "can",
                                       "do",   "does", "for",  "from", "had",  "has", "have", "how",  "in",
                                       "is",   "it",   "its",  "of",   "on",   "or",  "that", "the",  "this",
                                       "to",   "was",  "were", "what", "when", "where", "which", "who", "why",
                                       "will", "with"};
    for (size_t i = 0; i < RG_ARRAY_LEN(STOP); i++)
        if (strlen(STOP[i]) == n && !strncasecmp(STOP[i], w, n))
            return true;
    return false;
}

/* The query's words, lower-cased, a plural or verb ending cut so "cells"
 * finds "cell" and "cellular". */
static size_t query_terms(const char *query, const char *contains, term **out)
{
    term *t = NULL;
    size_t n = 0;
    for (const char *p = query; p && *p;) {
        while (*p && !word_byte((unsigned char)*p))
            p++;
        const char *w = p;
        while (*p && word_byte((unsigned char)*p))
            p++;
        size_t len = (size_t)(p - w);
        if (len < 2 || stopword(w, len))
            continue;
        static const char *const ENDINGS[] = {"ing", "ed", "es", "s"};
        for (size_t e = 0; e < RG_ARRAY_LEN(ENDINGS); e++) {
            size_t el = strlen(ENDINGS[e]);
            if (len >= el + 3 && !strncasecmp(w + len - el, ENDINGS[e], el)) {
                len -= el;
                break;
            }
        }
        t = rg_xrealloc(t, (n + 1) * sizeof *t);
        t[n].s = rg_xstrndup(w, len);
        for (char *c = t[n].s; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        t[n].len = len;
        t[n++].anywhere = false;
    }
    if (contains && *contains) {
        t = rg_xrealloc(t, (n + 1) * sizeof *t);
        t[n].s = rg_xstrdup(contains);
        t[n].len = strlen(contains);
        t[n++].anywhere = true;
    }
    *out = t;
    return n;
}

/* Length of the match of a term at text[i] (0: none). */
static size_t match_at(const char *text, size_t n, size_t i, const term *t, size_t nt, size_t *which)
{
    bool start = i == 0 || !word_byte((unsigned char)text[i - 1]);
    for (size_t k = 0; k < nt; k++) {
        if (t[k].len > n - i)
            continue;
        if (t[k].anywhere ? !memcmp(text + i, t[k].s, t[k].len)
                          : start && !strncasecmp(text + i, t[k].s, t[k].len)) {
            if (which)
                *which = k;
            size_t len = t[k].len;
            if (!t[k].anywhere) /* highlight the whole word */
                while (i + len < n && word_byte((unsigned char)text[i + len]))
                    len++;
            return len;
        }
    }
    return 0;
}

/* Start of the window of max bytes holding the most different terms. */
static size_t best_window(const char *text, size_t n, const term *t, size_t nt, size_t max)
{
    if (!nt || n <= max)
        return 0;
    size_t *pos = NULL, *who = NULL, np = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k, len = match_at(text, n, i, t, nt, &k);
        if (!len)
            continue;
        pos = rg_xrealloc(pos, (np + 1) * sizeof *pos);
        who = rg_xrealloc(who, (np + 1) * sizeof *who);
        pos[np] = i;
        who[np++] = k;
        i += len - 1;
    }
    size_t best = 0, best_score = 0;
    bool *seen = rg_xcalloc(nt, sizeof *seen);
    for (size_t a = 0; a < np; a++) {
        /* Some context before the first match. */
        size_t start = pos[a] > max / 6 ? pos[a] - max / 6 : 0;
        memset(seen, 0, nt * sizeof *seen);
        size_t score = 0;
        for (size_t b = a; b < np && pos[b] < start + max; b++)
            if (!seen[who[b]])
                seen[who[b]] = true, score++;
        if (score > best_score)
            best_score = score, best = start;
    }
    free(seen);
    free(pos);
    free(who);
    /* Begin at a word. */
    if (best > 0) {
        size_t i = best;
        while (i < n && i < best + 20 && text[i] != ' ' && text[i] != '\n' && text[i] != '\t')
            i++;
        if (i < n && i < best + 20)
            best = i + 1;
        while (best < n && ((unsigned char)text[best] & 0xc0) == 0x80)
            best++;
    }
    return best;
}

char *rg_query_excerpt(const char *text, const char *query, const char *contains, size_t max_chars, bool full,
                       bool color)
{
    if (!max_chars)
        max_chars = 240;
    term *t;
    size_t nt = query_terms(query, contains, &t);
    size_t n = strlen(text);
    size_t i = full ? 0 : best_window(text, n, t, nt, max_chars);
    rg_buf b;
    rg_buf_init(&b);
    if (i > 0)
        rg_buf_puts(&b, "... ");
    size_t out = 0;
    bool space = false;
    while (i < n && (full || out < max_chars)) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
            if (full && ch == '\n') {
                rg_buf_putc(&b, '\n');
            } else if (full && ch != '\r') {
                rg_buf_putc(&b, (char)ch);
            } else if (!full && !space) {
                rg_buf_putc(&b, ' ');
                out++;
            }
            space = !full;
            i++;
            continue;
        }
        space = false;
        size_t len = match_at(text, n, i, t, nt, NULL);
        if (len) {
            /* A highlighted word counts by characters and stops where the
             * excerpt does: one long word (or a run of undecodable bytes,
             * each escaped to four) must not overrun max_chars. */
            size_t chars = 0, cut = 0;
            while (cut < len && (full || out + chars < max_chars)) {
                size_t cl = rg_utf8_seq_len((const unsigned char *)text + i + cut, len - cut);
                cut += cl ? cl : 1;
                chars++;
            }
            if (color)
                rg_buf_puts(&b, BOLD);
            rg_buf_put_escaped(&b, text + i, cut);
            if (color)
                rg_buf_puts(&b, UNBOLD);
            i += cut;
            out += chars;
            continue;
        }
        /* One character (a whole UTF-8 sequence, escaped if need be). */
        size_t cl = rg_utf8_seq_len((const unsigned char *)text + i, n - i);
        if (!cl)
            cl = 1;
        rg_buf_put_escaped(&b, text + i, cl);
        i += cl;
        out++;
    }
    if (i < n && !full)
        rg_buf_puts(&b, " ...");
    for (size_t k = 0; k < nt; k++)
        free(t[k].s);
    free(t);
    return rg_buf_steal(&b);
}

/* ---- text view ---- */

/* Paths below the working directory are shown relative to it. */
static const char *display_path(const char *path, const char *cwd)
{
    size_t n = cwd ? strlen(cwd) : 0;
    if (n > 1 && strncmp(path, cwd, n) == 0 && path[n] == '/')
        return path + n + 1;
    return path;
}

static void print_source(FILE *out, const json_t *m, const char *id, const char *cwd)
{
    const char *path = json_string_value(json_object_get(m, "document_path"));
    rg_fputs_escaped(path ? display_path(path, cwd) : id, out);
    json_t *page = json_object_get(m, "page_number");
    json_t *pos = json_object_get(m, "chunk_position");
    json_t *tot = json_object_get(m, "total_chunks");
    if (page)
        fprintf(out, " (page %lld)", (long long)json_integer_value(page));
    if (pos && tot)
        fprintf(out, " chunk %lld/%lld", (long long)json_integer_value(pos) + 1, (long long)json_integer_value(tot));
}

void rg_query_result_print_text(const rg_query_result *r, const char *query, const rg_query_text_opts *o, FILE *out)
{
    char *cwd = getcwd(NULL, 0);
    if (r->reranker)
        fprintf(out, "reranked by %s\n", r->reranker);
    for (size_t i = 0; i < r->hits.n; i++) {
        const rg_hit *h = &r->hits.items[i];
        json_t *m = h->metadata;
        fprintf(out, "%zu. %s[%.3f]%s ", i + 1, o->color ? DIM : "", 1.0 - h->distance, o->color ? UNDIM : "");
        print_source(out, m, h->id, cwd);
        const char *title = json_string_value(json_object_get(m, "title"));
        if (title && *title) {
            fputs(" \xe2\x80\x94 ", out);
            rg_fputs_escaped(title, out);
        }
        fputc('\n', out);
        json_t *dups = r->duplicates ? r->duplicates[i] : NULL;
        if (dups) {
            /* The same passage elsewhere: its other sources, on one line. */
            size_t nd = json_array_size(dups), shown = RG_MIN(nd, (size_t)3);
            fputs("   also in: ", out);
            for (size_t d = 0; d < shown; d++) {
                json_t *s = json_array_get(dups, d);
                if (d)
                    fputs(", ", out);
                print_source(out, s, json_string_value(json_object_get(s, "id")), cwd);
            }
            if (nd > shown)
                fprintf(out, " and %zu more", nd - shown);
            fputc('\n', out);
        }
        if (h->document) {
            char *ex = rg_query_excerpt(h->document, query, o->contains, o->excerpt_chars, o->show_text, o->color);
            fprintf(out, "   %s\n", ex);
            free(ex);
        }
    }
    free(cwd);
}
