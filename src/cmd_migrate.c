/* ragged migrate: moves a collection between backends (migrate.c does the
 * work; this file parses options, shows progress and prints the report). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migrate.h"
#include "util.h"

int rg_cmd_migrate(rg_cli *cli, int argc, char **argv);

static const char HELP[] =
    "usage: ragged migrate FROM-to-TO --collection NAME [options]\n"
    "       ragged migrate --from BACKEND --to-backend BACKEND --collection NAME [options]\n\n"
    "Copies a collection into another backend: chromadb-to-leann, leann-to-chromadb, or any\n"
    "pair of leann, chromadb and exact (exact-to-leann, leann-to-exact, exact-to-exact with\n"
    "--to, ...).  Records are read page by page, written to a staging collection\n"
    "(TARGET.rgmig-staging-PID) and renamed into place only when everything succeeded.\n"
    "Any failure or Ctrl-C removes the staging collection; the source is never modified.\n"
    "Vectors are reused when the source was embedded with the configured embedder,\n"
    "otherwise every document is re-embedded with it (and the run says so).\n\n"
    "  --collection NAME    source collection (default: default)\n"
    "  --to NAME            target collection name (default: the source's name)\n"
    "  --from BACKEND       source backend (instead of FROM-to-TO)\n"
    "  --to-backend BACKEND target backend (instead of FROM-to-TO)\n"
    "  --batch-size N       records per page (default: sized for the backends; pages to\n"
    "                       or from chromadb stay near 8 MiB, far below its 40 MiB limit;\n"
    "                       pages into leann up to 96 MiB so it builds from the copied vectors)\n"
    "  --overwrite          replace an existing target (swapped in only after success)\n"
    "  --verify             before publishing, check the same ids, documents and metadata\n"
    "                       (hashes) and the top-10 overlap of sample queries\n"
    "  --verify-queries N   queries sampled from the collection's passages (default 50)\n"
    "  --min-overlap X      mean top-10 overlap below X fails verification (default 0.8)\n"
    "  --reembed            recompute vectors even when the embedders match\n"
    "  --no-build           skip the final compact of the target (done by default except\n"
    "                       into leann)\n"
    "  --rebuild            compact the target even when it is leann (a full graph rebuild\n"
    "                       that recomputes every vector)\n"
    "  --dry-run            report what would happen, with size estimates; write nothing\n\n"
    "Leftovers of a killed migration (staging or backup collections) are found and\n"
    "cleaned at the start of the next migrate into the same backend.\n\n" RG_CLI_COMMON_HELP;

typedef struct ui {
    rg_cli *cli;
    rg_progress *progress;
    rg_migrate_phase shown;
    bool started;
} ui;

static void on_progress(void *ctx, rg_migrate_phase phase, int64_t done, int64_t total)
{
    ui *u = ctx;
    if (phase == RG_MIGRATE_RECOVER)
        return;
    bool copying = phase == RG_MIGRATE_READ || phase == RG_MIGRATE_EMBED || phase == RG_MIGRATE_WRITE;
    const char *label = copying ? "copy" : rg_migrate_phase_name(phase);
    bool shown_copying =
        u->shown == RG_MIGRATE_READ || u->shown == RG_MIGRATE_EMBED || u->shown == RG_MIGRATE_WRITE;
    if (!u->progress) {
        u->progress = rg_progress_new(u->cli, label, total);
    } else if (!u->started || copying != shown_copying || (!copying && phase != u->shown)) {
        rg_progress_phase(u->progress, label, total);
    }
    u->started = true;
    u->shown = phase;
    rg_progress_set_total(u->progress, total);
    char detail[32];
    snprintf(detail, sizeof detail, "[%s]", rg_migrate_phase_name(phase));
    rg_progress_update(u->progress, done, copying ? detail : NULL);
}

static void on_notice(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "\rragged: %s\n", msg);
}

static void fmt_bytes(int64_t b, char *buf, size_t n)
{
    if (b < 0)
        snprintf(buf, n, "unknown");
    else if (b < 10 * 1024)
        snprintf(buf, n, "%lld B", (long long)b);
    else if (b < 1024 * 1024)
        snprintf(buf, n, "%.1f KiB", (double)b / 1024);
    else
        snprintf(buf, n, "%.1f MiB", (double)b / (1024 * 1024));
}

static json_t *verify_json(const rg_migrate_verify_report *v)
{
    json_t *mm = json_array();
    for (size_t i = 0; i < v->nmismatches; i++)
        json_array_append_new(mm, json_pack("{s:s, s:s}", "id", v->mismatches[i].id, "problem", v->mismatches[i].what));
    json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:o}", "passed", v->passed, "source_count",
                          (json_int_t)v->source_count, "target_count", (json_int_t)v->target_count, "records_checked",
                          (json_int_t)v->checked, "missing", (json_int_t)v->missing, "documents_differ",
                          (json_int_t)v->documents_differ, "metadata_differ", (json_int_t)v->metadata_differ,
                          "source_digest", v->source_digest, "target_digest", v->target_digest, "mismatches", mm);
    json_t *ov = json_pack("{s:i, s:i, s:f}", "queries", v->queries, "k", v->k, "min_required", v->min_overlap);
    if (v->overlap_skipped[0]) {
        json_object_set_new(ov, "skipped", json_string(v->overlap_skipped));
    } else {
        json_object_set_new(ov, "mean", json_real(v->overlap_mean));
        json_object_set_new(ov, "min", json_real(v->overlap_min));
    }
    json_object_set_new(j, "topk_overlap", ov);
    if (v->failure[0])
        json_object_set_new(j, "failure", json_string(v->failure));
    return j;
}

static json_t *report_json(const rg_migrate_report *r)
{
    json_t *phases = json_object();
    for (int p = RG_MIGRATE_READ; p < RG_MIGRATE_NPHASES; p++)
        json_object_set_new(phases, rg_migrate_phase_name((rg_migrate_phase)p), json_real(r->phase_seconds[p]));
    json_t *j = json_pack(
        "{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:b}, s:s, s:b, s:b, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:f, s:f}",
        "source", "backend", r->from_backend, "collection", r->source, "embedder", r->source_embedder, "target",
        "backend", r->to_backend, "collection", r->target, "embedder", r->target_embedder, "existed",
        r->target_existed, "staging", r->staging, "dry_run", r->dry_run, "published", r->published, "overwrote",
        r->overwrote, "rolled_back", r->rolled_back, "records_source", (json_int_t)r->records_source,
        "records_written", (json_int_t)r->records_written, "batch_size", (json_int_t)r->batch_size, "batches",
        (json_int_t)r->batches, "leftovers_cleaned", (json_int_t)r->leftovers_cleaned, "avg_record_text_bytes",
        r->avg_record_bytes, "seconds", r->seconds);
    json_object_set_new(j, "vectors", json_pack("{s:s, s:s}", "action", r->reembedded ? "re-embedded" : "reused",
                                                "reason", r->reembedded ? r->reembed_reason : "same embedder"));
    json_object_set_new(j, "bytes", json_pack("{s:I, s:I, s:I}", "source", (json_int_t)r->bytes_before, "target",
                                              (json_int_t)r->bytes_after, "target_estimate",
                                              (json_int_t)r->bytes_estimated));
    json_object_set_new(j, "phase_seconds", phases);
    json_object_set_new(j, "read_batch_size", json_integer((json_int_t)r->read_batch));
    if (r->verify.done)
        json_object_set_new(j, "verification", verify_json(r->verify.done ? &r->verify : NULL));
    return j;
}

static void print_verify(const rg_migrate_verify_report *v)
{
    printf("verification: %s\n", v->passed ? "passed" : "FAILED");
    printf("  records     source %lld, target %lld, checked %lld: %lld missing, %lld documents differ, %lld "
           "metadata differ\n",
           (long long)v->source_count, (long long)v->target_count, (long long)v->checked, (long long)v->missing,
           (long long)v->documents_differ, (long long)v->metadata_differ);
    printf("  digest      source %s, target %s\n", v->source_digest, v->target_digest);
    for (size_t i = 0; i < v->nmismatches; i++) {
        /* Record ids and their differences are stored data. */
        fputs("  mismatch    ", stdout);
        rg_fputs_escaped(v->mismatches[i].id, stdout);
        fputs(": ", stdout);
        rg_fputs_escaped(v->mismatches[i].what, stdout);
        putchar('\n');
    }
    char label[16];
    snprintf(label, sizeof label, "top-%d", v->k);
    if (v->overlap_skipped[0])
        printf("  %-11s not measured: %s\n", label, v->overlap_skipped);
    else
        printf("  %-11s overlap mean %.3f, min %.3f over %d queries (minimum required %.2f)\n", label,
               v->overlap_mean, v->overlap_min, v->queries, v->min_overlap);
    if (v->failure[0]) {
        fputs("  failure     ", stdout);
        rg_fputs_escaped(v->failure, stdout);
        putchar('\n');
    }
}

