/* ragged backend stats | compare */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compare.h"
#include "metrics.h"
#include "util.h"

int rg_cmd_backend(rg_cli *cli, int argc, char **argv);
json_t *rg_stats_to_json(const rg_store_stats *s);

static const char HELP[] =
    "usage: ragged backend stats [--backend NAME] [--collection NAME]\n"
    "       ragged backend compare PATH... [--queries FILE] [-k N] [--chart FILE.svg] [--keep]\n\n"
    "stats    for each backend (or the one given) and each collection (or the one given):\n"
    "         records, bytes on disk by component, embedder, index parameters,\n"
    "         tombstones, and whether it opens cleanly (health)\n"
    "compare  ingests PATH into a temporary collection of every available backend (the\n"
    "         exact backend is the reference), runs the same queries on each and prints\n"
    "         disk bytes and ratio, ingest time, query latency p50/p95, recall@k against\n"
    "         exact, and the overlap of results between backends.  A backend that cannot\n"
    "         be reached is reported, not fatal.  Temporary collections are removed.\n\n"
    "  --queries FILE       one query per line, or BEIR JSONL ({\"_id\":..., \"text\":...})\n"
    "                       (default: 50 sampled from the passages)\n"
    "  --qrels FILE         BEIR judgements (query-id, corpus-id, score; TSV) for those\n"
    "                       queries: adds nDCG@10 and Recall@100; a passage's corpus-id\n"
    "                       is its file name without extension\n"
    "  -k N                 results compared per query (default 10)\n"
    "  --chart FILE.svg     also draw disk, latency, recall and ingest time\n"
    "  --keep               keep the temporary collections\n\n" RG_CLI_COMMON_HELP;


/* Stats of one collection as JSON; health "ok" or the error. */
static json_t *collection_stats(rg_store *store, const rg_collection_info *info)
{
    rg_error err;
    rg_collection *c = NULL;
    json_t *o = json_pack("{s:s, s:I, s:o}", "collection", info->name, "records", (json_int_t)info->count, "embedder",
                          rg_embedder_identity_to_json(&info->identity));
    if (rg_collection_open(store, info->name, NULL, false, &c, &err) != RG_OK) {
        json_object_set_new(o, "health", json_string(err.msg));
        return o;
    }
    rg_store_stats s;
    if (rg_collection_stats(c, &s, &err) == RG_OK) {
        json_object_set_new(o, "stats", rg_stats_to_json(&s));
        json_object_set_new(o, "health", json_string("ok"));
        rg_store_stats_free(&s);
    } else {
        json_object_set_new(o, "health", json_string(err.msg));
    }
    rg_collection_close(c);
    return o;
}

static void print_stats_text(const char *backend, json_t *coll)
{
    json_t *st = json_object_get(coll, "stats");
    char id[400] = "-";
    json_t *e = json_object_get(coll, "embedder");
    snprintf(id, sizeof id, "%s:%s:%lld", json_string_value(json_object_get(e, "kind")),
             json_string_value(json_object_get(e, "model")), (long long)json_integer_value(json_object_get(e, "dim")));
    /* The model name and the health message come from files or a server. */
    printf("%s/%s: %lld records, embedder ", backend, json_string_value(json_object_get(coll, "collection")),
           (long long)json_integer_value(json_object_get(coll, "records")));
    rg_fputs_escaped(id, stdout);
    fputs(", health: ", stdout);
    rg_fputs_escaped(json_string_value(json_object_get(coll, "health")), stdout);
    putchar('\n');
    if (!st)
        return;
    long long total = (long long)json_integer_value(json_object_get(st, "bytes_total"));
    long long recs = (long long)json_integer_value(json_object_get(st, "records"));
    if (total >= 0)
        printf("  disk %lld bytes%s", total, recs ? "" : "\n");
    if (total >= 0 && recs)
        printf(" (%.0f per record)\n", (double)total / (double)recs);
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(st, "bytes_by_component"), name, v)
        printf("    %-26s %12lld\n", name, (long long)json_integer_value(v));
    long long tomb = (long long)json_integer_value(json_object_get(st, "tombstones"));
    if (tomb)
        printf("  tombstones %lld\n", tomb);
    json_t *d = json_object_get(st, "details");
    if (d) {
        char *s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        printf("  details %s\n", s);
        free(s);
    }
}

