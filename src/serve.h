/* `ragged serve`: JSON over HTTP (libmicrohttpd, opened with dlopen like
 * libcurl) in front of an rg_service, plus the web page at / and the MCP
 * endpoint at /mcp.  See docs/serve.md for the API.
 *
 * Security: the server binds loopback unless told otherwise; any other
 * address needs a bearer token (the caller refuses to start without one).
 * Every request's Host (and Origin, when a browser sends one) must name
 * this server, which defeats DNS rebinding; with a token, /v1 and /mcp
 * need "Authorization: Bearer TOKEN".  Neither the token nor any key is
 * ever written to a response or the log. */
#ifndef RG_SERVE_H
#define RG_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "service.h"

typedef struct rg_serve_opts {
    const char *host;            /* address to bind: "127.0.0.1", "::1", "0.0.0.0", ... */
    int port;                    /* 0: any free port (rg_server_port says which) */
    const char *token;           /* NULL: no token (loopback only); never logged */
    const char *const *allow_hosts;   /* extra names clients may use in Host (e.g. a DNS name) */
    size_t nallow;
    size_t max_body;             /* bytes; larger bodies get 413 */
    unsigned timeout_s;          /* idle connection timeout */
    unsigned max_connections;
    bool log;                    /* one line per request on stderr: method, path, status, ms */
} rg_serve_opts;

void rg_serve_opts_default(rg_serve_opts *o);

/* True for 127.0.0.0/8, ::1 and "localhost". */
bool rg_serve_is_loopback(const char *host);

typedef struct rg_server rg_server;

/* Binds and starts serving on background threads.  A non-loopback host
 * without a token is RG_ERR_INVALID (the command names serve.token_env). */
rg_status rg_server_start(rg_service *svc, const rg_serve_opts *o, rg_server **out, rg_error *err);
int rg_server_port(const rg_server *s);
/* Stops accepting, waits for the requests in flight, frees. */
void rg_server_stop(rg_server *s);

/* The request checks, separate for the tests: RG_OK, or the HTTP status
 * to answer (403 for a foreign Host/Origin, 401 for a missing or wrong
 * token) with the message in err.  host/origin/auth are the header values
 * (NULL when absent); needs_token: the path is under /v1 or /mcp. */
typedef struct rg_serve_guard {
    const char *bind_host;
    int port;
    const char *token;
    const char *const *allow_hosts;
    size_t nallow;
} rg_serve_guard;
int rg_serve_check(const rg_serve_guard *g, const char *host, const char *origin, const char *auth, bool needs_token,
                   rg_error *err);

/* The web page (src/serve_page.html, embedded at build time). */
extern const char rg_serve_page[];
extern const unsigned rg_serve_page_len;

#endif