static void print_report(const rg_migrate_report *r, bool ok)
{
    char before[32], after[32], est[32];
    fmt_bytes(r->bytes_before, before, sizeof before);
    fmt_bytes(r->bytes_after, after, sizeof after);
    fmt_bytes(r->bytes_estimated, est, sizeof est);
    if (r->dry_run) {
        printf("dry run: would migrate %s/%s -> %s/%s (%s)\n", r->from_backend, r->source, r->to_backend, r->target,
               r->target_existed ? "replacing the existing collection" : "a new collection");
        printf("  records     %lld (about %.0f bytes of text and metadata each)\n", (long long)r->records_source,
               r->avg_record_bytes);
        printf("  vectors     %s\n", r->reembedded                      ? "re-embedded"
                                   : !strcmp(r->from_backend, "leann") ? "recomputed from leann's passages (same embedder)"
                                                                       : "reused (same embedder)");
        if (r->reembedded) {
            fputs("              ", stdout);
            rg_fputs_escaped(r->reembed_reason, stdout);
            putchar('\n');
        }
        printf("  pages       %lld of up to %zu records\n", (long long)r->batches, r->batch_size);
        printf("  disk        source %s; target about %s (rough estimate)\n", before, est);
        printf("  staging     %s/%s\n", r->to_backend, r->staging);
        printf("nothing was written\n");
        return;
    }
    if (!ok) {
        if (r->verify.done)
            print_verify(&r->verify);
        return;
    }
    double rate = r->seconds > 0 ? (double)r->records_written / r->seconds : 0;
    printf("migrated %s/%s -> %s/%s: %lld records in %.1fs (%.0f records/s), %lld pages of up to %zu%s\n",
           r->from_backend, r->source, r->to_backend, r->target, (long long)r->records_written, r->seconds, rate,
           (long long)r->batches, r->batch_size, r->overwrote ? ", replaced the old target" : "");
    if (r->reembedded)
        fputs("  vectors     re-embedded: ", stdout);
    else if (!strcmp(r->from_backend, "leann"))
        fputs("  vectors     recomputed by leann from its passages with the same embedder (", stdout);
    else
        fputs("  vectors     reused (", stdout);
    /* The source's embedder identity comes from its store (or a server). */
    rg_fputs_escaped(r->reembedded ? r->reembed_reason : r->source_embedder, stdout);
    fputs(r->reembedded ? "\n" : ")\n", stdout);
    printf("  disk        %s before (%s), %s after (%s)\n", before, r->from_backend, after, r->to_backend);
    printf("  time        ");
    for (int p = RG_MIGRATE_READ; p < RG_MIGRATE_NPHASES; p++)
        printf("%s%s %.1fs", p == RG_MIGRATE_READ ? "" : ", ", rg_migrate_phase_name((rg_migrate_phase)p),
               r->phase_seconds[p]);
    putchar('\n');
    if (r->leftovers_cleaned)
        printf("  cleaned     %d leftover(s) of earlier interrupted migrations\n", r->leftovers_cleaned);
    if (r->verify.done)
        print_verify(&r->verify);
}

