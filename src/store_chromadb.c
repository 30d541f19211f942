/* chromadb backend: collections live in a ChromaDB 1.x server, reached over
 * its HTTP v2 API (docs/chromadb.md lists the API facts this file relies on,
 * each checked against chromadb 3.0.12 / server 1.0.0).
 *
 * ragged computes every embedding itself; the server only stores and
 * searches.  Collections use the cosine space and carry ragged's embedder
 * identity in their metadata (ragged:embedder_* keys), so `collections list`
 * and the identity check work from the server alone and other Chroma tools see
 * an ordinary collection.
 *
 * Where ChromaDB's semantics differ from ragged's contract (store.h) this file
 * bridges the gap:
 * - add() of an existing id is silently ignored by the server: we look the ids
 *   up first and fail with RG_ERR_EXISTS before writing anything.
 * - upsert() merges metadata on the server: we send null for every old key the
 *   new record lacks, so the record is replaced whole.
 * - requests are split by record count (the server's max_batch_size) and by
 *   body bytes (the server answers 413 above 40 MiB); if a later batch fails,
 *   the batches this call already wrote are undone (added ids deleted, replaced
 *   records restored), so a failed call leaves the collection as it was unless
 *   the undo itself cannot reach the server.
 * - metadata keys starting with "chroma:" are refused: the server uses them
 *   internally (chroma:document) and a record carrying one crashes its
 *   write-ahead-log writer until restart. */
#include "store.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "util.h"

/* The server refuses bodies over 40 MiB (41,943,040 bytes, measured); keep a
 * margin for the JSON framing we do not count exactly. */
#define CHROMA_MAX_BODY (36u << 20)
/* Used when the server does not advertise max_batch_size. */
#define CHROMA_DEFAULT_BATCH 5461
#define CHROMA_START_HINT "start it with scripts/chroma-server.sh start or set vectorstore.chromadb.url"

#define META_KIND "ragged:embedder_kind"
#define META_MODEL "ragged:embedder_model"
#define META_DIM "ragged:embedder_dim"
#define META_FPR "ragged:embedder_fingerprint"

typedef struct chroma_store {
    rg_http *http;
    char *url;            /* base URL as configured, no trailing slash */
    char *api;            /* url + "/api/v2" */
    char *colls;          /* api + "/tenants/T/databases/D/collections" */
    char *persist_dir;    /* NULL: unknown (remote server) */
    char *version;
    size_t max_batch;
    long timeout_ms;      /* per request, for messages */
} chroma_store;

typedef struct chroma_coll {
    chroma_store *st;
    char *name;
    char *id;             /* the server's collection UUID */
    char *base;           /* colls + "/" + id */
    rg_embedder_identity identity;
    json_t *configuration;
} chroma_coll;

/* ---- requests ----------------------------------------------------------- */

static rg_status unreachable(chroma_store *st, rg_error *err)
{
    /* rg_http says "cannot reach FULL-URL: REASON"; keep only the reason and
     * name the configured server instead of the endpoint. */
    char reason[RG_ERROR_MSG_MAX];
    const char *p = strstr(err->msg, "cannot reach ") == err->msg ? strstr(err->msg + 13, ": ") : NULL;
    snprintf(reason, sizeof reason, "%s", p ? p + 2 : err->msg);
    /* A server that accepts the connection but does not answer (hung,
     * stopped with SIGSTOP, overloaded) is not fixed by starting it. */
    if (strstr(reason, "timed out"))
        return rg_error_set(err, RG_ERR_NETWORK,
                            "ChromaDB at %s did not answer in time (vectorstore.chromadb.timeout_ms is %ld): %s — "
                            "check that the server is running and not overloaded, or raise the timeout",
                            st->url, st->timeout_ms, reason);
    return rg_error_set(err, RG_ERR_NETWORK, "cannot reach ChromaDB at %s: %s — " CHROMA_START_HINT, st->url,
                        reason);
}

/* Maps an HTTP error answer to a status and a message quoting the server. */
static rg_status server_error(long status, const rg_buf *body, const char *what, rg_error *err)
{
    rg_status code = status == 404   ? RG_ERR_NOTFOUND
                     : status == 409 ? RG_ERR_EXISTS
                     : (status == 400 || status == 422 || status == 413) ? RG_ERR_INVALID
                                                                         : RG_ERR_SERVER;
    json_t *j = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
    const char *kind = j ? json_string_value(json_object_get(j, "error")) : NULL;
    if (status == 413)
        rg_error_set(err, code,
                     "%s: ChromaDB refused the request as too large (HTTP 413: %.200s); its limit is 40 MiB a request",
                     what, body->len ? body->data : "");
    else if (msg)
        rg_error_set(err, code, "%s: ChromaDB answered HTTP %ld %s: %s", what, status, kind ? kind : "", msg);
    else
        rg_error_set(err, code, "%s: ChromaDB answered HTTP %ld: %.300s", what, status,
                     body->len ? body->data : "(empty body)");
    json_decref(j);
    if (status == 401 || status == 403)
        rg_error_prefix(err, "the server wants credentials ragged did not have or that it refused (put a token in an "
                             "environment variable and name it in vectorstore.chromadb.auth_token_env)");
    return code;
}

/* One request.  body (may be NULL) is sent as is; a 2xx answer is parsed into
 * *out when out is not NULL. */
static rg_status call_text(chroma_store *st, const char *method, const char *url, const char *body, size_t len,
                           json_t **out, const char *what, rg_error *err)
{
    if (out)
        *out = NULL;
    rg_buf resp;
    rg_buf_init(&resp);
    long status = 0;
    rg_status rc = rg_http_request(st->http, method, url, body, len, &status, &resp, err);
    if (rc == RG_ERR_NETWORK) {
        rc = unreachable(st, err);
    } else if (rc == RG_OK && (status < 200 || status > 299)) {
        rc = server_error(status, &resp, what, err);
    } else if (rc == RG_OK && out) {
        json_error_t jerr;
        *out = json_loadb(resp.data ? resp.data : "", resp.len, JSON_DECODE_ANY, &jerr);
        if (!*out)
            rc = rg_error_set(err, RG_ERR_SERVER, "%s: ChromaDB sent a reply that is not JSON (%s): %.200s", what,
                              jerr.text, resp.data ? resp.data : "");
    }
    rg_buf_free(&resp);
    if (rc != RG_OK)
        rg_http_mask(st->http, err);
    return rc;
}

