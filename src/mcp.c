/* The MCP server (see mcp.h): JSON-RPC 2.0 dispatch over an rg_service.
 *
 * Methods: initialize, ping, tools/list, tools/call; notifications
 * (notifications/initialized, .../cancelled) need no reply.  Tool failures
 * are results with isError (the model sees the message and can correct its
 * call); protocol problems are JSON-RPC errors. */
#include "mcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ragged.h"
#include "util.h"

/* Newest first; a client asking for one of these gets it, any other gets
 * the first (the client then decides whether it can go on). */
static const char *const PROTOCOL_VERSIONS[] = {"2025-06-18", "2025-03-26", "2024-11-05"};

struct rg_mcp {
    rg_service *svc;
};

rg_mcp *rg_mcp_new(rg_service *svc)
{
    rg_mcp *m = rg_xcalloc(1, sizeof *m);
    m->svc = svc;
    return m;
}

void rg_mcp_free(rg_mcp *m)
{
    free(m);
}

/* ---- parsing ---------------------------------------------------------- */

void rg_mcp_msg_free(rg_mcp_msg *m)
{
    json_decref(m->root);
    memset(m, 0, sizeof *m);
}

rg_status rg_mcp_parse(const char *text, size_t len, rg_mcp_msg *out, int *rpc_code, rg_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    out->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!out->root) {
        *rpc_code = RG_RPC_PARSE_ERROR;
        return rg_error_set(err, RG_ERR_INVALID, "not valid JSON (column %d: %s)", je.column, je.text);
    }
    json_t *r = out->root;
    if (!json_is_object(r)) {
        *rpc_code = RG_RPC_INVALID_REQUEST;
        return rg_error_set(err, RG_ERR_INVALID, "a message must be one JSON-RPC object (batches are not supported)");
    }
    json_t *id = json_object_get(r, "id");
    if (id && (json_is_string(id) || json_is_integer(id)))
        out->id = id;
    if (!json_is_string(json_object_get(r, "jsonrpc")) || strcmp(json_string_value(json_object_get(r, "jsonrpc")), "2.0")) {
        *rpc_code = RG_RPC_INVALID_REQUEST;
        return rg_error_set(err, RG_ERR_INVALID, "\"jsonrpc\" must be \"2.0\"");
    }
    if (id && !out->id) {
        *rpc_code = RG_RPC_INVALID_REQUEST;
        return rg_error_set(err, RG_ERR_INVALID, "\"id\" must be a string or an integer");
    }
    json_t *method = json_object_get(r, "method");
    if (!method) {
        if (out->id && (json_object_get(r, "result") || json_object_get(r, "error"))) {
            out->kind = RG_MCP_RESPONSE;
            return RG_OK;
        }
        *rpc_code = RG_RPC_INVALID_REQUEST;
        return rg_error_set(err, RG_ERR_INVALID, "a request needs \"method\"");
    }
    if (!json_is_string(method) || strlen(json_string_value(method)) != json_string_length(method)) {
        *rpc_code = RG_RPC_INVALID_REQUEST;
        return rg_error_set(err, RG_ERR_INVALID, "\"method\" must be a string");
    }
    out->method = json_string_value(method);
    json_t *params = json_object_get(r, "params");
    if (params && !json_is_object(params)) {
        *rpc_code = RG_RPC_INVALID_PARAMS;
        return rg_error_set(err, RG_ERR_INVALID, "\"params\" must be an object");
    }
    out->params = params;
    out->kind = out->id ? RG_MCP_REQUEST : RG_MCP_NOTIFICATION;
    return RG_OK;
}

/* ---- replies ---------------------------------------------------------- */

