/* ollama / OpenAI-compatible embedders against tests/servers/embed_server.py
 * (127.0.0.1, free port, stopped by PID). */
#ifndef RG_WITHOUT_CHROMADB   /* the remote embedders need libcurl */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "embedder.h"
#include "test.h"
#include "util.h"

typedef struct server {
    pid_t pid;
    int port;
    char *port_file;
} server;

/* Starts the server; false (test failed or skipped) if it does not come up
 * within 10 s. */
static bool server_start(server *s, const char *const *args)
{
    if (access("tests/servers/embed_server.py", R_OK) != 0) {
        rg_test_fail(__FILE__, __LINE__, "tests/servers/embed_server.py not found: run from the repository root");
        return false;
    }
    s->port_file = rg_path_join(rg_test_tmpdir(), "port");
    const char *argv[16] = {"python3", "tests/servers/embed_server.py", s->port_file};
    int n = 3;
    for (int i = 0; args && args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {   /* bounded readiness wait: 10 s */
        char *txt;
        size_t len;
        rg_error err;
        if (rg_read_file(s->port_file, 64, &txt, &len, &err) == RG_OK) {
            s->port = atoi(txt);
            free(txt);
            return s->port > 0;
        }
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            rg_test_fail(__FILE__, __LINE__, "embed_server.py exited early");
            return false;
        }
        usleep(50000);
    }
    rg_test_fail(__FILE__, __LINE__, "embed_server.py did not start within 10 s");
    return false;
}

static void server_stop(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    free(s->port_file);
    s->port_file = NULL;
}

/* The server's vector for a text: sin(h + i), h = first 4 SHA-256 bytes (LE) / 1e6. */
static void expected_vec(const char *text, int dim, float *out)
{
    char hex[65];
    rg_sha256_hex(text, strlen(text), hex);
    uint32_t v = 0;
    for (int b = 3; b >= 0; b--) {
        unsigned byte;
        sscanf(hex + 2 * b, "%2x", &byte);
        v = (v << 8) | byte;
    }
    double h = v / 1e6;
    for (int i = 0; i < dim; i++)
        out[i] = (float)sin(h + i);
    rg_normalize(out, (size_t)dim);
}

static rg_config *remote_config(const char *provider, int port, const char *model)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_error err;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    rg_config_set(cfg, "embedding.provider", provider, RG_SRC_FLAG, &err);
    rg_config_set(cfg, "embedding.url", url, RG_SRC_FLAG, &err);
    rg_config_set(cfg, "embedding.model", model, RG_SRC_FLAG, &err);
    rg_config_set(cfg, "embedding.batch_size", "2", RG_SRC_FLAG, &err);
    rg_config_set(cfg, "embedding.timeout_ms", "5000", RG_SRC_FLAG, &err);
    return cfg;
}

static const char *const TEXTS[] = {"alpha", "beta gamma", "delta", "alpha"};

static void check_vectors(rg_embedder *e, const char *prefix)
{
    float got[4 * 8], want[8];
    rg_error err = {0};
    CHECK_OK(rg_embedder_embed(e, TEXTS, 4, RG_EMBED_DOCUMENT, got, &err), &err);
    for (int i = 0; i < 4; i++) {
        char *t = rg_xasprintf("%s%s", prefix, TEXTS[i]);
        expected_vec(t, 8, want);
        free(t);
        for (int k = 0; k < 8; k++)
            CHECK_MSG(fabsf(got[i * 8 + k] - want[k]) < 1e-5f, "text %d component %d: %g != %g", i, k,
                      got[i * 8 + k], want[k]);
    }
}

TEST(remote_ollama_embeds_in_batches)
{
    server s = {0};
    const char *args[] = {"--model", "tiny-embed", NULL};
    if (!server_start(&s, args))
        return server_stop(&s);
    rg_config *cfg = remote_config("ollama", s.port, "tiny-embed");
    rg_error err;
    rg_config_set(cfg, "embedding.document_prefix", "passage: ", RG_SRC_FLAG, &err);
    rg_embedder *e = NULL;
    rg_status st = rg_embedder_remote_open(cfg, &e, &err);
    if (st == RG_OK) {
        CHECK_EQ_STR(e->identity.kind, "ollama");
        CHECK_EQ_INT(e->identity.dim, 8);
        check_vectors(e, "passage: ");
    }
    rg_embedder_free(e);
    rg_config_free(cfg);
    /* probe + 2 batches of 2 */
    char *log = rg_xasprintf("%s.log", s.port_file), *txt = NULL;
    size_t len = 0;
    rg_read_file(log, 1 << 20, &txt, &len, &err);
    server_stop(&s);
    int lines = 0;
    for (size_t i = 0; txt && i < len; i++)
        lines += txt[i] == '\n';
    bool batched = txt && strstr(txt, "\"input\": [\"passage: alpha\", \"passage: beta gamma\"]") != NULL;
    bool compact = txt && strstr(txt, "\"input\":[\"passage: alpha\",\"passage: beta gamma\"]") != NULL;
    free(txt);
    free(log);
    CHECK_OK(st, &err);
    CHECK_EQ_INT(lines, 3);
    CHECK(batched || compact);
}

