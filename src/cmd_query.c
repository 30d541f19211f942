/* ragged query "TEXT" */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "cli.h"
#include "query_output.h"
#include "rerank.h"
#include "retrieve.h"
#include "util.h"

int rg_cmd_query(rg_cli *cli, int argc, char **argv);

static const char HELP[] =
    "usage: ragged query \"TEXT\"|- [-k N] [--mode vector|bm25|hybrid] [--where JSON]\n"
    "                    [-m KEY=VALUE]... [--contains TEXT]... [--show-text] [--answer]\n"
    "                    [--rerank | --no-rerank] [--rerank-model DIR]\n"
    "                    [--color auto|always|never] [--collection NAME] [--backend NAME]\n"
    "                    [--format text|json]\n\n"
    "Finds the passages most similar to TEXT (read from stdin when TEXT is -) and prints\n"
    "them ranked, with their sources.  Identical passages are shown once, with the other\n"
    "places they occur (\"also in\"); excerpts are centred on the query's words.\n\n"
    "  -k N                 number of passages (default: retrieval.k)\n"
    "  --where JSON         metadata filter in ChromaDB's grammar, e.g.\n"
    "                       '{\"page_number\": {\"$gte\": 3}}'; operators $eq $ne $gt $gte $lt\n"
    "                       $lte $in $nin $contains $not_contains, combined with $and / $or;\n"
    "                       the key \"#document\" is the passage text ($contains/$not_contains)\n"
    "  -m KEY=VALUE         shorthand for {\"KEY\": VALUE}; may be repeated (all must match)\n"
    "  --contains TEXT      only passages containing TEXT (case-sensitive, like ChromaDB's\n"
    "                       where_document); may be repeated (all must match)\n"
    "  --color WHEN         highlight the matched words: auto (a terminal, unless NO_COLOR\n"
    "                       is set), always or never (default: auto)\n"
    "  --mode MODE          vector, bm25 (lexical) or hybrid (both fused; default:\n"
    "                       retrieval.mode)\n"
    "  --show-text          print each passage in full (default: a short excerpt)\n"
    "  --complexity N       search effort for graph backends (default: the backend's setting)\n"
    "  --rerank-model DIR   rerank the best retrieval.rerank.top_n passages with this\n"
    "                       cross-encoder (default: retrieval.rerank.model; docs/retrieval.md)\n"
    "  --rerank, --no-rerank  require / skip the configured reranker\n"
    "  --answer             ask the LLM in llm.* to answer TEXT from the passages, with [n]\n"
    "                       citations and their sources (see docs/answers.md).  Exit 3: no\n"
    "                       usable LLM configured, 4: the LLM could not be reached or failed;\n"
    "                       in both cases the passages are printed instead\n\n" RG_CLI_COMMON_HELP;

/* The query text of `ragged query -`: stdin up to 1 MiB, trailing newlines
 * dropped. */
static rg_status read_stdin_query(char **out, rg_error *err)
{
    if (isatty(STDIN_FILENO))
        fputs("ragged: reading the query from the terminal; end it with Ctrl-D\n", stderr);
    rg_buf b;
    rg_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
        rg_buf_append(&b, chunk, n);
        if (b.len > (1u << 20)) {
            rg_buf_free(&b);
            return rg_error_set(err, RG_ERR_INVALID, "the query on stdin is longer than 1 MiB");
        }
    }
    if (ferror(stdin)) {
        rg_buf_free(&b);
        return rg_error_set(err, RG_ERR_IO, "cannot read the query from stdin");
    }
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.data[--b.len] = '\0';
    if (memchr(b.data ? b.data : "", '\0', b.len)) {
        rg_buf_free(&b);
        return rg_error_set(err, RG_ERR_INVALID, "the query on stdin contains a NUL byte");
    }
    *out = rg_buf_steal(&b);
    return RG_OK;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

