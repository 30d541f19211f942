/* ragged ask [-c] : a conversation over a collection.
 *
 * Each question retrieves passages (with the previous question too, so a
 * follow-up such as "and how long are they kept?" finds the same topic) and
 * is answered by the LLM with the earlier turns in the prompt, as far as
 * they fit (service.h, rg_service_answer).  The answer streams with the
 * citation checks of `query --answer`.  The conversation is saved after
 * every turn under $XDG_STATE_HOME/ragged/ (atomic writes), so `ask -c`
 * continues it; typed lines are kept there too for the Up key (libedit on
 * a terminal; plain lines from a pipe). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "cli.h"
#include "lineedit.h"
#include "service.h"
#include "util.h"

int rg_cmd_ask(rg_cli *cli, int argc, char **argv);

#define MAX_TURNS_KEPT 50
#define MAX_HISTORY_LINES 500

static const char HELP[] =
    "usage: ragged ask [-c] [-k N] [--mode vector|bm25|hybrid] [--collection NAME]\n\n"
    "A conversation with the LLM in llm.* over a collection: type a question, get an\n"
    "answer with [n] citations and sources; follow-up questions see the earlier turns\n"
    "(as many as fit llm.context_tokens).  Line editing and history (Up/Down) on a\n"
    "terminal; from a pipe, one question a line.  /new starts over, /quit or end of\n"
    "input ends.  The conversation and the typed lines are kept in\n"
    "$XDG_STATE_HOME/ragged/ (default ~/.local/state/ragged/).\n\n"
    "  -c, --continue       continue the last conversation\n"
    "  -k N                 passages a question (default: retrieval.k)\n"
    "  --mode MODE          retrieval mode (default: retrieval.mode)\n\n"
    "Exit codes: 3 no usable LLM configured, 4 the LLM failed on some question (the\n"
    "conversation went on), 130 interrupted.\n\n" RG_CLI_COMMON_HELP;

typedef struct chat {
    rg_cli *cli;
    json_t *turns;           /* [{"question", "answer"}] */
    bool text_started;
    char last_out;
    json_t *done;            /* the last "done" event */
} chat;

static char *state_dir(void)
{
    const char *x = getenv("XDG_STATE_HOME");
    if (x && *x == '/')
        return rg_path_join(x, "ragged");
    const char *home = getenv("HOME");
    return rg_xasprintf("%s/.local/state/ragged", home && *home ? home : ".");
}

static rg_status save_json(const char *path, json_t *j, rg_error *err)
{
    char *text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    rg_status st = rg_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return st;
}

/* Model output is untrusted (it echoes the documents): control characters
 * never reach the terminal (as in cmd_answer.c). */
static void print_clean(chat *c, const char *text)
{
    for (const char *p = text; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '\r')
            continue;
        putchar((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f ? '?' : ch);
        c->last_out = (char)ch;
    }
    fflush(stdout);
}

static bool on_event(void *ctx, const char *event, json_t *data)
{
    chat *c = ctx;
    if (c->cli->format == RG_FORMAT_TEXT && !strcmp(event, "text")) {
        print_clean(c, json_string_value(json_object_get(data, "text")));
        c->text_started = true;
    } else if (!strcmp(event, "done")) {
        json_decref(c->done);
        c->done = json_incref(data);
    }
    return !(c->cli->interrupted && *c->cli->interrupted);
}

static void print_sources(chat *c)
{
    if (c->last_out && c->last_out != '\n')
        putchar('\n');
    json_t *sources = json_object_get(c->done, "sources");
    size_t i;
    json_t *s;
    if (json_array_size(sources)) {
        printf("Sources:\n");
        json_array_foreach(sources, i, s) {
            const char *path = json_string_value(json_object_get(s, "document_path"));
            printf("  [%lld] %s", (long long)json_integer_value(json_object_get(s, "n")),
                   path ? path : json_string_value(json_object_get(s, "id")));
            if (json_is_integer(json_object_get(s, "page_number")))
                printf(", page %lld", (long long)json_integer_value(json_object_get(s, "page_number")));
            putchar('\n');
        }
    } else {
        printf("(the answer cites none of the passages)\n");
    }
    json_t *invalid = json_object_get(c->done, "invalid_citations");
    if (json_array_size(invalid))
        printf("  %zu citation%s marked '?' point%s at no passage the model was given\n", json_array_size(invalid),
               json_array_size(invalid) == 1 ? "" : "s", json_array_size(invalid) == 1 ? "s" : "");
    fflush(stdout);
}