TEST(remote_openai_uses_index_and_api_key)
{
    server s = {0};
    const char *args[] = {"--model", "emb-3", "--api-key", "sekret-123", "--fail-first", "2", NULL};
    if (!server_start(&s, args))
        return server_stop(&s);
    rg_config *cfg = remote_config("openai", s.port, "emb-3");
    rg_error err = {0};
    rg_embedder *e = NULL;
    /* no key configured: 401 after the two 503s were retried */
    CHECK(rg_embedder_remote_open(cfg, &e, &err) == RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "401") && strstr(err.msg, "api_key_env"), "message: %s", err.msg);
    rg_config_set(cfg, "embedding.api_key_env", "RAGGED_TEST_EMBED_KEY", RG_SRC_FLAG, &err);
    unsetenv("RAGGED_TEST_EMBED_KEY");
    CHECK(rg_embedder_remote_open(cfg, &e, &err) == RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "RAGGED_TEST_EMBED_KEY"), "message: %s", err.msg);
    setenv("RAGGED_TEST_EMBED_KEY", "wrong-key", 1);
    CHECK(rg_embedder_remote_open(cfg, &e, &err) != RG_OK);
    CHECK_MSG(!strstr(err.msg, "wrong-key"), "the API key leaked into a message: %s", err.msg);
    setenv("RAGGED_TEST_EMBED_KEY", "sekret-123", 1);
    rg_status st = rg_embedder_remote_open(cfg, &e, &err);
    if (st == RG_OK) {
        CHECK_EQ_STR(e->identity.kind, "openai");
        check_vectors(e, "");
    }
    unsetenv("RAGGED_TEST_EMBED_KEY");
    rg_embedder_free(e);
    rg_config_free(cfg);
    server_stop(&s);
    CHECK_OK(st, &err);
}

TEST(remote_errors_name_url_and_model)
{
    server s = {0};
    const char *args[] = {"--model", "tiny-embed", NULL};
    if (!server_start(&s, args))
        return server_stop(&s);
    int port = s.port;
    rg_config *cfg = remote_config("ollama", port, "no-such-model");
    rg_error err = {0};
    rg_embedder *e = NULL;
    rg_status st = rg_embedder_remote_open(cfg, &e, &err);
    rg_config_free(cfg);
    server_stop(&s);
    CHECK(st == RG_ERR_NOTFOUND);
    CHECK_MSG(strstr(err.msg, "no-such-model") && strstr(err.msg, "/api/embed"), "message: %s", err.msg);
    /* the server is gone now: transport error after retries, naming the URL */
    cfg = remote_config("ollama", port, "tiny-embed");
    st = rg_embedder_remote_open(cfg, &e, &err);
    rg_config_free(cfg);
    CHECK(st == RG_ERR_NETWORK);
    CHECK_MSG(strstr(err.msg, "127.0.0.1") && strstr(err.msg, "tiny-embed"), "message: %s", err.msg);
}
TEST(remote_timeout_is_an_error)
{
    server s = {0};
    const char *args[] = {"--delay-ms", "3000", NULL};
    if (!server_start(&s, args))
        return server_stop(&s);
    rg_config *cfg = remote_config("ollama", s.port, "tiny-embed");
    rg_error err = {0};
    rg_config_set(cfg, "embedding.timeout_ms", "200", RG_SRC_FLAG, &err);
    rg_embedder *e = NULL;
    double t0 = rg_now();
    rg_status st = rg_embedder_remote_open(cfg, &e, &err);
    double elapsed = rg_now() - t0;
    rg_config_free(cfg);
    server_stop(&s);
    CHECK(st == RG_ERR_NETWORK);
    CHECK_MSG(strstr(err.msg, "tiny-embed"), "message: %s", err.msg);
    /* 4 attempts of 0.2 s plus 1.4 s of back-off, not 4 x 3 s */
    CHECK_MSG(elapsed < 6.0, "gave up after %.1f s", elapsed);
}
#endif