static rg_status call(chroma_store *st, const char *method, const char *url, json_t *body, json_t **out,
                      const char *what, rg_error *err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    rg_status rc = call_text(st, method, url, text, text ? strlen(text) : 0, out, what, err);
    free(text);
    return rc;
}

/* Percent-encodes a path segment (tenant and database names are free text). */
static void put_segment(rg_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            rg_buf_putc(b, (char)c);
        else
            rg_buf_printf(b, "%%%02X", c);
    }
}

static char *coll_url(chroma_store *st, const char *name)
{
    rg_buf b;
    rg_buf_init(&b);
    rg_buf_printf(&b, "%s/", st->colls);
    put_segment(&b, name);
    return rg_buf_steal(&b);
}

/* ---- store -------------------------------------------------------------- */

static void chromadb_close(void *impl)
{
    chroma_store *st = impl;
    if (!st)
        return;
    rg_http_free(st->http);
    free(st->url);
    free(st->api);
    free(st->colls);
    free(st->persist_dir);
    free(st->version);
    free(st);
}

static rg_status chromadb_open(const struct rg_config *cfg, void **out, rg_error *err)
{
    *out = NULL;
    const char *url = rg_config_str(cfg, "vectorstore.chromadb.url");
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return rg_error_set(err, RG_ERR_INVALID,
                            "vectorstore.chromadb.url must start with http:// or https:// (got '%s')", url);
    rg_http_opts o = rg_http_default_opts();
    o.timeout_ms = (long)rg_config_int(cfg, "vectorstore.chromadb.timeout_ms");
    o.connect_timeout_ms = RG_MIN(o.timeout_ms, 5000);
    o.tls_verify = rg_config_bool(cfg, "vectorstore.chromadb.tls_verify");
    o.bearer_over_http = rg_config_bool(cfg, "vectorstore.chromadb.auth_token_over_http");
    o.bearer_http_key = "vectorstore.chromadb.auth_token_over_http";
    const char *token_env = rg_config_str(cfg, "vectorstore.chromadb.auth_token_env");
    if (*token_env) {
        o.bearer_token = getenv(token_env);
        if (!o.bearer_token || !*o.bearer_token)
            return rg_error_set(err, RG_ERR_INVALID,
                                "vectorstore.chromadb.auth_token_env names the environment variable %s, but it is "
                                "not set; export it or clear auth_token_env",
                                token_env);
    }
    chroma_store *st = rg_xcalloc(1, sizeof *st);
    size_t ulen = strlen(url);
    while (ulen > 0 && url[ulen - 1] == '/')
        ulen--;
    st->url = rg_xstrndup(url, ulen);
    st->api = rg_xasprintf("%s/api/v2", st->url);
    const char *pd = rg_config_str(cfg, "vectorstore.chromadb.persist_directory");
    st->persist_dir = *pd ? rg_xstrdup(pd) : NULL;
    st->max_batch = CHROMA_DEFAULT_BATCH;
    st->timeout_ms = o.timeout_ms;
    rg_status rc = rg_http_new(&o, &st->http, err);
    if (rc != RG_OK) {
        chromadb_close(st);
        return rc;
    }

    /* Version check: the v2 API arrived with ChromaDB 1.0. */
    char *u = rg_xasprintf("%s/version", st->api);
    json_t *j = NULL;
    rc = call(st, "GET", u, NULL, &j, "version check", err);
    free(u);
    if (rc == RG_ERR_NOTFOUND) {
        rc = rg_error_set(err, RG_ERR_UNAVAILABLE,
                          "the server at %s has no /api/v2/version: it is not ChromaDB 1.x (ragged needs the v2 "
                          "API of ChromaDB 1.0 or newer; scripts/chroma-server.sh start runs a supported one)",
                          st->url);
    } else if (rc == RG_OK) {
        const char *v = json_string_value(j);
        if (!v || atoi(v) != 1)
            rc = rg_error_set(err, RG_ERR_UNAVAILABLE,
                              "ChromaDB at %s reports version %s; ragged supports ChromaDB 1.x (v2 API) — run a 1.x "
                              "server (scripts/chroma-server.sh start)",
                              st->url, v ? v : "(not a string)");
        else
            st->version = rg_xstrdup(v);
    }
    json_decref(j);
    j = NULL;

    /* The tenant and database must exist: the server lists an empty set of
     * collections for unknown ones instead of saying so. */
    if (rc == RG_OK) {
        rg_buf b;
        rg_buf_init(&b);
        rg_buf_printf(&b, "%s/tenants/", st->api);
        put_segment(&b, rg_config_str(cfg, "vectorstore.chromadb.tenant"));
        rg_buf_puts(&b, "/databases/");
        put_segment(&b, rg_config_str(cfg, "vectorstore.chromadb.database"));
        rc = call(st, "GET", b.data, NULL, NULL, "checking tenant and database", err);
        if (rc == RG_ERR_NOTFOUND)
            rg_error_prefix(err, "ChromaDB at %s has no database '%s' in tenant '%s' (vectorstore.chromadb.tenant / "
                                 ".database)",
                            st->url, rg_config_str(cfg, "vectorstore.chromadb.database"),
                            rg_config_str(cfg, "vectorstore.chromadb.tenant"));
        rg_buf_puts(&b, "/collections");
        st->colls = rg_buf_steal(&b);
    }
    if (rc == RG_OK) {
        u = rg_xasprintf("%s/pre-flight-checks", st->api);
        if (call(st, "GET", u, NULL, &j, "pre-flight checks", NULL) == RG_OK) {
            json_int_t mb = json_integer_value(json_object_get(j, "max_batch_size"));
            if (mb > 0)
                st->max_batch = (size_t)mb;
        }
        free(u);
        json_decref(j);
    }
    if (rc != RG_OK) {
        chromadb_close(st);
        return rc;
    }
    *out = st;
    return RG_OK;
}