int rg_cmd_ask(rg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS,
                                         {"continue", no_argument, NULL, 'c'},
                                         {"mode", required_argument, NULL, 'M'},
                                         {0}};
    bool cont = false;
    int k = 0, c, rc = 0;
    const char *mode = NULL;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "hck:", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(HELP, stdout); return 0;
        case 'c': cont = true; break;
        case 'M': mode = optarg; break;
        case 'k': {
            long v;
            if (!rg_cli_parse_long(optarg, 1, 1000, &v))
                return rg_cli_usage_error(cli, "-k takes a number from 1 to 1000, not '%s'", optarg);
            k = (int)v;
            break;
        }
        default:
            if (!rg_cli_common_option(cli, c, optarg, &rc))
                return rc;
        }
    }
    if (optind < argc)
        return rg_cli_usage_error(cli, "ask reads questions from the terminal (or standard input), not arguments; "
                                       "for one question use: ragged query \"%s\" --answer",
                                  argv[optind]);
    rg_error err;
    if (mode && strcmp(mode, "vector") && strcmp(mode, "bm25") && strcmp(mode, "hybrid"))
        return rg_cli_usage_error(cli, "--mode must be vector, bm25 or hybrid, not '%s'", mode);
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 2;
    rg_service *svc = rg_service_new(cfg, cli->collection, cli->interrupted);
    if (!rg_service_has_llm(svc)) {
        rg_service_free(svc);
        rg_error_set(&err, RG_ERR_UNAVAILABLE,
                     "no LLM is configured (llm.provider is none): set llm.provider to ollama or openai, llm.url "
                     "and llm.model (see docs/answers.md); `ragged query` finds passages without one");
        rg_cli_fail(cli, &err);
        return RG_EXIT_NO_LLM;
    }
    bool interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    rg_lineedit *le = NULL;
    if (rg_lineedit_open(interactive, &le, &err) != RG_OK) {
        rg_service_free(svc);
        return rg_cli_fail(cli, &err);
    }

    char *dir = state_dir();
    char *conv_path = rg_path_join(dir, "conversation.json");
    char *hist_path = rg_path_join(dir, "ask_history");
    chat ch = {.cli = cli, .turns = json_array()};
    if (cont) {
        json_t *saved = json_load_file(conv_path, 0, NULL);
        json_t *turns = json_object_get(saved, "turns");
        if (json_is_array(turns)) {
            size_t i;
            json_t *t;
            json_array_foreach(turns, i, t)
                if (json_is_string(json_object_get(t, "question")) && json_is_string(json_object_get(t, "answer")))
                    json_array_append(ch.turns, t);
        }
        if (!cli->quiet)
            fprintf(stderr, json_array_size(ch.turns) ? "ragged: continuing the conversation (%zu turns)\n"
                                                      : "ragged: no earlier conversation; starting a new one\n",
                    json_array_size(ch.turns));
        json_decref(saved);
    }
    /* Typed lines of earlier sessions for the Up key. */
    json_t *history = json_load_file(hist_path, 0, NULL);
    if (!json_is_array(history)) {
        json_decref(history);
        history = json_array();
    }
    size_t hi;
    json_t *hv;
    json_array_foreach(history, hi, hv) rg_lineedit_remember(le, json_string_value(hv));
    if (interactive && !cli->quiet)
        fprintf(stderr, "ragged ask: collection %s; /new starts over, /quit or Ctrl-D ends\n", cli->collection);

    bool llm_failed = false, saved_dir = false;
    char *line;
    while (!*cli->interrupted && (line = rg_lineedit_read(le, interactive ? "ask> " : ""))) {
        char *q = line;
        while (*q == ' ' || *q == '\t')
            q++;
        size_t n = strlen(q);
        while (n && (q[n - 1] == ' ' || q[n - 1] == '\t'))
            q[--n] = '\0';
        if (!*q) {
            free(line);
            continue;
        }
        rg_lineedit_remember(le, q);
        json_array_append_new(history, json_string(q));
        while (json_array_size(history) > MAX_HISTORY_LINES)
            json_array_remove(history, 0);
        if (!strcmp(q, "/quit") || !strcmp(q, "/exit")) {
            free(line);
            break;
        }
        if (!saved_dir) {
            if (rg_mkdir_p(dir, 0700, &err) != RG_OK)
                fprintf(stderr, "ragged: warning: %s; the conversation will not be kept\n", err.msg);
            saved_dir = true;
        }
        if (!strcmp(q, "/new")) {
            json_array_clear(ch.turns);
            printf("(new conversation)\n");
        } else {
            /* Earlier turns for the prompt; retrieval sees the last question too. */
            size_t nt = json_array_size(ch.turns);
            rg_chat_turn *turns = rg_xcalloc(nt ? nt : 1, sizeof *turns);
            for (size_t i = 0; i < nt; i++) {
                json_t *t = json_array_get(ch.turns, i);
                turns[i] = (rg_chat_turn){json_string_value(json_object_get(t, "question")),
                                          json_string_value(json_object_get(t, "answer"))};
            }
            char *retrieve_text = nt ? rg_xasprintf("%s %s", turns[nt - 1].question, q) : rg_xstrdup(q);
            rg_query_req req = {.query = retrieve_text, .collection = rg_xstrdup(cli->collection),
                                .backend = cli->backend ? rg_xstrdup(cli->backend) : NULL,
                                .mode = mode ? rg_xstrdup(mode) : NULL, .k = k};
            ch.last_out = 0;
            json_decref(ch.done);
            ch.done = NULL;
            rg_status st = rg_service_answer(svc, &req, q, turns, nt, on_event, &ch, &err);
            free(turns);
            rg_query_req_free(&req);
            if (cli->format == RG_FORMAT_JSON && ch.done) {
                json_t *j = json_deep_copy(ch.done);
                json_object_set_new(j, "question", json_string(q));
                char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
                puts(text);
                fflush(stdout);
                free(text);
                json_decref(j);
            } else if (ch.done) {
                print_sources(&ch);
            }
            if (st == RG_OK) {
                json_array_append_new(ch.turns, json_pack("{s:s, s:s}", "question", q, "answer",
                                                          json_string_value(json_object_get(ch.done, "answer"))));
                while (json_array_size(ch.turns) > MAX_TURNS_KEPT)
                    json_array_remove(ch.turns, 0);
            } else if (st == RG_ERR_INTERRUPTED) {
                if (ch.last_out && ch.last_out != '\n')
                    putchar('\n');
                fprintf(stderr, "ragged: interrupted\n");
            } else {
                fprintf(stderr, "ragged: %s\n", err.msg);
                if (st == RG_ERR_NETWORK || st == RG_ERR_SERVER || st == RG_ERR_UNAVAILABLE)
                    llm_failed = true;
                else
                    rc = rg_status_exit_code(st);
            }
        }
        free(line);
        /* Saved after every turn: a crash or Ctrl-C loses at most the turn in progress. */
        json_t *conv = json_pack("{s:s, s:O}", "collection", cli->collection, "turns", ch.turns);
        if (saved_dir && (save_json(conv_path, conv, &err) != RG_OK || save_json(hist_path, history, &err) != RG_OK))
            fprintf(stderr, "ragged: warning: cannot keep the conversation: %s\n", err.msg);
        json_decref(conv);
    }
    if (interactive && !*cli->interrupted)
        putchar('\n');
    json_decref(ch.done);
    json_decref(ch.turns);
    json_decref(history);
    free(conv_path);
    free(hist_path);
    free(dir);
    rg_lineedit_free(le);
    rg_service_free(svc);
    if (*cli->interrupted)
        return 130;
    return rc ? rc : llm_failed ? RG_EXIT_LLM_FAILED : 0;
}
