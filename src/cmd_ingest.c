/* ragged ingest PATH... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ingest.h"
#include "util.h"

int rg_cmd_ingest(rg_cli *cli, int argc, char **argv);

static const char HELP[] =
    "usage: ragged ingest PATH... [--collection NAME] [--backend NAME] [--prune]\n\n"
    "Reads text, Markdown, HTML, PDF, man pages, DOCX, ODT, EPUB and source code,\n"
    "also gzip-compressed (x.txt.gz, ls.1.gz); directories are walked (hidden entries\n"
    "and node_modules are skipped); splits them into chunks, embeds and stores them.\n"
    "Unchanged files are skipped; changed files have their chunks replaced.\n\n"
    "  --prune              also remove chunks of files under PATH that no longer exist\n\n" RG_CLI_COMMON_HELP;

typedef struct progress_ctx {
    rg_progress *progress;
    bool quiet;
} progress_ctx;

static void on_progress(void *ctx, const rg_ingest_report *r, const char *current)
{
    progress_ctx *p = ctx;
    char detail[64];
    snprintf(detail, sizeof detail, "files, %lld chunks", (long long)r->chunks_written);
    rg_progress_set_total(p->progress, r->files_total);
    rg_progress_update(p->progress, r->files_done, detail);
}

static void on_warning(void *ctx, const char *path, const char *reason)
{
    progress_ctx *p = ctx;
    if (!p->quiet)
        fprintf(stderr, "\rragged: skipping %s: %s\n", path, reason);
}

int rg_cmd_ingest(rg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS, {"prune", no_argument, NULL, 'p'}, {0}};
    bool prune = false;
    int c, rc = 0;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(HELP, stdout);
            return 0;
        }
        if (c == 'p') {
            prune = true;
            continue;
        }
        if (!rg_cli_common_option(cli, c, optarg, &rc))
            return rc;
    }
    if (optind >= argc)
        return rg_cli_usage_error(cli, "ingest needs at least one file or directory");
    rg_embedder *emb;
    rg_store *store;
    rg_collection *coll;
    rc = rg_cli_open_collection(cli, true, &emb, &store, &coll);
    if (rc)
        return rc;
    rg_ingest_report report;
    rg_ingest_report_init(&report);
    progress_ctx pc = {.quiet = cli->quiet};
    pc.progress = rg_progress_new(cli, "ingest", 0);
    rg_ingest_opts io = {.prune = prune,
                         .interrupted = cli->interrupted,
                         .on_progress = on_progress,
                         .on_warning = on_warning,
                         .progress_ctx = &pc};
    rg_error err;
    double t0 = rg_now();
    rg_status st = rg_ingest(coll, rg_cli_config(cli), (const char *const *)argv + optind, (size_t)(argc - optind),
                             &io, &report, &err);
    double elapsed = rg_now() - t0;
    rg_progress_free(pc.progress);
    int64_t count = -1;
    rg_error cerr;
    rg_collection_count(coll, &count, &cerr);
    if (cli->format == RG_FORMAT_JSON) {
        json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:O}", "collection",
                              cli->collection, "backend", rg_store_backend(store), "files_found",
                              (json_int_t)report.files_total, "files_ingested", (json_int_t)report.files_ingested,
                              "files_unchanged", (json_int_t)report.files_unchanged, "files_skipped",
                              (json_int_t)report.files_skipped, "chunks_written", (json_int_t)report.chunks_written,
                              "chunks_removed", (json_int_t)report.chunks_removed, "documents_pruned",
                              (json_int_t)report.documents_pruned, "records_in_collection", (json_int_t)count,
                              "seconds", elapsed, "warnings", report.warnings);
        json_object_set_new(j, "files_ignored", json_integer(report.files_ignored));
        if (st != RG_OK)
            json_object_set_new(j, "error", json_pack("{s:s, s:s}", "code", rg_status_name(st), "message", err.msg));
        rg_cli_print_json(j);
    } else if (st != RG_OK) {
        /* files_ingested counts files read, not stored: after a failure say
         * only what reached the store (the error follows on stderr). */
        char total[32] = "unknown";
        if (count >= 0)
            snprintf(total, sizeof total, "%lld", (long long)count);
        printf("stopped after %lld of %lld files: %lld chunks written and %lld removed in %s/%s before the error, "
               "%s records in total (%.1fs)\n",
               (long long)report.files_done, (long long)report.files_total, (long long)report.chunks_written,
               (long long)report.chunks_removed, rg_store_backend(store), cli->collection, total, elapsed);
    } else {
        printf("ingested %lld file%s (%lld unchanged, %lld skipped) into %s/%s: %lld chunks written, %lld removed, "
               "%lld records in total (%.1fs)\n",
               (long long)report.files_ingested, report.files_ingested == 1 ? "" : "s",
               (long long)report.files_unchanged, (long long)report.files_skipped, rg_store_backend(store),
               cli->collection, (long long)report.chunks_written, (long long)report.chunks_removed, (long long)count,
               elapsed);
    }
    if (st != RG_OK) {
        fprintf(stderr, "ragged: %s\n", err.msg);
        rc = rg_status_exit_code(st);
    }
    rg_ingest_report_free(&report);
    rg_collection_close(coll);
    rg_store_close(store);
    rg_embedder_free(emb);
    return rc;
}