static int do_stats(rg_cli *cli)
{
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 2;
    const char *const *names = rg_store_backend_names();
    json_t *out = json_array();
    bool one_collection = cli->collection && strcmp(cli->collection, "default") != 0;
    int rc = 0;
    for (size_t b = 0; names[b]; b++) {
        if (cli->backend && strcmp(cli->backend, names[b]) != 0)
            continue;
        rg_store *store = NULL;
        rg_error err;
        json_t *bo = json_pack("{s:s}", "backend", names[b]);
        if (rg_store_open(cfg, names[b], &store, &err) != RG_OK) {
            json_object_set_new(bo, "available", json_false());
            json_object_set_new(bo, "error", json_string(err.msg));
            if (cli->format == RG_FORMAT_TEXT) {
                printf("%s: not available: ", names[b]);
                rg_fputs_escaped(err.msg, stdout);
                putchar('\n');
            }
            if (cli->backend)
                rc = rg_status_exit_code(err.code);
            json_array_append_new(out, bo);
            continue;
        }
        json_object_set_new(bo, "available", json_true());
        rg_collection_info *infos = NULL;
        size_t n = 0;
        json_t *colls = json_array();
        if (rg_store_list(store, &infos, &n, &err) != RG_OK) {
            json_object_set_new(bo, "error", json_string(err.msg));
            if (cli->format == RG_FORMAT_TEXT) {
                printf("%s: cannot list collections: ", names[b]);
                rg_fputs_escaped(err.msg, stdout);
                putchar('\n');
            }
            rc = rg_status_exit_code(err.code);
        }
        size_t shown = 0;
        for (size_t i = 0; i < n; i++) {
            if (one_collection && strcmp(infos[i].name, cli->collection) != 0)
                continue;
            json_t *c = collection_stats(store, &infos[i]);
            if (cli->format == RG_FORMAT_TEXT)
                print_stats_text(names[b], c);
            json_array_append_new(colls, c);
            shown++;
        }
        if (cli->format == RG_FORMAT_TEXT && !shown)
            printf("%s: no collections%s%s\n", names[b], one_collection ? " named " : "",
                   one_collection ? cli->collection : "");
        free(infos);
        json_object_set_new(bo, "collections", colls);
        json_array_append_new(out, bo);
        rg_store_close(store);
    }
    if (cli->format == RG_FORMAT_JSON)
        rg_cli_print_json(json_pack("{s:o}", "backends", out));
    else
        json_decref(out);
    return rc;
}

static void on_phase(void *ctx, const char *backend, const char *phase)
{
    rg_cli *cli = ctx;
    if (!cli->quiet)
        fprintf(stderr, "compare: %s: %s\n", backend, phase);
}

static void fmt_bytes(char *buf, size_t n, int64_t b)
{
    if (b < 0)
        snprintf(buf, n, "unknown");
    else if (b >= 10 * 1048576LL)
        snprintf(buf, n, "%.1f MiB", (double)b / 1048576.0);
    else
        snprintf(buf, n, "%.1f KiB", (double)b / 1024.0);
}

