/* Answers with citations: the parts of `ragged query --answer` that need no
 * network.  The prompt (numbered passages trimmed to the model's context),
 * citation extraction and checking, and two streaming text filters used
 * while the answer is printed: one masks a secret, one flags citations
 * that point at no passage the model was given.  The command itself is in
 * cmd_answer.c, the LLM clients in llm.c. */
#ifndef RG_ANSWER_H
#define RG_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "secret.h"
#include "util.h"

/* One retrieved passage as the answer code sees it. */
typedef struct rg_passage {
    const char *text;
    const char *path;        /* document path, or the record id */
    int64_t page;            /* -1: none */
    int64_t chunk, total;    /* chunk is 0-based; -1: unknown */
} rg_passage;

/* "PATH, page P, chunk C/T" (parts that are unknown are left out). */
char *rg_passage_describe(const rg_passage *p, bool with_chunk);

/* Estimated number of LLM tokens in text.  We do not have the model's
 * tokenizer, so this errs high: a word of L letters counts ceil(L/4),
 * digits ceil(L/3), every punctuation mark and every non-ASCII character 1,
 * a run of line breaks 1.  English prose comes out ~20-30% above what
 * BPE tokenizers report, which is the point: a prompt the server truncates
 * silently loses its instructions. */
int64_t rg_answer_count_tokens(const char *text, size_t len);

/* Template tokens charged per chat message (role markers etc.). */
#define RG_PROMPT_MESSAGE_OVERHEAD 16
/* A passage is only trimmed to fit if at least this many tokens of it
 * remain; smaller scraps are left out. */
#define RG_PROMPT_MIN_PASSAGE_TOKENS 48

typedef struct rg_prompt {
    char *system;
    char *user;
    size_t npassages;        /* passages [1]..[npassages] are in the prompt */
    bool last_trimmed;       /* passage npassages was cut to fit */
    int64_t tokens;          /* estimate for both messages incl. overhead */
    int64_t budget;          /* context_tokens - answer_tokens */
} rg_prompt;

/* Builds the prompt from the passages in rank order: whole passages while
 * they fit in context_tokens - answer_tokens, then the next one trimmed at a
 * word boundary if enough room is left; the rest are left out (they keep no
 * number the model could cite).  RG_ERR_INVALID when the question and
 * instructions alone leave no room for a passage. */
rg_status rg_prompt_build(const char *question, const rg_passage *passages, size_t n, int64_t context_tokens,
                          int64_t answer_tokens, rg_prompt *out, rg_error *err);
void rg_prompt_free(rg_prompt *p);

/* ---- Citations -------------------------------------------------------- */

/* Distinct numbers cited in text, ascending.  A citation is a bracket group
 * of numbers: [3], [1, 2], [1][2], [2-4], [Passage 2], [source 1; 3]. */
typedef struct rg_citations {
    int *items;
    size_t n, cap;
} rg_citations;

void rg_citations_extract(const char *text, size_t len, rg_citations *out);
void rg_citations_free(rg_citations *c);

/* Streaming filter over answer text: passes text through unchanged except
 * that a cited number outside 1..npassages gets a '?' right after it
 * ("[7]" -> "[7?]"), so an unsupported citation never looks like a real
 * one.  Text after a '[' is held back until the group closes (at most 64
 * bytes). */
typedef bool (*rg_text_fn)(void *ctx, const char *text, size_t len);

typedef struct rg_cite_filter {
    size_t npassages;
    rg_text_fn out;
    void *ctx;
    rg_buf pending;
    size_t flagged;          /* invalid numbers marked so far */
    bool failed;             /* out returned false */
} rg_cite_filter;

void rg_cite_filter_init(rg_cite_filter *f, size_t npassages, rg_text_fn out, void *ctx);
bool rg_cite_filter_feed(rg_cite_filter *f, const char *text, size_t len);
bool rg_cite_filter_flush(rg_cite_filter *f);   /* emits anything held back */
void rg_cite_filter_free(rg_cite_filter *f);

/* ---- The command ------------------------------------------------------ */

/* Exit codes of `query --answer` beyond the usual 0/1/2/130: the retrieved
 * passages were printed, but there is no answer because... */
#define RG_EXIT_NO_LLM 3       /* no usable LLM configuration (or not compiled in) */
#define RG_EXIT_LLM_FAILED 4   /* the server could not be reached or failed mid-answer */

struct rg_cli;
struct rg_hits;
/* Answers question from hits (in rank order, retrieved in `mode`) and prints the result in the
 * CLI's format; returns the exit code. */
int rg_cmd_answer(struct rg_cli *cli, const char *question, const struct rg_hits *hits, bool show_text,
                  const char *backend, const char *mode, int k);

/* ---- Secrets ---------------------------------------------------------- */

/* rg_mask_secret and rg_error_mask_secret are in secret.h. */
/* Copy of a URL without any user:password@ part, for messages. */
char *rg_url_for_display(const char *url);

/* Streaming version: holds back a tail that could be the start of the
 * secret, so a secret split across chunks is still caught. */
typedef struct rg_redactor {
    const char *secret;      /* not owned; NULL or short: pass-through */
    size_t slen;
    rg_text_fn out;
    void *ctx;
    rg_buf pending;
    bool failed;
} rg_redactor;

void rg_redactor_init(rg_redactor *r, const char *secret, rg_text_fn out, void *ctx);
bool rg_redactor_feed(rg_redactor *r, const char *text, size_t len);
bool rg_redactor_flush(rg_redactor *r);
void rg_redactor_free(rg_redactor *r);

/* ---- The answer stream ----------------------------------------------- */

/* What `query --answer` and serve's /v1/answer do with the model's text as
 * it arrives: the secret masked (rg_redactor), leading blank lines dropped,
 * the text kept in `answer` as the model wrote it (citations unmarked, for
 * rg_citations_extract), and passed on through the citation filter to
 * `out` (NULL: kept only). */
typedef struct rg_answer_stream {
    rg_redactor red;
    rg_cite_filter cf;
    rg_buf answer;
    rg_text_fn out;
} rg_answer_stream;

void rg_answer_stream_init(rg_answer_stream *s, const char *secret, size_t npassages, rg_text_fn out, void *ctx);
bool rg_answer_stream_feed(rg_answer_stream *s, const char *text, size_t len);
/* Emits what the filters held back; the answer is complete after it. */
void rg_answer_stream_flush(rg_answer_stream *s);
void rg_answer_stream_free(rg_answer_stream *s);

/* ---- Passages and sources from retrieved hits ------------------------- */

struct rg_hit;
struct rg_hits;
/* One rg_passage per hit (pointing into the hits; free the array only). */
rg_passage *rg_passages_from_hits(const struct rg_hits *hits);
/* {"n", "id", and the document_path/title/page/chunk fields} of hit i (0-based). */
struct json_t *rg_answer_source_json(const struct rg_hit *h, size_t i);
/* The citations of an answer as JSON: every cited number with "valid"
 * (1..npassages), the sources of the valid ones and the invalid numbers. */
void rg_answer_citations_json(const rg_citations *cites, const struct rg_hits *hits, size_t npassages,
                              struct json_t **citations, struct json_t **sources, struct json_t **invalid);

#endif
