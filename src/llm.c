/* Chat requests to Ollama and OpenAI-compatible servers over the shared
 * HTTP client, streamed through the parsers in llm_stream.c. */
#include "llm.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "config.h"
#include "http.h"
#include "util.h"

struct rg_llm {
    rg_llm_opts opts;        /* strings below are owned copies */
    char *model;
    char *api_key;
    char *endpoint;          /* full URL requests go to */
    char *shown;             /* endpoint without user:password@ */
    rg_http *http;
};

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
    size_t l = strlen(suffix);
    return n >= l && memcmp(s + n - l, suffix, l) == 0;
}

/* Accepts a server's base URL with or without the API path, the way users
 * copy it from server docs: http://h:11434, http://h:8080/v1, or the whole
 * .../chat/completions. */
static char *endpoint_for(rg_llm_format format, const char *url)
{
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    const char *add;
    if (format == RG_LLM_OLLAMA)
        add = has_suffix(url, n, "/api/chat") ? "" : has_suffix(url, n, "/api") ? "/chat" : "/api/chat";
    else
        add = has_suffix(url, n, "/chat/completions") ? ""
              : has_suffix(url, n, "/v1")             ? "/chat/completions"
                                                      : "/v1/chat/completions";
    return rg_xasprintf("%.*s%s", (int)n, url, add);
}

rg_status rg_llm_opts_from_config(const rg_config *cfg, rg_llm_opts *o, rg_error *err)
{
    *o = (rg_llm_opts){.format = strcmp(rg_config_str(cfg, "llm.provider"), "ollama") == 0 ? RG_LLM_OLLAMA
                                                                                         : RG_LLM_OPENAI,
                       .url = rg_config_str(cfg, "llm.url"),
                       .model = rg_config_str(cfg, "llm.model"),
                       .timeout_ms = (long)rg_config_int(cfg, "llm.timeout_ms"),
                       .temperature = rg_config_float(cfg, "llm.temperature"),
                       .context_tokens = rg_config_int(cfg, "llm.context_tokens"),
                       .answer_tokens = rg_config_int(cfg, "llm.answer_tokens"),
                       .api_key_over_http = rg_config_bool(cfg, "llm.api_key_over_http")};
    const char *env = rg_config_str(cfg, "llm.api_key_env");
    if (env && *env) {
        o->api_key = getenv(env);
        if (!o->api_key || !*o->api_key)
            return rg_error_set(err, RG_ERR_INVALID,
                                "llm.api_key_env names the environment variable %s, which is not set (or empty) in "
                                "ragged's environment; export it with the API key, or clear llm.api_key_env for a "
                                "server without keys",
                                env);
    }
    return RG_OK;
}

rg_status rg_llm_new(const rg_llm_opts *opts, rg_llm **out, rg_error *err)
{
    *out = NULL;
    const char *url = opts->url && *opts->url ? opts->url
                      : opts->format == RG_LLM_OLLAMA ? "http://127.0.0.1:11434"
                                                      : NULL;
    if (!url)
        return rg_error_set(err, RG_ERR_INVALID,
                            "llm.url is empty: set it to the OpenAI-compatible server's base URL, e.g. "
                            "http://127.0.0.1:8080/v1");
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        char *shown = rg_url_for_display(url);
        rg_status st = rg_error_set(err, RG_ERR_INVALID, "llm.url must start with http:// or https://, not '%s'",
                                    shown);
        free(shown);
        return st;
    }
    if (!opts->model || !*opts->model)
        return rg_error_set(err, RG_ERR_INVALID, "llm.model is empty: set it to the model the server should use%s",
                            opts->format == RG_LLM_OLLAMA ? " (see `ollama list`)" : "");
    rg_llm *llm = rg_xcalloc(1, sizeof *llm);
    llm->opts = *opts;
    llm->model = rg_xstrdup(opts->model);
    llm->api_key = opts->api_key && *opts->api_key ? rg_xstrdup(opts->api_key) : NULL;
    llm->opts.model = llm->model;
    llm->opts.api_key = llm->api_key;
    llm->opts.url = NULL;
    llm->endpoint = endpoint_for(opts->format, url);
    llm->shown = rg_url_for_display(llm->endpoint);
    rg_http_opts ho = rg_http_default_opts();
    ho.timeout_ms = opts->timeout_ms;
    ho.connect_timeout_ms = RG_MIN(opts->timeout_ms > 0 ? opts->timeout_ms : 5000, 5000);
    ho.bearer_token = llm->api_key;
    ho.bearer_over_http = opts->api_key_over_http;
    ho.bearer_http_key = "llm.api_key_over_http";
    rg_status st = rg_http_new(&ho, &llm->http, err);
    if (st == RG_OK)
        st = rg_http_check_url(llm->http, llm->endpoint, err);
    if (st != RG_OK) {
        rg_llm_free(llm);
        return st;
    }
    *out = llm;
    return RG_OK;
}

void rg_llm_free(rg_llm *llm)
{
    if (!llm)
        return;
    rg_http_free(llm->http);
    if (llm->api_key) {
        volatile char *p = llm->api_key;
        while (*p)
            *p++ = 0;
        free(llm->api_key);
    }
    free(llm->model);
    free(llm->endpoint);
    free(llm->shown);
    free(llm);
}

const char *rg_llm_endpoint(const rg_llm *llm)
{
    return llm->shown;
}

