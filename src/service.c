/* The long-lived service behind `ragged serve` and `ragged mcp` (see
 * service.h): a pool of open collection handles, queries, answers and
 * ingest jobs. */
#include "service.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "answer.h"
#include "embedder.h"
#include "ingest.h"
#include "collections_json.h"
#include "query_output.h"
#include "rerank.h"
#include "retrieve.h"
#include "store.h"
#include "util.h"
#ifndef RG_WITHOUT_CHROMADB
#include "llm.h"
#endif

/* Handles open at once per collection (in use or idle): as many as there
 * are cores (at least 2).  More would not run faster (retrieval is CPU
 * work), each would warm its own caches (measured: 4.5x the CPU a query
 * with 8 handles on 2 cores, bench/serve), and 64 connections must never
 * load 64 copies of a BERT model; requests beyond that wait for a handle. */
#define POOL_MIN 2
#define JOBS_KEPT 64

typedef struct handle {
    rg_embedder *emb;
    rg_store *store;
    rg_collection *coll;
    rg_reranker *rr;         /* retrieval.rerank.model, NULL: off; kept loaded like the embedder */
    uint64_t generation;
    struct handle *next;
} handle;

typedef struct pool {
    char *key;               /* "BACKEND/COLLECTION" */
    uint64_t generation;     /* bumped when an ingest changed the collection */
    handle *idle;
    size_t nidle;
    size_t nbusy;            /* checked out or being opened */
    struct pool *next;
} pool;

typedef struct job {
    int64_t id;
    char *collection, *backend;
    rg_ingest_req req;
    rg_ingest_report report;
    char current[512];
    const char *phase;       /* rg_ingest_phase_name of the phase running, NULL before the first */
    int64_t phase_done, phase_total;
    const char *state;       /* "running", "done", "failed", "interrupted" */
    rg_error err;
    double started, ended;
    pthread_t thread;
    bool joined;
    rg_service *svc;
    volatile sig_atomic_t stop;
    struct job *next;
} job;

struct rg_service {
    const rg_config *cfg;
    char *default_collection;   /* for requests that name none */
    size_t pool_max;            /* handles a collection, see POOL_MIN */
    volatile sig_atomic_t *stop;
    pthread_mutex_t mu;
    pthread_cond_t job_ended;
    pthread_cond_t handle_back;   /* a handle was checked in or failed to open */
    pool *pools;
    job *jobs;
    int64_t next_job;
};

rg_service *rg_service_new(const rg_config *cfg, const char *default_collection, volatile sig_atomic_t *stop)
{
    rg_service *s = rg_xcalloc(1, sizeof *s);
    s->cfg = cfg;
    s->default_collection = rg_xstrdup(default_collection ? default_collection : "default");
    s->pool_max = (size_t)rg_cpu_count() > POOL_MIN ? (size_t)rg_cpu_count() : POOL_MIN;
    s->stop = stop;
    s->next_job = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->job_ended, NULL);
    pthread_cond_init(&s->handle_back, NULL);
    return s;
}

const rg_config *rg_service_config(const rg_service *s)
{
    return s->cfg;
}

static const char *coll_of(const rg_service *s, const char *collection)
{
    return collection ? collection : s->default_collection;
}

static void handle_close(handle *h)
{
    if (!h)
        return;
    rg_collection_close(h->coll);
    rg_store_close(h->store);
    rg_embedder_free(h->emb);
    rg_reranker_free(h->rr);
    free(h);
}

static void job_free(job *j)
{
    rg_ingest_req_free(&j->req);
    rg_ingest_report_free(&j->report);
    free(j->collection);
    free(j->backend);
    free(j);
}

void rg_service_free(rg_service *s)
{
    if (!s)
        return;
    for (job *j = s->jobs; j; j = j->next)
        j->stop = 1;
    for (job *j = s->jobs, *next; j; j = next) {
        next = j->next;
        if (!j->joined)
            pthread_join(j->thread, NULL);
        job_free(j);
    }
    for (pool *p = s->pools, *next; p; p = next) {
        next = p->next;
        for (handle *h = p->idle, *hn; h; h = hn) {
            hn = h->next;
            handle_close(h);
        }
        free(p->key);
        free(p);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->job_ended);
    pthread_cond_destroy(&s->handle_back);
    free(s->default_collection);
    free(s);
}

