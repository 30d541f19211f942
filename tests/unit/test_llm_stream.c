/* The chat stream parsers (src/llm_stream.c): every stream is fed whole,
 * byte by byte, split at every single position and in random pieces, and
 * must give the same text and outcome each time. */
#ifndef RG_WITHOUT_CHROMADB
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "util.h"

typedef struct {
    rg_buf text;
    size_t stop_after;       /* 0: never stop */
    size_t calls;
} collect;

static bool on_text(void *ctx, const char *t, size_t n)
{
    collect *c = ctx;
    rg_buf_append(&c->text, t, n);
    c->calls++;
    return !(c->stop_after && c->calls >= c->stop_after);
}

typedef struct {
    rg_status st;
    char text[4096];
    char msg[RG_ERROR_MSG_MAX];
    char finish[32];
    size_t malformed;
    int64_t prompt_tokens, completion_tokens;
} outcome;

/* Feeds body in pieces ending at the offsets in cuts (ascending, < len). */
static void run(rg_llm_format f, const char *body, size_t len, const size_t *cuts, size_t ncuts, outcome *o)
{
    collect c;
    memset(&c, 0, sizeof c);
    rg_buf_init(&c.text);
    rg_llm_stream *s = rg_llm_stream_new(f, on_text, &c);
    size_t from = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        rg_llm_stream_feed(s, body + from, to - from);
        from = to;
    }
    rg_error err;
    rg_error_clear(&err);
    memset(o, 0, sizeof *o);
    o->st = rg_llm_stream_finish(s, &err);
    snprintf(o->text, sizeof o->text, "%s", c.text.data ? c.text.data : "");
    snprintf(o->msg, sizeof o->msg, "%s", err.msg);
    snprintf(o->finish, sizeof o->finish, "%s", rg_llm_stream_finish_reason(s));
    o->malformed = rg_llm_stream_malformed(s);
    o->prompt_tokens = rg_llm_stream_prompt_tokens(s);
    o->completion_tokens = rg_llm_stream_completion_tokens(s);
    rg_llm_stream_free(s);
    rg_buf_free(&c.text);
}

static bool same(const outcome *a, const outcome *b)
{
    return a->st == b->st && strcmp(a->text, b->text) == 0 && strcmp(a->finish, b->finish) == 0 &&
           a->malformed == b->malformed && a->prompt_tokens == b->prompt_tokens &&
           a->completion_tokens == b->completion_tokens;
}

/* The outcome of body fed whole, checked equal under every split. */
static bool run_all_splits(rg_llm_format f, const char *body, outcome *whole)
{
    size_t len = strlen(body);
    run(f, body, len, NULL, 0, whole);
    outcome o;
    for (size_t cut = 1; cut < len; cut++) {
        run(f, body, len, &cut, 1, &o);
        if (!same(whole, &o)) {
            rg_test_fail(__FILE__, __LINE__, "split at %zu: text \"%s\" vs \"%s\", status %d vs %d", cut, o.text,
                         whole->text, (int)o.st, (int)whole->st);
            return false;
        }
    }
    size_t *cuts = rg_xmalloc(len * sizeof *cuts);
    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    run(f, body, len, cuts, len ? len - 1 : 0, &o);   /* byte by byte */
    bool ok = same(whole, &o);
    unsigned seed = 12345;
    for (int round = 0; ok && round < 50; round++) {
        size_t n = 0, at = 0;
        for (;;) {
            seed = seed * 1103515245u + 12345u;
            at += 1 + (seed >> 16) % 17;
            if (at >= len)
                break;
            cuts[n++] = at;
        }
        run(f, body, len, cuts, n, &o);
        ok = same(whole, &o);
    }
    free(cuts);
    if (!ok)
        rg_test_fail(__FILE__, __LINE__, "byte-wise or random split changed the outcome: \"%s\" vs \"%s\"", o.text,
                     whole->text);
    return ok;
}

#define OLLAMA_LINE(content) "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"" content "\"},\"done\":false}\n"
#define OLLAMA_DONE                                                                                              \
    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\"," \
    "\"prompt_eval_count\":42,\"eval_count\":7}\n"

TEST(llm_ndjson_well_formed_any_split)
{
    const char *body = OLLAMA_LINE("Backups run ") OLLAMA_LINE("nightly [1]") "\r\n" OLLAMA_LINE(
        " \\u00e9t\\u00e9 \xc3\xa9t\xc3\xa9 \xf0\x9f\x93\xa6") OLLAMA_DONE;
    outcome o;
    if (!run_all_splits(RG_LLM_OLLAMA, body, &o))
        return;
    CHECK_EQ_INT(o.st, RG_OK);
    CHECK_EQ_STR(o.text, "Backups run nightly [1] \xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 \xf0\x9f\x93\xa6");
    CHECK_EQ_STR(o.finish, "stop");
    CHECK_EQ_INT(o.malformed, 0);
    CHECK_EQ_INT(o.prompt_tokens, 42);
    CHECK_EQ_INT(o.completion_tokens, 7);
}

