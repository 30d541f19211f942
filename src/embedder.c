/* Provider selection and the helpers every embedder shares. */
#include "embedder.h"

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "config.h"
#include "util.h"

rg_embedder *rg_embedder_new(const rg_embedder_ops *ops, void *impl)
{
    rg_embedder *e = rg_xcalloc(1, sizeof *e);
    e->ops = ops;
    e->impl = impl;
    e->batch_size = 32;
    e->max_tokens = 512;
    return e;
}

rg_status rg_embedder_open(const rg_config *cfg, rg_embedder **out, rg_error *err)
{
    const char *provider = rg_config_str(cfg, "embedding.provider");
    rg_status rc;
    if (!strcmp(provider, "builtin"))
        rc = rg_embedder_builtin_open(cfg, out, err);
    else if (!strcmp(provider, "bert"))
        rc = rg_embedder_bert_open(cfg, out, err);
    else if (!strcmp(provider, "ollama") || !strcmp(provider, "openai"))
        rc = rg_embedder_remote_open(cfg, out, err);
    else
        return rg_error_set(err, RG_ERR_INVALID, "unknown embedding.provider '%s'; valid: builtin, bert, ollama, openai",
                            provider);
    if (rc == RG_OK && (*out)->ops->abi_version != RG_EMBEDDER_ABI) {
        int abi = (*out)->ops->abi_version;
        rg_embedder_free(*out);
        *out = NULL;
        return rg_error_set(err, RG_ERR_INTERNAL, "embedder %s was built for interface %d, not %d", provider, abi,
                            RG_EMBEDDER_ABI);
    }
    return rc;
}

void rg_embedder_free(rg_embedder *e)
{
    if (!e)
        return;
    if (e->ops && e->ops->free)
        e->ops->free(e->impl);
    free(e);
}

rg_status rg_embedder_embed(rg_embedder *e, const char *const *texts, size_t n, rg_embed_role role, float *out,
                            rg_error *err)
{
    size_t bs = e->batch_size > 0 ? (size_t)e->batch_size : 32;
    size_t dim = (size_t)e->identity.dim;
    for (size_t i = 0; i < n; i += bs) {
        size_t m = RG_MIN(bs, n - i);
        rg_status rc = e->ops->embed(e->impl, texts + i, m, role, out + i * dim, err);
        if (rc != RG_OK)
            return rc;
    }
    return RG_OK;
}

/* Generic estimate when the provider has no tokenizer: WordPiece splits
 * words into about one token per word plus one per punctuation mark and
 * extra pieces for long words.  Over-estimating is safe (chunks come out a
 * little shorter than they could be). */
static size_t estimate_tokens(const char *text, size_t len)
{
    size_t tokens = 0, word = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
        if (alnum) {
            word++;
            continue;
        }
        if (word)
            tokens += 1 + word / 6;
        word = 0;
        if (c > ' ')
            tokens++;
    }
    if (word)
        tokens += 1 + word / 6;
    return tokens;
}

size_t rg_embedder_count_tokens(rg_embedder *e, const char *text, size_t len)
{
    if (e && e->ops->count_tokens)
        return e->ops->count_tokens(e->impl, text, len);
    return estimate_tokens(text, len);
}

void rg_embedder_identity_format(const rg_embedder_identity *id, char *buf, size_t n)
{
    snprintf(buf, n, "%s:%s:%d:%.8s", id->kind, id->model[0] ? id->model : "-", id->dim, id->fingerprint);
}

rg_status rg_embedder_identity_check(const rg_embedder_identity *stored, const rg_embedder_identity *active,
                                     const char *collection, rg_error *err)
{
    if (!strcmp(stored->kind, active->kind) && !strcmp(stored->model, active->model) && stored->dim == active->dim &&
        !strcmp(stored->fingerprint, active->fingerprint))
        return RG_OK;
    char a[400], b[400];
    rg_embedder_identity_format(stored, a, sizeof a);
    rg_embedder_identity_format(active, b, sizeof b);
    return rg_error_set(err, RG_ERR_MISMATCH,
                        "collection '%s' was built with embedder %s but the configured embedder is %s; configure "
                        "the same embedding settings, or re-ingest into a new collection",
                        collection, a, b);
}

json_t *rg_embedder_identity_to_json(const rg_embedder_identity *id)
{
    return json_pack("{s:s, s:s, s:i, s:s}", "kind", id->kind, "model", id->model, "dim", id->dim, "fingerprint",
                     id->fingerprint);
}

char *rg_embedder_identity_to_text(const rg_embedder_identity *id)
{
    json_t *j = rg_embedder_identity_to_json(id);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

rg_status rg_embedder_identity_from_text(const char *text, rg_embedder_identity *id)
{
    memset(id, 0, sizeof *id);
    json_t *j = json_loads(text, 0, NULL);
    const char *kind = NULL, *model = NULL, *fp = NULL;
    int dim = 0;
    if (!j || json_unpack(j, "{s:s, s:s, s:i, s:s}", "kind", &kind, "model", &model, "dim", &dim, "fingerprint",
                          &fp) != 0 || dim <= 0) {
        json_decref(j);
        return RG_ERR_CORRUPT;
    }
    snprintf(id->kind, sizeof id->kind, "%s", kind);
    snprintf(id->model, sizeof id->model, "%s", model);
    snprintf(id->fingerprint, sizeof id->fingerprint, "%s", fp);
    id->dim = dim;
    json_decref(j);
    return RG_OK;
}
