/* The HTTP server of `ragged serve` (see serve.h).
 *
 * libmicrohttpd runs one thread per connection (bounded by
 * max_connections): a request blocks its own thread while the service
 * retrieves or the LLM streams, and queries on other connections go on in
 * parallel.  The library is opened with dlopen on start (src/dynlib.h): it
 * drags GnuTLS and its dependencies along, which no other command needs.
 *
 * Answers are Server-Sent Events.  The service runs on a worker thread and
 * appends events to a queue; MHD's content reader drains it.  When the
 * client goes away MHD frees the response, which sets `gone` so the worker
 * stops the LLM request at its next chunk. */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <time.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dynlib.h"
#include "mcp.h"
#include "ragged.h"
#include "util.h"

#ifndef RG_MHD_SONAME
#error "RG_MHD_SONAME is not set: mk/dynlib.mk reads it from libmicrohttpd's development package"
#endif
#ifndef RG_MHD_PACKAGE
#define RG_MHD_PACKAGE ""
#endif

#define MHD_FUNCS(X)                                                                                                  \
    X(MHD_start_daemon)                                                                                                \
    X(MHD_stop_daemon)                                                                                                 \
    X(MHD_get_daemon_info)                                                                                             \
    X(MHD_lookup_connection_value)                                                                                     \
    X(MHD_create_response_from_buffer)                                                                                 \
    X(MHD_create_response_from_callback)                                                                               \
    X(MHD_add_response_header)                                                                                         \
    X(MHD_queue_response)                                                                                              \
    X(MHD_destroy_response)

typedef struct mhd_api {
#define X(f) __typeof__(f) *f;
    MHD_FUNCS(X)
#undef X
} mhd_api;

enum {
#define X(f) MHD_FUNC_##f,
    MHD_FUNCS(X)
#undef X
    MHD_NFUNCS
};

struct rg_server {
    mhd_api api;
    struct MHD_Daemon *d;
    rg_service *svc;
    rg_mcp *mcp;
    rg_serve_opts o;
    char *bind_host;
    char *token;
    rg_serve_guard guard;
    int port;
};

void rg_serve_opts_default(rg_serve_opts *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8765;
    o->max_body = 1 << 20;
    o->timeout_s = 30;
    o->max_connections = 64;
    o->log = true;
}

bool rg_serve_is_loopback(const char *host)
{
    if (!host)
        return false;
    if (!strcasecmp(host, "localhost"))
        return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* ---- request checks --------------------------------------------------- */

/* The host part of a Host header or an origin's authority, and its port
 * (-1: none).  "[::1]:8765" -> "::1", 8765. */
static bool split_authority(const char *a, char *host, size_t n, long *port)
{
    *port = -1;
    const char *end;
    if (*a == '[') {
        end = strchr(a, ']');
        if (!end || (size_t)(end - a - 1) >= n)
            return false;
        memcpy(host, a + 1, (size_t)(end - a - 1));
        host[end - a - 1] = '\0';
        end++;
    } else {
        end = strchr(a, ':');
        if (!end)
            end = a + strlen(a);
        if ((size_t)(end - a) >= n || end == a)
            return false;
        memcpy(host, a, (size_t)(end - a));
        host[end - a] = '\0';
    }
    if (*end == ':') {
        char *e;
        long p = strtol(end + 1, &e, 10);
        if (*e || p < 1 || p > 65535 || e == end + 1)
            return false;
        *port = p;
    } else if (*end) {
        return false;
    }
    return true;
}

static bool name_allowed(const rg_serve_guard *g, const char *host)
{
    /* A loopback server answers only to loopback names: a rebound DNS name
     * pointing at 127.0.0.1 is exactly the attack. */
    if (rg_serve_is_loopback(host))
        return true;
    if (g->bind_host && !strcasecmp(host, g->bind_host) && !rg_serve_is_loopback(g->bind_host))
        return true;
    for (size_t i = 0; i < g->nallow; i++)
        if (!strcasecmp(host, g->allow_hosts[i]))
            return true;
    return false;
}

static bool authority_allowed(const rg_serve_guard *g, const char *authority)
{
    char host[256];
    long port;
    if (!split_authority(authority, host, sizeof host, &port))
        return false;
    if (port != -1 ? port != g->port : g->port != 80)
        return false;
    return name_allowed(g, host);
}

/* Compares without an early exit, so response times do not tell how much
 * of a guessed token was right. */
static bool token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

int rg_serve_check(const rg_serve_guard *g, const char *host, const char *origin, const char *auth, bool needs_token,
                   rg_error *err)
{
    if (!host || !*host) {
        rg_error_set(err, RG_ERR_INVALID, "the request has no Host header");
        return 400;
    }
    if (!authority_allowed(g, host)) {
        rg_error_set(err, RG_ERR_INVALID,
                     "the Host header does not name this server (DNS rebinding protection); use "
                     "http://127.0.0.1:%d/, or start the server with --allow-host NAME",
                     g->port);
        return 403;
    }
    if (origin && *origin && strcmp(origin, "null") != 0) {
        const char *a = NULL;
        if (!strncasecmp(origin, "http://", 7))
            a = origin + 7;
        if (!a || !authority_allowed(g, a)) {
            rg_error_set(err, RG_ERR_INVALID, "cross-origin requests are refused (the Origin is not this server)");
            return 403;
        }
    } else if (origin && !strcmp(origin, "null")) {
        rg_error_set(err, RG_ERR_INVALID, "cross-origin requests are refused (Origin: null)");
        return 403;
    }
    if (g->token && needs_token) {
        if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !token_equal(auth + 7, g->token)) {
            rg_error_set(err, RG_ERR_INVALID,
                         "missing or wrong bearer token: send 'Authorization: Bearer TOKEN' with the token the "
                         "server was started with (serve.token_env)");
            return 401;
        }
    }
    return 0;
}

