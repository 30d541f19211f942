/* The long-lived side of ragged: what `ragged serve` and `ragged mcp` keep
 * open between requests, and the operations both answer.
 *
 * An rg_service owns the configuration and a pool of open collection
 * handles (embedder + store + collection) per backend/collection.  A request
 * checks a handle out, uses it alone, and checks it back in, so BERT models
 * stay loaded, leann's recompute cache stays warm and queries on different
 * handles run in parallel on the callers' threads.  Ingest runs as a job on
 * its own thread with its own handle (the store's locking as for two
 * processes); when it finishes, the pooled handles of that collection are
 * retired so later queries see the new records.
 *
 * Requests arrive as JSON objects (HTTP bodies, MCP tool arguments); the
 * parsers here are the one place they are validated (fuzzed in
 * fuzz/fuzz_serve_request.c). */
#ifndef RG_SERVICE_H
#define RG_SERVICE_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "error.h"
#include "filter.h"

typedef struct rg_service rg_service;

/* cfg is borrowed and must outlive the service.  default_collection
 * (NULL: "default") serves requests that name none.  stop (may be NULL) is
 * polled by long operations: set, they end with RG_ERR_INTERRUPTED. */
rg_service *rg_service_new(const rg_config *cfg, const char *default_collection, volatile sig_atomic_t *stop);
/* Waits for running ingest jobs (they see stop) and closes every handle. */
void rg_service_free(rg_service *s);
const rg_config *rg_service_config(const rg_service *s);

/* ---- requests --------------------------------------------------------- */

/* A query or answer request: {"query", "collection", "k", "mode", "where",
 * "backend", "complexity"}; everything but query optional. */
typedef struct rg_query_req {
    char *query;
    char *collection;        /* NULL: the service's default collection */
    char *backend;           /* NULL: vectorstore.backend */
    char *mode;              /* NULL: retrieval.mode */
    int k;                   /* 0: retrieval.k */
    int complexity;          /* 0: backend default */
    rg_filter *where;
    int rerank;              /* "rerank": 0 as configured, 1 true (a reranker required), -1 false (skipped) */
} rg_query_req;

/* From a JSON object.  RG_ERR_INVALID naming the member and what it takes. */
rg_status rg_query_req_from_json(const json_t *obj, rg_query_req *out, rg_error *err);
/* From a request body (bounded by the caller): JSON text of an object. */
rg_status rg_query_req_parse(const char *body, size_t len, rg_query_req *out, rg_error *err);
void rg_query_req_free(rg_query_req *r);

/* An ingest request: {"paths": [...], "collection", "backend", "prune"}. */
typedef struct rg_ingest_req {
    char **paths;
    size_t npaths;
    char *collection;        /* NULL: the service's default collection */
    char *backend;
    bool prune;
} rg_ingest_req;

rg_status rg_ingest_req_from_json(const json_t *obj, rg_ingest_req *out, rg_error *err);
rg_status rg_ingest_req_parse(const char *body, size_t len, rg_ingest_req *out, rg_error *err);
void rg_ingest_req_free(rg_ingest_req *r);

/* ---- operations ------------------------------------------------------- */

/* The document of `ragged query --format json` (query_output.h). */
rg_status rg_service_query(rg_service *s, const rg_query_req *req, json_t **out, rg_error *err);
/* The document of `ragged collections list --format json`. */
rg_status rg_service_collections(rg_service *s, const char *backend, json_t **out, rg_error *err);

/* Answers with citations, streamed as events:
 *   "passages" {"passages": [{n, id, document_path, ..., score, text, in_prompt}], "model"}
 *   "text"     {"text": "..."}  answer text, secret masked, out-of-range citations marked "[n?]"
 *   "done"     {"status", "complete", "answer", "citations", "invalid_citations", "sources",
 *               "finish_reason", "turns_in_prompt"}
 * event returns false to stop (a client that went away): the LLM request is
 * abandoned and RG_ERR_INTERRUPTED returned.  Without a usable LLM:
 * RG_ERR_UNAVAILABLE (the CLI's exit 3) before any LLM event; the LLM
 * failing: RG_ERR_NETWORK/RG_ERR_SERVER (exit 4) after the events sent so
 * far.  Messages never contain the API key. */
typedef bool (*rg_service_event_fn)(void *ctx, const char *event, json_t *data);

/* Earlier turns of a conversation (`ragged ask`), oldest first.  They go
 * between the system message and the question as user/assistant messages;
 * the oldest are left out when they would take more than half of the
 * prompt's budget, and the passages get what the kept turns leave. */
typedef struct rg_chat_turn {
    const char *question;
    const char *answer;
} rg_chat_turn;

/* question: what the prompt asks (NULL: req->query, which always drives
 * retrieval; a chat retrieves with the previous question too). */
rg_status rg_service_answer(rg_service *s, const rg_query_req *req, const char *question, const rg_chat_turn *turns,
                            size_t nturns, rg_service_event_fn event, void *ctx, rg_error *err);
/* Whether llm.provider names an LLM (tools offer `ask` only then). */
bool rg_service_has_llm(const rg_service *s);

/* Starts an ingest job; its id in *id.  The paths are checked first
 * (RG_ERR_NOTFOUND for a path that does not exist). */
rg_status rg_service_ingest_start(rg_service *s, const rg_ingest_req *req, int64_t *id, rg_error *err);
/* {"id", "state": running|done|failed|interrupted, "collection", "paths",
 *  "files_total", "files_done", ..., "current", "error"?}; NULL if there is
 * no such job.  wait: block until the job has ended. */
json_t *rg_service_job(rg_service *s, int64_t id, bool wait);

/* The collection was changed from outside the service (serve --watch):
 * pooled handles are retired so later queries see the change. */
void rg_service_changed(rg_service *s, const char *backend, const char *collection);

/* HTTP status for a failure code (400 invalid input, 404 not found, ...). */
int rg_service_http_status(rg_status code);
/* {"error": {"code", "message"}}, as the CLI prints with --format json. */
json_t *rg_service_error_json(const rg_error *err);

#endif