static char *request_body(const rg_llm *llm, const rg_llm_message *msgs, size_t n)
{
    json_t *messages = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(messages, json_pack("{s:s, s:s}", "role", msgs[i].role, "content", msgs[i].content));
    json_t *body = json_pack("{s:s, s:o, s:b}", "model", llm->model, "messages", messages, "stream", 1);
    if (llm->opts.format == RG_LLM_OLLAMA) {
        /* Without num_ctx Ollama uses its own default window and silently
         * drops the start of a longer prompt, instructions first. */
        json_object_set_new(body, "options",
                            json_pack("{s:f, s:I, s:I}", "temperature", llm->opts.temperature, "num_ctx",
                                      (json_int_t)llm->opts.context_tokens, "num_predict",
                                      (json_int_t)llm->opts.answer_tokens));
    } else {
        json_object_set_new(body, "temperature", json_real(llm->opts.temperature));
        json_object_set_new(body, "max_tokens", json_integer((json_int_t)llm->opts.answer_tokens));
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

typedef struct {
    rg_llm_stream *parser;
    size_t received;
} stream_ctx;

static bool on_chunk(void *ctx, const char *data, size_t len)
{
    stream_ctx *sc = ctx;
    sc->received += len;
    return rg_llm_stream_feed(sc->parser, data, len);
}

/* What the server said in an error reply, for messages. */
static void server_reason(rg_llm_stream *parser, const rg_error *perr, char *buf, size_t n)
{
    if (perr->code == RG_ERR_SERVER && strncmp(perr->msg, "the reply is not", 16) != 0) {
        snprintf(buf, n, "%s", perr->msg);
        return;
    }
    const char *head = rg_llm_stream_head(parser);
    size_t o = 0;
    for (size_t i = 0; head[i] && o + 1 < n && i < 200; i++)
        buf[o++] = ((unsigned char)head[i] < 0x20) ? ' ' : head[i];
    buf[o] = 0;
    if (!o)
        snprintf(buf, n, "empty body");
}

rg_status rg_llm_chat(rg_llm *llm, const rg_llm_message *msgs, size_t n, rg_llm_text_fn on_text, void *ctx,
                      rg_llm_result *res, rg_error *err)
{
    memset(res, 0, sizeof *res);
    res->prompt_tokens = res->completion_tokens = -1;
    const char *kind = llm->opts.format == RG_LLM_OLLAMA ? "Ollama" : "OpenAI-compatible";
    char *body = request_body(llm, msgs, n);
    stream_ctx sc = {.parser = rg_llm_stream_new(llm->opts.format, on_text, ctx)};
    long status = 0;
    rg_error herr;
    rg_error_clear(&herr);
    rg_status st = rg_http_stream(llm->http, "POST", llm->endpoint, body, strlen(body), &status, on_chunk, &sc, &herr);
    free(body);
    res->http_status = status;
    if (st == RG_ERR_INTERRUPTED) {
        rg_error_set(err, st, "stopped while %s model '%s' was answering", kind, llm->model);
    } else if (st != RG_OK) {
        /* Whatever arrived was delivered; say how the transfer ended. */
        rg_llm_stream_finish(sc.parser, NULL);
        bool timeout = strstr(herr.msg, "timed out") || strstr(herr.msg, "Timeout");
        const char *reason = strstr(herr.msg, ": ") ? strstr(herr.msg, ": ") + 2 : herr.msg;
        if (sc.received)
            rg_error_set(err, RG_ERR_NETWORK,
                         "the answer from %s model '%s' at %s broke off after %zu bytes: %s%s", kind, llm->model,
                         llm->shown, sc.received, reason,
                         timeout ? " (raise llm.timeout_ms for slow models)" : "; the text so far is kept");
        else if (timeout)
            rg_error_set(err, RG_ERR_NETWORK,
                         "%s model '%s' at %s did not answer within llm.timeout_ms=%ld: %s", kind, llm->model,
                         llm->shown, llm->opts.timeout_ms, reason);
        else
            rg_error_set(err, RG_ERR_NETWORK,
                         "cannot reach the %s server at %s (model '%s'): %s; is the server running, and is "
                         "llm.url right?",
                         kind, llm->shown, llm->model, reason);
    } else {
        rg_error perr;
        rg_error_clear(&perr);
        rg_status fin = rg_llm_stream_finish(sc.parser, &perr);
        if (status < 200 || status >= 300) {
            char reason[400];
            server_reason(sc.parser, &perr, reason, sizeof reason);
            const char *hint = status == 404 ? (llm->opts.format == RG_LLM_OLLAMA
                                                    ? "; check llm.model (pull it with `ollama pull`) and llm.url"
                                                    : "; check llm.model and llm.url")
                               : (status == 401 || status == 403)
                                   ? "; check the API key in the variable named by llm.api_key_env"
                                   : "";
            st = rg_error_set(err, RG_ERR_SERVER, "%s server at %s answered HTTP %ld for model '%s': %s%s", kind,
                              llm->shown, status, llm->model, reason, hint);
        } else if (fin != RG_OK) {
            st = rg_error_set(err, fin, "%s model '%s' at %s: %s", kind, llm->model, llm->shown, perr.msg);
        }
        snprintf(res->finish_reason, sizeof res->finish_reason, "%s", rg_llm_stream_finish_reason(sc.parser));
        res->malformed_lines = rg_llm_stream_malformed(sc.parser);
        res->prompt_tokens = rg_llm_stream_prompt_tokens(sc.parser);
        res->completion_tokens = rg_llm_stream_completion_tokens(sc.parser);
    }
    rg_llm_stream_free(sc.parser);
    if (st != RG_OK)
        rg_error_mask_secret(err, llm->api_key);
    return st;
}
