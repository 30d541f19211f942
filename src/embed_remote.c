/* embedding.provider: ollama | openai — embeddings computed by a server.
 *
 *   ollama:  POST {url}/api/embed      {"model": M, "input": [texts]}  -> {"embeddings": [[...], ...]}
 *   openai:  POST {url}/v1/embeddings  {"model": M, "input": [texts]}  -> {"data": [{"index": i, "embedding": [...]}]}
 *
 * Batches of embedding.batch_size texts; 429 and 5xx answers and transport
 * failures are retried with exponential back-off; the API key is read from
 * the environment variable named by embedding.api_key_env and never appears
 * in messages.  The dimension is learned from one probe request at open, so
 * an unreachable server or unknown model fails early with a clear error. */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "embedder.h"
#include "http.h"
#include "util.h"

#define REMOTE_MAX_ATTEMPTS 4
/* Servers do not say how long their models read; 512 is the common BERT-size limit. */
#define REMOTE_MAX_TOKENS 512

typedef enum remote_kind { REMOTE_OLLAMA, REMOTE_OPENAI } remote_kind;

typedef struct remote {
    remote_kind kind;
    char *url;              /* full endpoint */
    char *model;
    char *query_prefix, *document_prefix;
    int batch_size;
    int dim;                /* 0 until the probe */
    rg_http *http;
    pthread_mutex_t lock;   /* one request at a time on the shared handle */
} remote;

static const char *kind_name(remote_kind k) { return k == REMOTE_OLLAMA ? "ollama" : "openai"; }

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The server's own error text, if the body is {"error": "..."} or
 * {"error": {"message": "..."}}. */
static char *server_error_text(const rg_buf *body)
{
    json_t *j = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
    json_t *e = json_object_get(j, "error");
    const char *msg = json_is_string(e) ? json_string_value(e) : json_string_value(json_object_get(e, "message"));
    char *out = NULL;
    if (msg)
        out = rg_xstrdup(msg);
    else if (body->len)
        out = rg_xstrndup(body->data, RG_MIN(body->len, (size_t)200));
    json_decref(j);
    return out ? out : rg_xstrdup("no details");
}

static rg_status post_with_retry(remote *r, const char *body, rg_buf *resp, rg_error *err)
{
    long delay = 200;
    for (int attempt = 1;; attempt++) {
        long status = 0;
        resp->len = 0;
        if (resp->data)
            resp->data[0] = 0;
        rg_status st = rg_http_request(r->http, "POST", r->url, body, strlen(body), &status, resp, err);
        bool retry = st == RG_ERR_NETWORK || (st == RG_OK && (status == 429 || status >= 500));
        if (st == RG_OK && status >= 200 && status < 300)
            return RG_OK;
        if (!retry || attempt == REMOTE_MAX_ATTEMPTS) {
            if (st != RG_OK)
                return rg_error_prefix(err, "%s embedder (model '%s')", kind_name(r->kind), r->model);
            char *why = server_error_text(resp);
            rg_status code = status == 404 ? RG_ERR_NOTFOUND : status == 401 || status == 403 ? RG_ERR_INVALID
                                                                                               : RG_ERR_SERVER;
            rg_error_set(err, code, "%s embedder: %s answered HTTP %ld for model '%s': %s%s", kind_name(r->kind),
                         r->url, status, r->model, why,
                         status == 404 ? " (check embedding.model and that the model is installed on the server)"
                         : status == 401 || status == 403 ? " (check the API key in the variable named by "
                                                            "embedding.api_key_env)"
                         : attempt > 1 ? " (gave up after retries)" : "");
            free(why);
            rg_http_mask(r->http, err);
            return code;
        }
        sleep_ms(delay);
        delay = RG_MIN(delay * 2, 8000L);
    }
}

/* Embeds up to batch_size texts (already prefixed); writes n rows of r->dim
 * (or learns dim when it is 0). */
