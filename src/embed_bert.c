/* embedding.provider: bert — the native sentence-transformers engine
 * (bert_model.c) behind the rg_embedder interface. */
#include <stdlib.h>
#include <string.h>

#include "bert_model.h"
#include "config.h"
#include "embedder.h"
#include "util.h"

typedef struct bert_embedder {
    rg_bert_model *model;
    char *query_prefix, *document_prefix;
    size_t document_prefix_tokens;
    int batch_size;
} bert_embedder;

static rg_status bert_embed(void *impl, const char *const *texts, size_t n, rg_embed_role role, float *out,
                            rg_error *err)
{
    bert_embedder *b = impl;
    const char *prefix = role == RG_EMBED_QUERY ? b->query_prefix : b->document_prefix;
    return rg_bert_model_embed(b->model, texts, n, prefix && *prefix ? prefix : NULL, b->batch_size, out, err);
}

static size_t bert_count_tokens(void *impl, const char *text, size_t len)
{
    /* Additive over words (the chunker sums counts of pieces), so the
     * document prefix is taken off max_tokens instead of added here. */
    bert_embedder *b = impl;
    return rg_bert_model_count_tokens(b->model, text, len);
}

static void bert_free(void *impl)
{
    bert_embedder *b = impl;
    if (!b)
        return;
    rg_bert_model_free(b->model);
    free(b->query_prefix);
    free(b->document_prefix);
    free(b);
}

static const rg_embedder_ops bert_ops = {
    .abi_version = RG_EMBEDDER_ABI,
    .name = "bert",
    .embed = bert_embed,
    .count_tokens = bert_count_tokens,
    .free = bert_free,
};

rg_status rg_embedder_bert_open_path(const char *dir, const rg_bert_model_opts *opts, const char *query_prefix,
                                     const char *document_prefix, int batch_size, struct rg_embedder **out,
                                     rg_error *err)
{
    rg_bert_model *m;
    rg_status st = rg_bert_model_open(dir, opts, &m, err);
    if (st != RG_OK)
        return st;
    bert_embedder *b = rg_xcalloc(1, sizeof *b);
    b->model = m;
    b->query_prefix = rg_xstrdup(query_prefix ? query_prefix : "");
    b->document_prefix = rg_xstrdup(document_prefix ? document_prefix : "");
    b->document_prefix_tokens = rg_bert_model_count_tokens(m, b->document_prefix, strlen(b->document_prefix));
    b->batch_size = batch_size > 0 ? batch_size : 32;
    const rg_bert_info *info = rg_bert_model_info(m);
    rg_embedder *e = rg_embedder_new(&bert_ops, b);
    snprintf(e->identity.kind, sizeof e->identity.kind, "bert");
    /* The directory name is what users recognise ("all-MiniLM-L6-v2"). */
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    const char *base = dir + dl;
    while (base > dir && base[-1] != '/')
        base--;
    snprintf(e->identity.model, sizeof e->identity.model, "%.*s", (int)(dir + dl - base), base);
    e->identity.dim = info->hidden;
    /* Prefixes change the vectors as much as the weights do. */
    char *fp = rg_xasprintf("%s\nquery_prefix=%s\ndocument_prefix=%s\n", info->fingerprint, b->query_prefix,
                            b->document_prefix);
    rg_sha256_hex(fp, strlen(fp), e->identity.fingerprint);
    free(fp);
    /* The document prefix is read by the model too: it takes part of the
     * budget the chunker fills (queries are not chunked). */
    e->max_tokens = info->max_seq_length - (int)RG_MIN(b->document_prefix_tokens, (size_t)info->max_seq_length / 2);
    e->batch_size = b->batch_size;
    *out = e;
    return RG_OK;
}

rg_status rg_embedder_bert_open(const struct rg_config *cfg, rg_embedder **out, rg_error *err)
{
    const char *dir = rg_config_str(cfg, "embedding.model");
    if (!dir || !*dir)
        return rg_error_set(err, RG_ERR_INVALID, "embedding.provider is 'bert' but embedding.model is empty; set it "
                            "to a sentence-transformers model directory (see docs/embedding.md)");
    rg_bert_model_opts o = {
        .threads = (int)rg_config_int(cfg, "embedding.threads"),
        .precision = strcmp(rg_config_str(cfg, "embedding.precision"), "int8") == 0 ? RG_BERT_INT8 : RG_BERT_FP32,
    };
    rg_status st = rg_embedder_bert_open_path(dir, &o, rg_config_str(cfg, "embedding.query_prefix"),
                                              rg_config_str(cfg, "embedding.document_prefix"),
                                              (int)rg_config_int(cfg, "embedding.batch_size"), out, err);
    if (st != RG_OK)
        rg_error_prefix(err, "embedding.model");
    return st;
}