/* "chromadb-to-leann" -> ("chromadb", "leann"). */
static bool parse_direction(const char *s, char *from, char *to, size_t n)
{
    const char *sep = strstr(s, "-to-");
    if (!sep || (size_t)(sep - s) >= n || strlen(sep + 4) >= n)
        return false;
    memcpy(from, s, (size_t)(sep - s));
    from[sep - s] = '\0';
    snprintf(to, n, "%s", sep + 4);
    return rg_store_backend_find(from) && rg_store_backend_find(to);
}

static bool parse_size(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

enum {
    OPT_TO = 2001,
    OPT_FROM,
    OPT_TO_BACKEND,
    OPT_BATCH,
    OPT_OVERWRITE,
    OPT_VERIFY,
    OPT_VERIFY_QUERIES,
    OPT_MIN_OVERLAP,
    OPT_REEMBED,
    OPT_DRY_RUN,
    OPT_NO_BUILD,
    OPT_REBUILD
};

int rg_cmd_migrate(rg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS,
                                         {"to", required_argument, NULL, OPT_TO},
                                         {"from", required_argument, NULL, OPT_FROM},
                                         {"to-backend", required_argument, NULL, OPT_TO_BACKEND},
                                         {"batch-size", required_argument, NULL, OPT_BATCH},
                                         {"overwrite", no_argument, NULL, OPT_OVERWRITE},
                                         {"verify", no_argument, NULL, OPT_VERIFY},
                                         {"verify-queries", required_argument, NULL, OPT_VERIFY_QUERIES},
                                         {"min-overlap", required_argument, NULL, OPT_MIN_OVERLAP},
                                         {"reembed", no_argument, NULL, OPT_REEMBED},
                                         {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                                         {"no-build", no_argument, NULL, OPT_NO_BUILD},
                                         {"rebuild", no_argument, NULL, OPT_REBUILD},
                                         {0}};
    rg_migrate_opts mo = {.min_overlap = -1, .interrupted = cli->interrupted};
    const char *from = NULL, *to_backend = NULL;
    int c, rc = 0;
    long long v;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(HELP, stdout); return 0;
        case OPT_TO: mo.to = optarg; break;
        case OPT_FROM: from = optarg; break;
        case OPT_TO_BACKEND: to_backend = optarg; break;
        case OPT_BATCH:
            if (!parse_size(optarg, 1, 100000, &v))
                return rg_cli_usage_error(cli, "--batch-size must be a whole number from 1 to 100000, not '%s'",
                                          optarg);
            mo.batch_size = (size_t)v;
            break;
        case OPT_VERIFY_QUERIES:
            if (!parse_size(optarg, 1, 100000, &v))
                return rg_cli_usage_error(cli, "--verify-queries must be a whole number from 1 to 100000, not '%s'",
                                          optarg);
            mo.verify_queries = (int)v;
            mo.verify = true;
            break;
        case OPT_MIN_OVERLAP: {
            char *end;
            double d = strtod(optarg, &end);
            if (end == optarg || *end || !(d >= 0 && d <= 1))
                return rg_cli_usage_error(cli, "--min-overlap must be a number from 0 to 1, not '%s'", optarg);
            mo.min_overlap = d;
            break;
        }
        case OPT_OVERWRITE: mo.overwrite = true; break;
        case OPT_VERIFY: mo.verify = true; break;
        case OPT_REEMBED: mo.reembed = true; break;
        case OPT_DRY_RUN: mo.dry_run = true; break;
        case OPT_NO_BUILD: mo.no_build = true; break;
        case OPT_REBUILD: mo.rebuild = true; break;
        default:
            if (!rg_cli_common_option(cli, c, optarg, &rc))
                return rc;
        }
    }
    char dfrom[32] = "", dto[32] = "";
    if (optind < argc) {
        if (!parse_direction(argv[optind], dfrom, dto, sizeof dfrom))
            return rg_cli_usage_error(cli,
                                      "unknown direction '%s'; use FROM-to-TO with backends leann, chromadb or exact "
                                      "(e.g. chromadb-to-leann)",
                                      argv[optind]);
        if (from || to_backend)
            return rg_cli_usage_error(cli, "give either a direction (%s) or --from/--to-backend, not both",
                                      argv[optind]);
        from = dfrom;
        to_backend = dto;
        if (optind + 1 < argc)
            return rg_cli_usage_error(cli, "unexpected argument '%s'", argv[optind + 1]);
    }
    if (cli->backend)
        return rg_cli_usage_error(cli, "migrate takes a direction (e.g. leann-to-chromadb) or --from and "
                                       "--to-backend instead of --backend");
    if (!from || !to_backend)
        return rg_cli_usage_error(cli, "migrate needs a direction such as chromadb-to-leann, or --from BACKEND "
                                       "--to-backend BACKEND");
    if (!rg_store_backend_find(from))
        return rg_cli_usage_error(cli, "unknown backend '%s' (--from); valid backends: leann, chromadb, exact", from);
    if (!rg_store_backend_find(to_backend))
        return rg_cli_usage_error(cli, "unknown backend '%s' (--to-backend); valid backends: leann, chromadb, exact",
                                  to_backend);
    mo.from_backend = from;
    mo.to_backend = to_backend;
    mo.collection = cli->collection;
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 2;
    /* The target is built with the source's embedder (vectors reused)
     * unless embedding settings are given; a missing source is reported
     * by the migration itself. */
    int src_rc = rg_cli_use_collection_settings_in(cli, from, false);
    if (src_rc != 0)
        return src_rc;

    ui u = {.cli = cli};
    mo.on_progress = on_progress;
    mo.on_notice = on_notice;
    mo.ctx = &u;
    rg_migrate_report r;
    rg_error err;
    rg_status st = rg_migrate(cfg, &mo, &r, &err);
    rg_progress_free(u.progress);
    if (cli->format == RG_FORMAT_JSON) {
        json_t *j = report_json(&r);
        if (st != RG_OK)
            json_object_set_new(j, "error", rg_json_error(rg_status_name(st), err.msg));
        rg_cli_print_json(j);
    } else {
        print_report(&r, st == RG_OK);
    }
    if (st != RG_OK) {
        fflush(stdout);
        fprintf(stderr, "ragged: %s\n", err.msg);
        return st == RG_ERR_INTERRUPTED ? 130 : rg_status_exit_code(st);
    }
    return 0;
}