/* ---- responses -------------------------------------------------------- */

typedef struct request {
    char method[8];
    char path[48];           /* for the log line; cut */
    rg_buf body;
    bool too_big;
    double t0;
} request;

static void add_common_headers(rg_server *s, struct MHD_Response *r)
{
    s->api.MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    s->api.MHD_add_response_header(r, "Cache-Control", "no-store");
    s->api.MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result send_bytes(rg_server *s, struct MHD_Connection *c, unsigned status, const char *type,
                                  char *data, size_t len, bool owned)
{
    struct MHD_Response *r = s->api.MHD_create_response_from_buffer(
        len, data, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(data);
        return MHD_NO;
    }
    s->api.MHD_add_response_header(r, "Content-Type", type);
    add_common_headers(s, r);
    enum MHD_Result ret = s->api.MHD_queue_response(c, status, r);
    s->api.MHD_destroy_response(r);
    return ret;
}

/* JSON as the CLI prints it (indent 2, members in order, final newline), so
 * a response can be compared with `ragged query --format json`. */
static enum MHD_Result send_json(rg_server *s, struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!text)
        return MHD_NO;
    size_t n = strlen(text);
    text = rg_xrealloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = '\0';
    return send_bytes(s, c, status, "application/json", text, n + 1, true);
}

static enum MHD_Result send_error(rg_server *s, struct MHD_Connection *c, unsigned status, const rg_error *err)
{
    return send_json(s, c, status, rg_service_error_json(err));
}

static enum MHD_Result send_status_error(rg_server *s, struct MHD_Connection *c, const rg_error *err)
{
    return send_error(s, c, (unsigned)rg_service_http_status(err->code), err);
}

/* ---- answers as server-sent events ------------------------------------ */

#define SSE_KEEPALIVE_S 5

typedef struct sse {
    rg_service *svc;
    rg_query_req req;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rg_buf queue;            /* formatted events not yet sent */
    size_t sent;             /* bytes of queue already handed to MHD */
    size_t events;
    bool done_sent;          /* a "done" event is in the stream */
    bool finished;           /* the worker is done; queue has everything */
    bool gone;               /* MHD freed the response: the client left */
    rg_status result;
    rg_error err;
    pthread_t thread;
} sse;

static bool sse_event(void *ctx, const char *event, json_t *data)
{
    sse *e = ctx;
    char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    pthread_mutex_lock(&e->mu);
    bool ok = !e->gone;
    if (ok && text) {
        /* JSON text has no raw newlines, so one data: line carries it. */
        rg_buf_printf(&e->queue, "event: %s\ndata: %s\n\n", event, text);
        e->events++;
        e->done_sent |= !strcmp(event, "done");
        pthread_cond_broadcast(&e->cv);
    }
    pthread_mutex_unlock(&e->mu);
    free(text);
    return ok;
}

