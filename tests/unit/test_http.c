/* rg_http against a tiny local server (tests/servers/http_test_server.py):
 * methods, bodies, headers, status codes, keep-alive, timeouts, streaming,
 * and the "cannot reach" message. */
#ifndef RG_WITHOUT_CHROMADB
#include "test.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "http.h"
#include "test_servers.h"
#include "util.h"

static json_t *get_json(const rg_buf *b)
{
    return json_loadb(b->data, b->len, 0, NULL);
}

TEST(http_methods_bodies_headers_keepalive)
{
    rg_test_server srv;
    if (!rg_test_server_start(&srv))
        return;
    rg_error err = {0};
    rg_http_opts o = rg_http_default_opts();
    o.bearer_token = "s3cret-token";
    o.extra_header = "X-Test: yes";
    rg_http *h = NULL;
    char url[128];
    rg_buf resp;
    rg_buf_init(&resp);
    long status = 0;
    json_t *j = NULL;
    int port1 = -1;
    bool ok = false;

    if (rg_http_new(&o, &h, &err) != RG_OK)
        goto out;
    snprintf(url, sizeof url, "%s/echo", srv.base);

    /* GET without body: no content type, auth and extra header present.
     * The echoed token comes back blanked (rg_http masks every answer),
     * one '*' for each of its characters. */
    if (rg_http_request(h, "GET", url, NULL, 0, &status, &resp, &err) != RG_OK)
        goto out;
    j = get_json(&resp);
    if (status != 200 || !j) {
        rg_test_fail(__FILE__, __LINE__, "GET: status %ld body %s", status, resp.data);
        goto out;
    }
    json_t *hd = json_object_get(j, "headers");
    if (strcmp(json_string_value(json_object_get(j, "method")), "GET") != 0 ||
        strcmp(json_string_value(json_object_get(hd, "authorization")), "Bearer ************") != 0 ||
        strcmp(json_string_value(json_object_get(hd, "x-test")), "yes") != 0 ||
        json_object_get(hd, "content-type") != NULL) {
        rg_test_fail(__FILE__, __LINE__, "GET echo wrong: %s", resp.data);
        goto out;
    }
    port1 = (int)json_integer_value(json_object_get(j, "client_port"));
    json_decref(j);
    j = NULL;

    /* POST, PUT, DELETE, PATCH with JSON bodies on the same handle: same
     * client port each time = the connection was kept alive. */
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < RG_ARRAY_LEN(methods); i++) {
        const char *body = "{\"x\": \"\xc3\xa9t\xc3\xa9\"}";
        if (rg_http_request(h, methods[i], url, body, strlen(body), &status, &resp, &err) != RG_OK)
            goto out;
        j = get_json(&resp);
        if (status != 200 || !j || strcmp(json_string_value(json_object_get(j, "method")), methods[i]) != 0 ||
            strcmp(json_string_value(json_object_get(j, "body")), body) != 0 ||
            strcmp(json_string_value(json_object_get(json_object_get(j, "headers"), "content-type")),
                   "application/json") != 0 ||
            json_integer_value(json_object_get(j, "client_port")) != port1) {
            rg_test_fail(__FILE__, __LINE__, "%s echo wrong (first port %d): %s", methods[i], port1, resp.data);
            goto out;
        }
        json_decref(j);
        j = NULL;
    }

    /* A large body (2 MiB) arrives whole. */
    size_t big = 2u << 20;
    char *payload = rg_xmalloc(big + 1);
    memset(payload, 'a', big);
    payload[0] = '"';
    payload[big - 1] = '"';
    payload[big] = 0;
    rg_status rc = rg_http_request(h, "POST", url, payload, big, &status, &resp, &err);
    free(payload);
    if (rc != RG_OK)
        goto out;
    j = get_json(&resp);
    if (!j || json_integer_value(json_object_get(j, "body_len")) != (json_int_t)big) {
        rg_test_fail(__FILE__, __LINE__, "large body not echoed whole");
        goto out;
    }
    json_decref(j);
    j = NULL;

    /* Status codes come back as RG_OK with the body. */
    snprintf(url, sizeof url, "%s/status/409", srv.base);
    if (rg_http_request(h, "POST", url, "{}", 2, &status, &resp, &err) != RG_OK)
        goto out;
    if (status != 409 || !strstr(resp.data, "status 409 on purpose")) {
        rg_test_fail(__FILE__, __LINE__, "409: status %ld body %s", status, resp.data);
        goto out;
    }
    ok = true;
out:
    if (!ok && err.msg[0])
        rg_test_fail(__FILE__, __LINE__, "http error: %s", err.msg);
    json_decref(j);
    rg_buf_free(&resp);
    rg_http_free(h);
    rg_test_server_stop(&srv);
}

typedef struct {
    rg_buf got;
    int chunks;
    int stop_after;
} stream_ctx;

static bool on_chunk(void *ctx, const char *data, size_t len)
{
    stream_ctx *s = ctx;
    rg_buf_append(&s->got, data, len);
    s->chunks++;
    return s->stop_after == 0 || s->chunks < s->stop_after;
}

