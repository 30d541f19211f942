/* `ragged mcp`: a Model Context Protocol server (JSON-RPC 2.0).  Over
 * stdio one message a line (rg_mcp_stdio); over HTTP the same handler
 * answers POST /mcp of `ragged serve`.  Tools: search, ask (only when an
 * LLM is configured), list_collections, ingest.  See docs/serve.md. */
#ifndef RG_MCP_H
#define RG_MCP_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include "error.h"
#include "service.h"

/* JSON-RPC error codes. */
#define RG_RPC_PARSE_ERROR (-32700)
#define RG_RPC_INVALID_REQUEST (-32600)
#define RG_RPC_METHOD_NOT_FOUND (-32601)
#define RG_RPC_INVALID_PARAMS (-32602)

/* One parsed message.  kind: a request (has id and method), a notification
 * (method, no id) or a response (from the client; ignored). */
typedef enum { RG_MCP_REQUEST, RG_MCP_NOTIFICATION, RG_MCP_RESPONSE } rg_mcp_kind;
typedef struct rg_mcp_msg {
    json_t *root;            /* owns everything below */
    rg_mcp_kind kind;
    json_t *id;              /* string or integer; NULL for notifications */
    const char *method;
    json_t *params;          /* object or NULL */
} rg_mcp_msg;

/* Parses and validates one message.  On failure *rpc_code is the JSON-RPC
 * error to answer with, err the message, and out->id the request's id when
 * it could be read (else NULL: the reply's id is null). */
rg_status rg_mcp_parse(const char *text, size_t len, rg_mcp_msg *out, int *rpc_code, rg_error *err);
void rg_mcp_msg_free(rg_mcp_msg *m);

typedef struct rg_mcp rg_mcp;
rg_mcp *rg_mcp_new(rg_service *svc);
void rg_mcp_free(rg_mcp *m);
/* Handles one message; the reply as one line of JSON text without the
 * newline (caller frees), or NULL when there is nothing to send
 * (notifications, responses). */
char *rg_mcp_handle(rg_mcp *m, const char *text, size_t len);
/* Reads messages from in, one a line, and writes replies to out until EOF
 * or stop.  Lines longer than max_line get a parse error and are skipped.
 * Returns 0, or 130 when stopped by a signal. */
int rg_mcp_stdio(rg_mcp *m, FILE *in, FILE *out, size_t max_line, volatile sig_atomic_t *stop);

#endif
