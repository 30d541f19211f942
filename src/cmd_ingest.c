/* ragged ingest PATH...: options, progress per phase and the summary; the
 * walk is walk.c, the pipeline ingest.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ingest.h"
#include "util.h"
#include "walk.h"

int rg_cmd_ingest(rg_cli *cli, int argc, char **argv);

static const char HELP[] =
    "usage: ragged ingest PATH... [--include GLOB]... [--exclude GLOB]... [--prune] [--dry-run]\n\n"
    "Reads text, Markdown, HTML, PDF, man pages, DOCX, ODT, EPUB and source code,\n"
    "also gzip-compressed (x.txt.gz, ls.1.gz); directories are walked. Splits them into\n"
    "chunks, embeds and stores them. Unchanged files are skipped; changed files have\n"
    "their chunks replaced. Every file is read once, however often it is reached.\n"
    "Hidden entries and node_modules are skipped; inside a git work tree .gitignore files\n"
    "are honoured, and .ignore files everywhere (gitignore syntax).\n\n"
    "  --include GLOB       read only files matching GLOB (repeatable; a GLOB without '/'\n"
    "                       matches the file name, with '/' the path below PATH; ** spans\n"
    "                       directories)\n"
    "  --exclude GLOB       never read files or directories matching GLOB (repeatable)\n"
    "  --no-ignore          do not read .gitignore and .ignore files\n"
    "  --follow             follow symbolic links that lead out of PATH\n"
    "  --dry-run            list the files that would be read, with their reader; store nothing\n"
    "  --reset-selection    forget the --include/--exclude saved with the collection\n"
    "  --prune              also remove chunks of files under PATH that no longer exist\n"
    "  -v, --verbose        name every file as it is read, and every warning as it happens\n\n"
    "A file that cannot be read is a warning naming it; the run goes on. Exit 0 when the run\n"
    "completed (warnings are listed in the summary), 1 when a PATH named here could not be\n"
    "read, when no file could be stored, or when the store failed.\n\n"
    "The --include/--exclude of a run are saved with the collection: a later ingest into\n"
    "it without them applies them again (--reset-selection forgets them).\n\n" RG_CLI_COMMON_HELP;

/* ---- progress: one line per phase with counts, rate and ETA ---- */

typedef struct phase_clock {
    double seconds;       /* time spent in the phase before the current stint */
    int64_t base;         /* work of earlier batches (embed) */
    int64_t last_done;
} phase_clock;

typedef struct progress {
    bool enabled, tty, verbose;
    rg_ingest_phase phase;
    bool started;
    double since, last_draw;
    phase_clock clock[RG_INGEST_PRUNE + 1];
    size_t last_len;
    double interval;      /* seconds between lines: 0.2 on a terminal, 5 on a pipe */
    char step[64];        /* the backend's current step inside a store */
    double step_since;
} progress;

static const char *const UNITS[] = {"files found", "files", "chunks", "records", "documents"};

static void draw(progress *p, const char *line)
{
    if (p->tty) {
        size_t n = strlen(line);
        fprintf(stderr, "\r%s%*s", line, (int)(p->last_len > n ? p->last_len - n : 0), "");
        p->last_len = n;
    } else {
        fprintf(stderr, "ragged ingest: %s\n", line);
    }
    fflush(stderr);
}

static void clear_line(progress *p)
{
    if (p->tty && p->last_len) {
        fprintf(stderr, "\r%*s\r", (int)p->last_len, "");
        p->last_len = 0;
    }
}

