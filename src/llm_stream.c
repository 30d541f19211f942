/* Incremental parsers for the two chat streaming formats (see llm.h).
 *
 * Bytes arrive in whatever pieces the network delivers, so the parser keeps
 * the unfinished line between calls and only ever looks at whole lines.
 * Servers are not always well behaved: a line that is not JSON, or JSON of
 * an unexpected shape, is counted and skipped rather than ending the answer
 * (the caller reports the count), and a body that is one plain JSON document
 * (an error object, or a non-streamed completion from a server that ignored
 * "stream": true) is recognised at the end. */
#include "llm.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A line longer than this cannot be a chat delta; it is dropped (counted as
 * malformed) instead of growing memory without bound. */
#define LINE_MAX_BYTES (4u << 20)
/* The raw body is kept (for the non-streamed fallback and error messages)
 * only while nothing valid has been seen, and only this much of it. */
#define RAW_KEEP_BYTES (4u << 20)
#define HEAD_BYTES 300

struct rg_llm_stream {
    rg_llm_format format;
    rg_llm_text_fn on_text;
    void *ctx;

    rg_buf line;            /* current unfinished line */
    bool line_overflow;     /* dropping the rest of an over-long line */
    bool prev_cr;           /* last byte was CR: a following LF ends nothing */
    rg_buf event_data;      /* SSE: data lines of the current event */
    bool have_event;

    rg_buf raw;             /* body while nothing valid was seen */
    size_t raw_total;
    char head[HEAD_BYTES + 1];

    bool done;              /* end marker seen */
    bool stopped;           /* on_text returned false */
    size_t valid;           /* lines/events understood */
    size_t malformed;
    char server_error[512];
    char finish_reason[32];
    int64_t prompt_tokens, completion_tokens;
};

rg_llm_stream *rg_llm_stream_new(rg_llm_format format, rg_llm_text_fn on_text, void *ctx)
{
    rg_llm_stream *s = rg_xcalloc(1, sizeof *s);
    s->format = format;
    s->on_text = on_text;
    s->ctx = ctx;
    rg_buf_init(&s->line);
    rg_buf_init(&s->event_data);
    rg_buf_init(&s->raw);
    s->prompt_tokens = s->completion_tokens = -1;
    return s;
}

void rg_llm_stream_free(rg_llm_stream *s)
{
    if (!s)
        return;
    rg_buf_free(&s->line);
    rg_buf_free(&s->event_data);
    rg_buf_free(&s->raw);
    free(s);
}

static void emit(rg_llm_stream *s, const char *text, size_t len)
{
    if (len && !s->stopped && !s->on_text(s->ctx, text, len))
        s->stopped = true;
}

static void set_error_from(rg_llm_stream *s, json_t *e)
{
    const char *msg = NULL;
    if (json_is_string(e))
        msg = json_string_value(e);
    else if (json_is_object(e)) {
        msg = json_string_value(json_object_get(e, "message"));
        if (!msg)
            msg = json_string_value(json_object_get(e, "error"));
    }
    if (!s->server_error[0])
        snprintf(s->server_error, sizeof s->server_error, "%s", msg && *msg ? msg : "unspecified error");
}

static void set_finish_reason(rg_llm_stream *s, json_t *v)
{
    if (json_is_string(v) && json_string_length(v) > 0)
        snprintf(s->finish_reason, sizeof s->finish_reason, "%s", json_string_value(v));
}

/* Emits the text of one content field; returns true if it was a string. */
static bool emit_string(rg_llm_stream *s, json_t *v)
{
    if (!json_is_string(v))
        return false;
    emit(s, json_string_value(v), json_string_length(v));
    return true;
}

/* One Ollama /api/chat object.  Returns false if it is not one. */
static bool handle_ollama(rg_llm_stream *s, json_t *j)
{
    if (!json_is_object(j))
        return false;
    json_t *e = json_object_get(j, "error");
    if (e) {
        set_error_from(s, e);
        return true;
    }
    json_t *msg = json_object_get(j, "message");
    json_t *done = json_object_get(j, "done");
    /* "thinking" text of reasoning models is not part of the answer. */
    bool known = emit_string(s, json_object_get(msg, "content"));
    /* /api/generate-style servers put the text in "response". */
    known |= emit_string(s, json_object_get(j, "response"));
    if (json_is_true(done)) {
        s->done = true;
        set_finish_reason(s, json_object_get(j, "done_reason"));
        json_t *pc = json_object_get(j, "prompt_eval_count"), *ec = json_object_get(j, "eval_count");
        if (json_is_integer(pc))
            s->prompt_tokens = json_integer_value(pc);
        if (json_is_integer(ec))
            s->completion_tokens = json_integer_value(ec);
        known = true;
    } else if (json_is_false(done) && json_is_object(msg)) {
        known = true;
    }
    return known;
}