/* Identity from a collection's metadata; kind stays "" for a collection
 * ragged did not create. */
static void identity_from_meta(const json_t *meta, rg_embedder_identity *id)
{
    memset(id, 0, sizeof *id);
    const char *s;
    if ((s = json_string_value(json_object_get(meta, META_KIND))))
        snprintf(id->kind, sizeof id->kind, "%s", s);
    if ((s = json_string_value(json_object_get(meta, META_MODEL))))
        snprintf(id->model, sizeof id->model, "%s", s);
    if ((s = json_string_value(json_object_get(meta, META_FPR))))
        snprintf(id->fingerprint, sizeof id->fingerprint, "%s", s);
    id->dim = (int)json_integer_value(json_object_get(meta, META_DIM));
}

static rg_status count_by_id(chroma_store *st, const char *id, int64_t *out, rg_error *err)
{
    char *u = rg_xasprintf("%s/%s/count", st->colls, id);
    json_t *j = NULL;
    rg_status rc = call(st, "GET", u, NULL, &j, "count", err);
    free(u);
    if (rc == RG_OK) {
        if (!json_is_integer(j))
            rc = rg_error_set(err, RG_ERR_SERVER, "count: ChromaDB answered something other than a number");
        else
            *out = json_integer_value(j);
    }
    json_decref(j);
    return rc;
}

static int info_cmp(const void *a, const void *b)
{
    return strcmp(((const rg_collection_info *)a)->name, ((const rg_collection_info *)b)->name);
}

static rg_status chromadb_list(void *impl, rg_collection_info **out, size_t *n, rg_error *err)
{
    chroma_store *st = impl;
    *out = NULL;
    *n = 0;
    rg_collection_info *v = NULL;
    size_t nv = 0;
    rg_status rc = RG_OK;
    const size_t page = 100;
    for (size_t offset = 0;; offset += page) {
        char *u = rg_xasprintf("%s?limit=%zu&offset=%zu", st->colls, page, offset);
        json_t *j = NULL;
        rc = call(st, "GET", u, NULL, &j, "listing collections", err);
        free(u);
        if (rc != RG_OK)
            break;
        size_t got = json_array_size(j);
        v = rg_xrealloc(v, (nv + got + 1) * sizeof *v);
        for (size_t i = 0; i < got && rc == RG_OK; i++) {
            json_t *c = json_array_get(j, i);
            rg_collection_info *info = &v[nv];
            memset(info, 0, sizeof *info);
            snprintf(info->name, sizeof info->name, "%s", json_string_value(json_object_get(c, "name")));
            identity_from_meta(json_object_get(c, "metadata"), &info->identity);
            const char *cid = json_string_value(json_object_get(c, "id"));
            info->count = -1;
            if (cid)
                rc = count_by_id(st, cid, &info->count, err);
            nv++;
        }
        json_decref(j);
        if (rc != RG_OK || got < page)
            break;
    }
    if (rc != RG_OK) {
        free(v);
        return rc;
    }
    qsort(v, nv, sizeof *v, info_cmp);
    *out = v;
    *n = nv;
    return RG_OK;
}

static rg_status chromadb_create(void *impl, const char *name, const rg_embedder_identity *identity, rg_error *err)
{
    chroma_store *st = impl;
    json_t *meta = json_pack("{s:s, s:s, s:I, s:s}", META_KIND, identity->kind, META_MODEL, identity->model,
                             META_DIM, (json_int_t)identity->dim, META_FPR, identity->fingerprint);
    /* Cosine distance (1 - cos) is what the contract promises; ragged's
     * vectors are normalised, so it also ranks like inner product. */
    json_t *body = json_pack("{s:s, s:o, s:{s:{s:s}}}", "name", name, "metadata", meta, "configuration", "hnsw",
                             "space", "cosine");
    char what[RG_COLLECTION_NAME_MAX + 64];
    snprintf(what, sizeof what, "creating collection '%s'", name);
    rg_status rc = call(st, "POST", st->colls, body, NULL, what, err);
    json_decref(body);
    if (rc == RG_ERR_EXISTS)
        return rg_error_set(err, RG_ERR_EXISTS, "collection '%s' already exists in ChromaDB at %s", name, st->url);
    return rc;
}

static rg_status chromadb_delete_collection(void *impl, const char *name, rg_error *err)
{
    chroma_store *st = impl;
    char *u = coll_url(st, name);
    char what[RG_COLLECTION_NAME_MAX + 64];
    snprintf(what, sizeof what, "deleting collection '%s'", name);
    rg_status rc = call(st, "DELETE", u, NULL, NULL, what, err);
    free(u);
    if (rc == RG_ERR_NOTFOUND)
        return rg_error_set(err, RG_ERR_NOTFOUND, "collection '%s' does not exist in ChromaDB at %s", name, st->url);
    return rc;
}

/* GET a collection by name: its JSON description. */
static rg_status describe(chroma_store *st, const char *name, json_t **out, rg_error *err)
{
    char *u = coll_url(st, name);
    char what[RG_COLLECTION_NAME_MAX + 64];
    snprintf(what, sizeof what, "opening collection '%s'", name);
    rg_status rc = call(st, "GET", u, NULL, out, what, err);
    free(u);
    if (rc == RG_ERR_NOTFOUND)
        return rg_error_set(err, RG_ERR_NOTFOUND, "collection '%s' does not exist in ChromaDB at %s", name, st->url);
    if (rc == RG_OK && !json_string_value(json_object_get(*out, "id"))) {
        json_decref(*out);
        *out = NULL;
        return rg_error_set(err, RG_ERR_SERVER, "%s: ChromaDB's answer has no collection id", what);
    }
    return rc;
}