/* ---- handle pool ------------------------------------------------------ */

static const char *backend_of(const rg_service *s, const char *backend)
{
    return backend ? backend : rg_config_str(s->cfg, "vectorstore.backend");
}

static pool *pool_get_locked(rg_service *s, const char *backend, const char *collection)
{
    char *key = rg_xasprintf("%s/%s", backend, collection);
    for (pool *p = s->pools; p; p = p->next)
        if (!strcmp(p->key, key)) {
            free(key);
            return p;
        }
    pool *p = rg_xcalloc(1, sizeof *p);
    p->key = key;
    p->next = s->pools;
    s->pools = p;
    return p;
}

static rg_status handle_open(rg_service *s, const char *backend, const char *collection, bool create, handle **out,
                             rg_error *err)
{
    handle *h = rg_xcalloc(1, sizeof *h);
    rg_status st = rg_embedder_open(s->cfg, &h->emb, err);
    if (st == RG_OK)
        st = rg_store_open(s->cfg, backend, &h->store, err);
    if (st == RG_OK)
        st = rg_collection_open(h->store, collection, h->emb, create, &h->coll, err);
    if (st == RG_OK && !create)   /* as `ragged query` by default: the configured reranker, if any */
        st = rg_reranker_open(s->cfg, NULL, &h->rr, err);
    if (st != RG_OK) {
        handle_close(h);
        return st;
    }
    *out = h;
    return RG_OK;
}

/* Unlinks an entry that holds nothing, so requests naming collections that
 * do not exist leave no trace (called with the lock held). */
static void pool_drop_if_empty_locked(rg_service *s, pool *p)
{
    if (p->idle || p->nbusy)
        return;
    for (pool **pp = &s->pools; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            free(p->key);
            free(p);
            return;
        }
}

static rg_status checkout(rg_service *s, const char *backend, const char *collection, handle **out, rg_error *err)
{
    rg_status st = rg_collection_name_check(collection, err);
    if (st != RG_OK)
        return st;
    backend = backend_of(s, backend);
    pthread_mutex_lock(&s->mu);
    pool *p = pool_get_locked(s, backend, collection);
    handle *h = NULL;
    for (;;) {
        while (p->idle && !h) {
            h = p->idle;
            p->idle = h->next;
            p->nidle--;
            if (h->generation != p->generation) {
                /* Closed outside the lock; p stays linked (nbusy counts us). */
                handle *stale = h;
                h = NULL;
                p->nbusy++;
                pthread_mutex_unlock(&s->mu);
                handle_close(stale);
                pthread_mutex_lock(&s->mu);
                p->nbusy--;
            }
        }
        if (h || p->nidle + p->nbusy < s->pool_max)
            break;
        pthread_cond_wait(&s->handle_back, &s->mu);
    }
    p->nbusy++;
    uint64_t gen = p->generation;
    pthread_mutex_unlock(&s->mu);
    if (!h) {
        /* Opened outside the lock: loading a BERT model takes a while and
         * other collections' requests go on meanwhile. */
        st = handle_open(s, backend, collection, false, &h, err);
        if (st != RG_OK) {
            pthread_mutex_lock(&s->mu);
            p->nbusy--;
            pool_drop_if_empty_locked(s, p);
            pthread_cond_broadcast(&s->handle_back);
            pthread_mutex_unlock(&s->mu);
            return st;
        }
        h->generation = gen;
    }
    *out = h;
    return RG_OK;
}

static void checkin(rg_service *s, const char *backend, const char *collection, handle *h)
{
    backend = backend_of(s, backend);
    pthread_mutex_lock(&s->mu);
    pool *p = pool_get_locked(s, backend, collection);
    p->nbusy--;
    if (h->generation == p->generation) {
        h->next = p->idle;
        p->idle = h;
        p->nidle++;
        h = NULL;
    }
    pthread_cond_broadcast(&s->handle_back);
    pthread_mutex_unlock(&s->mu);
    handle_close(h);
}

