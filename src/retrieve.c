/* Vector, BM25 and hybrid retrieval behind one call.  See retrieve.h. */
#include "retrieve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rerank.h"
#include "util.h"

static const char *const MODE_NAMES[] = {"vector", "bm25", "hybrid"};
static const char *const FUSION_NAMES[] = {"rrf", "score"};

const char *rg_retrieve_mode_name(rg_retrieve_mode m)
{
    return MODE_NAMES[m];
}

const char *rg_fusion_name(rg_fusion f)
{
    return FUSION_NAMES[f];
}

rg_status rg_retrieve_mode_parse(const char *s, rg_retrieve_mode *out, rg_error *err)
{
    for (size_t i = 0; i < RG_ARRAY_LEN(MODE_NAMES); i++)
        if (!strcmp(s, MODE_NAMES[i]))
            return *out = (rg_retrieve_mode)i, RG_OK;
    return rg_error_set(err, RG_ERR_INVALID, "unknown retrieval mode '%s'; valid modes: vector, bm25, hybrid", s);
}

rg_status rg_fusion_parse(const char *s, rg_fusion *out, rg_error *err)
{
    for (size_t i = 0; i < RG_ARRAY_LEN(FUSION_NAMES); i++)
        if (!strcmp(s, FUSION_NAMES[i]))
            return *out = (rg_fusion)i, RG_OK;
    return rg_error_set(err, RG_ERR_INVALID, "unknown fusion '%s'; valid: rrf, score", s);
}

void rg_retrieve_opts_from_config(rg_retrieve_opts *o, const rg_config *cfg)
{
    memset(o, 0, sizeof *o);
    rg_error ignored;
    o->k = (int)rg_config_int(cfg, "retrieval.k");
    /* The schema has already validated the enums. */
    rg_retrieve_mode_parse(rg_config_str(cfg, "retrieval.mode"), &o->mode, &ignored);
    rg_fusion_parse(rg_config_str(cfg, "retrieval.fusion"), &o->fusion, &ignored);
    o->rrf_k = (int)rg_config_int(cfg, "retrieval.rrf_k");
    o->vector_weight = rg_config_float(cfg, "retrieval.vector_weight");
    o->bm25_weight = rg_config_float(cfg, "retrieval.bm25_weight");
    o->candidates = (int)rg_config_int(cfg, "retrieval.candidates");
}

/* ---- fusion ---- */

typedef struct fused {
    const char *id;
    double score;
} fused;