static char *reply(json_t *id, json_t *result)
{
    json_t *j = json_pack("{s:s, s:O?, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "result", result);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

/* The message through rg_utf8_lossy: a JSON parse error quotes the input
 * around the fault, which can be half a character ("ourc\" and the first
 * byte of a two-byte one), and json_pack refused such a message, so the
 * request got no reply at all (found by fuzz_mcp_message). */
static char *reply_error(json_t *id, int code, const char *message)
{
    char *clean = rg_utf8_lossy(message);
    json_t *j = json_pack("{s:s, s:O?, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", "code",
                          code, "message", clean);
    free(clean);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

/* A tool's result: text for the model, the JSON for clients that read
 * structuredContent. */
static json_t *tool_result(char *text, json_t *structured, bool is_error)
{
    json_t *r = json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", text, "isError", is_error);
    free(text);
    if (structured)
        json_object_set_new(r, "structuredContent", structured);
    return r;
}

static json_t *tool_error(const rg_error *err)
{
    return tool_result(rg_xasprintf("error (%s): %s", rg_status_name(err->code), err->msg), NULL, true);
}

/* ---- tools ------------------------------------------------------------ */

static json_t *schema_query(bool search)
{
    json_t *props = json_pack(
        "{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:i, s:i, s:s}, s:{s:s, s:[sss], s:s}, s:{s:s, s:s}, s:{s:s, s:s}}",
        "query", "type",
        "string", "description", search ? "what to search for" : "the question", "collection", "type", "string",
        "description", "collection name (default: the one ragged mcp was started with, --collection)", "k", "type", "integer", "minimum", 1, "maximum", 100,
        "description", "number of passages", "mode", "type", "string", "enum", "vector", "bm25", "hybrid",
        "description", "retrieval mode (default: the server's retrieval.mode)", "where", "type", "object",
        "description", "metadata filter in ChromaDB's where grammar, e.g. {\"page_number\": {\"$gte\": 3}}",
        "rerank", "type", "boolean", "description",
        "rerank with the server's cross-encoder (true requires one; false skips it; default: as configured)");
    return json_pack("{s:s, s:o, s:[s]}", "type", "object", "properties", props, "required", "query");
}

static json_t *tools_list(rg_mcp *m)
{
    json_t *tools = json_array();
    json_array_append_new(
        tools, json_pack("{s:s, s:s, s:o}", "name", "search", "description",
                         "Finds the passages of the user's local documents that best match a query; returns them "
                         "ranked with their source file, page and score.",
                         "inputSchema", schema_query(true)));
    if (rg_service_has_llm(m->svc))
        json_array_append_new(
            tools, json_pack("{s:s, s:s, s:o}", "name", "ask", "description",
                             "Answers a question from the user's local documents with the configured LLM, citing "
                             "passages as [n] with their sources.",
                             "inputSchema", schema_query(false)));
    json_array_append_new(tools, json_pack("{s:s, s:s, s:{s:s, s:{s:{s:s}}}}", "name", "list_collections",
                                           "description", "Lists the collections with their record counts.",
                                           "inputSchema", "type", "object", "properties", "backend", "type",
                                           "string"));
    json_array_append_new(
        tools, json_pack("{s:s, s:s, s:{s:s, s:{s:{s:s, s:{s:s}, s:s}, s:{s:s}, s:{s:s, s:s}}, s:[s]}}", "name",
                         "ingest", "description",
                         "Reads files or directories on the server's disk into a collection (incremental: unchanged "
                         "files are skipped) and reports what was stored.",
                         "inputSchema", "type", "object", "properties", "paths", "type", "array", "items", "type",
                         "string", "description", "files or directories on the server", "collection", "type",
                         "string", "prune", "type", "boolean", "description",
                         "also remove documents whose file is gone", "required", "paths"));
    return json_pack("{s:o}", "tools", tools);
}

static json_t *call_search(rg_mcp *m, json_t *args)
{
    rg_query_req req;
    rg_error err;
    if (rg_query_req_from_json(args, &req, &err) != RG_OK)
        return tool_error(&err);
    json_t *out = NULL;
    rg_status st = rg_service_query(m->svc, &req, &out, &err);
    rg_query_req_free(&req);
    if (st != RG_OK)
        return tool_error(&err);
    rg_buf text;
    rg_buf_init(&text);
    size_t i;
    json_t *r;
    json_t *results = json_object_get(out, "results");
    if (json_array_size(results) == 0)
        rg_buf_puts(&text, "No passages found.");
    json_array_foreach(results, i, r) {
        const char *path = json_string_value(json_object_get(r, "document_path"));
        rg_buf_printf(&text, "[%zu] %s", i + 1, path ? path : json_string_value(json_object_get(r, "id")));
        if (json_is_integer(json_object_get(r, "page_number")))
            rg_buf_printf(&text, ", page %lld", (long long)json_integer_value(json_object_get(r, "page_number")));
        rg_buf_printf(&text, " (score %.3f)\n%s\n\n", json_real_value(json_object_get(r, "score")),
                      json_string_value(json_object_get(r, "text")) ? json_string_value(json_object_get(r, "text"))
                                                                    : "");
    }
    return tool_result(rg_buf_steal(&text), out, false);
}

typedef struct ask_ctx {
    json_t *passages;
    json_t *done;
} ask_ctx;

static bool on_ask_event(void *ctx, const char *event, json_t *data)
{
    ask_ctx *a = ctx;
    if (!strcmp(event, "passages"))
        a->passages = json_incref(json_object_get(data, "passages"));
    else if (!strcmp(event, "done"))
        a->done = json_incref(data);
    return true;
}

static json_t *call_ask(rg_mcp *m, json_t *args)
{
    rg_query_req req;
    rg_error err;
    if (rg_query_req_from_json(args, &req, &err) != RG_OK)
        return tool_error(&err);
    ask_ctx a = {0};
    rg_status st = rg_service_answer(m->svc, &req, NULL, NULL, 0, on_ask_event, &a, &err);
    rg_query_req_free(&req);
    json_decref(a.passages);
    if (st != RG_OK) {
        json_decref(a.done);
        return tool_error(&err);
    }
    rg_buf text;
    rg_buf_init(&text);
    rg_buf_puts(&text, json_string_value(json_object_get(a.done, "answer")));
    json_t *sources = json_object_get(a.done, "sources");
    if (json_array_size(sources)) {
        rg_buf_puts(&text, "\n\nSources:\n");
        size_t i;
        json_t *s;
        json_array_foreach(sources, i, s) {
            const char *path = json_string_value(json_object_get(s, "document_path"));
            rg_buf_printf(&text, "[%lld] %s\n", (long long)json_integer_value(json_object_get(s, "n")),
                          path ? path : json_string_value(json_object_get(s, "id")));
        }
    }
    return tool_result(rg_buf_steal(&text), a.done, false);
}

static json_t *call_list(rg_mcp *m, json_t *args)
{
    json_t *b = json_object_get(args, "backend");
    rg_error err;
    if (b && !json_is_string(b)) {
        rg_error_set(&err, RG_ERR_INVALID, "\"backend\" must be a string");
        return tool_error(&err);
    }
    json_t *out;
    if (rg_service_collections(m->svc, json_string_value(b), &out, &err) != RG_OK)
        return tool_error(&err);
    rg_buf text;
    rg_buf_init(&text);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(out, "collections"), i, c)
        rg_buf_printf(&text, "%s (%s, %lld records)\n", json_string_value(json_object_get(c, "name")),
                      json_string_value(json_object_get(c, "backend")),
                      (long long)json_integer_value(json_object_get(c, "records")));
    if (!text.len)
        rg_buf_puts(&text, "No collections.");
    return tool_result(rg_buf_steal(&text), out, false);
}

static json_t *call_ingest(rg_mcp *m, json_t *args)
{
    rg_ingest_req req;
    rg_error err;
    if (rg_ingest_req_from_json(args, &req, &err) != RG_OK)
        return tool_error(&err);
    int64_t id;
    rg_status st = rg_service_ingest_start(m->svc, &req, &id, &err);
    rg_ingest_req_free(&req);
    if (st != RG_OK)
        return tool_error(&err);
    json_t *job = rg_service_job(m->svc, id, true);
    const char *state = json_string_value(json_object_get(job, "state"));
    bool ok = state && !strcmp(state, "done");
    char *text;
    if (ok)
        text = rg_xasprintf("Ingested %lld new or changed files (%lld unchanged, %lld skipped), %lld chunks "
                            "written, %lld removed.",
                            (long long)json_integer_value(json_object_get(job, "files_ingested")),
                            (long long)json_integer_value(json_object_get(job, "files_unchanged")),
                            (long long)json_integer_value(json_object_get(job, "files_skipped")),
                            (long long)json_integer_value(json_object_get(job, "chunks_written")),
                            (long long)json_integer_value(json_object_get(job, "chunks_removed")));
    else
        text = rg_xasprintf("ingest %s: %s", state ? state : "failed",
                            json_string_value(json_object_get(json_object_get(job, "error"), "message")));
    return tool_result(text, job, !ok);
}

/* ---- dispatch --------------------------------------------------------- */

char *rg_mcp_handle(rg_mcp *m, const char *text, size_t len)
{
    rg_mcp_msg msg;
    rg_error err;
    int code = 0;
    if (rg_mcp_parse(text, len, &msg, &code, &err) != RG_OK) {
        char *r = reply_error(msg.id, code, err.msg);
        rg_mcp_msg_free(&msg);
        return r;
    }
    if (msg.kind != RG_MCP_REQUEST) {
        rg_mcp_msg_free(&msg);
        return NULL;
    }
    char *out = NULL;
    const char *method = msg.method;
    if (!strcmp(method, "initialize")) {
        const char *want = json_string_value(json_object_get(msg.params, "protocolVersion"));
        const char *version = PROTOCOL_VERSIONS[0];
        for (size_t i = 0; want && i < RG_ARRAY_LEN(PROTOCOL_VERSIONS); i++)
            if (!strcmp(want, PROTOCOL_VERSIONS[i]))
                version = PROTOCOL_VERSIONS[i];
        out = reply(msg.id, json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s}, s:s}", "protocolVersion", version,
                                      "capabilities", "tools", "listChanged", 0, "serverInfo", "name", "ragged",
                                      "version", RAGGED_VERSION, "instructions",
                                      "Search the user's local document collections with `search` (passages with "
                                      "sources); cite the source paths you use."));
    } else if (!strcmp(method, "ping")) {
        out = reply(msg.id, json_object());
    } else if (!strcmp(method, "tools/list")) {
        out = reply(msg.id, tools_list(m));
    } else if (!strcmp(method, "tools/call")) {
        const char *name = json_string_value(json_object_get(msg.params, "name"));
        json_t *args = json_object_get(msg.params, "arguments");
        json_t *empty = NULL;
        if (!args)
            args = empty = json_object();
        if (!name)
            out = reply_error(msg.id, RG_RPC_INVALID_PARAMS, "tools/call needs params.name");
        else if (!json_is_object(args))
            out = reply_error(msg.id, RG_RPC_INVALID_PARAMS, "params.arguments must be an object");
        else if (!strcmp(name, "search"))
            out = reply(msg.id, call_search(m, args));
        else if (!strcmp(name, "ask") && rg_service_has_llm(m->svc))
            out = reply(msg.id, call_ask(m, args));
        else if (!strcmp(name, "list_collections"))
            out = reply(msg.id, call_list(m, args));
        else if (!strcmp(name, "ingest"))
            out = reply(msg.id, call_ingest(m, args));
        else {
            char *e = rg_xasprintf("unknown tool '%.100s'; tools/list names the tools", name);
            out = reply_error(msg.id, RG_RPC_INVALID_PARAMS, e);
            free(e);
        }
        json_decref(empty);
    } else {
        char *e = rg_xasprintf("method '%.100s' is not supported", method);
        out = reply_error(msg.id, RG_RPC_METHOD_NOT_FOUND, e);
        free(e);
    }
    rg_mcp_msg_free(&msg);
    return out;
}

int rg_mcp_stdio(rg_mcp *m, FILE *in, FILE *out, size_t max_line, volatile sig_atomic_t *stop)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    for (;;) {
        errno = 0;
        n = getline(&line, &cap, in);
        if (n < 0) {
            /* A signal interrupts the read (SA_RESTART is not set). */
            if (errno == EINTR && !(stop && *stop)) {
                clearerr(in);
                continue;
            }
            break;
        }
        if (stop && *stop)
            break;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        char *r;
        if ((size_t)n > max_line) {
            char msg[96];
            snprintf(msg, sizeof msg, "message longer than %zu bytes", max_line);
            r = reply_error(NULL, RG_RPC_INVALID_REQUEST, msg);
        } else {
            r = rg_mcp_handle(m, line, (size_t)n);
        }
        if (r) {
            /* JSON text from jansson has no raw newlines: one message a line. */
            fputs(r, out);
            fputc('\n', out);
            fflush(out);
            free(r);
        }
    }
    free(line);
    return stop && *stop ? 130 : 0;
}