static void retire(rg_service *s, const char *backend, const char *collection)
{
    backend = backend_of(s, backend);
    pthread_mutex_lock(&s->mu);
    pool *p = pool_get_locked(s, backend, collection);
    p->generation++;
    handle *idle = p->idle;
    p->idle = NULL;
    p->nidle = 0;
    pthread_mutex_unlock(&s->mu);
    for (handle *hn; idle; idle = hn) {
        hn = idle->next;
        handle_close(idle);
    }
}

void rg_service_changed(rg_service *s, const char *backend, const char *collection)
{
    retire(s, backend, collection);
}

/* ---- request parsing -------------------------------------------------- */

static rg_status opt_string(const json_t *obj, const char *key, char **out, rg_error *err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return RG_OK;
    if (!json_is_string(v) || !json_string_length(v))
        return rg_error_set(err, RG_ERR_INVALID, "\"%s\" must be a non-empty string", key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return rg_error_set(err, RG_ERR_INVALID, "\"%s\" must not contain NUL characters", key);
    *out = rg_xstrdup(json_string_value(v));
    return RG_OK;
}

static rg_status opt_int(const json_t *obj, const char *key, int lo, int hi, int *out, rg_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return RG_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return rg_error_set(err, RG_ERR_INVALID, "\"%s\" takes a number from %d to %d", key, lo, hi);
    *out = (int)json_integer_value(v);
    return RG_OK;
}

static rg_status check_backend(const char *backend, rg_error *err)
{
    if (backend && !rg_store_backend_find(backend))
        return rg_error_set(err, RG_ERR_INVALID, "unknown backend '%s'; valid backends: leann, chromadb, exact",
                            backend);
    return RG_OK;
}

static rg_status check_members(const json_t *obj, const char *const *known, size_t n, rg_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        size_t i = 0;
        while (i < n && strcmp(key, known[i]))
            i++;
        if (i == n)
            return rg_error_set(err, RG_ERR_INVALID, "unknown member \"%.100s\" in the request", key);
    }
    return RG_OK;
}

/* "collection" and "backend", both optional, both checked: every request
 * that names a collection takes them the same way. */
static rg_status opt_target(const json_t *obj, char **collection, char **backend, rg_error *err)
{
    rg_status st = opt_string(obj, "collection", collection, err);
    if (st == RG_OK && *collection)
        st = rg_collection_name_check(*collection, err);
    if (st == RG_OK)
        st = opt_string(obj, "backend", backend, err);
    if (st == RG_OK)
        st = check_backend(*backend, err);
    return st;
}

rg_status rg_query_req_from_json(const json_t *obj, rg_query_req *out, rg_error *err)
{
    static const char *const known[] = {"query", "collection", "k", "mode", "where", "backend", "complexity",
                                        "rerank"};
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj))
        return rg_error_set(err, RG_ERR_INVALID, "the request must be a JSON object with \"query\"");
    rg_status st = check_members(obj, known, RG_ARRAY_LEN(known), err);
    if (st == RG_OK)
        st = opt_string(obj, "query", &out->query, err);
    if (st == RG_OK && !out->query)
        st = rg_error_set(err, RG_ERR_INVALID, "\"query\" is missing: the text to search for");
    if (st == RG_OK)
        st = opt_target(obj, &out->collection, &out->backend, err);
    if (st == RG_OK)
        st = opt_string(obj, "mode", &out->mode, err);
    if (st == RG_OK && out->mode) {
        rg_retrieve_mode m;
        st = rg_retrieve_mode_parse(out->mode, &m, err);
    }
    if (st == RG_OK)
        st = opt_int(obj, "k", 1, 100000, &out->k, err);
    if (st == RG_OK)
        st = opt_int(obj, "complexity", 1, 100000, &out->complexity, err);
    json_t *rr = json_object_get(obj, "rerank");
    if (st == RG_OK && rr && !json_is_boolean(rr) && !json_is_null(rr))
        st = rg_error_set(err, RG_ERR_INVALID, "\"rerank\" must be true or false (omit it for the server's setting)");
    out->rerank = json_is_true(rr) ? 1 : json_is_false(rr) ? -1 : 0;
    json_t *w = json_object_get(obj, "where");
    if (st == RG_OK && w && !json_is_null(w)) {
        if (json_is_string(w))
            st = rg_filter_parse(json_string_value(w), &out->where, err);
        else
            st = rg_filter_from_json(w, &out->where, err);
        if (st != RG_OK)
            rg_error_prefix(err, "\"where\"");
    }
    if (st != RG_OK)
        rg_query_req_free(out);
    return st;
}