static rg_status chromadb_rename(void *impl, const char *from, const char *to, rg_error *err)
{
    chroma_store *st = impl;
    json_t *src = NULL, *dst = NULL;
    rg_status rc = describe(st, from, &src, err);
    if (rc != RG_OK)
        return rc;
    /* The server answers a clash with a 500 about a UNIQUE constraint; ask
     * first so the user gets RG_ERR_EXISTS. */
    rc = describe(st, to, &dst, err);
    if (rc == RG_OK) {
        rc = rg_error_set(err, RG_ERR_EXISTS, "cannot rename '%s' to '%s': '%s' already exists in ChromaDB at %s",
                          from, to, to, st->url);
    } else if (rc == RG_ERR_NOTFOUND) {
        char *u = rg_xasprintf("%s/%s", st->colls, json_string_value(json_object_get(src, "id")));
        json_t *body = json_pack("{s:s}", "new_name", to);
        rc = call(st, "PUT", u, body, NULL, "renaming collection", err);
        json_decref(body);
        free(u);
    }
    json_decref(src);
    json_decref(dst);
    return rc;
}

static void chromadb_close_collection(void *impl)
{
    chroma_coll *c = impl;
    if (!c)
        return;
    free(c->name);
    free(c->id);
    free(c->base);
    json_decref(c->configuration);
    free(c);
}

static rg_status chromadb_open_collection(void *impl, const char *name, rg_embedder *embedder, void **out,
                                          rg_error *err)
{
    chroma_store *st = impl;
    *out = NULL;
    json_t *j = NULL;
    rg_status rc = describe(st, name, &j, err);
    if (rc != RG_OK)
        return rc;
    json_t *conf = json_object_get(j, "configuration_json");
    const char *space = json_string_value(json_object_get(json_object_get(conf, "hnsw"), "space"));
    if (space && strcmp(space, "cosine") != 0) {
        rc = rg_error_set(err, RG_ERR_MISMATCH,
                          "collection '%s' in ChromaDB uses the '%s' distance space; ragged needs 'cosine' (ingest "
                          "into a new collection, or recreate this one with ragged)",
                          name, space);
        json_decref(j);
        return rc;
    }
    chroma_coll *c = rg_xcalloc(1, sizeof *c);
    c->st = st;
    c->name = rg_xstrdup(name);
    c->id = rg_xstrdup(json_string_value(json_object_get(j, "id")));
    c->base = rg_xasprintf("%s/%s", st->colls, c->id);
    c->configuration = json_incref(conf);
    identity_from_meta(json_object_get(j, "metadata"), &c->identity);
    json_decref(j);
    if (!c->identity.kind[0] || c->identity.dim <= 0) {
        rc = rg_error_set(err, RG_ERR_MISMATCH,
                          "collection '%s' in ChromaDB was not created by ragged (its metadata has no %s / %s); "
                          "ragged cannot tell which embedder made its vectors — ingest into a new collection",
                          name, META_KIND, META_DIM);
        chromadb_close_collection(c);
        return rc;
    }
    *out = c;
    return RG_OK;
}

static rg_status chromadb_info(void *impl, rg_collection_info *out, rg_error *err)
{
    chroma_coll *c = impl;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", c->name);
    out->identity = c->identity;
    return count_by_id(c->st, c->id, &out->count, err);
}

static rg_status chromadb_count(void *impl, int64_t *out, rg_error *err)
{
    chroma_coll *c = impl;
    return count_by_id(c->st, c->id, out, err);
}

/* ---- records ------------------------------------------------------------ */

/* ---- filters ------------------------------------------------------------ */

/* ChromaDB 1.0.0 truncates a non-integral real filter value toward zero
 * before comparing it with integer metadata ({"i": {"$eq": 2.5}} matches
 * i = 2, {"i": {"$gte": 2.5}} matches i = 2; measured, see docs/chromadb.md).
 * Such comparisons are rewritten with extra integer bounds, which the server
 * compares correctly against both integers and reals, so the result equals
 * rg_filter_match for every record. */
static json_t *leaf(const char *key, const char *op, json_t *value)
{
    return json_pack("{s:{s:o}}", key, op, value);
}

static bool non_integral(const json_t *v)
{
    if (!json_is_real(v))
        return false;
    double x = json_real_value(v);
    return x != floor(x) && fabs(x) < 9e18;
}

static json_t *pair(const char *op, json_t *a, json_t *b)
{
    return json_pack("{s:[o,o]}", op, a, b);
}

/* key OP v for one non-integral real v (OP: $lt $lte $gt $gte $eq $ne). */
static json_t *real_compare(const char *key, const char *op, double v)
{
    json_int_t fl = (json_int_t)floor(v), ce = (json_int_t)ceil(v), tr = (json_int_t)trunc(v);
    json_t *a = leaf(key, op, json_real(v));
    if (!strcmp(op, "$lt") || !strcmp(op, "$lte")) /* integers: i <= floor(v) */
        return pair("$and", pair("$or", a, leaf(key, "$lte", json_integer(fl))), leaf(key, "$lt", json_integer(ce)));
    if (!strcmp(op, "$gt") || !strcmp(op, "$gte")) /* integers: i >= ceil(v) */
        return pair("$and", pair("$or", a, leaf(key, "$gte", json_integer(ce))), leaf(key, "$gt", json_integer(fl)));
    if (!strcmp(op, "$eq")) /* no integer equals v */
        return pair("$and", a, pair("$and", leaf(key, "$gt", json_integer(fl)), leaf(key, "$lt", json_integer(ce))));
    /* $ne: every integer differs from v, including trunc(v) */
    return pair("$or", a, leaf(key, "$eq", json_integer(tr)));
}