static void on_phase_progress(progress *p, rg_ingest_phase ph, int64_t done, int64_t total, const char *step)
{
    double now = rg_now();
    if (!p->started || ph != p->phase) {
        if (p->started)
            p->clock[p->phase].seconds += now - p->since;
        p->phase = ph;
        p->since = now;
        p->started = true;
    }
    phase_clock *c = &p->clock[ph];
    /* The backend's steps inside a store have their own counts and clock. */
    if (ph == RG_INGEST_STORE && step && strcmp(step, p->step) != 0) {
        snprintf(p->step, sizeof p->step, "%s", step);
        p->step_since = now;
    } else if (ph == RG_INGEST_STORE && !step) {
        p->step[0] = '\0';
    }
    /* embed and store count per batch: a new batch starts again at 0 */
    if (ph == RG_INGEST_EMBED && done < c->last_done)
        c->base += c->last_done;
    if (ph == RG_INGEST_EMBED)
        c->last_done = done;
    if (!p->enabled)
        return;
    bool finished = total > 0 && done >= total;
    if (now - p->last_draw < p->interval && !(p->tty && finished))
        return;
    p->last_draw = now;
    double el = c->seconds + (now - p->since);
    int64_t cum = c->base + done;
    if (ph == RG_INGEST_STORE && p->step[0]) {
        el = now - p->step_since;
        cum = done;
    }
    double rate = el > 0.05 ? (double)cum / el : 0;
    char line[256];
    int n;
    if (ph == RG_INGEST_WALK)
        n = snprintf(line, sizeof line, "walk: %lld files found", (long long)done);
    else if (ph == RG_INGEST_STORE && p->step[0] && total > 0)
        n = snprintf(line, sizeof line, "store: %s %lld/%lld", p->step, (long long)done, (long long)total);
    else if (ph == RG_INGEST_STORE && p->step[0])
        n = snprintf(line, sizeof line, "store: %s (%.0fs)", p->step, now - p->step_since);
    else if (ph == RG_INGEST_STORE)
        n = snprintf(line, sizeof line, "store: %lld/%lld records", (long long)done, (long long)total);
    else
        n = snprintf(line, sizeof line, "%s: %lld/%lld %s", rg_ingest_phase_name(ph), (long long)done,
                     (long long)total, UNITS[ph]);
    bool counted = ph != RG_INGEST_WALK && total > 0 && (ph != RG_INGEST_STORE || p->step[0]);
    if (counted && rate > 0 && n > 0 && (size_t)n < sizeof line) {
        n += snprintf(line + n, sizeof line - (size_t)n, " (%.1f/s", rate);
        if (total > done && (size_t)n < sizeof line)
            n += snprintf(line + n, sizeof line - (size_t)n, ", ETA %.0fs", (double)(total - done) / rate);
        if ((size_t)n < sizeof line)
            snprintf(line + n, sizeof line - (size_t)n, ")");
    }
    draw(p, line);
}

static void on_progress(void *ctx, rg_ingest_phase ph, int64_t done, int64_t total, const char *current)
{
    on_phase_progress(ctx, ph, done, total, current);
}

static void on_walk_progress(void *ctx, int64_t found)
{
    on_phase_progress(ctx, RG_INGEST_WALK, found, 0, NULL);
}

static void on_warning(void *ctx, const char *path, const char *reason)
{
    progress *p = ctx;
    if (p->verbose) {
        clear_line(p);
        fputs("ragged: warning: ", stderr);   /* a file name must not drive the terminal */
        rg_fputs_escaped(path, stderr);
        fputs(": ", stderr);
        rg_fputs_escaped(reason, stderr);
        fputc('\n', stderr);
    }
}

static void on_file(void *ctx, const char *path, const char *what, size_t chunks)
{
    progress *p = ctx;
    if (!p->verbose)
        return;
    clear_line(p);
    char *safe = rg_escape_text(path);
    if (!strcmp(what, "unchanged"))
        fprintf(stderr, "ragged: unchanged %s\n", safe);
    else
        fprintf(stderr, "ragged: read %s (%s, %zu chunk%s)\n", safe, what, chunks, chunks == 1 ? "" : "s");
    free(safe);
}

/* The walk's warnings go into the report as they happen. */
typedef struct walk_ctx {
    progress *p;
    rg_ingest_report *report;
    const rg_ingest_opts *io;
} walk_ctx;

