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

/* The settings that select and shape each provider's vectors, plus what
 * is needed to reach a server.  embedding.api_key_env names a variable;
 * the key itself never leaves the environment. */
static const char *const SETTINGS_BUILTIN[] = {"dimension", "query_prefix", "document_prefix", NULL};
static const char *const SETTINGS_BERT[] = {"model", "precision", "query_prefix", "document_prefix", NULL};
static const char *const SETTINGS_REMOTE[] = {"model", "url", "api_key_env", "query_prefix", "document_prefix", NULL};

static const char *const *settings_keys(const char *provider)
{
    if (!strcmp(provider, "builtin"))
        return SETTINGS_BUILTIN;
    if (!strcmp(provider, "bert"))
        return SETTINGS_BERT;
    if (!strcmp(provider, "ollama") || !strcmp(provider, "openai"))
        return SETTINGS_REMOTE;
    return NULL;
}

static void settings_record(const rg_config *cfg, const char *provider, rg_embedder_identity *id)
{
    const char *const *keys = settings_keys(provider);
    json_t *o = json_pack("{s:s}", "provider", provider);
    for (size_t i = 0; keys && keys[i]; i++) {
        char key[64];
        snprintf(key, sizeof key, "embedding.%s", keys[i]);
        const char *v = rg_config_str(cfg, key);
        char *abs = NULL;
        /* A model directory is found again from any working directory. */
        if (!strcmp(provider, "bert") && !strcmp(keys[i], "model") && *v && v[0] != '/')
            abs = realpath(v, NULL);
        json_object_set_new(o, keys[i], json_string(abs ? abs : v));
        free(abs);
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (text && strlen(text) < sizeof id->settings)
        snprintf(id->settings, sizeof id->settings, "%s", text);
    else
        id->settings[0] = '\0';   /* too long to keep: queries need the flags again */
    free(text);
}

int rg_embedder_settings_apply(const rg_embedder_identity *stored, rg_config *cfg)
{
    json_t *o = stored->settings[0] ? json_loads(stored->settings, 0, NULL) : NULL;
    int applied = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!json_is_string(v))
            continue;
        char key[64];
        snprintf(key, sizeof key, "embedding.%s", k);
        rg_error err;
        rg_config_source src;
        /* Only known keys; an explicit value (file, environment, flag) wins. */
        bool known = false;
        for (const rg_config_key *ck = rg_config_schema; ck->key; ck++)
            if (!strcmp(ck->key, key))
                known = true;
        if (!known || ((src = rg_config_source_of(cfg, key)) != RG_SRC_DEFAULT && src != RG_SRC_COLLECTION))
            continue;
        if (rg_config_set(cfg, key, json_string_value(v), RG_SRC_COLLECTION, &err) == RG_OK)
            applied++;
    }
    json_decref(o);
    return applied;
}

void rg_embedder_settings_conflicts(const rg_embedder_identity *stored, const rg_config *cfg, char *buf, size_t n)
{
    buf[0] = '\0';
    json_t *o = stored->settings[0] ? json_loads(stored->settings, 0, NULL) : NULL;
    size_t used = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        char key[64];
        snprintf(key, sizeof key, "embedding.%s", k);
        bool known = false;
        for (const rg_config_key *ck = rg_config_schema; ck->key; ck++)
            if (!strcmp(ck->key, key))
                known = true;
        if (!known || !json_is_string(v))
            continue;
        rg_config_source src = rg_config_source_of(cfg, key);
        if (src == RG_SRC_DEFAULT || src == RG_SRC_COLLECTION || !strcmp(rg_config_str(cfg, key), json_string_value(v)))
            continue;
        int w = snprintf(buf + used, n - used, "%s%s=%s (from %s; the collection has '%s')", used ? "; " : "", key,
                         rg_config_str(cfg, key), rg_config_origin(cfg, key), json_string_value(v));
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
    json_decref(o);
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
    if (rc == RG_OK)
        settings_record(cfg, provider, &(*out)->identity);
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
    json_t *j = json_pack("{s:s, s:s, s:i, s:s}", "kind", id->kind, "model", id->model, "dim", id->dim, "fingerprint",
                          id->fingerprint);
    json_t *settings = id->settings[0] ? json_loads(id->settings, 0, NULL) : NULL;
    if (json_is_object(settings))
        json_object_set_new(j, "settings", settings);
    else
        json_decref(settings);
    return j;
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
    /* Optional (collections made before settings were recorded have none). */
    json_t *settings = json_object_get(j, "settings");
    char *st = json_is_object(settings) ? json_dumps(settings, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (st && strlen(st) < sizeof id->settings)
        snprintf(id->settings, sizeof id->settings, "%s", st);
    free(st);
    json_decref(j);
    return RG_OK;
}
