/* Chat clients for local LLM servers, used by `ragged query --answer`.
 *
 * Two wire formats, both streamed so the answer can be shown as it is
 * generated:
 *   ollama  POST BASE/api/chat, one JSON object per line (NDJSON), the last
 *           with "done": true;
 *   openai  POST BASE/v1/chat/completions with "stream": true, server-sent
 *           events ("data: {json}" lines, blank-line separated), ending with
 *           "data: [DONE]".
 *
 * The stream parsers (rg_llm_stream) are separate from the HTTP part so they
 * can be fed arbitrary byte ranges in tests: chunk boundaries may fall
 * anywhere, even inside a UTF-8 sequence or a CR LF pair.
 *
 * Everything here needs libcurl, so the files are named llm*.c and left out
 * of `make WITHOUT_CHROMADB=1` builds (RG_WITHOUT_CHROMADB is then defined
 * and callers say the feature was not compiled in). */
#ifndef RG_LLM_H
#define RG_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

struct rg_config;

typedef enum rg_llm_format { RG_LLM_OLLAMA, RG_LLM_OPENAI } rg_llm_format;

/* Receives answer text as it arrives (never NULL-terminated chunks: use
 * len).  Returning false stops the request (RG_ERR_INTERRUPTED). */
typedef bool (*rg_llm_text_fn)(void *ctx, const char *text, size_t len);

/* ---- Stream parser ---------------------------------------------------- */

typedef struct rg_llm_stream rg_llm_stream;

rg_llm_stream *rg_llm_stream_new(rg_llm_format format, rg_llm_text_fn on_text, void *ctx);
void rg_llm_stream_free(rg_llm_stream *s);
/* Feeds raw body bytes.  Returns false when on_text asked to stop. */
bool rg_llm_stream_feed(rg_llm_stream *s, const char *data, size_t len);
/* Call once the body has ended.  RG_OK when the server said it was done;
 * RG_ERR_SERVER for an error the server reported in the stream (message
 * included) or a body that is not a chat stream at all; RG_ERR_NETWORK when
 * the stream stopped before the end marker.  The text received so far has
 * been delivered to on_text either way. */
rg_status rg_llm_stream_finish(rg_llm_stream *s, rg_error *err);

/* After finish: why the model stopped ("stop", "length", ... or "" if the
 * server did not say). */
const char *rg_llm_stream_finish_reason(const rg_llm_stream *s);
/* Lines that were not valid JSON (or not the expected shape) and were
 * skipped. */
size_t rg_llm_stream_malformed(const rg_llm_stream *s);
/* Token counts when the server reported them, else -1. */
int64_t rg_llm_stream_prompt_tokens(const rg_llm_stream *s);
int64_t rg_llm_stream_completion_tokens(const rg_llm_stream *s);
/* The first bytes of the raw body (for error messages). */
const char *rg_llm_stream_head(const rg_llm_stream *s);

/* ---- Client ----------------------------------------------------------- */

typedef struct rg_llm_opts {
    rg_llm_format format;
    const char *url;          /* base URL; "" for ollama means http://127.0.0.1:11434 */
    const char *model;
    const char *api_key;      /* NULL: no Authorization header.  Never printed. */
    bool api_key_over_http;   /* llm.api_key_over_http: plain http:// to other hosts allowed */
    long timeout_ms;
    double temperature;
    int64_t context_tokens;   /* ollama: options.num_ctx */
    int64_t answer_tokens;    /* ollama: options.num_predict; openai: max_tokens */
} rg_llm_opts;

typedef struct rg_llm rg_llm;

typedef struct rg_llm_message {
    const char *role;         /* "system", "user", "assistant" */
    const char *content;
} rg_llm_message;

typedef struct rg_llm_result {
    char finish_reason[32];   /* "stop", "length", ... or "" */
    size_t malformed_lines;
    int64_t prompt_tokens;    /* -1: not reported */
    int64_t completion_tokens;
    long http_status;
} rg_llm_result;

/* The llm.* settings as options (strings point into cfg); the API key is
 * read from the variable llm.api_key_env names.  RG_ERR_INVALID when that
 * variable is named but not set. */
rg_status rg_llm_opts_from_config(const struct rg_config *cfg, rg_llm_opts *out, rg_error *err);
rg_status rg_llm_new(const rg_llm_opts *opts, rg_llm **out, rg_error *err);
void rg_llm_free(rg_llm *llm);
/* The endpoint requests go to (credentials in the URL removed), for
 * messages. */
const char *rg_llm_endpoint(const rg_llm *llm);

/* Sends the conversation and streams the reply into on_text.  Failures name
 * the endpoint and model; any text received before the failure has already
 * been delivered.  Server messages are passed through with the API key
 * masked. */
rg_status rg_llm_chat(rg_llm *llm, const rg_llm_message *msgs, size_t n, rg_llm_text_fn on_text, void *ctx,
                      rg_llm_result *res, rg_error *err);

#endif
