/* Reranking: a second stage that rescores the best passages of any
 * retrieval mode and backend with a model that reads the query and the
 * passage together (a cross-encoder), and reorders them by that score.
 *
 * Providers (retrieval.rerank.provider), one file each behind
 * rg_reranker_ops:
 *   bert    the native engine (bert_model.c) on a sentence-transformers
 *           CrossEncoder directory (rerank.c)
 *   openai  an OpenAI-compatible POST /v1/rerank server (llama.cpp's server
 *           and others; rerank_http.c)
 * Off unless retrieval.rerank.model (or `--rerank-model`) is set. */
#ifndef RG_RERANK_H
#define RG_RERANK_H

#include <stddef.h>
#include "error.h"
#include "store.h"

struct rg_config;

typedef struct rg_reranker_ops {
    const char *name;
    /* Relevance of each passage to query, higher is better (n scores). */
    rg_status (*score)(void *impl, const char *query, const char *const *passages, size_t n, float *scores,
                       rg_error *err);
    void (*free)(void *impl);
} rg_reranker_ops;

typedef struct rg_reranker {
    const rg_reranker_ops *ops;
    void *impl;
    char name[300];          /* "bert:DIRNAME" or "openai:MODEL", for output */
    int top_n;               /* passages reranked (retrieval.rerank.top_n) */
} rg_reranker;

/* Opens the configured reranker.  model_override (may be NULL) replaces
 * retrieval.rerank.model (`--rerank-model`).  With no model configured
 * *out is NULL and RG_OK is returned: reranking is off. */
rg_status rg_reranker_open(const struct rg_config *cfg, const char *model_override, rg_reranker **out,
                           rg_error *err);
void rg_reranker_free(rg_reranker *r);

/* Reorders hits->items[0 .. min(top, n)) by the reranker's score of each
 * hit's document (which must be attached), best first; the rest keep their
 * order after them.  Reranked hits get distance = 1 - rerank score, and
 * first_scores (may be NULL; min(top, n) floats) receives their first-stage
 * score (1 - distance) in the new order. */
rg_status rg_reranker_rerank(rg_reranker *r, const char *query, rg_hits *hits, size_t top, float *first_scores,
                             rg_error *err);

/* Provider constructors. */
rg_status rg_reranker_bert_open(const char *dir, const struct rg_config *cfg, rg_reranker **out, rg_error *err);
rg_status rg_reranker_http_open(const char *model, const struct rg_config *cfg, rg_reranker **out, rg_error *err);
/* Used by providers: the shell around impl. */
rg_reranker *rg_reranker_new(const rg_reranker_ops *ops, void *impl, const char *name);

#endif
