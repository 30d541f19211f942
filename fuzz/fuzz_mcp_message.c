/* MCP messages (JSON-RPC 2.0 lines of `ragged mcp` and POST /mcp).
 * Properties:
 * - rg_mcp_parse never crashes; a refusal has a JSON-RPC code from the
 *   spec's set and a message;
 * - rg_mcp_handle (for every method but tools/call, which would touch
 *   collections on disk) answers requests with exactly one JSON-RPC object
 *   on one line carrying the request's id, and notifications and responses
 *   with nothing. */
#include "fuzz.h"
#include "mcp.h"

static rg_config *cfg;
static rg_service *svc;
static rg_mcp *mcp;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20))
        return 0;
    if (!mcp) {
        cfg = rg_config_new_defaults();
        svc = rg_service_new(cfg, NULL, NULL);
        mcp = rg_mcp_new(svc);
    }
    rg_mcp_msg m;
    rg_error err = {0};
    int code = 0;
    rg_status st = rg_mcp_parse((const char *)data, size, &m, &code, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st != RG_OK)
        FUZZ_CHECK(code == RG_RPC_PARSE_ERROR || code == RG_RPC_INVALID_REQUEST || code == RG_RPC_INVALID_PARAMS,
                   "unexpected JSON-RPC code %d", code);
    bool call = st == RG_OK && m.method && !strcmp(m.method, "tools/call");
    bool quiet = st == RG_OK && m.kind != RG_MCP_REQUEST;
    json_t *id = m.id ? json_incref(m.id) : NULL;   /* set on failure too when readable */
    rg_mcp_msg_free(&m);
    if (!call) {
        char *r = rg_mcp_handle(mcp, (const char *)data, size);
        if (quiet) {
            FUZZ_CHECK(r == NULL, "a notification or response got a reply: %s", r);
        } else {
            FUZZ_CHECK(r != NULL, "no reply to a request");
            FUZZ_CHECK(!strchr(r, '\n'), "reply spans lines: %s", r);
            json_t *j = json_loads(r, 0, NULL);
            FUZZ_CHECK(j && json_is_object(j), "reply is not a JSON object: %s", r);
            FUZZ_CHECK(!strcmp(json_string_value(json_object_get(j, "jsonrpc")), "2.0"), "no jsonrpc 2.0: %s", r);
            FUZZ_CHECK(!!json_object_get(j, "result") != !!json_object_get(j, "error"), "result xor error: %s", r);
            json_t *rid = json_object_get(j, "id");
            FUZZ_CHECK(id ? json_equal(rid, id) : json_is_null(rid), "reply id differs: %s", r);
            json_decref(j);
            free(r);
        }
    }
    json_decref(id);
    return 0;
}
