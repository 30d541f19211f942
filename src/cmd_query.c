/* ragged query "TEXT" */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "cli.h"
#include "query_json.h"
#include "rerank.h"
#include "retrieve.h"
#include "util.h"

int rg_cmd_query(rg_cli *cli, int argc, char **argv);

static const char HELP[] =
    "usage: ragged query \"TEXT\" [-k N] [--mode vector|bm25|hybrid] [--where JSON]\n"
    "                    [-m KEY=VALUE]... [--show-text] [--answer]\n"
    "                    [--rerank | --no-rerank] [--rerank-model DIR]\n"
    "                    [--collection NAME] [--backend NAME] [--format text|json]\n\n"
    "Finds the passages most similar to TEXT and prints them ranked, with their sources.\n\n"
    "  -k N                 number of passages (default: retrieval.k)\n"
    "  --where JSON         metadata filter in ChromaDB's grammar, e.g.\n"
    "                       '{\"page_number\": {\"$gte\": 3}}'; operators $eq $ne $gt $gte $lt\n"
    "                       $lte $in $nin, combined with $and / $or\n"
    "  -m KEY=VALUE         shorthand for {\"KEY\": VALUE}; may be repeated (all must match)\n"
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

/* First ~240 bytes of a passage on one line, cut at a UTF-8 boundary. */
static void print_excerpt(const char *text, bool full)
{
    if (full) {
        printf("   %s\n", text);
        return;
    }
    size_t n = strlen(text), limit = 240, i = 0, out = 0;
    fputs("   ", stdout);
    bool space = false;
    for (; i < n && out < limit; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
            if (!space)
                putchar(' '), out++;
            space = true;
            continue;
        }
        space = false;
        putchar(ch);
        out++;
    }
    while (i < n && ((unsigned char)text[i] & 0xc0) == 0x80)
        putchar(text[i++]);
    puts(i < n ? " ..." : "");
}

/* Paths below the working directory are shown relative to it. */
static const char *display_path(const char *path, const char *cwd)
{
    size_t n = cwd ? strlen(cwd) : 0;
    if (n > 1 && strncmp(path, cwd, n) == 0 && path[n] == '/')
        return path + n + 1;
    return path;
}

int rg_cmd_query(rg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS,
                                         {"where", required_argument, NULL, 'w'},
                                         {"show-text", no_argument, NULL, 's'},
                                         {"complexity", required_argument, NULL, 'c'},
                                         {"mode", required_argument, NULL, 'M'},
                                         {"answer", no_argument, NULL, 'a'},
                                         {"rerank", no_argument, NULL, 3001},
                                         {"no-rerank", no_argument, NULL, 3002},
                                         {"rerank-model", required_argument, NULL, 3003},
                                         {0}};
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
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 100000) {
                free(filter_args);
                free(filter_kinds);
                return rg_cli_usage_error(cli, "-k takes a number from 1 to 100000, not '%s'", optarg);
            }
            k = (int)v;
            break;
        }
        case 'c': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 100000) {
                free(filter_args);
                free(filter_kinds);
                return rg_cli_usage_error(cli, "--complexity takes a number from 1 to 100000, not '%s'", optarg);
            }
            complexity = (int)v;
            break;
        }
        case 'w':
        case 'm':
            filter_kinds[nfilters] = (char)c;
            filter_args[nfilters++] = optarg;
            break;
        case 's': show_text = true; break;
        case 'M': mode = optarg; break;
        case 'a': answer = true; break;
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
        rg_status st = filter_kinds[i] == 'w' ? rg_filter_parse(filter_args[i], &f, &err)
                                              : rg_filter_from_kv(filter_args[i], &f, &err);
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
    if (optind >= argc || !*argv[optind]) {
        rg_filter_free(where);
        return rg_cli_usage_error(cli, "query needs the text to search for");
    }
    if (optind + 1 < argc) {
        rg_filter_free(where);
        return rg_cli_usage_error(cli, "query takes one text argument; quote it: ragged query \"%s ...\"",
                                  argv[optind]);
    }
    const char *text = argv[optind];
    rg_embedder *emb;
    rg_store *store;
    rg_collection *coll;
    rc = rg_cli_open_collection(cli, false, &emb, &store, &coll);
    if (rc) {
        rg_filter_free(where);
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
            return rg_cli_fail(cli, &err);
        }
    }
    float *first_scores = rr ? rg_xcalloc((size_t)k, sizeof *first_scores) : NULL;
    qo.reranker = rr;
    qo.first_scores = first_scores;
    rg_hits hits;
    rg_hits_init(&hits);
    double t0 = rg_now();
    rg_status st = mode ? rg_retrieve_mode_parse(mode, &qo.mode, &err) : RG_OK;
    if (st != RG_OK) {
        rg_reranker_free(rr);
        free(first_scores);
        rg_hits_free(&hits);
        rg_filter_free(where);
        rg_collection_close(coll);
        rg_store_close(store);
        rg_embedder_free(emb);
        return rg_cli_usage_error(cli, "%s", err.msg);
    }
    st = rg_retrieve(coll, text, &qo, &hits, &err);
    double elapsed = rg_now() - t0;
    if (st != RG_OK) {
        rc = rg_cli_fail(cli, &err);
    } else if (answer) {
        rc = rg_cmd_answer(cli, text, &hits, show_text, rg_store_backend(store), rg_retrieve_mode_name(qo.mode),
                           k);
    } else if (cli->format == RG_FORMAT_JSON) {
        rg_cli_print_json(rg_query_json(text, cli->collection, rg_store_backend(store),
                                         rg_retrieve_mode_name(qo.mode), k, elapsed, &hits, rr ? rr->name : NULL,
                                         first_scores));
    } else if (hits.n == 0) {
        printf("no passages found in %s/%s%s\n", rg_store_backend(store), cli->collection,
               where ? " that match the filter" : "");
    } else {
        char *cwd = getcwd(NULL, 0);
        if (rr)
            printf("reranked by %s\n", rr->name);
        for (size_t i = 0; i < hits.n; i++) {
            rg_hit *h = &hits.items[i];
            json_t *m = h->metadata;
            const char *path = json_string_value(json_object_get(m, "document_path"));
            json_t *page = json_object_get(m, "page_number");
            json_t *pos = json_object_get(m, "chunk_position");
            json_t *tot = json_object_get(m, "total_chunks");
            const char *title = json_string_value(json_object_get(m, "title"));
            printf("%zu. [%.3f] %s", i + 1, 1.0 - h->distance, path ? display_path(path, cwd) : h->id);
            if (page)
                printf(" (page %lld)", (long long)json_integer_value(page));
            if (pos && tot)
                printf(" chunk %lld/%lld", (long long)json_integer_value(pos) + 1,
                       (long long)json_integer_value(tot));
            if (title && *title)
                printf(" \xe2\x80\x94 %s", title);
            putchar('\n');
            if (h->document)
                print_excerpt(h->document, show_text);
        }
        free(cwd);
    }
    rg_reranker_free(rr);
    free(first_scores);
    rg_hits_free(&hits);
    rg_filter_free(where);
    rg_collection_close(coll);
    rg_store_close(store);
    rg_embedder_free(emb);
    return rc;
}