static rg_status parse_body(const char *body, size_t len, json_t **out, rg_error *err)
{
    json_error_t je;
    *out = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return rg_error_set(err, RG_ERR_INVALID, "the request body is not valid JSON (line %d, column %d: %s)",
                            je.line, je.column, je.text);
    return RG_OK;
}

rg_status rg_query_req_parse(const char *body, size_t len, rg_query_req *out, rg_error *err)
{
    json_t *j;
    memset(out, 0, sizeof *out);
    rg_status st = parse_body(body, len, &j, err);
    if (st != RG_OK)
        return st;
    st = rg_query_req_from_json(j, out, err);
    json_decref(j);
    return st;
}

void rg_query_req_free(rg_query_req *r)
{
    free(r->query);
    free(r->collection);
    free(r->backend);
    free(r->mode);
    rg_filter_free(r->where);
    memset(r, 0, sizeof *r);
}

rg_status rg_ingest_req_from_json(const json_t *obj, rg_ingest_req *out, rg_error *err)
{
    static const char *const known[] = {"paths", "collection", "backend", "prune"};
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj))
        return rg_error_set(err, RG_ERR_INVALID, "the request must be a JSON object with \"paths\"");
    rg_status st = check_members(obj, known, RG_ARRAY_LEN(known), err);
    json_t *paths = json_object_get(obj, "paths");
    if (st == RG_OK && (!json_is_array(paths) || json_array_size(paths) == 0 || json_array_size(paths) > 4096))
        st = rg_error_set(err, RG_ERR_INVALID, "\"paths\" must be an array of 1 to 4096 paths on the server");
    if (st == RG_OK) {
        out->paths = rg_xcalloc(json_array_size(paths), sizeof *out->paths);
        size_t i;
        json_t *p;
        json_array_foreach(paths, i, p) {
            if (!json_is_string(p) || !json_string_length(p) ||
                strlen(json_string_value(p)) != json_string_length(p)) {
                st = rg_error_set(err, RG_ERR_INVALID, "\"paths\"[%zu] must be a non-empty string", i);
                break;
            }
            out->paths[out->npaths++] = rg_xstrdup(json_string_value(p));
        }
    }
    if (st == RG_OK)
        st = opt_target(obj, &out->collection, &out->backend, err);
    json_t *prune = json_object_get(obj, "prune");
    if (st == RG_OK && prune && !json_is_boolean(prune))
        st = rg_error_set(err, RG_ERR_INVALID, "\"prune\" must be true or false");
    out->prune = json_is_true(prune);
    if (st != RG_OK)
        rg_ingest_req_free(out);
    return st;
}

rg_status rg_ingest_req_parse(const char *body, size_t len, rg_ingest_req *out, rg_error *err)
{
    json_t *j;
    memset(out, 0, sizeof *out);
    rg_status st = parse_body(body, len, &j, err);
    if (st != RG_OK)
        return st;
    st = rg_ingest_req_from_json(j, out, err);
    json_decref(j);
    return st;
}

void rg_ingest_req_free(rg_ingest_req *r)
{
    for (size_t i = 0; i < r->npaths; i++)
        free(r->paths[i]);
    free(r->paths);
    free(r->collection);
    free(r->backend);
    memset(r, 0, sizeof *r);
}

/* ---- query ------------------------------------------------------------ */

/* Retrieval on a checked-out handle; *mode_out for the JSON. */
static rg_status retrieve(rg_service *s, handle *h, const rg_query_req *req, rg_query_result *res, int *k_out,
                          rg_retrieve_mode *mode_out, double *seconds, rg_error *err)
{
    rg_retrieve_opts qo;
    rg_retrieve_opts_from_config(&qo, s->cfg);
    if (req->k)
        qo.k = req->k;
    qo.where = req->where;
    qo.include = RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS;
    qo.search_complexity = req->complexity;
    if (req->mode) {
        rg_status st = rg_retrieve_mode_parse(req->mode, &qo.mode, err);
        if (st != RG_OK)
            return st;
    }
    *k_out = qo.k;
    *mode_out = qo.mode;
    if (req->rerank > 0 && !h->rr)
        return rg_error_set(err, RG_ERR_INVALID, "\"rerank\": true needs a cross-encoder on the server: set "
                            "retrieval.rerank.model (docs/retrieval.md)");
    qo.reranker = req->rerank < 0 ? NULL : h->rr;
    /* The same run as `ragged query` (filters checked on the results,
     * duplicates collapsed, k kept): query_output.h. */
    double t0 = rg_now();
    rg_status st = rg_query_run(h->coll, req->query, &qo, res, err);
    *seconds = rg_now() - t0;
    return st;
}