static json_t *where_json(const rg_filter *f)
{
    if (f->op == RG_FILTER_AND || f->op == RG_FILTER_OR) {
        json_t *arr = json_array();
        for (size_t i = 0; i < f->nchildren; i++)
            json_array_append_new(arr, where_json(f->children[i]));
        return json_pack("{s:o}", f->op == RG_FILTER_AND ? "$and" : "$or", arr);
    }
    static const char *const names[] = {[RG_FILTER_EQ] = "$eq", [RG_FILTER_NE] = "$ne", [RG_FILTER_GT] = "$gt",
                                        [RG_FILTER_GTE] = "$gte", [RG_FILTER_LT] = "$lt", [RG_FILTER_LTE] = "$lte"};
    if (f->op == RG_FILTER_IN || f->op == RG_FILTER_NIN) {
        /* The server wants one type per list: numbers (integral reals sent
         * as integers, which it compares with both), strings, booleans each
         * get their own list; non-integral reals become comparisons. */
        bool in = f->op == RG_FILTER_IN;
        json_t *groups[3] = {json_array(), json_array(), json_array()};
        json_t *parts = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(f->value, i, v)
        {
            if (non_integral(v))
                json_array_append_new(parts, real_compare(f->key, in ? "$eq" : "$ne", json_real_value(v)));
            else if (json_is_real(v) && fabs(json_real_value(v)) < 9e18)
                json_array_append_new(groups[0], json_integer((json_int_t)json_real_value(v)));
            else
                json_array_append(groups[json_is_number(v) ? 0 : json_is_string(v) ? 1 : 2], v);
        }
        for (int g = 0; g < 3; g++) {
            if (json_array_size(groups[g]))
                json_array_append_new(parts, leaf(f->key, in ? "$in" : "$nin", json_incref(groups[g])));
            json_decref(groups[g]);
        }
        if (json_array_size(parts) == 1) {
            json_t *only = json_incref(json_array_get(parts, 0));
            json_decref(parts);
            return only;
        }
        return json_pack("{s:o}", in ? "$or" : "$and", parts);
    }
    if (f->op <= RG_FILTER_LTE && names[f->op] && non_integral(f->value))
        return real_compare(f->key, names[f->op], json_real_value(f->value));
    return rg_filter_to_json(f);
}


static char *op_url(chroma_coll *c, const char *op)
{
    return rg_xasprintf("%s/%s", c->base, op);
}

static json_t *ids_array(const char *const *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(ids[i]));
    return a;
}

static json_t *include_array(unsigned include)
{
    json_t *a = json_array();
    if (include & RG_INCLUDE_DOCUMENTS)
        json_array_append_new(a, json_string("documents"));
    if (include & RG_INCLUDE_METADATAS)
        json_array_append_new(a, json_string("metadatas"));
    if (include & RG_INCLUDE_EMBEDDINGS)
        json_array_append_new(a, json_string("embeddings"));
    return a;
}

/* Appends the records of a get answer to out. */
static rg_status take_records(chroma_coll *c, json_t *j, unsigned include, rg_record_batch *out, rg_error *err)
{
    json_t *ids = json_object_get(j, "ids");
    json_t *docs = json_object_get(j, "documents");
    json_t *metas = json_object_get(j, "metadatas");
    json_t *embs = json_object_get(j, "embeddings");
    size_t n = json_array_size(ids);
    int dim = c->identity.dim;
    float *vec = (include & RG_INCLUDE_EMBEDDINGS) ? rg_xmalloc((size_t)dim * sizeof *vec) : NULL;
    rg_status rc = RG_OK;
    for (size_t i = 0; i < n && rc == RG_OK; i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        if (!id) {
            rc = rg_error_set(err, RG_ERR_SERVER, "ChromaDB returned a record without a string id");
            break;
        }
        const char *doc = (include & RG_INCLUDE_DOCUMENTS) ? json_string_value(json_array_get(docs, i)) : NULL;
        json_t *meta = (include & RG_INCLUDE_METADATAS) ? json_array_get(metas, i) : NULL;
        if (meta && !json_is_object(meta))
            meta = NULL;
        if (vec) {
            json_t *e = json_array_get(embs, i);
            if (json_array_size(e) != (size_t)dim) {
                rc = rg_error_set(err, RG_ERR_CORRUPT,
                                  "record '%s' in ChromaDB collection '%s' has a %zu-dimensional embedding; the "
                                  "collection's embedder makes %d",
                                  id, c->name, json_array_size(e), dim);
                break;
            }
            for (int k = 0; k < dim; k++)
                vec[k] = (float)json_number_value(json_array_get(e, (size_t)k));
        }
        rg_record_batch_push(out, id, doc, meta, vec);
    }
    free(vec);
    return rc;
}

/* One /get call (ids may be NULL). */
static rg_status get_once(chroma_coll *c, const char *const *ids, size_t nids, const rg_filter *where,
                          unsigned include, size_t offset, size_t limit, rg_record_batch *out, rg_error *err)
{
    json_t *body = json_object();
    if (ids)
        json_object_set_new(body, "ids", ids_array(ids, nids));
    if (where)
        json_object_set_new(body, "where", where_json(where));
    if (offset)
        json_object_set_new(body, "offset", json_integer((json_int_t)offset));
    if (limit)
        json_object_set_new(body, "limit", json_integer((json_int_t)limit));
    json_object_set_new(body, "include", include_array(include));
    char *u = op_url(c, "get");
    json_t *j = NULL;
    rg_status rc = call(c->st, "POST", u, body, &j, "get", err);
    free(u);
    json_decref(body);
    if (rc == RG_OK)
        rc = take_records(c, j, include, out, err);
    json_decref(j);
    return rc;
}

/* Ids per lookup request: at most max_batch, and well under the body limit
 * (ids are at most RG_ID_MAX bytes, which JSON escaping can grow 6x). */
static size_t ids_per_request(const chroma_store *st)
{
    size_t by_bytes = CHROMA_MAX_BODY / (RG_ID_MAX * 6 + 4);
    return RG_MIN(st->max_batch, by_bytes);
}

/* Records among ids that exist, in chunks the server accepts. */
static rg_status get_by_ids(chroma_coll *c, const char *const *ids, size_t nids, unsigned include,
                            rg_record_batch *out, rg_error *err)
{
    size_t step = ids_per_request(c->st);
    for (size_t i = 0; i < nids; i += step) {
        rg_status rc = get_once(c, ids + i, RG_MIN(step, nids - i), NULL, include, 0, 0, out, err);
        if (rc != RG_OK)
            return rc;
    }
    return RG_OK;
}