static void *sse_main(void *arg)
{
    sse *e = arg;
    rg_error err;
    rg_status st = rg_service_answer(e->svc, &e->req, NULL, NULL, 0, sse_event, e, &err);
    pthread_mutex_lock(&e->mu);
    e->result = st;
    if (st != RG_OK) {
        e->err = err;
        /* A failure after the passages went out: the "done" event carries
         * it when the LLM failed; anything else gets an "error" event. */
        if (e->events && !e->gone && !e->done_sent) {
            json_t *j = rg_service_error_json(&err);
            char *text = json_dumps(j, JSON_COMPACT);
            json_decref(j);
            if (text)
                rg_buf_printf(&e->queue, "event: error\ndata: %s\n\n", text);
            free(text);
        }
    }
    e->finished = true;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    sse *e = cls;
    pthread_mutex_lock(&e->mu);
    /* Blocking is allowed in thread-per-connection mode.  While the model
     * is silent, a comment line every few seconds keeps proxies from timing
     * the stream out and shows whether the client is still there (writing
     * to a closed connection ends the response, which stops the LLM). */
    while (e->sent == e->queue.len && !e->finished) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += SSE_KEEPALIVE_S;
        if (pthread_cond_timedwait(&e->cv, &e->mu, &until) == ETIMEDOUT && e->sent == e->queue.len &&
            !e->finished)
            rg_buf_puts(&e->queue, ": keep-alive\n\n");
    }
    ssize_t n;
    if (e->sent == e->queue.len) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        size_t avail = e->queue.len - e->sent;
        n = (ssize_t)(avail < max ? avail : max);
        memcpy(buf, e->queue.data + e->sent, (size_t)n);
        e->sent += (size_t)n;
        if (e->sent == e->queue.len) {
            e->queue.len = 0;
            e->sent = 0;
        }
    }
    pthread_mutex_unlock(&e->mu);
    return n;
}

static void sse_free(void *cls)
{
    sse *e = cls;
    pthread_mutex_lock(&e->mu);
    e->gone = true;
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    rg_query_req_free(&e->req);
    rg_buf_free(&e->queue);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}

static enum MHD_Result handle_answer(rg_server *s, struct MHD_Connection *c, request *rq)
{
    sse *e = rg_xcalloc(1, sizeof *e);
    rg_error err;
    if (rg_query_req_parse(rq->body.data ? rq->body.data : "", rq->body.len, &e->req, &err) != RG_OK) {
        free(e);
        return send_status_error(s, c, &err);
    }
    e->svc = s->svc;
    rg_buf_init(&e->queue);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    if (pthread_create(&e->thread, NULL, sse_main, e) != 0) {
        rg_query_req_free(&e->req);
        free(e);
        rg_error_set(&err, RG_ERR_NOMEM, "cannot start a thread for the answer");
        return send_status_error(s, c, &err);
    }
    /* Wait for the first event or the end: a request that fails before
     * streaming (no LLM, unknown collection) gets a plain JSON error with
     * its HTTP status instead of a stream. */
    pthread_mutex_lock(&e->mu);
    while (!e->events && !e->finished)
        pthread_cond_wait(&e->cv, &e->mu);
    bool failed_early = !e->events && e->finished && e->result != RG_OK;
    pthread_mutex_unlock(&e->mu);
    if (failed_early) {
        err = e->err;
        sse_free(e);
        return send_status_error(s, c, &err);
    }
    struct MHD_Response *r = s->api.MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, e, sse_free);
    if (!r) {
        sse_free(e);
        return MHD_NO;
    }
    s->api.MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    add_common_headers(s, r);
    enum MHD_Result ret = s->api.MHD_queue_response(c, MHD_HTTP_OK, r);
    s->api.MHD_destroy_response(r);
    return ret;
}

/* ---- routes ----------------------------------------------------------- */

static enum MHD_Result handle_query(rg_server *s, struct MHD_Connection *c, request *rq)
{
    rg_query_req req;
    rg_error err;
    if (rg_query_req_parse(rq->body.data ? rq->body.data : "", rq->body.len, &req, &err) != RG_OK)
        return send_status_error(s, c, &err);
    json_t *out = NULL;
    rg_status st = rg_service_query(s->svc, &req, &out, &err);
    rg_query_req_free(&req);
    if (st != RG_OK)
        return send_status_error(s, c, &err);
    return send_json(s, c, MHD_HTTP_OK, out);
}

static enum MHD_Result handle_ingest(rg_server *s, struct MHD_Connection *c, request *rq)
{
    rg_ingest_req req;
    rg_error err;
    if (rg_ingest_req_parse(rq->body.data ? rq->body.data : "", rq->body.len, &req, &err) != RG_OK)
        return send_status_error(s, c, &err);
    int64_t id;
    rg_status st = rg_service_ingest_start(s->svc, &req, &id, &err);
    rg_ingest_req_free(&req);
    if (st != RG_OK)
        return send_status_error(s, c, &err);
    json_t *j = rg_service_job(s->svc, id, false);
    char url[64];
    snprintf(url, sizeof url, "/v1/jobs/%lld", (long long)id);
    json_object_set_new(j, "url", json_string(url));
    return send_json(s, c, MHD_HTTP_ACCEPTED, j);
}