rg_status rg_service_query(rg_service *s, const rg_query_req *req, json_t **out, rg_error *err)
{
    handle *h;
    const char *coll = coll_of(s, req->collection);
    rg_status st = checkout(s, req->backend, coll, &h, err);
    if (st != RG_OK)
        return st;
    rg_query_result res;
    rg_query_result_init(&res);
    int k;
    rg_retrieve_mode mode;
    double seconds;
    st = retrieve(s, h, req, &res, &k, &mode, &seconds, err);
    if (st == RG_OK)
        *out = rg_query_result_to_json(&res, req->query, coll, rg_store_backend(h->store),
                                       rg_retrieve_mode_name(mode), k, seconds);
    rg_query_result_free(&res);
    checkin(s, req->backend, coll, h);
    return st;
}

rg_status rg_service_collections(rg_service *s, const char *backend, json_t **out, rg_error *err)
{
    rg_status st = check_backend(backend, err);
    rg_store *store = NULL;
    if (st == RG_OK)
        st = rg_store_open(s->cfg, backend, &store, err);
    rg_collection_info *infos = NULL;
    size_t n = 0;
    if (st == RG_OK)
        st = rg_store_list(store, &infos, &n, err);
    if (st == RG_OK)
        *out = rg_collections_json(rg_store_backend(store), infos, n);
    free(infos);
    rg_store_close(store);
    return st;
}

/* ---- answer ----------------------------------------------------------- */

bool rg_service_has_llm(const rg_service *s)
{
    return strcmp(rg_config_str(s->cfg, "llm.provider"), "none") != 0;
}

#ifndef RG_WITHOUT_CHROMADB
/* One /v1/answer request: events go to the client as the answer streams. */
typedef struct answer_stream {
    rg_service *svc;
    rg_service_event_fn event;
    void *ctx;
    rg_answer_stream stream;
    bool client_gone;
} answer_stream;

static bool emit(answer_stream *a, const char *name, json_t *data)
{
    bool ok = a->event(a->ctx, name, data);
    json_decref(data);
    if (!ok)
        a->client_gone = true;
    return ok;
}

static bool after_cite_filter(void *ctx, const char *text, size_t len)
{
    answer_stream *a = ctx;
    return emit(a, "text", json_pack("{s:s%}", "text", text, len));
}

static bool on_llm_text(void *ctx, const char *text, size_t len)
{
    answer_stream *a = ctx;
    if (a->client_gone || (a->svc->stop && *a->svc->stop))
        return false;
    return rg_answer_stream_feed(&a->stream, text, len);
}

/* How many of the latest turns fit in half the budget, and their tokens. */
static size_t turns_that_fit(const rg_chat_turn *turns, size_t n, int64_t budget, int64_t *tokens)
{
    int64_t used = 0;
    size_t keep = 0;
    while (keep < n) {
        const rg_chat_turn *t = &turns[n - 1 - keep];
        int64_t cost = rg_answer_count_tokens(t->question, strlen(t->question)) +
                       rg_answer_count_tokens(t->answer, strlen(t->answer)) + 2 * RG_PROMPT_MESSAGE_OVERHEAD;
        if (used + cost > budget / 2)
            break;
        used += cost;
        keep++;
    }
    *tokens = used;
    return keep;
}
#endif