static void on_walk_warning(void *ctx, const char *path, const char *reason)
{
    walk_ctx *w = ctx;
    rg_ingest_warn(w->io, w->report, path, reason);
}

static void on_walk_count(void *ctx, int64_t found)
{
    walk_ctx *w = ctx;
    on_walk_progress(w->p, found);
}

/* ---- output ---- */

static json_t *counts_json(const rg_ingest_report *r)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "files_found", (json_int_t)r->files_total,
                     "files_ingested", (json_int_t)r->files_ingested, "files_unchanged",
                     (json_int_t)r->files_unchanged, "files_skipped", (json_int_t)r->files_skipped, "files_ignored",
                     (json_int_t)r->files_ignored, "files_excluded", (json_int_t)r->files_excluded,
                     "files_duplicate", (json_int_t)r->files_duplicate, "paths_failed",
                     (json_int_t)r->named_failed);
}

/* The counts line: the same numbers, under the same names, as the JSON. */
static void print_counts(FILE *f, const rg_ingest_report *r, bool dry)
{
    if (dry)
        fprintf(f, "%lld file%s would be read", (long long)r->files_total, r->files_total == 1 ? "" : "s");
    else
        fprintf(f, "files: %lld found, %lld ingested, %lld unchanged, %lld skipped", (long long)r->files_total,
               (long long)r->files_ingested, (long long)r->files_unchanged, (long long)r->files_skipped);
    fprintf(f, "; not read: %lld ignored (no reader for their kind), %lld excluded (hidden, ignore files, globs), %lld "
           "duplicate (reached twice)",
           (long long)r->files_ignored, (long long)r->files_excluded, (long long)r->files_duplicate);
    if (r->named_failed)
        fprintf(f, "; %lld named path%s failed", (long long)r->named_failed, r->named_failed == 1 ? "" : "s");
    fprintf(f, "\n");
}

static void print_warnings(FILE *f, const rg_ingest_report *r)
{
    size_t n = json_array_size(r->warnings);
    if (!n)
        return;
    /* A run over a big tree can warn thousands of times: the text summary
     * shows the first ones, JSON has them all. */
    const size_t shown = 50;
    fprintf(f, "%zu warning%s:\n", n, n == 1 ? "" : "s");
    size_t i;
    json_t *w;
    json_array_foreach(r->warnings, i, w)
    {
        if (i == shown) {
            fprintf(f, "  ... and %zu more (--format json lists them all)\n", n - shown);
            break;
        }
        fputs("  ", f);
        rg_fputs_escaped(json_string_value(json_object_get(w, "path")), f);
        fputs(": ", f);
        rg_fputs_escaped(json_string_value(json_object_get(w, "reason")), f);
        fputc('\n', f);
    }
}

/* ---- the selection saved with a collection ---- */

#define SELECTION_KEY "ingest_selection"

/* Fills wo's globs from the collection's saved selection (when the command
 * line gave none).  The strings stay owned by *saved. */
static int load_selection(rg_cli *cli, rg_walk_opts *wo, const char **include, const char **exclude, json_t **saved,
                          bool dry)
{
    rg_store *store = NULL;
    rg_error err;
    json_t *sel = NULL;
    rg_status st = rg_store_open(rg_cli_config(cli), NULL, &store, &err);
    if (st == RG_OK)
        st = rg_store_collection_setting_get(store, cli->collection, SELECTION_KEY, &sel, &err);
    rg_store_close(store);
    if (st != RG_OK && dry) {
        /* A listing is still useful without the store (a server that is down). */
        fprintf(stderr, "ragged: warning: the collection's saved selection was not read: %s\n", err.msg);
        return 0;
    }
    if (st != RG_OK)
        return rg_cli_fail(cli, &err);
    if (!sel)
        return 0;
    size_t i;
    json_t *g;
    rg_buf shown;
    rg_buf_init(&shown);
    json_array_foreach(json_object_get(sel, "include"), i, g) if (json_is_string(g) && wo->ninclude < 256)
    {
        include[wo->ninclude++] = json_string_value(g);
        rg_buf_printf(&shown, " --include '%s'", json_string_value(g));
    }
    json_array_foreach(json_object_get(sel, "exclude"), i, g) if (json_is_string(g) && wo->nexclude < 256)
    {
        exclude[wo->nexclude++] = json_string_value(g);
        rg_buf_printf(&shown, " --exclude '%s'", json_string_value(g));
    }
    if (shown.len && !cli->quiet)
        fprintf(stderr, "ragged: applying the selection saved with collection %s:%s (--reset-selection forgets it)\n",
                cli->collection, shown.data);
    rg_buf_free(&shown);
    *saved = sel;
    return 0;
}