static int do_compare(rg_cli *cli, char **paths, size_t npaths, const char *queries_file, const char *qrels_file,
                      int k, const char *chart, bool keep)
{
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 2;
    char **queries = NULL, **qids = NULL;
    size_t nq = 0;
    rg_error err;
    json_t *qrels = NULL;
    if (qrels_file) {
        if (!queries_file)
            return rg_cli_usage_error(cli, "--qrels needs --queries with the judged queries");
        char msg[512];
        if (!(qrels = rg_qrels_load(qrels_file, msg, sizeof msg))) {
            rg_error_set(&err, RG_ERR_INVALID, "%s", msg);
            return rg_cli_fail(cli, &err);
        }
    }
    if (queries_file) {
        char *text;
        if (rg_read_file(queries_file, 64 << 20, &text, NULL, &err) != RG_OK)
            return rg_cli_fail(cli, &err);
        size_t cap = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            while (*line == ' ' || *line == '\t' || *line == '\r')
                line++;
            size_t len = strlen(line);
            while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
                line[--len] = '\0';
            if (!len)
                continue;
            if (nq == cap) {
                cap = cap ? cap * 2 : 64;
                queries = rg_xrealloc(queries, cap * sizeof *queries);
                qids = rg_xrealloc(qids, cap * sizeof *qids);
            }
            json_t *j = line[0] == '{' ? json_loads(line, 0, NULL) : NULL;
            const char *qtext = j ? json_string_value(json_object_get(j, "text")) : line;
            const char *id = j ? json_string_value(json_object_get(j, "_id")) : NULL;
            if (!qtext) {
                json_decref(j);
                continue;
            }
            /* With judgements, only judged queries are run. */
            if (qrels && (!id || !json_object_get(qrels, id))) {
                json_decref(j);
                continue;
            }
            char num[32];
            snprintf(num, sizeof num, "%zu", nq + 1);
            queries[nq] = rg_xstrdup(qtext);
            qids[nq++] = rg_xstrdup(id ? id : num);
            json_decref(j);
        }
        free(text);
        if (!nq) {
            json_decref(qrels);
            return rg_cli_usage_error(cli, "%s has no %squeries (one per line, or BEIR JSONL)", queries_file,
                                      qrels ? "judged " : "");
        }
    }
    const char *only[1] = {cli->backend};
    rg_compare_opts o = {.paths = (const char *const *)paths,
                         .npaths = npaths,
                         .queries = (const char *const *)queries,
                         .nqueries = nq,
                         .query_ids = (const char *const *)qids,
                         .qrels = qrels,
                         .k = k,
                         .backends = cli->backend ? only : NULL,
                         .nbackends = cli->backend ? 1 : 0,
                         .keep = keep,
                         .interrupted = cli->interrupted,
                         .on_phase = on_phase,
                         .ctx = cli};
    rg_compare_result r;
    rg_status st = rg_compare_run(cfg, &o, &r, &err);
    for (size_t i = 0; i < nq; i++) {
        free(queries[i]);
        free(qids[i]);
    }
    free(queries);
    free(qids);
    json_decref(qrels);
    if (st != RG_OK) {
        rg_compare_result_free(&r);
        return rg_cli_fail(cli, &err);
    }
    if (chart) {
        char *svg = rg_compare_result_svg(&r);
        if (rg_write_file_atomic(chart, svg, strlen(svg), &err) != RG_OK) {
            free(svg);
            rg_compare_result_free(&r);
            return rg_cli_fail(cli, &err);
        }
        free(svg);
    }
    if (cli->format == RG_FORMAT_JSON) {
        rg_cli_print_json(rg_compare_result_json(&r));
    } else {
        printf("%zu queries, k = %d; recall and overlap against the exact backend\n\n", r.nqueries, r.k);
        bool judged = qrels_file != NULL;
        printf("%-9s %8s %12s %8s %9s %10s %10s %9s%s\n", "backend", "records", "disk", "vs exact", "ingest s",
               "p50 ms", "p95 ms", "recall@k", judged ? "   nDCG@10   R@100" : "");
        for (size_t i = 0; i < r.nrows; i++) {
            rg_compare_row *w = &r.rows[i];
            if (!w->available) {
                printf("%-9s not available: %s\n", w->backend, w->error);
                continue;
            }
            char disk[32], ratio[16] = "-";
            fmt_bytes(disk, sizeof disk, w->bytes);
            if (w->bytes >= 0 && r.rows[0].bytes > 0)
                snprintf(ratio, sizeof ratio, "%.1f%%", 100.0 * (double)w->bytes / (double)r.rows[0].bytes);
            printf("%-9s %8lld %12s %8s %9.2f %10.2f %10.2f %9.3f", w->backend, (long long)w->records, disk, ratio,
                   w->ingest_seconds, w->query_p50_ms, w->query_p95_ms, w->recall_at_k);
            if (judged)
                printf(" %9.4f %7.4f", w->ndcg_at_10, w->recall_at_100);
            putchar('\n');
        }
        printf("\noverlap of top-%d results between backends\n%-9s", r.k, "");
        for (size_t j = 0; j < r.nrows; j++)
            if (r.rows[j].available)
                printf(" %9s", r.rows[j].backend);
        putchar('\n');
        for (size_t i = 0; i < r.nrows; i++) {
            if (!r.rows[i].available)
                continue;
            printf("%-9s", r.rows[i].backend);
            for (size_t j = 0; j < r.nrows; j++)
                if (r.rows[j].available)
                    printf(" %9.3f", r.overlap[i * r.nrows + j]);
            putchar('\n');
        }
        if (chart)
            printf("\nchart: %s\n", chart);
    }
    rg_compare_result_free(&r);
    return 0;
}

int rg_cmd_backend(rg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS,
                                         {"queries", required_argument, NULL, 'q'},
                                         {"chart", required_argument, NULL, 'c'},
                                         {"qrels", required_argument, NULL, 'r'},
                                         {"keep", no_argument, NULL, 'K'},
                                         {0}};
    const char *queries = NULL, *qrels = NULL, *chart = NULL;
    int k = 10, c, rc = 0;
    bool keep = false;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "hk:", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(HELP, stdout); return 0;
        case 'q': queries = optarg; break;
        case 'c': chart = optarg; break;
        case 'r': qrels = optarg; break;
        case 'K': keep = true; break;
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
    if (optind >= argc)
        return rg_cli_usage_error(cli, "backend needs an action: stats or compare");
    const char *action = argv[optind];
    if (cli->backend && !rg_store_backend_find(cli->backend))
        return rg_cli_usage_error(cli, "unknown backend '%s'; valid backends: leann, chromadb, exact", cli->backend);
    if (!strcmp(action, "stats")) {
        if (optind + 1 < argc)
            return rg_cli_usage_error(cli, "unexpected argument '%s'", argv[optind + 1]);
        return do_stats(cli);
    }
    if (!strcmp(action, "compare")) {
        if (optind + 1 >= argc)
            return rg_cli_usage_error(cli, "compare needs files or directories to put in every backend");
        return do_compare(cli, argv + optind + 1, (size_t)(argc - optind - 1), queries, qrels, k, chart, keep);
    }
    return rg_cli_usage_error(cli, "unknown action '%s'; use stats or compare", action);
}