static rg_status chromadb_get(void *impl, const char *const *ids, size_t nids, const rg_filter *where,
                              unsigned include, size_t offset, size_t limit, rg_record_batch *out, rg_error *err)
{
    chroma_coll *c = impl;
    if (!ids || nids <= ids_per_request(c->st))
        return get_once(c, ids, nids, where, include, offset, limit, out, err);
    /* Many ids: look them up in chunks, then apply offset/limit here. */
    rg_record_batch all;
    rg_record_batch_init(&all, out->dim);
    size_t step = ids_per_request(c->st);
    rg_status rc = RG_OK;
    for (size_t i = 0; i < nids && rc == RG_OK; i += step)
        rc = get_once(c, ids + i, RG_MIN(step, nids - i), where, include, 0, 0, &all, err);
    for (size_t i = offset; rc == RG_OK && i < all.n && (!limit || i < offset + limit); i++)
        rg_record_batch_push(out, all.items[i].id, all.items[i].document, all.items[i].metadata,
                             all.items[i].embedding);
    rg_record_batch_free(&all);
    return rc;
}

static rg_status delete_ids(chroma_coll *c, const char *const *ids, size_t n, rg_error *err)
{
    size_t step = ids_per_request(c->st);
    char *u = op_url(c, "delete");
    rg_status rc = RG_OK;
    for (size_t i = 0; i < n && rc == RG_OK; i += step) {
        json_t *body = json_pack("{s:o}", "ids", ids_array(ids + i, RG_MIN(step, n - i)));
        rc = call(c->st, "POST", u, body, NULL, "delete", err);
        json_decref(body);
    }
    free(u);
    return rc;
}

static rg_status chromadb_delete(void *impl, const char *const *ids, size_t nids, const rg_filter *where,
                                 size_t *deleted, rg_error *err)
{
    chroma_coll *c = impl;
    /* The server does not say how many records a delete removed: find them
     * first, then delete exactly those. */
    rg_record_batch found;
    rg_record_batch_init(&found, c->identity.dim);
    rg_status rc = ids ? chromadb_get(c, ids, nids, where, 0, 0, 0, &found, err)
                       : get_once(c, NULL, 0, where, 0, 0, 0, &found, err);
    if (rc == RG_OK && found.n) {
        const char **list = rg_xmalloc(found.n * sizeof *list);
        for (size_t i = 0; i < found.n; i++)
            list[i] = found.items[i].id;
        rc = delete_ids(c, list, found.n, err);
        free(list);
    }
    if (rc == RG_OK)
        *deleted = found.n;
    rg_record_batch_free(&found);
    return rc;
}

/* ---- writing: JSON pieces, batching, undo -------------------------------- */

/* One record as the JSON texts of its four columns. */
typedef struct {
    char *id, *embedding, *document, *metadata;
    size_t bytes;
} piece;

static char *json_text(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return s;
}

static char *embedding_text(const float *e, int dim)
{
    rg_buf b;
    rg_buf_init(&b);
    rg_buf_putc(&b, '[');
    for (int i = 0; i < dim; i++) {
        /* %.9g round-trips every float32 exactly. */
        rg_buf_printf(&b, i ? ",%.9g" : "%.9g", (double)e[i]);
    }
    rg_buf_putc(&b, ']');
    return rg_buf_steal(&b);
}

/* meta_override (may be NULL): the metadata to send instead of r->metadata. */
static void piece_make(piece *p, const rg_record *r, const json_t *meta_override, int dim)
{
    p->id = json_text(json_string(r->id));
    p->embedding = embedding_text(r->embedding, dim);
    p->document = r->document ? json_text(json_string(r->document)) : rg_xstrdup("null");
    const json_t *m = meta_override ? meta_override : r->metadata;
    p->metadata = (m && json_object_size(m)) ? json_dumps(m, JSON_COMPACT) : rg_xstrdup("null");
    p->bytes = strlen(p->id) + strlen(p->embedding) + strlen(p->document) + strlen(p->metadata) + 4;
}

static void pieces_free(piece *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].id);
        free(p[i].embedding);
        free(p[i].document);
        free(p[i].metadata);
    }
    free(p);
}

static void body_for(const piece *p, size_t a, size_t b, rg_buf *out)
{
    out->len = 0;
    static const char *const names[] = {"ids", "embeddings", "documents", "metadatas"};
    rg_buf_putc(out, '{');
    for (int col = 0; col < 4; col++) {
        rg_buf_printf(out, "%s\"%s\":[", col ? "," : "", names[col]);
        for (size_t i = a; i < b; i++) {
            const char *s = col == 0 ? p[i].id : col == 1 ? p[i].embedding : col == 2 ? p[i].document : p[i].metadata;
            if (i > a)
                rg_buf_putc(out, ',');
            rg_buf_puts(out, s);
        }
        rg_buf_putc(out, ']');
    }
    rg_buf_putc(out, '}');
}

/* Sends records [0, n) with op ("add" or "upsert") in batches bounded by
 * count and bytes.  *sent receives how many records were written before a
 * failure. */
static rg_status send_batches(chroma_coll *c, const char *op, const piece *p, size_t n, size_t *sent, rg_error *err)
{
    *sent = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i].bytes + 256 > CHROMA_MAX_BODY)
            return rg_error_set(err, RG_ERR_INVALID,
                                "record %s is %zu bytes as JSON; ChromaDB refuses requests over 40 MiB, so a single "
                                "record must stay below about %u MiB",
                                p[i].id, p[i].bytes, CHROMA_MAX_BODY >> 20);
    char *u = op_url(c, op);
    rg_buf body;
    rg_buf_init(&body);
    rg_status rc = RG_OK;
    size_t a = 0;
    while (a < n && rc == RG_OK) {
        size_t b = a, bytes = 64;
        while (b < n && b - a < c->st->max_batch && bytes + p[b].bytes <= CHROMA_MAX_BODY)
            bytes += p[b++].bytes;
        body_for(p, a, b, &body);
        rc = call_text(c->st, "POST", u, body.data, body.len, NULL, op, err);
        if (rc == RG_OK) {
            *sent = b;
            a = b;
        }
    }
    rg_buf_free(&body);
    free(u);
    return rc;
}

