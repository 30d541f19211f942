/* HTTP client over libcurl (see http.h).
 *
 * One CURL easy handle per rg_http: libcurl keeps the connection to the last
 * hosts alive inside the handle, so consecutive requests to the same server
 * reuse one TCP (and TLS) connection.  Options are reset before every request
 * (curl_easy_reset keeps the connection cache) so one request's settings never
 * leak into the next.
 *
 * libcurl is not linked but opened on the first rg_http_new (dynlib.h):
 * linked, it and its TLS, LDAP, SSH and Kerberos dependencies slowed the
 * start-up of every command, and most commands never make a request
 * (bench/startup/). */
#include "http.h"

/* The calls go through function pointers, which curl's GCC type-checking
 * macros (they wrap the real curl_easy_setopt) cannot follow. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynlib.h"
#include "secret.h"

#ifndef RG_CURL_SONAME
#error "RG_CURL_SONAME is not set: mk/dynlib.mk reads it from the libcurl development package (libcurl4-openssl-dev)"
#endif
#ifndef RG_CURL_PACKAGE
#define RG_CURL_PACKAGE ""
#endif

/* Every libcurl function http.c calls, with the prototypes of the headers
 * it is built against. */
#define CURL_FUNCS(X)                                                                                                  \
    X(curl_global_init)                                                                                                \
    X(curl_easy_init)                                                                                                  \
    X(curl_easy_cleanup)                                                                                               \
    X(curl_easy_reset)                                                                                                 \
    X(curl_easy_setopt)                                                                                                \
    X(curl_easy_perform)                                                                                               \
    X(curl_easy_getinfo)                                                                                               \
    X(curl_easy_strerror)                                                                                              \
    X(curl_slist_append)                                                                                               \
    X(curl_slist_free_all)

typedef struct curl_api {
#define X(f) __typeof__(f) *f;
    CURL_FUNCS(X)
#undef X
} curl_api;

enum {
#define X(f) CURL_FUNC_##f,
    CURL_FUNCS(X)
#undef X
    CURL_NFUNCS
};

struct rg_http {
    const curl_api *cu;
    CURL *curl;
    long timeout_ms;
    long connect_timeout_ms;
    bool tls_verify;
    char *auth_header;       /* "Authorization: Bearer ..." or NULL; never printed */
    bool bearer_over_http;   /* the token may go over plain http:// to any host */
    char *bearer_http_key;   /* the configuration key that allows that, for the refusal */
    char *extra_header;
    char *noproxy;           /* loopback hosts appended to $no_proxy */
    char errbuf[CURL_ERROR_SIZE];
};

/* Loaded and initialised once per process, never undone: curl_global_init
 * must run once before any other thread uses libcurl (it is not
 * thread-safe in every libcurl build), and the library cannot be unloaded
 * safely afterwards (OpenSSL's exit handlers).  These are written only
 * inside pthread_once and read-only after it; a failure is kept too, so
 * every later rg_http_new reports the same message. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static curl_api curl_fns;
static rg_error curl_load_err;

static void curl_init_once(void)
{
    static const rg_dynlib lib = {RG_CURL_SONAME, RG_CURL_PACKAGE,
                                  "talking to a server (ChromaDB backend, remote embedder or LLM)"};
    static const char *const names[] = {
#define X(f) #f,
        CURL_FUNCS(X)
#undef X
    };
    void *syms[CURL_NFUNCS];
    if (rg_dynlib_load(&lib, names, CURL_NFUNCS, syms, &curl_load_err) != RG_OK)
        return;
    curl_api a;
#define X(f) a.f = (__typeof__(a.f))syms[CURL_FUNC_##f];
    CURL_FUNCS(X)
#undef X
    CURLcode rc = a.curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        rg_error_set(&curl_load_err, RG_ERR_INTERNAL, "cannot initialise libcurl: %s", a.curl_easy_strerror(rc));
        return;
    }
    curl_fns = a;
}

rg_http_opts rg_http_default_opts(void)
{
    rg_http_opts o = {0};
    o.timeout_ms = 30000;
    o.connect_timeout_ms = 5000;
    o.tls_verify = true;
    return o;
}

rg_status rg_http_new(const rg_http_opts *opts, rg_http **out, rg_error *err)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    if (curl_load_err.code != RG_OK)
        return rg_error_set(err, curl_load_err.code, "%s", curl_load_err.msg);
    rg_http_opts o = opts ? *opts : rg_http_default_opts();
    rg_http *h = rg_xcalloc(1, sizeof *h);
    h->cu = &curl_fns;
    h->curl = curl_fns.curl_easy_init();
    if (!h->curl) {
        free(h);
        return rg_error_set(err, RG_ERR_INTERNAL, "cannot create a libcurl handle");
    }
    h->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : 30000;
    h->connect_timeout_ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : 5000;
    h->tls_verify = o.tls_verify;
    if (o.bearer_token && *o.bearer_token) {
        h->auth_header = rg_xasprintf("Authorization: Bearer %s", o.bearer_token);
        h->bearer_over_http = o.bearer_over_http;
        h->bearer_http_key = rg_xstrdup(o.bearer_http_key ? o.bearer_http_key : "");
    }
    if (o.extra_header && *o.extra_header)
        h->extra_header = rg_xstrdup(o.extra_header);
    /* A local-first tool talks to servers on this machine: never send that
     * traffic through a proxy configured for the outside world. */
    const char *np = getenv("no_proxy");
    if (!np || !*np)
        np = getenv("NO_PROXY");
    h->noproxy = (np && *np) ? rg_xasprintf("%s,localhost,127.0.0.1,::1", np)
                             : rg_xstrdup("localhost,127.0.0.1,::1");
    if (!h->tls_verify)
        fprintf(stderr, "ragged: warning: TLS certificate verification is off (tls_verify: false); "
                        "anyone on the network path can read and change this traffic\n");
    *out = h;
    return RG_OK;
}

