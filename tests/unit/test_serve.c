/* The request checks of ragged serve (DNS rebinding, origins, token), the
 * request parsers shared by serve and mcp, and the MCP message parser. */
#include <stdlib.h>
#include <string.h>

#include "mcp.h"
#include "serve.h"
#include "service.h"
#include "test.h"

static const rg_serve_guard LOOPBACK = {.bind_host = "127.0.0.1", .port = 8765};

TEST(serve_loopback_names)
{
    CHECK(rg_serve_is_loopback("127.0.0.1"));
    CHECK(rg_serve_is_loopback("127.1.2.3"));
    CHECK(rg_serve_is_loopback("::1"));
    CHECK(rg_serve_is_loopback("LocalHost"));
    CHECK(!rg_serve_is_loopback("0.0.0.0"));
    CHECK(!rg_serve_is_loopback("::"));
    CHECK(!rg_serve_is_loopback("192.168.1.2"));
    CHECK(!rg_serve_is_loopback("localhost.attacker.example"));
    CHECK(!rg_serve_is_loopback("128.0.0.1"));
    CHECK(!rg_serve_is_loopback(NULL));
}

TEST(serve_host_header_must_name_the_server)
{
    rg_error err;
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "127.0.0.1:8765", NULL, NULL, true, &err), 0);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "localhost:8765", NULL, NULL, true, &err), 0);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "[::1]:8765", NULL, NULL, true, &err), 0);
    /* DNS rebinding: a foreign name resolving to 127.0.0.1. */
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "attacker.example:8765", NULL, NULL, true, &err), 403);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "attacker.example", NULL, NULL, true, &err), 403);
    /* Another port, no port (80), malformed. */
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "127.0.0.1:80", NULL, NULL, true, &err), 403);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "127.0.0.1", NULL, NULL, true, &err), 403);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "127.0.0.1:8765x", NULL, NULL, true, &err), 403);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "127.0.0.1:", NULL, NULL, true, &err), 403);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "[::1", NULL, NULL, true, &err), 403);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, ":8765", NULL, NULL, true, &err), 403);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, NULL, NULL, NULL, true, &err), 400);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "", NULL, NULL, true, &err), 400);
    /* --allow-host adds a name. */
    const char *const allow[] = {"box.lan"};
    rg_serve_guard g = LOOPBACK;
    g.allow_hosts = allow;
    g.nallow = 1;
    CHECK_EQ_INT(rg_serve_check(&g, "box.lan:8765", NULL, NULL, true, &err), 0);
    CHECK_EQ_INT(rg_serve_check(&g, "box.lan.attacker.example:8765", NULL, NULL, true, &err), 403);
}

TEST(serve_origin_must_be_the_server)
{
    rg_error err;
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "127.0.0.1:8765", "http://127.0.0.1:8765", NULL, true, &err), 0);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "127.0.0.1:8765", "http://localhost:8765", NULL, true, &err), 0);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "127.0.0.1:8765", "http://attacker.example", NULL, true, &err), 403);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "127.0.0.1:8765", "https://127.0.0.1:8765", NULL, true, &err), 403);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "127.0.0.1:8765", "http://127.0.0.1:9999", NULL, true, &err), 403);
    CHECK_EQ_INT(rg_serve_check(&LOOPBACK, "127.0.0.1:8765", "null", NULL, true, &err), 403);
    CHECK(strstr(err.msg, "cross-origin"));
}

TEST(serve_token_is_checked_exactly)
{
    rg_error err;
    rg_serve_guard g = {.bind_host = "0.0.0.0", .port = 8765, .token = "0123456789abcdef-secret"};
    const char *host = "127.0.0.1:8765";
    CHECK_EQ_INT(rg_serve_check(&g, host, NULL, NULL, true, &err), 401);
    CHECK(!strstr(err.msg, "0123456789abcdef-secret"));
    CHECK_EQ_INT(rg_serve_check(&g, host, NULL, "Bearer 0123456789abcdef-secret", true, &err), 0);
    CHECK_EQ_INT(rg_serve_check(&g, host, NULL, "bearer 0123456789abcdef-secret", true, &err), 0);
    CHECK_EQ_INT(rg_serve_check(&g, host, NULL, "Bearer 0123456789abcdef-secreT", true, &err), 401);
    CHECK_EQ_INT(rg_serve_check(&g, host, NULL, "Bearer 0123456789abcdef-secret ", true, &err), 401);
    CHECK_EQ_INT(rg_serve_check(&g, host, NULL, "Bearer 0123456789abcdef", true, &err), 401);
    CHECK_EQ_INT(rg_serve_check(&g, host, NULL, "Bearer ", true, &err), 401);
    CHECK_EQ_INT(rg_serve_check(&g, host, NULL, "Basic 0123456789abcdef-secret", true, &err), 401);
    /* The page itself needs no token. */
    CHECK_EQ_INT(rg_serve_check(&g, host, NULL, NULL, false, &err), 0);
    /* Bound to 0.0.0.0: clients use the machine's name, which must be allowed. */
    CHECK_EQ_INT(rg_serve_check(&g, "box.lan:8765", NULL, "Bearer 0123456789abcdef-secret", true, &err), 403);
}