rg_status rg_service_answer(rg_service *s, const rg_query_req *req, const char *question, const rg_chat_turn *turns,
                            size_t nturns, rg_service_event_fn event, void *ctx, rg_error *err)
{
    if (!question)
        question = req->query;
    if (!rg_service_has_llm(s))
        return rg_error_set(err, RG_ERR_UNAVAILABLE,
                            "no LLM is configured (llm.provider is none): set llm.provider to ollama or openai, "
                            "llm.url and llm.model to get answers (see docs/answers.md)");
#ifdef RG_WITHOUT_CHROMADB
    (void)req;
    (void)turns;
    (void)nturns;
    (void)event;
    (void)ctx;
    return rg_error_set(err, RG_ERR_UNAVAILABLE,
                        "answers were not compiled in: this ragged was built with WITHOUT_CHROMADB=1 (no libcurl)");
#else
    rg_llm_opts lo;
    if (rg_llm_opts_from_config(s->cfg, &lo, err) != RG_OK) {
        err->code = RG_ERR_UNAVAILABLE;   /* the server's setup, not the request */
        return RG_ERR_UNAVAILABLE;
    }
    rg_llm *llm = NULL;
    rg_status st = rg_llm_new(&lo, &llm, err);
    if (st != RG_OK) {
        rg_error_mask_secret(err, lo.api_key);
        if (err->code != RG_ERR_INTERRUPTED)
            err->code = RG_ERR_UNAVAILABLE;
        return st == RG_ERR_INTERRUPTED ? st : RG_ERR_UNAVAILABLE;
    }
    handle *h;
    const char *coll = coll_of(s, req->collection);
    st = checkout(s, req->backend, coll, &h, err);
    if (st != RG_OK) {
        rg_llm_free(llm);
        return st;
    }
    rg_query_result res;
    rg_query_result_init(&res);
    int k;
    rg_retrieve_mode mode;
    double seconds;
    st = retrieve(s, h, req, &res, &k, &mode, &seconds, err);
    rg_hits hits = res.hits; /* owned by res, freed with it below */
    /* The hits own their text: the handle goes back now, not after the
     * LLM's answer, which can take minutes. */
    char backend_name[32];
    snprintf(backend_name, sizeof backend_name, "%s", rg_store_backend(h->store));
    checkin(s, req->backend, coll, h);
    rg_passage *passages = rg_passages_from_hits(&hits);
    rg_prompt prompt;
    bool have_prompt = false;
    if (st == RG_OK && hits.n == 0)
        st = rg_error_set(err, RG_ERR_NOTFOUND, "no passages found in %s/%s; there is nothing to answer from",
                          backend_name, coll);
    int64_t turn_tokens = 0;
    size_t kept = turns_that_fit(turns, nturns, lo.context_tokens - lo.answer_tokens, &turn_tokens);
    if (st == RG_OK) {
        /* The kept turns' tokens are reserved like the answer's. */
        st = rg_prompt_build(question, passages, hits.n, lo.context_tokens, lo.answer_tokens + turn_tokens, &prompt,
                             err);
        have_prompt = st == RG_OK;
    }
    answer_stream a = {.svc = s, .event = event, .ctx = ctx};
    if (st == RG_OK) {
        json_t *arr = json_array();
        for (size_t i = 0; i < hits.n; i++) {
            json_t *p = rg_answer_source_json(&hits.items[i], i);
            json_object_set_new(p, "score", json_real(1.0 - hits.items[i].distance));
            json_object_set_new(p, "in_prompt", json_boolean(i < prompt.npassages));
            json_object_set_new(p, "text", json_string(passages[i].text));
            json_array_append_new(arr, p);
        }
        if (!emit(&a, "passages",
                  json_pack("{s:s, s:s, s:s, s:i, s:o, s:s}", "query", req->query, "collection", coll,
                            "mode", rg_retrieve_mode_name(mode), "k", k, "passages", arr, "model", lo.model)))
            st = rg_error_set(err, RG_ERR_INTERRUPTED, "the client went away");
    }
    if (st == RG_OK) {
        rg_answer_stream_init(&a.stream, lo.api_key, prompt.npassages, after_cite_filter, &a);
        rg_llm_message *msgs = rg_xcalloc(2 + 2 * kept, sizeof *msgs);
        size_t nm = 0;
        msgs[nm++] = (rg_llm_message){"system", prompt.system};
        for (size_t i = nturns - kept; i < nturns; i++) {
            msgs[nm++] = (rg_llm_message){"user", turns[i].question};
            msgs[nm++] = (rg_llm_message){"assistant", turns[i].answer};
        }
        msgs[nm++] = (rg_llm_message){"user", prompt.user};
        rg_llm_result llm_res;
        st = rg_llm_chat(llm, msgs, nm, on_llm_text, &a, &llm_res, err);
        free(msgs);
        if (!a.client_gone)
            rg_answer_stream_flush(&a.stream);
        rg_error_mask_secret(err, lo.api_key);
        if (a.client_gone)
            st = rg_error_set(err, RG_ERR_INTERRUPTED, "the client went away");
        else if (s->stop && *s->stop && st != RG_OK)
            st = rg_error_set(err, RG_ERR_INTERRUPTED, "the server is shutting down");
        if (!a.client_gone) {
            const rg_buf *answer = &a.stream.answer;
            rg_citations cites;
            rg_citations_extract(answer->data ? answer->data : "", answer->len, &cites);
            json_t *citations, *sources, *invalid;
            rg_answer_citations_json(&cites, &hits, prompt.npassages, &citations, &sources, &invalid);
            rg_citations_free(&cites);
            json_t *done = json_pack("{s:s, s:b, s:s%, s:o, s:o, s:o, s:s}", "status",
                                     st == RG_OK ? "answered" : "llm_failed", "complete", st == RG_OK, "answer",
                                     answer->data ? answer->data : "", answer->len, "citations", citations,
                                     "invalid_citations", invalid, "sources", sources, "finish_reason",
                                     llm_res.finish_reason);
            json_object_set_new(done, "turns_in_prompt", json_integer((json_int_t)kept));
            if (st != RG_OK)
                json_object_set_new(done, "error", rg_json_error(rg_status_name(err->code), err->msg));
            emit(&a, "done", done);
        }
        rg_answer_stream_free(&a.stream);
    }
    if (have_prompt)
        rg_prompt_free(&prompt);
    free(passages);
    rg_query_result_free(&res);
    rg_llm_free(llm);
    return st;
#endif
}