/* One OpenAI chat.completion(.chunk) object.  Returns false if it is not
 * one. */
static bool handle_openai(rg_llm_stream *s, json_t *j)
{
    if (!json_is_object(j))
        return false;
    json_t *e = json_object_get(j, "error");
    if (e) {
        set_error_from(s, e);
        return true;
    }
    bool known = false;
    json_t *usage = json_object_get(j, "usage");
    if (json_is_object(usage)) {
        json_t *pt = json_object_get(usage, "prompt_tokens"), *ct = json_object_get(usage, "completion_tokens");
        if (json_is_integer(pt))
            s->prompt_tokens = json_integer_value(pt);
        if (json_is_integer(ct))
            s->completion_tokens = json_integer_value(ct);
        known = true;
    }
    json_t *choices = json_object_get(j, "choices");
    if (!json_is_array(choices))
        return known;
    known = true;   /* an empty choices array (usage-only chunk) is fine */
    /* We ask for one completion; other indices would interleave. */
    json_t *c = json_array_get(choices, 0);
    if (!json_is_object(c))
        return known;
    json_t *delta = json_object_get(c, "delta");
    if (!emit_string(s, json_object_get(delta, "content"))) {
        /* Non-streamed shape, or the legacy completions "text". */
        if (!emit_string(s, json_object_get(json_object_get(c, "message"), "content")))
            emit_string(s, json_object_get(c, "text"));
    }
    set_finish_reason(s, json_object_get(c, "finish_reason"));
    return known;
}

static bool handle_json(rg_llm_stream *s, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, 0, &jerr);
    if (!j)
        return false;
    bool ok = s->format == RG_LLM_OLLAMA ? handle_ollama(s, j) : handle_openai(s, j);
    json_decref(j);
    return ok;
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t')
            return false;
    return true;
}

static void count(rg_llm_stream *s, bool ok)
{
    if (ok)
        s->valid++;
    else
        s->malformed++;
}

static void sse_dispatch(rg_llm_stream *s)
{
    if (!s->have_event)
        return;
    s->have_event = false;
    const char *d = s->event_data.data;
    size_t n = s->event_data.len;
    while (n && (d[n - 1] == ' ' || d[n - 1] == '\t'))
        n--;
    if (n == 6 && memcmp(d, "[DONE]", 6) == 0) {
        s->done = true;
        s->valid++;
    } else if (handle_json(s, d, n)) {
        s->valid++;
    } else if (memchr(d, '\n', n)) {
        /* Some servers omit the blank line between events, which joins
         * several JSON documents with newlines: try them one by one. */
        const char *p = d, *end = d + n;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (l == 6 && memcmp(p, "[DONE]", 6) == 0)
                s->done = true, s->valid++;
            else if (!blank(p, l))
                count(s, handle_json(s, p, l));
            p += l + 1;
        }
    } else {
        s->malformed++;
    }
    s->event_data.len = 0;
    s->event_data.data[0] = 0;
}

static void sse_line(rg_llm_stream *s, const char *p, size_t n)
{
    if (n == 0) {
        sse_dispatch(s);
        return;
    }
    if (p[0] == ':')
        return;   /* comment / keep-alive */
    const char *colon = memchr(p, ':', n);
    size_t name_len = colon ? (size_t)(colon - p) : n;
    if (name_len != 4 || memcmp(p, "data", 4) != 0)
        return;   /* event:, id:, retry: and unknown fields carry no text */
    const char *v = colon ? colon + 1 : p + n;
    if (v < p + n && *v == ' ')
        v++;
    if (s->have_event)
        rg_buf_putc(&s->event_data, '\n');
    rg_buf_append(&s->event_data, v, (size_t)(p + n - v));
    s->have_event = true;
}

static void ndjson_line(rg_llm_stream *s, const char *p, size_t n)
{
    if (blank(p, n))
        return;
    count(s, handle_json(s, p, n));
}

static void line_done(rg_llm_stream *s)
{
    if (s->line_overflow) {
        s->line_overflow = false;
        s->malformed++;
    } else if (!s->done) {
        /* Anything after the end marker is ignored. */
        if (s->format == RG_LLM_OLLAMA)
            ndjson_line(s, s->line.data ? s->line.data : "", s->line.len);
        else
            sse_line(s, s->line.data ? s->line.data : "", s->line.len);
    }
    s->line.len = 0;
    if (s->line.data)
        s->line.data[0] = 0;
}