TEST(http_stream_and_abort)
{
    rg_test_server srv;
    if (!rg_test_server_start(&srv))
        return;
    rg_error err = {0};
    rg_http *h = NULL;
    char url[128];
    long status = 0;
    stream_ctx sc = {0};
    rg_buf_init(&sc.got);
    bool ok = false;
    if (rg_http_new(NULL, &h, &err) != RG_OK)
        goto out;
    snprintf(url, sizeof url, "%s/stream/50", srv.base);
    if (rg_http_stream(h, "GET", url, NULL, 0, &status, on_chunk, &sc, &err) != RG_OK)
        goto out;
    if (status != 200 || !strstr(sc.got.data, "line 0\n") || !strstr(sc.got.data, "line 49\n")) {
        rg_test_fail(__FILE__, __LINE__, "stream: status %ld, got %zu bytes", status, sc.got.len);
        goto out;
    }
    /* The reader stops the transfer. */
    sc.got.len = 0;
    sc.chunks = 0;
    sc.stop_after = 1;
    snprintf(url, sizeof url, "%s/stream/100000", srv.base);
    rg_status rc = rg_http_stream(h, "GET", url, NULL, 0, &status, on_chunk, &sc, &err);
    if (rc != RG_ERR_INTERRUPTED || sc.chunks != 1) {
        rg_test_fail(__FILE__, __LINE__, "abort: rc %d chunks %d", rc, sc.chunks);
        goto out;
    }
    /* The handle still works afterwards. */
    rg_buf resp;
    rg_buf_init(&resp);
    snprintf(url, sizeof url, "%s/echo", srv.base);
    rc = rg_http_request(h, "GET", url, NULL, 0, &status, &resp, &err);
    rg_buf_free(&resp);
    if (rc != RG_OK || status != 200)
        goto out;
    ok = true;
out:
    if (!ok && err.msg[0])
        rg_test_fail(__FILE__, __LINE__, "http error: %s", err.msg);
    rg_buf_free(&sc.got);
    rg_http_free(h);
    rg_test_server_stop(&srv);
}

TEST(http_timeout_names_url)
{
    rg_test_server srv;
    if (!rg_test_server_start(&srv))
        return;
    rg_error err = {0};
    rg_http_opts o = rg_http_default_opts();
    o.timeout_ms = 300;
    rg_http *h = NULL;
    char url[128];
    long status = 0;
    rg_buf resp;
    rg_buf_init(&resp);
    rg_status rc = rg_http_new(&o, &h, &err);
    if (rc == RG_OK) {
        snprintf(url, sizeof url, "%s/slow/3000", srv.base);
        rc = rg_http_request(h, "GET", url, NULL, 0, &status, &resp, &err);
    }
    rg_buf_free(&resp);
    rg_http_free(h);
    rg_test_server_stop(&srv);
    CHECK_EQ_INT(rc, RG_ERR_NETWORK);
    CHECK_MSG(strstr(err.msg, "cannot reach http://127.0.0.1:") && strstr(err.msg, "/slow/3000: "),
              "message: %s", err.msg);
}

TEST(http_unreachable_message_hides_credentials)
{
    rg_error err = {0};
    rg_http_opts o = rg_http_default_opts();
    o.bearer_token = "never-shown-token";
    rg_http *h = NULL;
    CHECK_OK(rg_http_new(&o, &h, &err), &err);
    char url[128];
    int port = rg_test_closed_port();
    snprintf(url, sizeof url, "http://user:pw@127.0.0.1:%d/api", port);
    long status = -1;
    rg_buf resp;
    rg_buf_init(&resp);
    rg_status rc = rg_http_request(h, "GET", url, NULL, 0, &status, &resp, &err);
    rg_buf_free(&resp);
    rg_http_free(h);
    CHECK_EQ_INT(rc, RG_ERR_NETWORK);
    char want[96];
    snprintf(want, sizeof want, "cannot reach http://127.0.0.1:%d/api: ", port);
    CHECK_MSG(strncmp(err.msg, want, strlen(want)) == 0, "message: %s", err.msg);
    CHECK(strlen(err.msg) > strlen(want));          /* a reason follows */
    CHECK(!strstr(err.msg, "pw@") && !strstr(err.msg, "never-shown-token"));
    CHECK_EQ_INT(status, 0);
}

TEST(http_refuses_other_protocols)
{
    rg_error err = {0};
    rg_http *h = NULL;
    CHECK_OK(rg_http_new(NULL, &h, &err), &err);
    long status = -1;
    rg_buf resp;
    rg_buf_init(&resp);
    rg_status rc = rg_http_request(h, "GET", "file:///etc/passwd", NULL, 0, &status, &resp, &err);
    size_t got = resp.len;
    rg_buf_free(&resp);
    rg_http_free(h);
    CHECK_EQ_INT(rc, RG_ERR_NETWORK);
    CHECK_EQ_INT(got, 0);
}
#endif