static rg_status embed_batch(remote *r, const char *const *texts, size_t n, float *out, rg_error *err)
{
    json_t *req = json_object(), *in = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(in, json_string(texts[i] ? texts[i] : ""));
    json_object_set_new(req, "model", json_string(r->model));
    json_object_set_new(req, "input", in);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!body)
        return rg_error_set(err, RG_ERR_INVALID, "%s embedder: a text is not valid UTF-8", kind_name(r->kind));
    rg_buf resp;
    rg_buf_init(&resp);
    rg_status st = post_with_retry(r, body, &resp, err);
    free(body);
    if (st != RG_OK) {
        rg_buf_free(&resp);
        return st;
    }
    json_error_t jerr;
    json_t *j = json_loadb(resp.data, resp.len, 0, &jerr);
    rg_buf_free(&resp);
    json_t *rows = NULL;
    if (r->kind == REMOTE_OLLAMA) {
        rows = json_incref(json_object_get(j, "embeddings"));
    } else {
        /* OpenAI lists {"index", "embedding"} objects; honour the index. */
        json_t *data = json_object_get(j, "data");
        if (json_is_array(data) && json_array_size(data) == n) {
            rows = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(rows, json_null());
            size_t i;
            json_t *item;
            json_array_foreach(data, i, item) {
                json_t *idx = json_object_get(item, "index");
                size_t at = json_is_integer(idx) ? (size_t)json_integer_value(idx) : i;
                if (at < n)
                    json_array_set(rows, at, json_object_get(item, "embedding"));
            }
        }
    }
    st = RG_OK;
    if (!json_is_array(rows) || json_array_size(rows) != n) {
        st = rg_error_set(err, RG_ERR_SERVER, "%s embedder: %s returned %s instead of %zu embeddings for model '%s'",
                          kind_name(r->kind), r->url, j ? "an unexpected JSON shape" : "invalid JSON", n, r->model);
    }
    for (size_t i = 0; st == RG_OK && i < n; i++) {
        json_t *v = json_array_get(rows, i);
        size_t d = json_array_size(v);
        if (!json_is_array(v) || d == 0 || (r->dim && d != (size_t)r->dim)) {
            st = rg_error_set(err, RG_ERR_SERVER, "%s embedder: %s returned a %zu-dimensional vector for model '%s', "
                              "expected %d", kind_name(r->kind), r->url, d, r->model, r->dim);
            break;
        }
        if (!r->dim) {
            r->dim = (int)d;
            if (!out)
                break;
        }
        float *o = out + i * (size_t)r->dim;
        for (size_t k = 0; k < d; k++)
            o[k] = (float)json_number_value(json_array_get(v, k));
        rg_normalize(o, d);
    }
    json_decref(rows);
    json_decref(j);
    return st;
}

static rg_status remote_embed(void *impl, const char *const *texts, size_t n, rg_embed_role role, float *out,
                              rg_error *err)
{
    remote *r = impl;
    const char *prefix = role == RG_EMBED_QUERY ? r->query_prefix : r->document_prefix;
    size_t bs = (size_t)r->batch_size;
    char **prefixed = NULL;
    if (*prefix) {
        prefixed = rg_xmalloc(n * sizeof *prefixed + 1);
        for (size_t i = 0; i < n; i++)
            prefixed[i] = rg_xasprintf("%s%s", prefix, texts[i] ? texts[i] : "");
        texts = (const char *const *)prefixed;
    }
    rg_status st = RG_OK;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < n && st == RG_OK; i += bs)
        st = embed_batch(r, texts + i, RG_MIN(bs, n - i), out + i * (size_t)r->dim, err);
    pthread_mutex_unlock(&r->lock);
    if (prefixed) {
        for (size_t i = 0; i < n; i++)
            free(prefixed[i]);
        free(prefixed);
    }
    return st;
}