bool rg_llm_stream_feed(rg_llm_stream *s, const char *data, size_t len)
{
    if (s->raw_total < HEAD_BYTES) {
        size_t have = s->raw_total, take = RG_MIN(len, (size_t)HEAD_BYTES - have);
        memcpy(s->head + have, data, take);
        s->head[have + take] = 0;
    }
    s->raw_total += len;
    if (s->valid == 0 && s->raw.len + len <= RAW_KEEP_BYTES)
        rg_buf_append(&s->raw, data, len);
    size_t i = 0;
    while (i < len && !s->stopped) {
        char ch = data[i];
        if (ch == '\n' && s->prev_cr) {   /* second half of CR LF */
            s->prev_cr = false;
            i++;
            continue;
        }
        s->prev_cr = false;
        if (ch == '\n' || ch == '\r') {
            s->prev_cr = ch == '\r';
            line_done(s);
            i++;
            continue;
        }
        /* Copy the run up to the next line end in one go. */
        size_t j = i;
        while (j < len && data[j] != '\n' && data[j] != '\r')
            j++;
        if (!s->line_overflow) {
            if (s->line.len + (j - i) > LINE_MAX_BYTES) {
                s->line_overflow = true;
                s->line.len = 0;
            } else {
                rg_buf_append(&s->line, data + i, j - i);
            }
        }
        i = j;
    }
    return !s->stopped;
}

/* Printable prefix of the body for messages. */
static void head_for_message(const rg_llm_stream *s, char *out, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; s->head[i] && o + 2 < n && i < 160; i++) {
        unsigned char c = (unsigned char)s->head[i];
        out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[o] = 0;
}

rg_status rg_llm_stream_finish(rg_llm_stream *s, rg_error *err)
{
    if (!s->stopped) {
        if (s->line.len || s->line_overflow)
            line_done(s);   /* last line without a newline */
        if (s->format == RG_LLM_OPENAI && !s->done)
            sse_dispatch(s); /* last event without a blank line */
    }
    if (s->stopped)
        return rg_error_set(err, RG_ERR_INTERRUPTED, "stopped while the answer was streaming");
    /* Nothing looked like a stream: maybe the whole body is one JSON
     * document (an error object, or a non-streamed completion). */
    if (s->valid == 0 && !s->server_error[0] && s->raw.len) {
        json_error_t jerr;
        json_t *j = json_loadb(s->raw.data, s->raw.len, 0, &jerr);
        if (j) {
            size_t before = s->malformed;
            bool ok = s->format == RG_LLM_OLLAMA ? handle_ollama(s, j) : handle_openai(s, j);
            json_decref(j);
            if (ok) {
                s->malformed = 0;   /* those "malformed" lines were this document's */
                s->valid = 1;
            } else {
                s->malformed = before;
            }
        }
    }
    if (s->server_error[0])
        return rg_error_set(err, RG_ERR_SERVER, "%s", s->server_error);
    /* Servers that end an OpenAI stream without [DONE] after a chunk with a
     * finish_reason (and non-streamed replies) have delivered everything. */
    if (s->done || (s->format == RG_LLM_OPENAI && s->finish_reason[0]))
        return RG_OK;
    char head[200];
    head_for_message(s, head, sizeof head);
    if (s->raw_total == 0)
        return rg_error_set(err, RG_ERR_NETWORK, "the server closed the connection without sending anything");
    if (s->valid == 0)
        return rg_error_set(err, RG_ERR_SERVER, "the reply is not %s (it starts: \"%s\")",
                            s->format == RG_LLM_OLLAMA ? "an Ollama chat stream (JSON lines)"
                                                       : "an OpenAI-style event stream (data: lines)",
                            head);
    return rg_error_set(err, RG_ERR_NETWORK, "the answer stream ended before the model finished (no %s after %zu bytes)",
                        s->format == RG_LLM_OLLAMA ? "final \"done\": true line" : "data: [DONE]", s->raw_total);
}

const char *rg_llm_stream_finish_reason(const rg_llm_stream *s) { return s->finish_reason; }
size_t rg_llm_stream_malformed(const rg_llm_stream *s) { return s->malformed; }
int64_t rg_llm_stream_prompt_tokens(const rg_llm_stream *s) { return s->prompt_tokens; }
int64_t rg_llm_stream_completion_tokens(const rg_llm_stream *s) { return s->completion_tokens; }
const char *rg_llm_stream_head(const rg_llm_stream *s) { return s->head; }