static int cmp_fused(const void *a, const void *b)
{
    const fused *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Per-side contribution of the hit at rank i (0-based) of list l. */
static void side_scores(const rg_hits *l, bool is_lex, const rg_retrieve_opts *o, double weight, double *out)
{
    if (o->fusion == RG_FUSION_RRF) {
        for (size_t i = 0; i < l->n; i++)
            out[i] = weight / ((double)o->rrf_k + (double)(i + 1));
        return;
    }
    /* Similarity = 1 - distance (cosine) or -distance (BM25); lists are
     * best first, so the first is the maximum and the last the minimum. */
    double hi = -INFINITY, lo = INFINITY;
    for (size_t i = 0; i < l->n; i++) {
        double s = is_lex ? -(double)l->items[i].distance : 1.0 - (double)l->items[i].distance;
        hi = fmax(hi, s);
        lo = fmin(lo, s);
    }
    for (size_t i = 0; i < l->n; i++) {
        double s = is_lex ? -(double)l->items[i].distance : 1.0 - (double)l->items[i].distance;
        out[i] = weight * (hi > lo ? (s - lo) / (hi - lo) : 1.0);
    }
}

void rg_fuse(const rg_hits *vec, const rg_hits *lex, const rg_retrieve_opts *o, int k, rg_hits *out)
{
    size_t cap = vec->n + lex->n;
    fused *f = rg_xmalloc((cap ? cap : 1) * sizeof *f);
    double *sv = rg_xmalloc((vec->n + 1) * sizeof *sv), *sl = rg_xmalloc((lex->n + 1) * sizeof *sl);
    side_scores(vec, false, o, o->vector_weight, sv);
    side_scores(lex, true, o, o->bm25_weight, sl);
    json_t *index = json_object();
    size_t n = 0;
    for (int side = 0; side < 2; side++) {
        const rg_hits *l = side ? lex : vec;
        const double *s = side ? sl : sv;
        for (size_t i = 0; i < l->n; i++) {
            json_t *at = json_object_get(index, l->items[i].id);
            if (at) {
                f[json_integer_value(at)].score += s[i];
                continue;
            }
            json_object_set_new(index, l->items[i].id, json_integer((json_int_t)n));
            f[n++] = (fused){l->items[i].id, s[i]};
        }
    }
    qsort(f, n, sizeof *f, cmp_fused);
    for (size_t i = 0; i < n && (int)i < k; i++)
        rg_hits_push(out, f[i].id, (float)(1.0 - f[i].score), NULL, NULL);
    json_decref(index);
    free(sv);
    free(sl);
    free(f);
}

/* ---- retrieval ---- */

static rg_status sides(rg_collection *c, const char *text, const rg_retrieve_opts *o, int depth, int exact, rg_hits *vec,
                       rg_hits *lex, rg_error *err)
{
    rg_query_opts q = {
        .k = depth, .where = o->where, .include = 0, .search_complexity = o->search_complexity, .exact = exact};
    rg_status rc = vec ? rg_collection_query_text(c, text, &q, vec, err) : RG_OK;
    if (rc == RG_OK && lex)
        rc = rg_collection_query_lexical(c, text, &q, lex, err);
    return rc;
}

rg_status rg_retrieve_sides(rg_collection *c, const char *text, const rg_retrieve_opts *o, int depth, rg_hits *vec,
                            rg_hits *lex, rg_error *err)
{
    return sides(c, text, o, depth, 0, vec, lex, err);
}

rg_status rg_retrieve_rerank(rg_collection *c, const char *text, rg_reranker *r, size_t top, rg_hits *hits,
                             float *first_scores, rg_error *err)
{
    size_t n = RG_MIN(top, hits->n);
    bool missing = false;
    for (size_t i = 0; i < n; i++)
        missing = missing || !hits->items[i].document;
    rg_status rc = RG_OK;
    if (missing) {
        /* Only the reranked head needs its text; attach fills a list. */
        rg_hits head = {.items = hits->items, .n = n, .cap = n};
        unsigned include = RG_INCLUDE_DOCUMENTS;
        for (size_t i = 0; i < n; i++)
            if (hits->items[i].metadata)
                include |= RG_INCLUDE_METADATAS;   /* attach replaces both */
        rc = rg_collection_attach(c, &head, include, err);
    }
    if (rc == RG_OK)
        rc = rg_reranker_rerank(r, text, hits, n, first_scores, err);
    return rc;
}

static rg_status retrieve_first(rg_collection *c, const char *text, const rg_retrieve_opts *o, rg_hits *out,
                                rg_error *err);

rg_status rg_retrieve(rg_collection *c, const char *text, const rg_retrieve_opts *o, rg_hits *out, rg_error *err)
{
    if (!o->reranker)
        return retrieve_first(c, text, o, out, err);
    if (o->k < 1)
        return rg_error_set(err, RG_ERR_INVALID, "k must be at least 1 (got %d)", o->k);
    rg_retrieve_opts first = *o;
    first.reranker = NULL;
    first.k = RG_MAX(o->k, o->reranker->top_n);
    first.include |= RG_INCLUDE_DOCUMENTS;
    rg_hits all;
    rg_hits_init(&all);
    rg_status rc = retrieve_first(c, text, &first, &all, err);
    float *firsts = rg_xmalloc((all.n ? all.n : 1) * sizeof *firsts);
    if (rc == RG_OK)
        rc = rg_reranker_rerank(o->reranker, text, &all, all.n, firsts, err);
    for (size_t i = 0; rc == RG_OK && i < all.n && (int)i < o->k; i++) {
        rg_hit *h = &all.items[i];
        if (o->first_scores)
            o->first_scores[i] = firsts[i];
        rg_hits_push(out, h->id, h->distance, NULL, NULL);
        if (o->include & RG_INCLUDE_DOCUMENTS) {
            out->items[out->n - 1].document = h->document;
            h->document = NULL;
        }
        out->items[out->n - 1].metadata = h->metadata;
        h->metadata = NULL;
    }
    free(firsts);
    rg_hits_free(&all);
    return rc;
}

static rg_status retrieve_first(rg_collection *c, const char *text, const rg_retrieve_opts *o, rg_hits *out,
                                rg_error *err)
{
    if (o->k < 1)
        return rg_error_set(err, RG_ERR_INVALID, "k must be at least 1 (got %d)", o->k);
    rg_query_opts q = {.k = o->k, .where = o->where, .include = o->include, .search_complexity = o->search_complexity};
    switch (o->mode) {
    case RG_RETRIEVE_VECTOR:
        return rg_collection_query_text(c, text, &q, out, err);
    case RG_RETRIEVE_BM25: {
        size_t first = out->n;
        rg_status rc = rg_collection_query_lexical(c, text, &q, out, err);
        for (size_t i = first; rc == RG_OK && i < out->n; i++)
            out->items[i].distance = 1.0f + out->items[i].distance; /* 1 - score */
        return rc;
    }
    case RG_RETRIEVE_HYBRID:
        break;
    }
    if (o->fusion == RG_FUSION_RRF && o->rrf_k < 1)
        return rg_error_set(err, RG_ERR_INVALID, "rrf_k must be at least 1 (got %d)", o->rrf_k);
    int depth = o->candidates > o->k ? o->candidates : o->k;
    rg_hits vec, lex, fusedh;
    rg_hits_init(&vec);
    rg_hits_init(&lex);
    rg_hits_init(&fusedh);
    /* Only the vector side's top k needs exact distances: past it, a hit
     * only adds a weighted score to fusion, and approximate distances spare
     * leann one embedding recompute per hit (about 100 at the default
     * depth). */
    rg_status rc = sides(c, text, o, depth, o->k, &vec, &lex, err);
    if (rc == RG_OK) {
        rg_fuse(&vec, &lex, o, o->k, &fusedh);
        rc = rg_collection_attach(c, &fusedh, o->include, err);
    }
    if (rc == RG_OK) {
        for (size_t i = 0; i < fusedh.n; i++) {
            rg_hit *h = &fusedh.items[i];
            rg_hits_push(out, h->id, h->distance, NULL, NULL);
            out->items[out->n - 1].document = h->document;
            out->items[out->n - 1].metadata = h->metadata;
            h->document = NULL;
            h->metadata = NULL;
        }
    }
    rg_hits_free(&vec);
    rg_hits_free(&lex);
    rg_hits_free(&fusedh);
    return rc;
}