void rg_http_free(rg_http *h)
{
    if (!h)
        return;
    h->cu->curl_easy_cleanup(h->curl);
    if (h->auth_header) {
        /* The token should not outlive the handle in freed memory. */
        volatile char *p = h->auth_header;
        while (*p)
            *p++ = 0;
        free(h->auth_header);
    }
    free(h->extra_header);
    free(h->bearer_http_key);
    free(h->noproxy);
    free(h);
}

/* The URL as shown in messages: user:password@ removed. */
static void url_for_message(const char *url, char *buf, size_t n)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    const char *slash = strchr(host, '/');
    const char *at = strchr(host, '@');
    if (at && (!slash || at < slash))
        snprintf(buf, n, "%.*s%s", (int)(host - url), url, at + 1);
    else
        snprintf(buf, n, "%s", url);
}

typedef struct {
    rg_buf *response;
    rg_http_chunk_fn on_data;
    void *ctx;
    bool aborted;
} write_ctx;

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    write_ctx *w = userdata;
    size_t n = size * nmemb;
    if (w->response) {
        rg_buf_append(w->response, data, n);
        return n;
    }
    if (!w->on_data(w->ctx, data, n)) {
        w->aborted = true;
        return 0;   /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    return n;
}

static rg_status perform(rg_http *h, const char *method, const char *url, const char *body,
                         size_t body_len, long *status, write_ctx *w, rg_error *err)
{
    const curl_api *cu = h->cu;
    CURL *c = h->curl;
    cu->curl_easy_reset(c);
    h->errbuf[0] = 0;
    *status = 0;

    struct curl_slist *headers = NULL;
    if (body)
        headers = cu->curl_slist_append(headers, "Content-Type: application/json");
    /* Without this libcurl waits up to a second for "100 Continue" before
     * sending bodies over 1 MiB. */
    headers = cu->curl_slist_append(headers, "Expect:");
    if (h->auth_header)
        headers = cu->curl_slist_append(headers, h->auth_header);
    if (h->extra_header)
        headers = cu->curl_slist_append(headers, h->extra_header);

    cu->curl_easy_setopt(c, CURLOPT_URL, url);
    cu->curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    cu->curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    cu->curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu->curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    cu->curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
    cu->curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    cu->curl_easy_setopt(c, CURLOPT_NOPROXY, h->noproxy);
    cu->curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->tls_verify ? 1L : 0L);
    cu->curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->tls_verify ? 2L : 0L);
    cu->curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");   /* whatever libcurl can decode */