/* ---- ingest jobs ------------------------------------------------------ */

/* Progress from inside the ingest (ingest.h): the phase and its counts. */
static void job_progress(void *ctx, rg_ingest_phase phase, int64_t done, int64_t total, const char *current)
{
    job *j = ctx;
    pthread_mutex_lock(&j->svc->mu);
    j->phase = rg_ingest_phase_name(phase);
    j->phase_done = done;
    j->phase_total = total;
    snprintf(j->current, sizeof j->current, "%s", current ? current : "");
    pthread_mutex_unlock(&j->svc->mu);
    if (j->svc->stop && *j->svc->stop)
        j->stop = 1;
}

static void *job_main(void *arg)
{
    job *j = arg;
    rg_service *s = j->svc;
    handle *h = NULL;
    rg_error err;
    rg_ingest_report rep;
    rg_ingest_report_init(&rep);
    rg_status st = handle_open(s, j->req.backend, j->req.collection, true, &h, &err);
    if (st == RG_OK) {
        rg_ingest_opts io = {.prune = j->req.prune, .interrupted = &j->stop, .on_progress = job_progress,
                             .progress_ctx = j};
        st = rg_ingest_paths(h->coll, s->cfg, (const char *const *)j->req.paths, j->req.npaths, &io, &rep, &err);
        handle_close(h);
    }
    retire(s, j->req.backend, j->req.collection);
    pthread_mutex_lock(&s->mu);
    json_t *warnings = j->report.warnings;
    j->report = rep;
    json_decref(warnings);
    j->state = st == RG_OK ? "done" : st == RG_ERR_INTERRUPTED ? "interrupted" : "failed";
    if (st != RG_OK)
        j->err = err;
    j->current[0] = '\0';
    j->ended = rg_now();
    pthread_cond_broadcast(&s->job_ended);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

rg_status rg_service_ingest_start(rg_service *s, const rg_ingest_req *req, int64_t *id, rg_error *err)
{
    for (size_t i = 0; i < req->npaths; i++) {
        struct stat st;
        if (stat(req->paths[i], &st) != 0)
            return rg_error_set(err, RG_ERR_NOTFOUND, "no such file or directory on the server: %s", req->paths[i]);
    }
    job *j = rg_xcalloc(1, sizeof *j);
    j->svc = s;
    j->state = "running";
    j->started = rg_now();
    rg_ingest_report_init(&j->report);
    j->req.npaths = req->npaths;
    j->req.paths = rg_xcalloc(req->npaths, sizeof *j->req.paths);
    for (size_t i = 0; i < req->npaths; i++)
        j->req.paths[i] = rg_xstrdup(req->paths[i]);
    j->req.collection = rg_xstrdup(coll_of(s, req->collection));
    j->req.backend = req->backend ? rg_xstrdup(req->backend) : NULL;
    j->req.prune = req->prune;
    pthread_mutex_lock(&s->mu);
    j->id = s->next_job++;
    /* Forget the oldest finished jobs beyond JOBS_KEPT. */
    size_t n = 0;
    for (job **pp = &s->jobs; *pp;) {
        job *o = *pp;
        if (++n > JOBS_KEPT && strcmp(o->state, "running") != 0) {
            *pp = o->next;
            pthread_join(o->thread, NULL);
            job_free(o);
            continue;
        }
        pp = &o->next;
    }
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
        pthread_mutex_unlock(&s->mu);
        job_free(j);
        return rg_error_set(err, RG_ERR_NOMEM, "cannot start a thread for the ingest job");
    }
    j->next = s->jobs;
    s->jobs = j;
    *id = j->id;
    pthread_mutex_unlock(&s->mu);
    return RG_OK;
}