TEST(llm_ndjson_malformed_lines_are_skipped_and_counted)
{
    const char *body = OLLAMA_LINE("one ") "not json at all\n"
                                           "{\"message\": {\"content\": \"unterminated\n"
                                           "[1,2]\n"
                                           "\n   \n" OLLAMA_LINE("two") OLLAMA_DONE "trailing junk after done\n";
    outcome o;
    if (!run_all_splits(RG_LLM_OLLAMA, body, &o))
        return;
    CHECK_EQ_INT(o.st, RG_OK);
    CHECK_EQ_STR(o.text, "one two");
    CHECK_EQ_INT(o.malformed, 3);
}

TEST(llm_ndjson_cut_off_keeps_text)
{
    const char *body = OLLAMA_LINE("partial ") OLLAMA_LINE("answer") "{\"model\":\"m\",\"mess";
    outcome o;
    if (!run_all_splits(RG_LLM_OLLAMA, body, &o))
        return;
    CHECK_EQ_INT(o.st, RG_ERR_NETWORK);
    CHECK_EQ_STR(o.text, "partial answer");
    CHECK(strstr(o.msg, "ended before the model finished"));
}

TEST(llm_ndjson_error_in_stream)
{
    const char *body = OLLAMA_LINE("so far ") "{\"error\":\"model ran out of memory\"}\n";
    outcome o;
    if (!run_all_splits(RG_LLM_OLLAMA, body, &o))
        return;
    CHECK_EQ_INT(o.st, RG_ERR_SERVER);
    CHECK_EQ_STR(o.text, "so far ");
    CHECK(strstr(o.msg, "model ran out of memory"));
}

TEST(llm_ndjson_last_line_without_newline)
{
    const char *body = OLLAMA_LINE("done ") "{\"message\":{\"content\":\"here\"},\"done\":true}";
    outcome o;
    if (!run_all_splits(RG_LLM_OLLAMA, body, &o))
        return;
    CHECK_EQ_INT(o.st, RG_OK);
    CHECK_EQ_STR(o.text, "done here");
}

TEST(llm_ndjson_pretty_printed_single_document)
{
    const char *body = "{\n  \"model\": \"m\",\n  \"message\": {\"role\": \"assistant\", \"content\": \"whole [1]\"},\n"
                       "  \"done\": true\n}\n";
    outcome o;
    if (!run_all_splits(RG_LLM_OLLAMA, body, &o))
        return;
    CHECK_EQ_INT(o.st, RG_OK);
    CHECK_EQ_STR(o.text, "whole [1]");
    CHECK_EQ_INT(o.malformed, 0);
}

#define SSE(json) "data: " json "\n\n"
#define SSE_DELTA(content) SSE("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" content "\"},\"finish_reason\":null}]}")

TEST(llm_sse_well_formed_any_split)
{
    const char *body = ": keep-alive\n\n"
                       "event: message\nid: 1\n" SSE_DELTA("Backups ") "retry: 500\n\n" SSE(
                           "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}") SSE_DELTA("run \\u00e9 "
                                                                                                       "\xe6\x97\xa5[2]")
                           SSE("{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],"
                               "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":3}}") "data: [DONE]\n\n";
    outcome o;
    if (!run_all_splits(RG_LLM_OPENAI, body, &o))
        return;
    CHECK_EQ_INT(o.st, RG_OK);
    CHECK_EQ_STR(o.text, "Backups run \xc3\xa9 \xe6\x97\xa5[2]");
    CHECK_EQ_STR(o.finish, "length");
    CHECK_EQ_INT(o.prompt_tokens, 11);
    CHECK_EQ_INT(o.completion_tokens, 3);
    CHECK_EQ_INT(o.malformed, 0);
}

TEST(llm_sse_crlf_and_cr_line_endings)
{
    const char *crlf = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n"
                       "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\r\r"
                       "data: [DONE]\r\n\r\n";
    outcome o;
    if (!run_all_splits(RG_LLM_OPENAI, crlf, &o))
        return;
    CHECK_EQ_INT(o.st, RG_OK);
    CHECK_EQ_STR(o.text, "ab");
}

TEST(llm_sse_events_without_blank_lines)
{
    /* Not what the spec says, but seen in the wild. */
    const char *body = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n"
                       "data: {\"choices\":[{\"delta\":{\"content\":\"y\"}}]}\n"
                       "data: [DONE]\n";
    outcome o;
    if (!run_all_splits(RG_LLM_OPENAI, body, &o))
        return;
    CHECK_EQ_INT(o.st, RG_OK);
    CHECK_EQ_STR(o.text, "xy");
}

