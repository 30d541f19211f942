/* A small HTTP client over libcurl, shared by the chromadb backend, the
 * remote embedders and the LLM client.  One handle per thread; it keeps the
 * connection alive between requests. */
#ifndef RG_HTTP_H
#define RG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "util.h"

typedef struct rg_http rg_http;

typedef struct rg_http_opts {
    long timeout_ms;          /* whole request; 0: 30 s */
    long connect_timeout_ms;  /* 0: 5 s */
    bool tls_verify;          /* verify certificates (default true: set by rg_http_default_opts) */
    const char *bearer_token; /* Authorization: Bearer ...; never logged or put in messages */
    /* The token goes over plain http:// only to a loopback host, unless
     * this is set (from the configuration key named by bearer_http_key,
     * which the refusal names). */
    bool bearer_over_http;
    const char *bearer_http_key;
    const char *extra_header; /* one more "Name: value" header, or NULL */
} rg_http_opts;

rg_http_opts rg_http_default_opts(void);
rg_status rg_http_new(const rg_http_opts *opts, rg_http **out, rg_error *err);
void rg_http_free(rg_http *h);

/* RG_ERR_INVALID, naming the configuration key that allows it, when a
 * request to url would send the bearer token over plain http:// to a host
 * that is not this machine (every request checks this; callers check
 * early to refuse before any other work). */
rg_status rg_http_check_url(const rg_http *h, const char *url, rg_error *err);

/* Overwrites the handle's bearer token in text (however spelled, secret.h)
 * with '*'; for the error messages callers build from server answers. */
void rg_http_mask(const rg_http *h, rg_error *err);

/* Sends a request (body may be NULL; JSON content type when present) and
 * collects the response body; every spelling of the bearer token in it is
 * overwritten with '*' (a hostile server may echo the request headers in
 * any answer, and callers quote answers in messages).  A transport failure is RG_ERR_NETWORK with
 * "cannot reach URL: REASON"; any HTTP status is returned in *status with
 * RG_OK (the caller decides what a 4xx/5xx means). */
rg_status rg_http_request(rg_http *h, const char *method, const char *url, const char *body,
                          size_t body_len, long *status, rg_buf *response, rg_error *err);

/* Streaming variant: on_data receives body bytes as they arrive; returning
 * false aborts the transfer (RG_ERR_INTERRUPTED). */
typedef bool (*rg_http_chunk_fn)(void *ctx, const char *data, size_t len);
rg_status rg_http_stream(rg_http *h, const char *method, const char *url, const char *body, size_t body_len,
                         long *status, rg_http_chunk_fn on_data, void *ctx, rg_error *err);

#endif