static enum MHD_Result handle_mcp(rg_server *s, struct MHD_Connection *c, request *rq)
{
    char *reply = rg_mcp_handle(s->mcp, rq->body.data ? rq->body.data : "", rq->body.len);
    if (!reply)   /* a notification: nothing to answer */
        return send_bytes(s, c, MHD_HTTP_ACCEPTED, "application/json", (char *)"", 0, false);
    return send_bytes(s, c, MHD_HTTP_OK, "application/json", reply, strlen(reply), true);
}

static enum MHD_Result route(rg_server *s, struct MHD_Connection *c, const char *url, const char *method,
                             request *rq)
{
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    rg_error err;
    const char *allowed = NULL;
    if (!strcmp(url, "/") || !strcmp(url, "/index.html")) {
        if (!get)
            allowed = "GET";
        else {
            struct MHD_Response *r = s->api.MHD_create_response_from_buffer(
                rg_serve_page_len, (void *)rg_serve_page, MHD_RESPMEM_PERSISTENT);
            if (!r)
                return MHD_NO;
            s->api.MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
            /* Everything the page needs is inline; it may talk only to us. */
            s->api.MHD_add_response_header(r, "Content-Security-Policy",
                                           "default-src 'none'; script-src 'unsafe-inline'; style-src "
                                           "'unsafe-inline'; connect-src 'self'; img-src data:; "
                                           "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
            s->api.MHD_add_response_header(r, "X-Frame-Options", "DENY");
            add_common_headers(s, r);
            enum MHD_Result ret = s->api.MHD_queue_response(c, MHD_HTTP_OK, r);
            s->api.MHD_destroy_response(r);
            return ret;
        }
    } else if (!strcmp(url, "/v1/health")) {
        if (!get)
            allowed = "GET";
        else
            return send_json(s, c, MHD_HTTP_OK,
                             json_pack("{s:s, s:s, s:s, s:b}", "status", "ok", "version", RAGGED_VERSION,
                                       "backend", rg_config_str(rg_service_config(s->svc), "vectorstore.backend"),
                                       "llm", rg_service_has_llm(s->svc)));
    } else if (!strcmp(url, "/v1/collections")) {
        if (!get)
            allowed = "GET";
        else {
            const char *backend = s->api.MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "backend");
            json_t *out;
            if (rg_service_collections(s->svc, backend, &out, &err) != RG_OK)
                return send_status_error(s, c, &err);
            return send_json(s, c, MHD_HTTP_OK, out);
        }
    } else if (!strcmp(url, "/v1/query")) {
        if (!post)
            allowed = "POST";
        else
            return handle_query(s, c, rq);
    } else if (!strcmp(url, "/v1/answer")) {
        if (!post)
            allowed = "POST";
        else
            return handle_answer(s, c, rq);
    } else if (!strcmp(url, "/v1/ingest")) {
        if (!post)
            allowed = "POST";
        else
            return handle_ingest(s, c, rq);
    } else if (!strncmp(url, "/v1/jobs/", 9)) {
        if (!get)
            allowed = "GET";
        else {
            char *end;
            long long id = strtoll(url + 9, &end, 10);
            json_t *j = *end || end == url + 9 ? NULL : rg_service_job(s->svc, id, false);
            if (!j) {
                rg_error_set(&err, RG_ERR_NOTFOUND, "no such job: %.64s", url + 9);
                return send_error(s, c, MHD_HTTP_NOT_FOUND, &err);
            }
            return send_json(s, c, MHD_HTTP_OK, j);
        }
    } else if (!strcmp(url, "/mcp")) {
        if (!post)
            allowed = "POST";
        else
            return handle_mcp(s, c, rq);
    } else {
        rg_error_set(&err, RG_ERR_NOTFOUND,
                     "no such endpoint; the API is /v1/health, /v1/collections, /v1/query, /v1/answer, "
                     "/v1/ingest, /v1/jobs/ID and /mcp (docs/serve.md)");
        return send_error(s, c, MHD_HTTP_NOT_FOUND, &err);
    }
    rg_error_set(&err, RG_ERR_INVALID, "%s takes %s only", url, allowed);
    return send_error(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, &err);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    rg_server *s = cls;
    request *rq = *con_cls;
    if (!rq) {
        rq = rg_xcalloc(1, sizeof *rq);
        rg_buf_init(&rq->body);
        rq->t0 = rg_now();
        snprintf(rq->method, sizeof rq->method, "%s", method);
        snprintf(rq->path, sizeof rq->path, "%s", url);
        *con_cls = rq;
        /* Checked before any body is read. */
        rg_error err;
        bool api = !strncmp(url, "/v1/", 4) || !strcmp(url, "/mcp");
        int status = rg_serve_check(
            &s->guard, s->api.MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
            s->api.MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"),
            s->api.MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION), api, &err);
        if (status)
            return send_error(s, c, (unsigned)status, &err);
        const char *cl = s->api.MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->o.max_body) {
            rg_error_set(&err, RG_ERR_INVALID, "the request body is larger than %zu bytes", s->o.max_body);
            return send_error(s, c, MHD_HTTP_CONTENT_TOO_LARGE, &err);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (rq->body.len + *upload_size > s->o.max_body)
            rq->too_big = true;
        else
            rg_buf_append(&rq->body, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->too_big) {
        rg_error err;
        rg_error_set(&err, RG_ERR_INVALID, "the request body is larger than %zu bytes", s->o.max_body);
        return send_error(s, c, MHD_HTTP_CONTENT_TOO_LARGE, &err);
    }
    return route(s, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    rg_server *s = cls;
    request *rq = *con_cls;
    if (!rq)
        return;
    if (s->o.log) {
        /* Method and path only: never headers (the token), query strings or
         * bodies. */
        fprintf(stderr, "ragged serve: %s %s %.1f ms%s\n", rq->method, rq->path, (rg_now() - rq->t0) * 1000.0,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed early)");
    }
    rg_buf_free(&rq->body);
    free(rq);
    *con_cls = NULL;
}

/* Resolves host to the address to bind. */
static rg_status bind_address(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len,
                              rg_error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0 || !res)
        return rg_error_set(err, RG_ERR_INVALID, "cannot resolve --host '%s': %s", host, gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return RG_OK;
}

rg_status rg_server_start(rg_service *svc, const rg_serve_opts *o, rg_server **out, rg_error *err)
{
    *out = NULL;
    if (!rg_serve_is_loopback(o->host) && (!o->token || !*o->token))
        return rg_error_set(err, RG_ERR_INVALID,
                            "refusing to listen on %s without a token: anyone who can reach it could read and change "
                            "your collections; set serve.token_env to the name of an environment variable holding "
                            "a long random token (clients send 'Authorization: Bearer TOKEN'), or bind 127.0.0.1",
                            o->host);
    rg_server *s = rg_xcalloc(1, sizeof *s);
    static const rg_dynlib lib = {RG_MHD_SONAME, RG_MHD_PACKAGE, "ragged serve (the HTTP server)"};
    static const char *const names[] = {
#define X(f) #f,
        MHD_FUNCS(X)
#undef X
    };
    void *syms[MHD_NFUNCS];
    rg_status st = rg_dynlib_load(&lib, names, MHD_NFUNCS, syms, err);
    if (st != RG_OK) {
        free(s);
        return st;
    }
#define X(f) s->api.f = (__typeof__(s->api.f))syms[MHD_FUNC_##f];
    MHD_FUNCS(X)
#undef X
    struct sockaddr_storage ss;
    socklen_t sslen;
    st = bind_address(o->host, o->port, &ss, &sslen, err);
    if (st != RG_OK) {
        free(s);
        return st;
    }
    s->svc = svc;
    s->o = *o;
    s->bind_host = rg_xstrdup(o->host);
    s->token = o->token ? rg_xstrdup(o->token) : NULL;
    s->o.host = s->bind_host;
    s->o.token = s->token;
    s->mcp = rg_mcp_new(svc);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->d = s->api.MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                                   (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout_s,
                                   MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
                                   MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!s->d) {
        rg_mcp_free(s->mcp);
        free(s->bind_host);
        free(s->token);
        free(s);
        return rg_error_set(err, RG_ERR_IO, "cannot listen on %s port %d (in use, or not an address of this machine)",
                            o->host, o->port);
    }
    const union MHD_DaemonInfo *di = s->api.MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    s->guard = (rg_serve_guard){.bind_host = s->bind_host, .port = s->port, .token = s->token,
                                .allow_hosts = o->allow_hosts, .nallow = o->nallow};
    *out = s;
    return RG_OK;
}

int rg_server_port(const rg_server *s)
{
    return s->port;
}

void rg_server_stop(rg_server *s)
{
    if (!s)
        return;
    s->api.MHD_stop_daemon(s->d);
    rg_mcp_free(s->mcp);
    if (s->token)
        memset(s->token, 0, strlen(s->token));
    free(s->token);
    free(s->bind_host);
    free(s);
}