static void save_selection(rg_cli *cli, rg_store *store, const rg_walk_opts *wo)
{
    json_t *sel = NULL;
    if (wo->ninclude || wo->nexclude) {
        sel = json_pack("{s:[], s:[]}", "include", "exclude");
        for (size_t i = 0; i < wo->ninclude; i++)
            json_array_append_new(json_object_get(sel, "include"), json_string(wo->include[i]));
        for (size_t i = 0; i < wo->nexclude; i++)
            json_array_append_new(json_object_get(sel, "exclude"), json_string(wo->exclude[i]));
    }
    rg_error err;
    if (rg_store_collection_setting_put(store, cli->collection, SELECTION_KEY, sel, &err) != RG_OK)
        fprintf(stderr, "ragged: warning: the selection was not saved with the collection: %s\n", err.msg);
    json_decref(sel);
}

static int dry_run(rg_cli *cli, const rg_walk_result *files, rg_ingest_report *report)
{
    if (cli->format == RG_FORMAT_JSON) {
        json_t *list = json_array();
        for (size_t i = 0; i < files->nfiles; i++) {
            char *p = rg_path_escape(files->files[i].path);
            json_array_append_new(list, json_pack("{s:s, s:s?}", "path", p, "reader", files->files[i].reader));
            free(p);
        }
        json_t *j = counts_json(report);
        json_object_set_new(j, "dry_run", json_true());
        json_object_set_new(j, "files", list);
        json_object_set(j, "warnings", report->warnings);
        rg_cli_print_json(j);
    } else {
        for (size_t i = 0; i < files->nfiles; i++) {
            char *p = rg_path_escape(files->files[i].path);
            printf("%-9s %s\n", files->files[i].reader ? files->files[i].reader : "(none)", p);
            free(p);
        }
        /* stderr: stdout stays a list of files a script can read. */
        print_counts(stderr, report, true);
        print_warnings(stderr, report);
    }
    return report->named_failed ? 1 : 0;
}

