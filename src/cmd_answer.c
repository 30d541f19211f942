/* `ragged query "QUESTION" --answer`: the retrieved passages go into a
 * prompt, the LLM's answer is streamed to stdout with its [n] citations
 * checked on the fly, then the sources of the cited passages are listed.
 * When there is no usable LLM the passages are printed instead, and the
 * exit code says why (RG_EXIT_NO_LLM, RG_EXIT_LLM_FAILED). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "cli.h"
#include "query_output.h"
#include "util.h"
#ifndef RG_WITHOUT_CHROMADB
#include "llm.h"
#endif

typedef enum { ST_ANSWERED, ST_NO_PASSAGES, ST_NO_LLM, ST_LLM_FAILED } answer_state;

static const char *state_name(answer_state s)
{
    static const char *const names[] = {"answered", "no_passages", "no_llm", "llm_failed"};
    return names[s];
}

typedef struct {
    rg_cli *cli;
    const char *question;
    const rg_hits *hits;
    rg_passage *passages;
    bool show_text;
    /* LLM as configured (for messages and JSON; never the key) */
    const char *provider, *model, *url_shown;
    char *url_owned;
    const char *secret;      /* API key, to mask; never printed */
    rg_prompt prompt;
    bool have_prompt;
    /* the answer */
    rg_answer_stream stream;
    bool have_stream;
    bool to_stdout;
    bool stdout_failed;
    char last_out;
    answer_state state;
    rg_error err;            /* why there is no (complete) answer */
    char finish_reason[32];
    size_t malformed;
    int64_t prompt_tokens, completion_tokens;
    double seconds;
} answer_run;

/* ---- passages --------------------------------------------------------- */

/* The passage as `ragged query` shows it: an excerpt around the question's
 * words (or the whole text), control characters escaped. */
static void print_excerpt(const char *text, const char *question, bool full)
{
    char *ex = rg_query_excerpt(text, question, NULL, 0, full, false);
    printf("   %s\n", ex);
    free(ex);
}

static void print_passages(const answer_run *r)
{
    printf("Retrieved passages:\n");
    for (size_t i = 0; i < r->hits->n; i++) {
        char *d = rg_passage_describe(&r->passages[i], true);
        printf("[%zu] ", i + 1);
        rg_fputs_escaped(d, stdout);   /* file names are outside text */
        printf(" (score %.3f)\n", 1.0 - r->hits->items[i].distance);
        free(d);
        print_excerpt(r->passages[i].text, r->question, r->show_text);
    }
}

/* ---- streaming the answer --------------------------------------------- */

#ifndef RG_WITHOUT_CHROMADB
static bool to_terminal(void *ctx, const char *text, size_t len)
{
    answer_run *r = ctx;
    /* Model output is untrusted (it echoes the documents): escape
     * sequences and other control characters never reach the terminal. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\r')
            continue;
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            putchar('?');
        else
            putchar(c);
    }
    if (ferror(stdout) || fflush(stdout) != 0) {
        r->stdout_failed = true;   /* e.g. a closed pipe: stop asking the model */
        return false;
    }
    r->last_out = text[len - 1];
    return true;
}

static bool on_llm_text(void *ctx, const char *text, size_t len)
{
    answer_run *r = ctx;
    if (r->cli->interrupted && *r->cli->interrupted)
        return false;
    return rg_answer_stream_feed(&r->stream, text, len);
}

/* Reads the llm.* settings; RG_OK with *llm set, or the reason there is no
 * usable LLM. */
static rg_status open_llm(answer_run *r, const rg_config *cfg, rg_llm **llm, rg_error *err)
{
    rg_llm_opts o;
    rg_status st = rg_llm_opts_from_config(cfg, &o, err);
    if (st != RG_OK)
        return st;
    r->secret = o.api_key;
    return rg_llm_new(&o, llm, err);
}
#endif

/* ---- output ----------------------------------------------------------- */

