/* The reranking stage and its native provider.  See rerank.h. */
#include "rerank.h"

#include <stdlib.h>
#include <string.h>

#include "bert_model.h"
#include "config.h"
#include "util.h"

rg_reranker *rg_reranker_new(const rg_reranker_ops *ops, void *impl, const char *name)
{
    rg_reranker *r = rg_xcalloc(1, sizeof *r);
    r->ops = ops;
    r->impl = impl;
    r->top_n = 50;
    snprintf(r->name, sizeof r->name, "%s", name);
    return r;
}

void rg_reranker_free(rg_reranker *r)
{
    if (!r)
        return;
    r->ops->free(r->impl);
    free(r);
}

rg_status rg_reranker_open(const rg_config *cfg, const char *model_override, rg_reranker **out, rg_error *err)
{
    *out = NULL;
    const char *model = model_override && *model_override ? model_override : rg_config_str(cfg, "retrieval.rerank.model");
    if (!model || !*model)
        return RG_OK;
    const char *provider = rg_config_str(cfg, "retrieval.rerank.provider");
    rg_status st = provider && strcmp(provider, "openai") == 0 ? rg_reranker_http_open(model, cfg, out, err)
                                                               : rg_reranker_bert_open(model, cfg, out, err);
    if (st != RG_OK)
        return rg_error_prefix(err, "retrieval.rerank.model");
    (*out)->top_n = (int)rg_config_int(cfg, "retrieval.rerank.top_n");
    return RG_OK;
}

typedef struct ranked {
    rg_hit hit;
    float score, first;
    size_t pos;
} ranked;

static int by_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;   /* ties keep the first-stage order */
}

rg_status rg_reranker_rerank(rg_reranker *r, const char *query, rg_hits *hits, size_t top, float *first_scores,
                             rg_error *err)
{
    size_t n = RG_MIN(top, hits->n);
    if (n == 0)
        return RG_OK;
    const char **texts = rg_xmalloc(n * sizeof *texts);
    for (size_t i = 0; i < n; i++)
        texts[i] = hits->items[i].document ? hits->items[i].document : "";
    float *scores = rg_xmalloc(n * sizeof *scores);
    rg_status st = r->ops->score(r->impl, query, texts, n, scores, err);
    free(texts);
    if (st != RG_OK) {
        free(scores);
        return rg_error_prefix(err, "reranking with %s", r->name);
    }
    ranked *v = rg_xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (ranked){hits->items[i], scores[i], 1.0f - hits->items[i].distance, i};
    qsort(v, n, sizeof *v, by_score);
    for (size_t i = 0; i < n; i++) {
        hits->items[i] = v[i].hit;
        hits->items[i].distance = 1.0f - v[i].score;
        if (first_scores)
            first_scores[i] = v[i].first;
    }
    free(v);
    free(scores);
    return RG_OK;
}

/* ---- native provider: a CrossEncoder directory ---- */

typedef struct bert_reranker {
    rg_bert_model *model;
    int batch_size;
} bert_reranker;

static rg_status bert_score(void *impl, const char *query, const char *const *passages, size_t n, float *scores,
                            rg_error *err)
{
    bert_reranker *b = impl;
    return rg_bert_model_score(b->model, query, passages, n, b->batch_size, scores, err);
}

static void bert_free(void *impl)
{
    bert_reranker *b = impl;
    if (!b)
        return;
    rg_bert_model_free(b->model);
    free(b);
}

static const rg_reranker_ops bert_ops = {.name = "bert", .score = bert_score, .free = bert_free};

rg_status rg_reranker_bert_open(const char *dir, const rg_config *cfg, rg_reranker **out, rg_error *err)
{
    rg_bert_model_opts o = {.threads = (int)rg_config_int(cfg, "embedding.threads"), .precision = RG_BERT_FP32};
    /* the schema admits only the names rg_bert_precision_parse knows */
    rg_bert_precision_parse(rg_config_str(cfg, "retrieval.rerank.precision"), &o.precision);
    rg_bert_model *m;
    rg_status st = rg_bert_model_open(dir, &o, &m, err);
    if (st != RG_OK)
        return st;
    if (rg_bert_model_info(m)->kind != RG_BERT_CROSS_ENCODER) {
        st = rg_error_set(err, RG_ERR_INVALID, "%s is a bi-encoder (%s), not a cross-encoder; a reranker is a "
                          "sentence-transformers CrossEncoder directory (BertForSequenceClassification or "
                          "XLMRobertaForSequenceClassification, e.g. ms-marco-MiniLM-L-6-v2)", dir,
                          rg_bert_model_info(m)->architecture);
        rg_bert_model_free(m);
        return st;
    }
    bert_reranker *b = rg_xcalloc(1, sizeof *b);
    b->model = m;
    b->batch_size = (int)rg_config_int(cfg, "retrieval.rerank.batch_size");
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    const char *base = dir + dl;
    while (base > dir && base[-1] != '/')
        base--;
    char name[300];
    /* the precision it runs (bf16 without AMX-BF16 runs fp32) */
    rg_bert_precision run = rg_bert_model_precision(m);
    snprintf(name, sizeof name, "bert:%.*s%s%s%s", (int)(dir + dl - base), base, run == RG_BERT_FP32 ? "" : " (",
             run == RG_BERT_FP32 ? "" : rg_bert_precision_name(run), run == RG_BERT_FP32 ? "" : ")");
    *out = rg_reranker_new(&bert_ops, b, name);
    return RG_OK;
}

#ifdef RG_WITHOUT_CHROMADB
/* rerank_http.c needs libcurl, which this build left out. */
rg_status rg_reranker_http_open(const char *model, const rg_config *cfg, rg_reranker **out, rg_error *err)
{
    return rg_error_set(err, RG_ERR_UNAVAILABLE, "retrieval.rerank.provider 'openai' was not compiled in (this "
                        "ragged was built with WITHOUT_CHROMADB=1, without libcurl); rebuild with libcurl or use "
                        "retrieval.rerank.provider: bert");
}
#endif
