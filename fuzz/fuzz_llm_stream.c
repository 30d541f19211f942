/* The LLM answer stream parsers (ollama NDJSON and OpenAI server-sent
 * events) on arbitrary bytes cut at arbitrary points.  Input: a flags byte
 * (bit 0: format), then the body; each byte 0xFE in the body marks a chunk
 * boundary and is removed.  Properties: no crash; the answer text and the
 * final status do not depend on where the chunks were cut; a failed
 * finish() explains itself. */
#include "fuzz.h"
#include "llm.h"

static bool collect(void *ctx, const char *text, size_t len)
{
    rg_buf_append(ctx, text, len);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    rg_llm_format fmt = (data[0] & 1) ? RG_LLM_OPENAI : RG_LLM_OLLAMA;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    rg_buf chunked, whole, joined;
    rg_buf_init(&chunked);
    rg_buf_init(&whole);
    rg_buf_init(&joined);
    rg_llm_stream *s1 = rg_llm_stream_new(fmt, collect, &chunked);
    size_t start = 0, pieces = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || body[i] == 0xFE) {
            rg_llm_stream_feed(s1, (const char *)body + start, i - start);
            rg_buf_append(&joined, body + start, i - start);
            pieces++;
            start = i + 1;
        }
    }
    rg_llm_stream *s2 = rg_llm_stream_new(fmt, collect, &whole);
    rg_llm_stream_feed(s2, joined.data ? joined.data : "", joined.len);
    rg_error e1 = {0}, e2 = {0};
    rg_status st1 = rg_llm_stream_finish(s1, &e1);
    rg_status st2 = rg_llm_stream_finish(s2, &e2);
    FUZZ_CHECK_ERROR(st1, e1);
    FUZZ_CHECK_ERROR(st2, e2);
    FUZZ_CHECK(st1 == st2, "chunked status %s, whole %s (%zu pieces)", rg_status_name(st1), rg_status_name(st2),
               pieces);
    FUZZ_CHECK(chunked.len == whole.len && (whole.len == 0 || !memcmp(chunked.data, whole.data, whole.len)),
               "chunk boundaries changed the answer (%zu pieces): %zu vs %zu bytes", pieces, chunked.len, whole.len);
    const char *fr = rg_llm_stream_finish_reason(s1);
    const char *head = rg_llm_stream_head(s1);
    (void)fr;
    (void)head;
    rg_llm_stream_free(s1);
    rg_llm_stream_free(s2);
    rg_buf_free(&chunked);
    rg_buf_free(&whole);
    rg_buf_free(&joined);
    return 0;
}