static void remote_free(void *impl)
{
    remote *r = impl;
    if (!r)
        return;
    rg_http_free(r->http);
    free(r->url);
    free(r->model);
    free(r->query_prefix);
    free(r->document_prefix);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static const rg_embedder_ops remote_ops = {
    .abi_version = RG_EMBEDDER_ABI,
    .name = "remote",
    .embed = remote_embed,
    .count_tokens = NULL,   /* the server's tokenizer is unknown: the chunker estimates */
    .free = remote_free,
};

rg_status rg_embedder_remote_open(const struct rg_config *cfg, rg_embedder **out, rg_error *err)
{
    const char *provider = rg_config_str(cfg, "embedding.provider");
    remote_kind kind = strcmp(provider, "ollama") == 0 ? REMOTE_OLLAMA : REMOTE_OPENAI;
    const char *model = rg_config_str(cfg, "embedding.model");
    const char *url = rg_config_str(cfg, "embedding.url");
    const char *key_env = rg_config_str(cfg, "embedding.api_key_env");
    if (!model || !*model)
        return rg_error_set(err, RG_ERR_INVALID, "embedding.provider is '%s' but embedding.model is empty; set it to "
                            "the server's model name (e.g. nomic-embed-text)", provider);
    if (!url || !*url) {
        if (kind == REMOTE_OPENAI)
            return rg_error_set(err, RG_ERR_INVALID, "embedding.provider is 'openai' but embedding.url is empty; set "
                                "it to the server's base URL (the part before /v1/embeddings)");
        url = "http://127.0.0.1:11434";
    }
    const char *key = NULL;
    if (key_env && *key_env) {
        key = getenv(key_env);
        if (!key || !*key)
            return rg_error_set(err, RG_ERR_INVALID, "embedding.api_key_env names %s, but that environment variable "
                                "is not set", key_env);
    }
    remote *r = rg_xcalloc(1, sizeof *r);
    r->kind = kind;
    size_t ul = strlen(url);
    while (ul > 0 && url[ul - 1] == '/')
        ul--;
    /* Accept base URLs with or without the /v1 suffix for OpenAI-style servers. */
    bool has_v1 = kind == REMOTE_OPENAI && ul >= 3 && strncmp(url + ul - 3, "/v1", 3) == 0;
    r->url = rg_xasprintf("%.*s%s", (int)ul, url,
                          kind == REMOTE_OLLAMA ? "/api/embed" : has_v1 ? "/embeddings" : "/v1/embeddings");
    r->model = rg_xstrdup(model);
    r->query_prefix = rg_xstrdup(rg_config_str(cfg, "embedding.query_prefix"));
    r->document_prefix = rg_xstrdup(rg_config_str(cfg, "embedding.document_prefix"));
    r->batch_size = (int)rg_config_int(cfg, "embedding.batch_size");
    if (r->batch_size <= 0)
        r->batch_size = 32;
    pthread_mutex_init(&r->lock, NULL);
    rg_http_opts ho = rg_http_default_opts();
    ho.timeout_ms = (long)rg_config_int(cfg, "embedding.timeout_ms");
    ho.bearer_token = key;
    ho.bearer_over_http = rg_config_bool(cfg, "embedding.api_key_over_http");
    ho.bearer_http_key = "embedding.api_key_over_http";
    rg_status st = rg_http_new(&ho, &r->http, err);
    if (st == RG_OK) {
        const char *probe[1] = {"dimension probe"};
        st = embed_batch(r, probe, 1, NULL, err);
    }
    if (st != RG_OK) {
        remote_free(r);
        return st;
    }
    rg_embedder *e = rg_embedder_new(&remote_ops, r);
    snprintf(e->identity.kind, sizeof e->identity.kind, "%s", kind_name(kind));
    snprintf(e->identity.model, sizeof e->identity.model, "%s", model);
    e->identity.dim = r->dim;
    /* The server (URL) does not change vectors; the model name, dimension and
     * prefixes do. */
    char *fp = rg_xasprintf("%s\n%s\n%d\nquery_prefix=%s\ndocument_prefix=%s\n", kind_name(kind), model, r->dim,
                            r->query_prefix, r->document_prefix);
    rg_sha256_hex(fp, strlen(fp), e->identity.fingerprint);
    free(fp);
    e->max_tokens = REMOTE_MAX_TOKENS;
    e->batch_size = r->batch_size;
    *out = e;
    return RG_OK;
}
