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
    const char *extra_header; /* one more "Name: value" header, or NULL */
} rg_http_opts;

rg_http_opts rg_http_default_opts(void);
rg_status rg_http_new(const rg_http_opts *opts, rg_http **out, rg_error *err);
void rg_http_free(rg_http *h);

/* Sends a request (body may be NULL; JSON content type when present) and
 * collects the response body.  A transport failure is RG_ERR_NETWORK with
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