json_t *rg_service_job(rg_service *s, int64_t id, bool wait)
{
    pthread_mutex_lock(&s->mu);
    job *j = s->jobs;
    while (j && j->id != id)
        j = j->next;
    while (j && wait && !strcmp(j->state, "running"))
        pthread_cond_wait(&s->job_ended, &s->mu);
    json_t *o = NULL;
    if (j) {
        json_t *paths = json_array();
        for (size_t i = 0; i < j->req.npaths; i++)
            json_array_append_new(paths, json_string(j->req.paths[i]));
        const rg_ingest_report *r = &j->report;
        o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "id",
                      (json_int_t)j->id, "state", j->state, "collection", j->req.collection, "backend",
                      backend_of(s, j->req.backend), "paths", paths, "prune", j->req.prune, "files_total",
                      (json_int_t)r->files_total, "files_done", (json_int_t)r->files_done, "files_ingested",
                      (json_int_t)r->files_ingested, "files_unchanged", (json_int_t)r->files_unchanged,
                      "files_skipped", (json_int_t)r->files_skipped, "files_ignored", (json_int_t)r->files_ignored,
                      "chunks_written", (json_int_t)r->chunks_written, "chunks_removed",
                      (json_int_t)r->chunks_removed, "documents_pruned", (json_int_t)r->documents_pruned, "seconds",
                      (j->ended ? j->ended : rg_now()) - j->started);
        if (j->phase && !j->ended)
            json_object_set_new(o, "progress", json_pack("{s:s, s:I, s:I}", "phase", j->phase, "done",
                                                         (json_int_t)j->phase_done, "total",
                                                         (json_int_t)j->phase_total));
        if (j->current[0])
            json_object_set_new(o, "current", json_string(j->current));
        if (r->warnings && json_array_size(r->warnings))
            json_object_set(o, "warnings", r->warnings);
        if (!strcmp(j->state, "failed") || !strcmp(j->state, "interrupted"))
            json_object_set_new(o, "error", rg_json_error(rg_status_name(j->err.code), j->err.msg));
    }
    pthread_mutex_unlock(&s->mu);
    return o;
}

/* ---- errors ----------------------------------------------------------- */

int rg_service_http_status(rg_status code)
{
    switch (code) {
    case RG_OK: return 200;
    case RG_ERR_INVALID: return 400;
    case RG_ERR_NOTFOUND: return 404;
    case RG_ERR_EXISTS:
    case RG_ERR_MISMATCH:
    case RG_ERR_LOCKED: return 409;
    case RG_ERR_UNAVAILABLE:
    case RG_ERR_INTERRUPTED: return 503;
    case RG_ERR_NETWORK:
    case RG_ERR_SERVER: return 502;
    default: return 500;
    }
}

json_t *rg_service_error_json(const rg_error *err)
{
    return json_pack("{s:o}", "error", rg_json_error(rg_status_name(err->code), err->msg));
}
