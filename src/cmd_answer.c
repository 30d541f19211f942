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
    rg_redactor red;
    rg_cite_filter cf;
    rg_buf answer;
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

static int64_t meta_int(const json_t *m, const char *key)
{
    json_t *v = json_object_get(m, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static rg_passage *passages_from_hits(const rg_hits *hits)
{
    rg_passage *p = rg_xcalloc(hits->n ? hits->n : 1, sizeof *p);
    for (size_t i = 0; i < hits->n; i++) {
        const rg_hit *h = &hits->items[i];
        const char *path = json_string_value(json_object_get(h->metadata, "document_path"));
        p[i] = (rg_passage){.text = h->document ? h->document : "",
                            .path = path ? path : h->id,
                            .page = meta_int(h->metadata, "page_number"),
                            .chunk = meta_int(h->metadata, "chunk_position"),
                            .total = meta_int(h->metadata, "total_chunks")};
    }
    return p;
}

/* A passage on one line, about 240 bytes, cut at a UTF-8 boundary. */
static void print_excerpt(const char *text, bool full)
{
    if (full) {
        printf("   %s\n", text);
        return;
    }
    size_t n = strlen(text), i = 0, out = 0;
    bool space = false;
    fputs("   ", stdout);
    for (; i < n && out < 240; i++) {
        unsigned char ch = (unsigned char)text[i];
        bool ws = ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ';
        if (ws && !space)
            putchar(' '), out++;
        if (!ws)
            putchar(ch), out++;
        space = ws;
    }
    while (i < n && ((unsigned char)text[i] & 0xc0) == 0x80)
        putchar(text[i++]);
    puts(i < n ? " ..." : "");
}

static void print_passages(const answer_run *r)
{
    printf("Retrieved passages:\n");
    for (size_t i = 0; i < r->hits->n; i++) {
        char *d = rg_passage_describe(&r->passages[i], true);
        printf("[%zu] %s (score %.3f)\n", i + 1, d, 1.0 - r->hits->items[i].distance);
        free(d);
        print_excerpt(r->passages[i].text, r->show_text);
    }
}

static json_t *source_json(const answer_run *r, size_t i)
{
    const rg_hit *h = &r->hits->items[i];
    json_t *o = json_pack("{s:I, s:s}", "n", (json_int_t)(i + 1), "id", h->id);
    static const char *const lift[] = {"document_path", "title", "page_number", "chunk_position", "total_chunks"};
    for (size_t f = 0; h->metadata && f < RG_ARRAY_LEN(lift); f++)
        if (json_object_get(h->metadata, lift[f]))
            json_object_set(o, lift[f], json_object_get(h->metadata, lift[f]));
    return o;
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

static bool after_redaction(void *ctx, const char *text, size_t len)
{
    answer_run *r = ctx;
    if (r->answer.len == 0) {
        /* Models often open with blank lines. */
        while (len && (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t'))
            text++, len--;
        if (!len)
            return true;
    }
    rg_buf_append(&r->answer, text, len);
    return !r->to_stdout || rg_cite_filter_feed(&r->cf, text, len);
}

static bool on_llm_text(void *ctx, const char *text, size_t len)
{
    answer_run *r = ctx;
    if (r->cli->interrupted && *r->cli->interrupted)
        return false;
    return rg_redactor_feed(&r->red, text, len);
}

/* Reads the llm.* settings; RG_OK with *llm set, or the reason there is no
 * usable LLM. */
static rg_status open_llm(answer_run *r, const rg_config *cfg, rg_llm **llm, rg_error *err)
{
    rg_llm_opts o = {.format = strcmp(r->provider, "ollama") == 0 ? RG_LLM_OLLAMA : RG_LLM_OPENAI,
                     .url = rg_config_str(cfg, "llm.url"),
                     .model = r->model,
                     .timeout_ms = (long)rg_config_int(cfg, "llm.timeout_ms"),
                     .temperature = rg_config_float(cfg, "llm.temperature"),
                     .context_tokens = rg_config_int(cfg, "llm.context_tokens"),
                     .answer_tokens = rg_config_int(cfg, "llm.answer_tokens"),
                     .api_key_over_http = rg_config_bool(cfg, "llm.api_key_over_http")};
    const char *env = rg_config_str(cfg, "llm.api_key_env");
    if (env && *env) {
        const char *key = getenv(env);
        if (!key || !*key)
            return rg_error_set(err, RG_ERR_INVALID,
                                "llm.api_key_env names the environment variable %s, which is not set (or empty); "
                                "export it with the API key, or clear llm.api_key_env for a server without keys",
                                env);
        o.api_key = key;
        r->secret = key;
    }
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
            printf("  [%d] %s\n", n, d);
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

static void print_json(answer_run *r, const rg_citations *cites, const char *backend, const char *mode, int k)
{
    json_t *passages = json_array();
    for (size_t i = 0; i < r->hits->n; i++) {
        const rg_hit *h = &r->hits->items[i];
        json_t *p = source_json(r, i);
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
    json_t *citations = json_array(), *sources = json_array(), *invalid = json_array();
    for (size_t i = 0; i < cites->n; i++) {
        int n = cites->items[i];
        bool ok = cited_ok(r, n);
        json_array_append_new(citations, json_pack("{s:i, s:b}", "n", n, "valid", ok));
        if (ok)
            json_array_append_new(sources, source_json(r, (size_t)n - 1));
        else
            json_array_append_new(invalid, json_integer(n));
    }
    json_t *llm = json_pack("{s:s, s:s, s:s}", "provider", r->provider, "url", r->url_shown ? r->url_shown : "",
                            "model", r->model);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "query", r->question, "collection", r->cli->collection,
                          "backend", backend, "mode", mode, "status", state_name(r->state), "k", k);
    json_object_set_new(j, "llm", llm);
    json_object_set_new(j, "answer", r->state == ST_ANSWERED || r->answer.len
                                         ? json_stringn(r->answer.data ? r->answer.data : "", r->answer.len)
                                         : json_null());
    json_object_set_new(j, "complete", json_boolean(r->state == ST_ANSWERED));
    if (r->finish_reason[0])
        json_object_set_new(j, "finish_reason", json_string(r->finish_reason));
    if (r->state == ST_NO_LLM || r->state == ST_LLM_FAILED)
        json_object_set_new(j, "error", json_pack("{s:s, s:s}", "code", rg_status_name(r->err.code), "message",
                                                  r->err.msg));
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
    r.passages = passages_from_hits(hits);
    r.provider = rg_config_str(cfg, "llm.provider");
    r.model = rg_config_str(cfg, "llm.model");
    /* llm.url may carry user:password@; messages and JSON never show it. */
    r.url_owned = rg_url_for_display(rg_config_str(cfg, "llm.url"));
    r.url_shown = r.url_owned;
    const char *url = r.url_owned;
    rg_buf_init(&r.answer);
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
        rg_cite_filter_init(&r.cf, r.prompt.npassages, to_terminal, &r);
        rg_redactor_init(&r.red, r.secret, after_redaction, &r);
        rg_llm_message msgs[2] = {{"system", r.prompt.system}, {"user", r.prompt.user}};
        rg_llm_result res;
        rg_status st = rg_llm_chat(llm, msgs, 2, on_llm_text, &r, &res, &r.err);
        /* Text held back by the filters belongs to the answer either way. */
        rg_redactor_flush(&r.red);
        if (r.to_stdout) {
            rg_cite_filter_flush(&r.cf);
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
        rg_cite_filter_free(&r.cf);
        rg_redactor_free(&r.red);
    }
    rg_llm_free(llm);
#endif
    r.seconds = rg_now() - t0;
    /* Messages may quote server replies: keep the key out of them. */
    rg_error_mask_secret(&r.err, r.secret);

    rg_citations cites;
    rg_citations_extract(r.answer.data ? r.answer.data : "", r.answer.len, &cites);
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
        print_json(&r, &cites, backend, mode, k);
    } else if (r.state == ST_NO_PASSAGES) {
        printf("no passages found in %s/%s; there is nothing to answer from\n", backend, cli->collection);
    } else {
        if (r.answer.len || r.state == ST_ANSWERED)
            print_sources_text(&r, &cites);
        if (r.state != ST_ANSWERED) {
            if (r.answer.len)
                putchar('\n');
            print_passages(&r);
        }
    }
    fflush(stdout);
    rg_citations_free(&cites);
    if (r.have_prompt)
        rg_prompt_free(&r.prompt);
    rg_buf_free(&r.answer);
    free(r.passages);
    free(r.url_owned);
    return rc;
}