#if LIBCURL_VERSION_NUM >= 0x075500
    cu->curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    cu->curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    cu->curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    cu->curl_easy_setopt(c, CURLOPT_WRITEDATA, w);

    if (body) {
        cu->curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        cu->curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (strcmp(method, "GET") == 0 && !body)
        cu->curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    else if (strcmp(method, "HEAD") == 0)
        cu->curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (!(strcmp(method, "POST") == 0 && body))
        cu->curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);

    CURLcode rc = cu->curl_easy_perform(c);
    cu->curl_slist_free_all(headers);
    cu->curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);

    if (rc == CURLE_WRITE_ERROR && w->aborted)
        return rg_error_set(err, RG_ERR_INTERRUPTED, "request to %s stopped by the reader", url);
    if (rc != CURLE_OK) {
        char shown[512];
        url_for_message(url, shown, sizeof shown);
        const char *reason = h->errbuf[0] ? h->errbuf : cu->curl_easy_strerror(rc);
        return rg_error_set(err, RG_ERR_NETWORK, "cannot reach %s: %s", shown, reason);
    }
    cu->curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return RG_OK;
}

/* The bearer token of the handle, or NULL. */
static const char *token_of(const rg_http *h)
{
    static const char prefix[] = "Authorization: Bearer ";
    if (!h->auth_header || strncmp(h->auth_header, prefix, sizeof prefix - 1) != 0)
        return NULL;
    return h->auth_header + sizeof prefix - 1;
}

/* A hostile or misconfigured server may echo the request headers in any
 * answer (an HTML page with status 200 as well as a JSON error, escaped or
 * in another letter case), and callers quote answers in their messages:
 * blank the bearer token out of every body before anyone sees it. */
static void mask_token(const rg_http *h, rg_buf *b)
{
    const char *tok = token_of(h);
    if (tok && b->data)
        rg_secret_blank(b->data, b->len, tok);
}

void rg_http_mask(const rg_http *h, rg_error *err)
{
    const char *tok = h ? token_of(h) : NULL;
    if (tok)
        rg_error_mask_secret(err, tok);
}

/* Whether the URL's host is this machine (localhost, 127.0.0.0/8, ::1). */
static bool loopback_url(const char *url)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t hl = strcspn(host, "/?#");
    const char *at = rg_memrchr(host, '@', hl);
    if (at) {
        hl -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    char name[256];
    if (hl >= sizeof name)
        return false;
    memcpy(name, host, hl);
    name[hl] = 0;
    if (name[0] == '[') { /* [v6]:port */
        char *end = strchr(name, ']');
        if (!end)
            return false;
        *end = 0;
        return strcmp(name + 1, "::1") == 0 || strcasecmp(name + 1, "::ffff:127.0.0.1") == 0;
    }
    char *colon = strchr(name, ':');
    if (colon)
        *colon = 0;
    if (strcasecmp(name, "localhost") == 0)
        return true;
    unsigned a, b, c, d;
    char extra;
    return sscanf(name, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 && a == 127 && b < 256 && c < 256 && d < 256;
}

/* A token sent over plain http:// crosses the network in clear text: only
 * to this machine, or when the configuration says so. */
rg_status rg_http_check_url(const rg_http *h, const char *url, rg_error *err)
{
    if (!h->auth_header || h->bearer_over_http || strncasecmp(url, "http://", 7) != 0 || loopback_url(url))
        return RG_OK;
    char shown[512];
    url_for_message(url, shown, sizeof shown);
    return rg_error_set(err, RG_ERR_INVALID,
                        "refusing to send the API key/token to %s over plain http:// (anyone on the network path "
                        "could read it): use an https:// URL, or set %s: true if this network is trusted",
                        shown, h->bearer_http_key && *h->bearer_http_key ? h->bearer_http_key : "the *_over_http key");
}

rg_status rg_http_request(rg_http *h, const char *method, const char *url, const char *body,
                          size_t body_len, long *status, rg_buf *response, rg_error *err)
{
    write_ctx w = {.response = response};
    response->len = 0;
    if (response->data)
        response->data[0] = 0;
    rg_status st = rg_http_check_url(h, url, err);
    if (st != RG_OK)
        return st;
    st = perform(h, method, url, body, body_len, status, &w, err);
    mask_token(h, response);
    return st;
}

rg_status rg_http_stream(rg_http *h, const char *method, const char *url, const char *body, size_t body_len,
                         long *status, rg_http_chunk_fn on_data, void *ctx, rg_error *err)
{
    write_ctx w = {.on_data = on_data, .ctx = ctx};
    rg_status st = rg_http_check_url(h, url, err);
    if (st != RG_OK)
        return st;
    return perform(h, method, url, body, body_len, status, &w, err);
}