TEST(llm_sse_malformed_events_skipped)
{
    const char *body = SSE_DELTA("good ") "data: not json\n\n"
                                          "data: {\"choices\": [\n\n"
                                          "data: [1,2]\n\n"
                                          "no colon line\n\n" SSE_DELTA("end") "data: [DONE]\n\n";
    outcome o;
    if (!run_all_splits(RG_LLM_OPENAI, body, &o))
        return;
    CHECK_EQ_INT(o.st, RG_OK);
    CHECK_EQ_STR(o.text, "good end");
    CHECK_EQ_INT(o.malformed, 3);
}

TEST(llm_sse_cut_off_and_error)
{
    outcome o;
    const char *cut = SSE_DELTA("half an ") SSE_DELTA("answ") "data: {\"choices\":[{\"delta\":{\"con";
    if (!run_all_splits(RG_LLM_OPENAI, cut, &o))
        return;
    CHECK_EQ_INT(o.st, RG_ERR_NETWORK);
    CHECK_EQ_STR(o.text, "half an answ");
    CHECK(strstr(o.msg, "[DONE]"));

    const char *err = SSE_DELTA("so far ") SSE("{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}");
    if (!run_all_splits(RG_LLM_OPENAI, err, &o))
        return;
    CHECK_EQ_INT(o.st, RG_ERR_SERVER);
    CHECK_EQ_STR(o.text, "so far ");
    CHECK(strstr(o.msg, "overloaded"));
}

TEST(llm_sse_finish_reason_without_done_is_complete)
{
    const char *body = SSE_DELTA("all ") SSE("{\"choices\":[{\"delta\":{\"content\":\"here\"},\"finish_reason\":\"stop\"}]}");
    outcome o;
    if (!run_all_splits(RG_LLM_OPENAI, body, &o))
        return;
    CHECK_EQ_INT(o.st, RG_OK);
    CHECK_EQ_STR(o.text, "all here");
}

TEST(llm_openai_non_streamed_reply_and_errors)
{
    outcome o;
    const char *whole = "{\n \"choices\": [ {\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"one "
                        "piece [1]\"},\n \"finish_reason\": \"stop\"} ]\n}";
    if (!run_all_splits(RG_LLM_OPENAI, whole, &o))
        return;
    CHECK_EQ_INT(o.st, RG_OK);
    CHECK_EQ_STR(o.text, "one piece [1]");

    const char *unauthorized = "{\"error\": {\"message\": \"Incorrect API key\", \"type\": \"invalid_request_error\"}}";
    if (!run_all_splits(RG_LLM_OPENAI, unauthorized, &o))
        return;
    CHECK_EQ_INT(o.st, RG_ERR_SERVER);
    CHECK(strstr(o.msg, "Incorrect API key"));

    const char *html = "<html><body>502 Bad Gateway</body></html>";
    if (!run_all_splits(RG_LLM_OPENAI, html, &o))
        return;
    CHECK_EQ_INT(o.st, RG_ERR_SERVER);
    CHECK(strstr(o.msg, "not an OpenAI-style event stream"));
    CHECK(strstr(o.msg, "502 Bad Gateway"));
    CHECK_EQ_STR(o.text, "");

    run(RG_LLM_OLLAMA, "", 0, NULL, 0, &o);
    CHECK_EQ_INT(o.st, RG_ERR_NETWORK);
    CHECK(strstr(o.msg, "without sending anything"));
}

TEST(llm_stream_overlong_line_is_dropped)
{
    size_t big = (5u << 20);
    rg_buf b;
    rg_buf_init(&b);
    rg_buf_puts(&b, OLLAMA_LINE("before "));
    rg_buf_puts(&b, "{\"message\":{\"content\":\"");
    rg_buf_reserve(&b, big);
    memset(b.data + b.len, 'x', big);
    b.len += big;
    b.data[b.len] = 0;
    rg_buf_puts(&b, "\"},\"done\":false}\n" OLLAMA_LINE("after") OLLAMA_DONE);
    size_t cuts[] = {100, 1000000, 3000000, b.len - 50};
    outcome o;
    run(RG_LLM_OLLAMA, b.data, b.len, cuts, RG_ARRAY_LEN(cuts), &o);
    rg_buf_free(&b);
    CHECK_EQ_INT(o.st, RG_OK);
    CHECK_EQ_STR(o.text, "before after");
    CHECK_EQ_INT(o.malformed, 1);
}

TEST(llm_stream_reader_can_stop)
{
    const char *body = OLLAMA_LINE("a") OLLAMA_LINE("b") OLLAMA_LINE("c") OLLAMA_DONE;
    collect c;
    memset(&c, 0, sizeof c);
    rg_buf_init(&c.text);
    c.stop_after = 2;
    rg_llm_stream *s = rg_llm_stream_new(RG_LLM_OLLAMA, on_text, &c);
    CHECK(!rg_llm_stream_feed(s, body, strlen(body)));
    rg_error err;
    CHECK_EQ_INT(rg_llm_stream_finish(s, &err), RG_ERR_INTERRUPTED);
    CHECK_EQ_STR(c.text.data, "ab");
    rg_llm_stream_free(s);
    rg_buf_free(&c.text);
}

#endif