int rg_cmd_query(rg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS,
                                         {"where", required_argument, NULL, 'w'},
                                         {"show-text", no_argument, NULL, 's'},
                                         {"complexity", required_argument, NULL, 'c'},
                                         {"mode", required_argument, NULL, 'M'},
                                         {"answer", no_argument, NULL, 'a'},
                                         {"contains", required_argument, NULL, 'C'},
                                         {"color", required_argument, NULL, 'L'},
                                         {"rerank", no_argument, NULL, 3001},
                                         {"no-rerank", no_argument, NULL, 3002},
                                         {"rerank-model", required_argument, NULL, 3003},
                                         {0}};
    const char *color_arg = NULL, *contains_first = NULL;
    int rerank = -1;              /* -1: as configured, 0: off, 1: required */
    const char *rerank_model = NULL;
    const char *mode = NULL;
    int k = 0, complexity = 0, c, rc = 0;
    bool show_text = false, answer = false;
    rg_filter *where = NULL;
    rg_error err;
    /* Filters are parsed after all options so --format applies to their errors. */
    const char **filter_args = rg_xcalloc((size_t)argc, sizeof *filter_args);
    char *filter_kinds = rg_xcalloc((size_t)argc, 1);
    size_t nfilters = 0;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "hk:m:", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(HELP, stdout);
            free(filter_args);
            free(filter_kinds);
            return 0;
        case 'k': {
            long v;
            if (!rg_cli_parse_long(optarg, 1, 100000, &v)) {
                free(filter_args);
                free(filter_kinds);
                return rg_cli_usage_error(cli, "-k takes a number from 1 to 100000, not '%s'", optarg);
            }
            k = (int)v;
            break;
        }
        case 'c': {
            long v;
            if (!rg_cli_parse_long(optarg, 1, 100000, &v)) {
                free(filter_args);
                free(filter_kinds);
                return rg_cli_usage_error(cli, "--complexity takes a number from 1 to 100000, not '%s'", optarg);
            }
            complexity = (int)v;
            break;
        }
        case 'C':
        case 'w':
        case 'm':
            if (c == 'C' && !contains_first)
                contains_first = optarg;
            filter_kinds[nfilters] = (char)c;
            filter_args[nfilters++] = optarg;
            break;
        case 's': show_text = true; break;
        case 'M': mode = optarg; break;
        case 'a': answer = true; break;
        case 'L': color_arg = optarg; break;
        case 3001: rerank = 1; break;
        case 3002: rerank = 0; break;
        case 3003: rerank_model = optarg; rerank = rerank == 0 ? 0 : 1; break;
        default:
            if (!rg_cli_common_option(cli, c, optarg, &rc)) {
                free(filter_args);
                free(filter_kinds);
                return rc;
            }
        }
    }
    for (size_t i = 0; i < nfilters && rc == 0; i++) {
        rg_filter *f = NULL;
        rg_status st;
        if (filter_kinds[i] == 'C') {
            json_t *w = json_pack("{s:{s:s}}", RG_FILTER_DOCUMENT, "$contains", filter_args[i]);
            if (!w)
                st = rg_error_set(&err, RG_ERR_INVALID, "--contains: the text is not valid UTF-8");
            else if (!*filter_args[i])
                st = rg_error_set(&err, RG_ERR_INVALID, "--contains takes a non-empty text");
            else
                st = rg_filter_from_json(w, &f, &err);
            json_decref(w);
        } else {
            st = filter_kinds[i] == 'w' ? rg_filter_parse(filter_args[i], &f, &err)
                                        : rg_filter_from_kv(filter_args[i], &f, &err);
        }
        if (st != RG_OK)
            rc = rg_cli_fail(cli, &err);
        else
            where = rg_filter_and(where, f);
    }
    free(filter_args);
    free(filter_kinds);
    if (rc) {
        rg_filter_free(where);
        return rc;
    }
    int color = rg_cli_color_choice(color_arg);
    if (color < 0) {
        rg_filter_free(where);
        return rg_cli_usage_error(cli, "--color must be auto, always or never, not '%s'", color_arg);
    }
    if (optind >= argc) {
        rg_filter_free(where);
        return rg_cli_usage_error(cli, "query needs the text to search for (or - to read it from stdin)");
    }
    if (optind + 1 < argc) {
        rg_filter_free(where);
        return rg_cli_usage_error(cli, "query takes one text argument; quote it: ragged query \"%s ...\"",
                                  argv[optind]);
    }
    char *stdin_text = NULL;
    if (!strcmp(argv[optind], "-") && read_stdin_query(&stdin_text, &err) != RG_OK) {
        rg_filter_free(where);
        return rg_cli_fail(cli, &err);
    }
    const char *text = stdin_text ? stdin_text : argv[optind];
    if (blank(text)) {
        rg_filter_free(where);
        free(stdin_text);
        return rg_cli_usage_error(cli, "the query %s is blank; give the words to search for",
                                  stdin_text ? "read from stdin" : "text");
    }
    rg_embedder *emb;
    rg_store *store;
    rg_collection *coll;
    rc = rg_cli_open_collection(cli, false, &emb, &store, &coll);
    if (rc) {
        rg_filter_free(where);
        free(stdin_text);
        return rc;
    }
    rg_retrieve_opts qo;
    rg_retrieve_opts_from_config(&qo, rg_cli_config(cli));
    if (!k)
        k = qo.k;
    qo.k = k;
    qo.where = where;
    qo.include = RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS;
    qo.search_complexity = complexity;
    rg_reranker *rr = NULL;
    if (rerank != 0) {
        rg_status rs = rg_reranker_open(rg_cli_config(cli), rerank_model, &rr, &err);
        if (rs == RG_OK && !rr && rerank == 1)
            rs = rg_error_set(&err, RG_ERR_INVALID, "--rerank needs a cross-encoder: set retrieval.rerank.model "
                              "or pass --rerank-model DIR");
        if (rs != RG_OK) {
            rg_filter_free(where);
            rg_collection_close(coll);
            rg_store_close(store);
            rg_embedder_free(emb);
            free(stdin_text);
            return rg_cli_fail(cli, &err);
        }
    }
    /* first_scores: rg_query_run keeps the first-stage score of each
     * passage it returns (query_output.h). */
    qo.reranker = rr;
    rg_query_result res;
    rg_query_result_init(&res);
    double t0 = rg_now();
    rg_status st = mode ? rg_retrieve_mode_parse(mode, &qo.mode, &err) : RG_OK;
    if (st != RG_OK) {
        rg_reranker_free(rr);
        rg_filter_free(where);
        rg_collection_close(coll);
        rg_store_close(store);
        rg_embedder_free(emb);
        free(stdin_text);
        return rg_cli_usage_error(cli, "%s", err.msg);
    }
    st = rg_query_run(coll, text, &qo, &res, &err);
    double elapsed = rg_now() - t0;
    if (st != RG_OK) {
        rc = rg_cli_fail(cli, &err);
    } else if (answer) {
        rc = rg_cmd_answer(cli, text, &res.hits, show_text, rg_store_backend(store), rg_retrieve_mode_name(qo.mode),
                           k);
    } else if (cli->format == RG_FORMAT_JSON) {
        rg_cli_print_json(rg_query_result_to_json(&res, text, cli->collection, rg_store_backend(store),
                                                  rg_retrieve_mode_name(qo.mode), k, elapsed));
    } else if (res.hits.n == 0) {
        printf("no passages found in %s/%s%s\n", rg_store_backend(store), cli->collection,
               where ? " that match the filter" : "");
    } else {
        rg_query_text_opts to = {.show_text = show_text, .color = color == 1, .contains = contains_first};
        rg_query_result_print_text(&res, text, &to, stdout);
    }
    rg_query_result_free(&res);
    rg_reranker_free(rr);
    rg_filter_free(where);
    rg_collection_close(coll);
    rg_store_close(store);
    rg_embedder_free(emb);
    free(stdin_text);
    return rc;
}