TEST(serve_query_request_parse)
{
    rg_query_req r;
    rg_error err;
    const char *ok = "{\"query\":\"backups\",\"k\":3,\"mode\":\"bm25\",\"where\":{\"page_number\":{\"$gte\":2}}}";
    CHECK_EQ_INT(rg_query_req_parse(ok, strlen(ok), &r, &err), RG_OK);
    CHECK(!strcmp(r.query, "backups") && r.k == 3 && !strcmp(r.mode, "bm25") && r.where);
    CHECK(!r.collection && !r.backend);
    rg_query_req_free(&r);
    static const char *const bad[] = {
        "", "[]", "{}", "{\"query\":\"\"}", "{\"query\":3}", "{\"query\":\"x\",\"k\":0}",
        "{\"query\":\"x\",\"k\":1.5}", "{\"query\":\"x\",\"k\":\"3\"}", "{\"query\":\"x\",\"mode\":\"fast\"}",
        "{\"query\":\"x\",\"backend\":\"mongo\"}", "{\"query\":\"x\",\"collection\":\"../a\"}",
        "{\"query\":\"x\",\"where\":{\"a\":{\"$regex\":1}}}", "{\"query\":\"x\",\"extra\":1}",
        "{\"query\":\"x\",\"query\":\"y\"}", "{\"query\":\"a\\u0000b\"}", "{\"query\":\"x\"} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rg_error_clear(&err);
        CHECK_MSG(rg_query_req_parse(bad[i], strlen(bad[i]), &r, &err) == RG_ERR_INVALID, "accepted: %s", bad[i]);
        CHECK(err.msg[0]);
        CHECK(!r.query && !r.where);
    }
}

TEST(serve_ingest_request_parse)
{
    rg_ingest_req r;
    rg_error err;
    const char *ok = "{\"paths\":[\"/a\",\"b\"],\"prune\":true,\"collection\":\"notes\"}";
    CHECK_EQ_INT(rg_ingest_req_parse(ok, strlen(ok), &r, &err), RG_OK);
    CHECK(r.npaths == 2 && !strcmp(r.paths[1], "b") && r.prune && !strcmp(r.collection, "notes"));
    rg_ingest_req_free(&r);
    static const char *const bad[] = {"{}", "{\"paths\":[]}", "{\"paths\":\"/a\"}", "{\"paths\":[1]}",
                                      "{\"paths\":[\"\"]}", "{\"paths\":[\"/a\"],\"prune\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(rg_ingest_req_parse(bad[i], strlen(bad[i]), &r, &err) == RG_ERR_INVALID, "accepted: %s", bad[i]);
}

TEST(mcp_message_parse)
{
    rg_mcp_msg m;
    rg_error err;
    int code = 0;
    const char *req = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\",\"params\":{}}";
    CHECK_EQ_INT(rg_mcp_parse(req, strlen(req), &m, &code, &err), RG_OK);
    CHECK(m.kind == RG_MCP_REQUEST && !strcmp(m.method, "tools/list") && json_integer_value(m.id) == 7);
    rg_mcp_msg_free(&m);
    const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    CHECK_EQ_INT(rg_mcp_parse(note, strlen(note), &m, &code, &err), RG_OK);
    CHECK(m.kind == RG_MCP_NOTIFICATION && !m.id);
    rg_mcp_msg_free(&m);
    const char *resp = "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{}}";
    CHECK_EQ_INT(rg_mcp_parse(resp, strlen(resp), &m, &code, &err), RG_OK);
    CHECK(m.kind == RG_MCP_RESPONSE);
    rg_mcp_msg_free(&m);
    struct { const char *text; int code; bool has_id; } bad[] = {
        {"{", RG_RPC_PARSE_ERROR, false},
        {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", RG_RPC_INVALID_REQUEST, false},
        {"{\"id\":1,\"method\":\"ping\"}", RG_RPC_INVALID_REQUEST, true},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", RG_RPC_INVALID_REQUEST, false},
        {"{\"jsonrpc\":\"2.0\",\"id\":1}", RG_RPC_INVALID_REQUEST, true},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", RG_RPC_INVALID_REQUEST, true},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[1]}", RG_RPC_INVALID_PARAMS, true},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        code = 0;
        CHECK_MSG(rg_mcp_parse(bad[i].text, strlen(bad[i].text), &m, &code, &err) != RG_OK, "accepted %s",
                  bad[i].text);
        CHECK_MSG(code == bad[i].code, "%s: code %d", bad[i].text, code);
        CHECK_MSG((m.id != NULL) == bad[i].has_id, "%s: id", bad[i].text);
        rg_mcp_msg_free(&m);
    }
}

TEST(mcp_handle_without_collections)
{
    /* Protocol-level replies need no store: a service over defaults. */
    rg_config *cfg = rg_config_new_defaults();
    rg_service *svc = rg_service_new(cfg, NULL, NULL);
    rg_mcp *m = rg_mcp_new(svc);
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}";
    char *r = rg_mcp_handle(m, ping, strlen(ping));
    CHECK(r && !strcmp(r, "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"result\":{}}"));
    free(r);
    const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{}}";
    CHECK(rg_mcp_handle(m, note, strlen(note)) == NULL);
    const char *old = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"1999-01-01\"}}";
    r = rg_mcp_handle(m, old, strlen(old));
    CHECK(r && strstr(r, "\"protocolVersion\":\"2025-06-18\""));
    free(r);
    rg_mcp_free(m);
    rg_service_free(svc);
    rg_config_free(cfg);
}