static bool cited_ok(const answer_run *r, int n)
{
    return n >= 1 && r->have_prompt && (size_t)n <= r->prompt.npassages;
}

static void print_sources_text(answer_run *r, const rg_citations *cites)
{
    if (r->last_out && r->last_out != '\n')
        putchar('\n');
    if (r->state == ST_LLM_FAILED)
        printf("[answer incomplete: %s]\n", r->err.code == RG_ERR_INTERRUPTED ? "interrupted" : "see the error above");
    size_t valid = 0, invalid = 0;
    for (size_t i = 0; i < cites->n; i++)
        cited_ok(r, cites->items[i]) ? valid++ : invalid++;
    if (cites->n == 0) {
        printf("\nSources: the answer cites none of the passages; check it against them "
               "(ragged query without --answer lists them).\n");
        return;
    }
    printf("\nSources:\n");
    for (size_t i = 0; i < cites->n; i++) {
        int n = cites->items[i];
        if (cited_ok(r, n)) {
            char *d = rg_passage_describe(&r->passages[n - 1], true);
            printf("  [%d] ", n);
            rg_fputs_escaped(d, stdout);
            putchar('\n');
            free(d);
        }
    }
    for (size_t i = 0; i < cites->n; i++) {
        int n = cites->items[i];
        if (!cited_ok(r, n))
            printf("  [%d?] not one of the %zu passages given to the model: statements citing it are unsupported\n",
                   n, r->have_prompt ? r->prompt.npassages : (size_t)0);
    }
    if (invalid)
        fprintf(stderr, "ragged: warning: the answer cites %zu number%s that match%s no retrieved passage "
                        "(marked with '?')\n",
                invalid, invalid == 1 ? "" : "s", invalid == 1 ? "es" : "");
}

static void print_json(answer_run *r, const rg_buf *answer, const rg_citations *cites, const char *backend,
                       const char *mode, int k)
{
    json_t *passages = json_array();
    for (size_t i = 0; i < r->hits->n; i++) {
        const rg_hit *h = &r->hits->items[i];
        json_t *p = rg_answer_source_json(h, i);
        json_object_set_new(p, "score", json_real(1.0 - h->distance));
        json_object_set_new(p, "distance", json_real(h->distance));
        bool in = r->have_prompt && i < r->prompt.npassages;
        json_object_set_new(p, "in_prompt", json_boolean(in));
        json_object_set_new(p, "trimmed", json_boolean(in && r->prompt.last_trimmed && i + 1 == r->prompt.npassages));
        if (h->document)
            json_object_set_new(p, "text", json_string(h->document));
        if (h->metadata)
            json_object_set(p, "metadata", h->metadata);
        json_array_append_new(passages, p);
    }
    json_t *citations, *sources, *invalid;
    rg_answer_citations_json(cites, r->hits, r->have_prompt ? r->prompt.npassages : 0, &citations, &sources,
                             &invalid);
    json_t *llm = json_pack("{s:s, s:s, s:s}", "provider", r->provider, "url", r->url_shown ? r->url_shown : "",
                            "model", r->model);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "query", r->question, "collection", r->cli->collection,
                          "backend", backend, "mode", mode, "status", state_name(r->state), "k", k);
    json_object_set_new(j, "llm", llm);
    json_object_set_new(j, "answer", r->state == ST_ANSWERED || answer->len
                                         ? json_stringn(answer->data ? answer->data : "", answer->len)
                                         : json_null());
    json_object_set_new(j, "complete", json_boolean(r->state == ST_ANSWERED));
    if (r->finish_reason[0])
        json_object_set_new(j, "finish_reason", json_string(r->finish_reason));
    if (r->state == ST_NO_LLM || r->state == ST_LLM_FAILED)
        json_object_set_new(j, "error", rg_json_error(rg_status_name(r->err.code), r->err.msg));
    json_object_set_new(j, "citations", citations);
    json_object_set_new(j, "invalid_citations", invalid);
    json_object_set_new(j, "sources", sources);
    json_object_set_new(j, "passages", passages);
    if (r->have_prompt) {
        json_object_set_new(j, "passages_in_prompt", json_integer((json_int_t)r->prompt.npassages));
        json_object_set_new(j, "prompt_tokens_estimate", json_integer((json_int_t)r->prompt.tokens));
    }
    if (r->prompt_tokens >= 0)
        json_object_set_new(j, "prompt_tokens", json_integer((json_int_t)r->prompt_tokens));
    if (r->completion_tokens >= 0)
        json_object_set_new(j, "completion_tokens", json_integer((json_int_t)r->completion_tokens));
    if (r->malformed)
        json_object_set_new(j, "malformed_lines_skipped", json_integer((json_int_t)r->malformed));
    json_object_set_new(j, "seconds", json_real(r->seconds));
    rg_cli_print_json(j);
}