/* Index of an id in a batch, or -1.  Batches here are the records of one
 * call that already exist, looked up once per record: a hash would pay off
 * only for very large upserts of existing records. */
typedef struct {
    const char **keys;
    size_t *vals;
    size_t cap;
} id_index;

static void id_index_init(id_index *x, const rg_record_batch *b)
{
    x->cap = 16;
    while (x->cap < b->n * 2)
        x->cap *= 2;
    x->keys = rg_xcalloc(x->cap, sizeof *x->keys);
    x->vals = rg_xcalloc(x->cap, sizeof *x->vals);
    for (size_t i = 0; i < b->n; i++) {
        size_t h = (size_t)rg_hash64(b->items[i].id, strlen(b->items[i].id), 0) & (x->cap - 1);
        while (x->keys[h])
            h = (h + 1) & (x->cap - 1);
        x->keys[h] = b->items[i].id;
        x->vals[h] = i;
    }
}

static long id_index_find(const id_index *x, const char *id)
{
    size_t h = (size_t)rg_hash64(id, strlen(id), 0) & (x->cap - 1);
    while (x->keys[h]) {
        if (strcmp(x->keys[h], id) == 0)
            return (long)x->vals[h];
        h = (h + 1) & (x->cap - 1);
    }
    return -1;
}

static void id_index_free(id_index *x)
{
    free(x->keys);
    free(x->vals);
}

/* Metadata that replaces old with new on a server that merges: every old key
 * missing from new is sent as null (the server deletes such keys). */
static json_t *replacing_metadata(const json_t *old, const json_t *new_meta)
{
    json_t *m = new_meta ? json_copy((json_t *)new_meta) : json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)old, k, v)
    {
        if (!json_object_get(m, k))
            json_object_set_new(m, k, json_null());
    }
    return m;
}

static rg_status check_metadata_keys(const rg_record *recs, size_t n, rg_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *k;
        json_t *v;
        json_object_foreach(recs[i].metadata, k, v)
        {
            if (strncmp(k, "chroma:", 7) == 0)
                return rg_error_set(err, RG_ERR_INVALID,
                                    "record '%s': metadata key '%s' is reserved by ChromaDB (keys starting with "
                                    "'chroma:' are its own); rename the key",
                                    recs[i].id, k);
        }
    }
    return RG_OK;
}

/* Undo after a failed write: the first `sent` records of recs were written.
 * New ids are deleted; replaced records get their old content back. */
static rg_status undo(chroma_coll *c, const rg_record *recs, size_t sent, const rg_record_batch *old,
                      const id_index *old_ix, rg_error *err)
{
    const char **fresh = rg_xmalloc((sent + 1) * sizeof *fresh);
    size_t nfresh = 0;
    rg_record *restore = rg_xmalloc((sent + 1) * sizeof *restore);
    json_t **restore_meta = rg_xcalloc(sent + 1, sizeof *restore_meta);
    size_t nrestore = 0;
    for (size_t i = 0; i < sent; i++) {
        long k = old ? id_index_find(old_ix, recs[i].id) : -1;
        if (k < 0) {
            fresh[nfresh++] = recs[i].id;
        } else {
            restore[nrestore] = old->items[k];
            restore_meta[nrestore] = replacing_metadata(recs[i].metadata, old->items[k].metadata);
            nrestore++;
        }
    }
    rg_status rc = delete_ids(c, fresh, nfresh, err);
    if (rc == RG_OK && nrestore) {
        piece *p = rg_xcalloc(nrestore, sizeof *p);
        for (size_t i = 0; i < nrestore; i++)
            piece_make(&p[i], &restore[i], restore_meta[i], c->identity.dim);
        size_t done;
        rc = send_batches(c, "upsert", p, nrestore, &done, err);
        pieces_free(p, nrestore);
    }
    for (size_t i = 0; i < nrestore; i++)
        json_decref(restore_meta[i]);
    free(restore_meta);
    free(restore);
    free(fresh);
    return rc;
}

