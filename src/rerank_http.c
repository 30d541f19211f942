/* retrieval.rerank.provider: openai — an OpenAI-compatible rerank server
 * (llama.cpp's `llama-server --reranking`, and others with the same API):
 *   POST {url}/v1/rerank  {"model", "query", "documents": [...], "top_n": n}
 *   -> {"results": [{"index": i, "relevance_score": s}, ...]}
 * All passages of a query go in one request (the server batches). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "http.h"
#include "rerank.h"
#include "util.h"

typedef struct http_reranker {
    rg_http *http;
    char *url, *model;
} http_reranker;

static rg_status http_score(void *impl, const char *query, const char *const *passages, size_t n, float *scores,
                            rg_error *err)
{
    http_reranker *h = impl;
    json_t *docs = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(docs, json_string(passages[i]));
    json_t *req = json_pack("{s:s, s:s, s:o, s:I}", "model", h->model, "query", query, "documents", docs, "top_n",
                            (json_int_t)n);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return rg_error_set(err, RG_ERR_INVALID, "the query or a passage is not valid UTF-8");
    rg_buf resp;
    rg_buf_init(&resp);
    long status = 0;
    rg_status st = RG_OK;
    /* Busy (429) and server errors are retried twice, 0.2 s then 0.4 s later. */
    for (int attempt = 0; attempt < 3; attempt++) {
        if (attempt) {
            struct timespec ts = {0, 200000000L * attempt};
            nanosleep(&ts, NULL);
        }
        resp.len = 0;
        st = rg_http_request(h->http, "POST", h->url, body, strlen(body), &status, &resp, err);
        if (st == RG_OK && status != 429 && status < 500)
            break;
    }
    free(body);
    if (st != RG_OK) {
        rg_buf_free(&resp);
        return st;
    }
    if (status < 200 || status >= 300) {
        st = rg_error_set(err, status == 404 ? RG_ERR_NOTFOUND : RG_ERR_SERVER,
                          "%s answered HTTP %ld for model '%s': %.200s%s", h->url, status, h->model,
                          resp.data ? resp.data : "",
                          status == 404 ? " (does the server offer /v1/rerank? llama-server needs --reranking)" : "");
        rg_buf_free(&resp);
        return st;
    }
    json_t *j = json_loadb(resp.data ? resp.data : "", resp.len, 0, NULL);
    rg_buf_free(&resp);
    json_t *results = json_object_get(j, "results");
    if (!json_is_array(results))
        results = json_object_get(j, "data");
    bool *seen = rg_xcalloc(n ? n : 1, sizeof *seen);
    size_t got = 0, i;
    json_t *r;
    json_array_foreach(results, i, r) {
        json_t *idx = json_object_get(r, "index"), *sc = json_object_get(r, "relevance_score");
        if (!sc)
            sc = json_object_get(r, "score");
        if (!json_is_integer(idx) || !json_is_number(sc) || json_integer_value(idx) < 0 ||
            (size_t)json_integer_value(idx) >= n || seen[json_integer_value(idx)])
            continue;
        seen[json_integer_value(idx)] = true;
        scores[json_integer_value(idx)] = (float)json_number_value(sc);
        got++;
    }
    free(seen);
    json_decref(j);
    if (got != n)
        return rg_error_set(err, RG_ERR_SERVER, "%s returned scores for %zu of %zu passages (expected "
                            "{\"results\": [{\"index\", \"relevance_score\"}, ...]})", h->url, got, n);
    return RG_OK;
}

static void http_free(void *impl)
{
    http_reranker *h = impl;
    if (!h)
        return;
    rg_http_free(h->http);
    free(h->url);
    free(h->model);
    free(h);
}

static const rg_reranker_ops http_ops = {.name = "openai", .score = http_score, .free = http_free};

rg_status rg_reranker_http_open(const char *model, const rg_config *cfg, rg_reranker **out, rg_error *err)
{
    const char *url = rg_config_str(cfg, "retrieval.rerank.url");
    const char *key_env = rg_config_str(cfg, "retrieval.rerank.api_key_env");
    if (!url || !*url)
        return rg_error_set(err, RG_ERR_INVALID, "retrieval.rerank.provider is 'openai' but retrieval.rerank.url is "
                            "empty; set it to the server's base URL (the part before /v1/rerank)");
    const char *key = NULL;
    if (key_env && *key_env) {
        key = getenv(key_env);
        if (!key || !*key)
            return rg_error_set(err, RG_ERR_INVALID, "retrieval.rerank.api_key_env names %s, but that environment "
                                "variable is not set", key_env);
    }
    http_reranker *h = rg_xcalloc(1, sizeof *h);
    size_t ul = strlen(url);
    while (ul > 0 && url[ul - 1] == '/')
        ul--;
    bool has_v1 = ul >= 3 && strncmp(url + ul - 3, "/v1", 3) == 0;
    h->url = rg_xasprintf("%.*s%s", (int)ul, url, has_v1 ? "/rerank" : "/v1/rerank");
    h->model = rg_xstrdup(model);
    rg_http_opts ho = rg_http_default_opts();
    ho.timeout_ms = (long)rg_config_int(cfg, "retrieval.rerank.timeout_ms");
    ho.bearer_token = key;
    rg_status st = rg_http_new(&ho, &h->http, err);
    if (st != RG_OK) {
        http_free(h);
        return st;
    }
    char name[300];
    snprintf(name, sizeof name, "openai:%s", model);
    *out = rg_reranker_new(&http_ops, h, name);
    return RG_OK;
}