int rg_cmd_answer(rg_cli *cli, const char *question, const rg_hits *hits, bool show_text, const char *backend,
                  const char *mode, int k)
{
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 2;
    answer_run r = {.cli = cli, .question = question, .hits = hits, .show_text = show_text,
                    .to_stdout = cli->format == RG_FORMAT_TEXT, .prompt_tokens = -1, .completion_tokens = -1};
    r.passages = rg_passages_from_hits(hits);
    r.provider = rg_config_str(cfg, "llm.provider");
    r.model = rg_config_str(cfg, "llm.model");
    /* llm.url may carry user:password@; messages and JSON never show it. */
    r.url_owned = rg_url_for_display(rg_config_str(cfg, "llm.url"));
    r.url_shown = r.url_owned;
    const char *url = r.url_owned;
    rg_error_clear(&r.err);
    double t0 = rg_now();
#ifndef RG_WITHOUT_CHROMADB
    rg_llm *llm = NULL;
#endif

    if (strcmp(r.provider, "none") == 0) {
        r.state = ST_NO_LLM;
        rg_error_set(&r.err, RG_ERR_UNAVAILABLE,
                     "no LLM is configured (llm.provider is none, llm.url '%s', llm.model '%s'): set llm.provider "
                     "to ollama or openai, llm.url and llm.model to get answers (see docs/answers.md)",
                     url, r.model);
    } else {
#ifdef RG_WITHOUT_CHROMADB
        r.state = ST_NO_LLM;
        rg_error_set(&r.err, RG_ERR_UNAVAILABLE,
                     "answers were not compiled in: this ragged was built with WITHOUT_CHROMADB=1 (no libcurl), so "
                     "it cannot talk to the %s server at '%s' (model '%s'); rebuild without it",
                     r.provider, url, r.model);
#else
        if (open_llm(&r, cfg, &llm, &r.err) != RG_OK) {
            r.state = ST_NO_LLM;
            rg_error_prefix(&r.err, "cannot use the %s LLM (llm.url '%s', llm.model '%s')", r.provider, url, r.model);
        } else {
            free(r.url_owned);
            r.url_owned = rg_xstrdup(rg_llm_endpoint(llm));
            r.url_shown = r.url_owned;
        }
#endif
    }
    if (r.state == ST_ANSWERED && hits->n == 0)
        r.state = ST_NO_PASSAGES;
    if (r.state == ST_ANSWERED) {
        if (rg_prompt_build(question, r.passages, hits->n, rg_config_int(cfg, "llm.context_tokens"),
                            rg_config_int(cfg, "llm.answer_tokens"), &r.prompt, &r.err) == RG_OK)
            r.have_prompt = true;
        else
            r.state = ST_NO_LLM;
    }
#ifndef RG_WITHOUT_CHROMADB
    if (r.state == ST_ANSWERED) {
        if (!cli->quiet) {
            fprintf(stderr, "ragged: asking %s (%s) with %zu passage%s, about %lld prompt tokens\n", r.model,
                    r.url_shown, r.prompt.npassages, r.prompt.npassages == 1 ? "" : "s", (long long)r.prompt.tokens);
            if (r.prompt.npassages < hits->n || r.prompt.last_trimmed)
                fprintf(stderr, "ragged: %zu of %zu passages fit llm.context_tokens=%lld%s\n", r.prompt.npassages,
                        hits->n, (long long)rg_config_int(cfg, "llm.context_tokens"),
                        r.prompt.last_trimmed ? " (the last one trimmed)" : "");
        }
        rg_answer_stream_init(&r.stream, r.secret, r.prompt.npassages, r.to_stdout ? to_terminal : NULL, &r);
        r.have_stream = true;
        rg_llm_message msgs[2] = {{"system", r.prompt.system}, {"user", r.prompt.user}};
        rg_llm_result res;
        rg_status st = rg_llm_chat(llm, msgs, 2, on_llm_text, &r, &res, &r.err);
        /* Text held back by the filters belongs to the answer either way. */
        rg_answer_stream_flush(&r.stream);
        if (r.to_stdout) {
            /* End the answer's line before any message on stderr. */
            if (r.last_out && r.last_out != '\n' && !r.stdout_failed) {
                putchar('\n');
                fflush(stdout);
                r.last_out = '\n';
            }
        }
        snprintf(r.finish_reason, sizeof r.finish_reason, "%s", res.finish_reason);
        r.malformed = res.malformed_lines;
        r.prompt_tokens = res.prompt_tokens;
        r.completion_tokens = res.completion_tokens;
        if (st != RG_OK) {
            r.state = ST_LLM_FAILED;
            if (r.stdout_failed)
                rg_error_set(&r.err, RG_ERR_IO, "cannot write the answer to standard output");
        }
    }
    rg_llm_free(llm);
#endif
    r.seconds = rg_now() - t0;
    /* Messages may quote server replies: keep the key out of them. */
    rg_error_mask_secret(&r.err, r.secret);

    rg_buf none = {0};
    const rg_buf *answer = r.have_stream ? &r.stream.answer : &none;
    rg_citations cites;
    rg_citations_extract(answer->data ? answer->data : "", answer->len, &cites);
    int rc = 0;
    if (r.state == ST_NO_LLM || r.state == ST_LLM_FAILED) {
        fprintf(stderr, "ragged: %s\n", r.err.msg);
        rc = r.err.code == RG_ERR_INTERRUPTED ? 130
             : r.err.code == RG_ERR_IO        ? 1   /* our stdout, not the LLM, failed */
             : r.state == ST_NO_LLM           ? RG_EXIT_NO_LLM
                                              : RG_EXIT_LLM_FAILED;
    }
    if (r.state == ST_ANSWERED && !cli->quiet) {
        if (r.malformed)
            fprintf(stderr, "ragged: warning: skipped %zu malformed line%s in the server's stream\n", r.malformed,
                    r.malformed == 1 ? "" : "s");
        if (strcmp(r.finish_reason, "length") == 0)
            fprintf(stderr, "ragged: warning: the answer was cut at llm.answer_tokens=%lld tokens\n",
                    (long long)rg_config_int(cfg, "llm.answer_tokens"));
    }
    if (cli->format == RG_FORMAT_JSON) {
        print_json(&r, answer, &cites, backend, mode, k);
    } else if (r.state == ST_NO_PASSAGES) {
        printf("no passages found in %s/%s; there is nothing to answer from\n", backend, cli->collection);
    } else {
        if (answer->len || r.state == ST_ANSWERED)
            print_sources_text(&r, &cites);
        if (r.state != ST_ANSWERED) {
            if (answer->len)
                putchar('\n');
            print_passages(&r);
        }
    }
    fflush(stdout);
    rg_citations_free(&cites);
    if (r.have_prompt)
        rg_prompt_free(&r.prompt);
    if (r.have_stream)
        rg_answer_stream_free(&r.stream);
    free(r.passages);
    free(r.url_owned);
    return rc;
}