int rg_cmd_ingest(rg_cli *cli, int argc, char **argv)
{
    enum { OPT_PRUNE = 2001, OPT_INCLUDE, OPT_EXCLUDE, OPT_NO_IGNORE, OPT_FOLLOW, OPT_DRY_RUN, OPT_RESET };
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS,
                                         {"prune", no_argument, NULL, OPT_PRUNE},
                                         {"include", required_argument, NULL, OPT_INCLUDE},
                                         {"exclude", required_argument, NULL, OPT_EXCLUDE},
                                         {"no-ignore", no_argument, NULL, OPT_NO_IGNORE},
                                         {"follow", no_argument, NULL, OPT_FOLLOW},
                                         {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                                         {"reset-selection", no_argument, NULL, OPT_RESET},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {0}};
    bool prune = false, dry = false, verbose = false, reset = false;
    rg_walk_opts wo = {0};
    json_t *saved = NULL;
    const char **include = rg_xcalloc((size_t)argc + 257, sizeof *include);
    const char **exclude = rg_xcalloc((size_t)argc + 257, sizeof *exclude);
    int c, rc = 0;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(HELP, stdout); goto out;
        case OPT_PRUNE: prune = true; continue;
        case OPT_INCLUDE: include[wo.ninclude++] = optarg; continue;
        case OPT_EXCLUDE: exclude[wo.nexclude++] = optarg; continue;
        case OPT_NO_IGNORE: wo.no_ignore = true; continue;
        case OPT_FOLLOW: wo.follow = true; continue;
        case OPT_DRY_RUN: dry = true; continue;
        case OPT_RESET: reset = true; continue;
        case 'v': verbose = true; continue;
        default: break;
        }
        if (!rg_cli_common_option(cli, c, optarg, &rc))
            goto out;
    }
    for (size_t i = 0; i < wo.ninclude + wo.nexclude; i++) {
        const char *g = i < wo.ninclude ? include[i] : exclude[i - wo.ninclude];
        if (!*g) {
            rc = rg_cli_usage_error(cli, "--%s needs a non-empty GLOB", i < wo.ninclude ? "include" : "exclude");
            goto out;
        }
    }
    wo.include = include;
    wo.exclude = exclude;
    if (optind >= argc) {
        rc = rg_cli_usage_error(cli, "ingest needs at least one file or directory");
        goto out;
    }
    /* The configuration is checked before any work, so a bad one is exit 2
     * whatever the paths are. */
    if (!rg_cli_config(cli)) {
        rc = 2;
        goto out;
    }
    bool given = wo.ninclude || wo.nexclude;
    if (!given && !reset && (rc = load_selection(cli, &wo, include, exclude, &saved, dry)) != 0)
        goto out;

    /* On a pipe the first line comes after 5 s: quick runs stay quiet. */
    progress pg = {.enabled = !cli->quiet,
                   .tty = isatty(STDERR_FILENO),
                   .verbose = verbose && !cli->quiet,
                   .last_draw = rg_now()};
    pg.interval = pg.tty ? 0.2 : 5.0;
    /* Test hook: tests check the lines of every phase without waiting 5 s. */
    const char *iv = getenv("RAGGED_TEST_PROGRESS_INTERVAL");
    if (iv && *iv)
        pg.interval = atof(iv);
    rg_ingest_report report;
    rg_ingest_report_init(&report);
    rg_ingest_opts io = {.prune = prune,
                         .interrupted = cli->interrupted,
                         .on_progress = on_progress,
                         .on_warning = on_warning,
                         .on_file = on_file,
                         .progress_ctx = &pg};
    walk_ctx wc = {&pg, &report, &io};
    wo.interrupted = cli->interrupted;
    wo.on_warning = on_walk_warning;
    wo.on_progress = on_walk_count;
    wo.ctx = &wc;
    double t0 = rg_now();
    rg_walk_result files;
    bool walked = rg_walk((const char *const *)argv + optind, (size_t)(argc - optind), &wo, &files);
    rg_ingest_report_walk(&report, &files);
    clear_line(&pg);
    if (!walked) {
        fprintf(stderr, "ragged: interrupted while looking for files; nothing was stored\n");
        rc = 130;
    } else if (dry) {
        rc = dry_run(cli, &files, &report);
    } else if (files.nfiles == 0 && !prune) {
        /* Nothing to store: do not create an empty collection. */
        if (cli->format == RG_FORMAT_JSON) {
            json_t *j = counts_json(&report);
            json_object_set(j, "warnings", report.warnings);
            json_object_set_new(j, "error", rg_json_error("not_found", "no file to ingest was found"));
            rg_cli_print_json(j);
        } else {
            print_counts(stdout, &report, false);
            print_warnings(stdout, &report);
        }
        fprintf(stderr, "ragged: no file to ingest was found; nothing was stored%s\n",
                report.files_excluded || report.files_ignored
                    ? " (see the counts of files not read: --include/--exclude, --no-ignore or --dry-run help)"
                    : "");
        rc = 1;
    } else {
        rg_embedder *emb;
        rg_store *store;
        rg_collection *coll;
        /* With nothing found, --prune works on an existing collection only. */
        rc = rg_cli_open_collection(cli, files.nfiles > 0, &emb, &store, &coll);
        if (!rc) {
            rg_error err;
            rg_status st = rg_ingest(coll, rg_cli_config(cli), &files, &io, &report, &err);
            if (st == RG_OK && (given || reset))
                save_selection(cli, store, &wo);
            double elapsed = rg_now() - t0;
            clear_line(&pg);
            int64_t count = -1;
            rg_error cerr;
            rg_collection_count(coll, &count, &cerr);
            const char *problem = NULL;
            if (st == RG_OK && report.named_failed)
                problem = "a path named on the command line could not be read (see the warnings)";
            else if (st == RG_OK && report.files_total > 0 && report.files_ingested + report.files_unchanged == 0)
                problem = "none of the files found could be read (see the warnings); nothing was stored";
            if (cli->format == RG_FORMAT_JSON) {
                json_t *j = json_pack("{s:s, s:s}", "collection", cli->collection, "backend", rg_store_backend(store));
                json_t *counts = counts_json(&report);
                json_object_update(j, counts);
                json_decref(counts);
                json_t *more = json_pack("{s:I, s:I, s:I, s:I, s:f, s:O}", "chunks_written",
                                         (json_int_t)report.chunks_written, "chunks_removed",
                                         (json_int_t)report.chunks_removed, "documents_pruned",
                                         (json_int_t)report.documents_pruned, "records_in_collection",
                                         (json_int_t)count, "seconds", elapsed, "warnings", report.warnings);
                json_object_update(j, more);
                json_decref(more);
                if (st != RG_OK)
                    json_object_set_new(j, "error", rg_json_error(rg_status_name(st), err.msg));
                else if (problem)
                    json_object_set_new(j, "error", rg_json_error("io", problem));
                rg_cli_print_json(j);
            } else {
                char total[32] = "unknown";
                if (count >= 0)
                    snprintf(total, sizeof total, "%lld", (long long)count);
                if (st != RG_OK)
                    /* files_ingested counts files read, not stored: after a
                     * failure say only what reached the store. */
                    printf("stopped after %lld of %lld files: %lld chunks written and %lld removed in %s/%s before "
                           "the error, %s records in total (%.1fs)\n",
                           (long long)report.files_done, (long long)report.files_total,
                           (long long)report.chunks_written, (long long)report.chunks_removed,
                           rg_store_backend(store), cli->collection, total, elapsed);
                else
                    printf("ingested %lld file%s into %s/%s: %lld chunks written, %lld removed%s%.0lld%s, %s records "
                           "in total (%.1fs)\n",
                           (long long)report.files_ingested, report.files_ingested == 1 ? "" : "s",
                           rg_store_backend(store), cli->collection, (long long)report.chunks_written,
                           (long long)report.chunks_removed, report.documents_pruned ? " (" : "",
                           (long long)report.documents_pruned, report.documents_pruned ? " documents pruned)" : "",
                           total, elapsed);
                /* After a failure "N ingested" would claim files read as
                 * stored; the line above says what reached the store. */
                if (st == RG_OK)
                    print_counts(stdout, &report, false);
                print_warnings(stdout, &report);
            }
            if (st != RG_OK) {
                fputs("ragged: ", stderr);
                rg_fputs_escaped(err.msg, stderr);
                fputc('\n', stderr);
                rc = rg_status_exit_code(st);
            } else if (problem) {
                fprintf(stderr, "ragged: %s\n", problem);
                rc = 1;
            }
            rg_collection_close(coll);
            rg_store_close(store);
            rg_embedder_free(emb);
        }
    }
    rg_walk_result_free(&files);
    rg_ingest_report_free(&report);
out:
    json_decref(saved);
    free(include);
    free(exclude);
    return rc;
}