static rg_status chromadb_add(void *impl, const rg_record *recs, size_t n, bool upsert, rg_error *err)
{
    chroma_coll *c = impl;
    rg_status rc = check_metadata_keys(recs, n, err);
    if (rc != RG_OK)
        return rc;
    const char **ids = rg_xmalloc((n + 1) * sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = recs[i].id;

    /* Which ids exist already: add refuses them (the server would silently
     * skip them); upsert needs their old content to replace and to undo. */
    rg_record_batch old;
    rg_record_batch_init(&old, c->identity.dim);
    rc = get_by_ids(c, ids, n, upsert ? RG_INCLUDE_ALL : 0, &old, err);
    if (rc != RG_OK)
        goto out;
    if (!upsert && old.n) {
        rc = rg_error_set(err, RG_ERR_EXISTS,
                          "record id '%s'%s already exists in collection '%s'; nothing was added (use upsert to "
                          "replace records)",
                          old.items[0].id, old.n > 1 ? " (and others)" : "", c->name);
        goto out;
    }
    id_index ix;
    id_index_init(&ix, &old);
    piece *p = rg_xcalloc(n ? n : 1, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        long k = upsert ? id_index_find(&ix, recs[i].id) : -1;
        json_t *m = k >= 0 ? replacing_metadata(old.items[k].metadata, recs[i].metadata) : NULL;
        piece_make(&p[i], &recs[i], m, c->identity.dim);
        json_decref(m);
    }
    /* The server cannot clear a document by upsert (null means "keep"):
     * records that drop their document are deleted first and re-added. */
    const char **drop = rg_xmalloc((n + 1) * sizeof *drop);
    size_t ndrop = 0;
    for (size_t i = 0; upsert && i < n; i++) {
        long k = id_index_find(&ix, recs[i].id);
        if (k >= 0 && !recs[i].document && old.items[k].document)
            drop[ndrop++] = recs[i].id;
    }
    if (ndrop)
        rc = delete_ids(c, drop, ndrop, err);
    size_t sent = 0;
    if (rc == RG_OK)
        rc = send_batches(c, upsert ? "upsert" : "add", p, n, &sent, err);
    if (rc != RG_OK && (sent > 0 || ndrop > 0)) {
        rg_error uerr = {0};
        /* Records dropped above count as written: undo restores them. */
        rg_status urc = RG_OK;
        if (ndrop) {
            rg_record_batch dropped;
            rg_record_batch_init(&dropped, c->identity.dim);
            for (size_t i = 0; i < n; i++) {
                long k = id_index_find(&ix, recs[i].id);
                bool was_dropped = k >= 0 && !recs[i].document && old.items[k].document;
                if (i >= sent && was_dropped)
                    rg_record_batch_push(&dropped, old.items[k].id, old.items[k].document, old.items[k].metadata,
                                         old.items[k].embedding);
            }
            piece *dp = rg_xcalloc(dropped.n + 1, sizeof *dp);
            for (size_t i = 0; i < dropped.n; i++)
                piece_make(&dp[i], &dropped.items[i], NULL, c->identity.dim);
            size_t done;
            if (dropped.n)
                urc = send_batches(c, "upsert", dp, dropped.n, &done, &uerr);
            pieces_free(dp, dropped.n);
            rg_record_batch_free(&dropped);
        }
        if (urc == RG_OK)
            urc = undo(c, recs, sent, &old, &ix, &uerr);
        if (urc == RG_OK)
            rg_error_prefix(err, "%s stopped after %zu of %zu records; those were undone, the collection is as "
                                 "before",
                            upsert ? "upsert" : "add", sent, n);
        else
            rg_error_prefix(err, "%s stopped after %zu of %zu records and undoing them failed too (%s); the "
                                 "collection now holds part of this call",
                            upsert ? "upsert" : "add", sent, n, uerr.msg);
    }
    free(drop);
    pieces_free(p, n);
    id_index_free(&ix);
out:
    rg_record_batch_free(&old);
    free(ids);
    return rc;
}

static rg_status chromadb_query(void *impl, const float *query, const rg_query_opts *opts, rg_hits *out,
                                rg_error *err)
{
    chroma_coll *c = impl;
    rg_buf body;
    rg_buf_init(&body);
    char *emb = embedding_text(query, c->identity.dim);
    rg_buf_printf(&body, "{\"query_embeddings\":[%s],\"n_results\":%d,\"include\":[\"distances\"", emb, opts->k);
    free(emb);
    if (opts->include & RG_INCLUDE_DOCUMENTS)
        rg_buf_puts(&body, ",\"documents\"");
    if (opts->include & RG_INCLUDE_METADATAS)
        rg_buf_puts(&body, ",\"metadatas\"");
    rg_buf_putc(&body, ']');
    if (opts->where) {
        char *w = json_text(where_json(opts->where));
        rg_buf_printf(&body, ",\"where\":%s", w);
        free(w);
    }
    rg_buf_putc(&body, '}');
    char *u = op_url(c, "query");
    json_t *j = NULL;
    rg_status rc = call_text(c->st, "POST", u, body.data, body.len, &j, "query", err);
    free(u);
    rg_buf_free(&body);
    if (rc != RG_OK)
        return rc;
    /* One query embedding: every column is a list holding one list. */
    json_t *ids = json_array_get(json_object_get(j, "ids"), 0);
    json_t *dist = json_array_get(json_object_get(j, "distances"), 0);
    json_t *docs = json_array_get(json_object_get(j, "documents"), 0);
    json_t *metas = json_array_get(json_object_get(j, "metadatas"), 0);
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        if (!id) {
            rc = rg_error_set(err, RG_ERR_SERVER, "query: ChromaDB returned a hit without a string id");
            break;
        }
        json_t *m = json_array_get(metas, i);
        rg_hits_push(out, id, (float)json_number_value(json_array_get(dist, i)),
                     json_string_value(json_array_get(docs, i)), json_is_object(m) ? m : NULL);
    }
    json_decref(j);
    return rc;
}

static rg_status chromadb_stats(void *impl, rg_store_stats *out, rg_error *err)
{
    chroma_coll *c = impl;
    rg_status rc = count_by_id(c->st, c->id, &out->records, err);
    if (rc != RG_OK)
        return rc;
    out->tombstones = 0;
    out->bytes_total = -1;
    if (c->st->persist_dir && rg_is_dir(c->st->persist_dir)) {
        /* The server keeps every collection in one SQLite file plus one HNSW
         * segment directory per collection; these are the whole server's
         * bytes, not this collection's. */
        char *sqlite = rg_path_join(c->st->persist_dir, "chroma.sqlite3");
        int64_t total = rg_dir_size(c->st->persist_dir);
        int64_t sq = rg_path_exists(sqlite) ? rg_dir_size(sqlite) : 0;
        free(sqlite);
        out->bytes_total = total;
        rg_store_stats_add(out, "sqlite", sq);
        rg_store_stats_add(out, "segments", total - sq);
    }
    json_t *d = json_object();
    json_object_set_new(d, "url", json_string(c->st->url));
    json_object_set_new(d, "server_version", json_string(c->st->version ? c->st->version : ""));
    json_object_set_new(d, "collection_id", json_string(c->id));
    json_object_set(d, "configuration", c->configuration ? c->configuration : json_null());
    json_object_set_new(d, "bytes_scope", json_string(c->st->persist_dir ? "whole server (persist_directory)"
                                                                          : "unknown (set persist_directory)"));
    json_decref(out->details);
    out->details = d;
    return RG_OK;
}

const rg_store_ops rg_store_chromadb_ops = {
    .abi_version = RG_STORE_ABI,
    .name = "chromadb",
    .open = chromadb_open,
    .close = chromadb_close,
    .list_collections = chromadb_list,
    .create_collection = chromadb_create,
    .delete_collection = chromadb_delete_collection,
    .rename_collection = chromadb_rename,
    .open_collection = chromadb_open_collection,
    .close_collection = chromadb_close_collection,
    .info = chromadb_info,
    .add = chromadb_add,
    .get = chromadb_get,
    .delete_records = chromadb_delete,
    .count = chromadb_count,
    .query = chromadb_query,
    .stats = chromadb_stats,
    .compact = NULL,
};
