/* Shared command-line plumbing: configuration loading, opening the
 * collection a command works on, errors, JSON output and progress. */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

rg_config *rg_cli_config(rg_cli *cli)
{
    if (cli->cfg)
        return cli->cfg;
    rg_error err;
    rg_config *cfg = NULL;
    if (rg_config_load(cli->config_path, &cfg, &err) != RG_OK) {
        rg_cli_fail(cli, &err);
        return NULL;
    }
    if (cli->backend && rg_config_set(cfg, "vectorstore.backend", cli->backend, RG_SRC_FLAG, &err) != RG_OK) {
        rg_error_set(&err, RG_ERR_INVALID, "unknown backend '%s' (--backend); valid backends: leann, chromadb, exact",
                     cli->backend);
        rg_cli_fail(cli, &err);
        rg_config_free(cfg);
        return NULL;
    }
    cli->cfg = cfg;
    return cfg;
}

int rg_cli_open_collection(rg_cli *cli, bool create, rg_embedder **emb, rg_store **store, rg_collection **coll)
{
    *emb = NULL;
    *store = NULL;
    *coll = NULL;
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 2;
    rg_error err;
    rg_status rc = rg_embedder_open(cfg, emb, &err);
    if (rc == RG_OK)
        rc = rg_store_open(cfg, NULL, store, &err);
    if (rc == RG_OK && create)
        rc = rg_collection_name_check_new(cli->collection, &err);
    if (rc == RG_OK)
        rc = rg_collection_open(*store, cli->collection, *emb, create, coll, &err);
    if (rc != RG_OK) {
        rg_store_close(*store);
        rg_embedder_free(*emb);
        *store = NULL;
        *emb = NULL;
        return rg_cli_fail(cli, &err);
    }
    return 0;
}

int rg_cli_fail(rg_cli *cli, const rg_error *err)
{
    fprintf(stderr, "ragged: %s\n", err->msg);
    if (cli && cli->format == RG_FORMAT_JSON) {
        json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", rg_status_name(err->code), "message", err->msg);
        rg_cli_print_json(j);
    }
    return rg_status_exit_code(err->code);
}

int rg_cli_usage_error(rg_cli *cli, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ragged: %s\nTry 'ragged %s --help'.\n", msg, cli && cli->command ? cli->command : "");
    if (cli && cli->format == RG_FORMAT_JSON) {
        json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", "usage", "message", msg);
        rg_cli_print_json(j);
    }
    return 2;
}

void rg_cli_print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    json_decref(v);
}

bool rg_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    }
    return false;
}

bool rg_cli_common_option(rg_cli *cli, int opt, const char *arg, int *exit_code)
{
    switch (opt) {
    case RG_CLI_OPT_CONFIG: cli->config_path = arg; return true;
    case RG_CLI_OPT_BACKEND: cli->backend = arg; return true;
    case RG_CLI_OPT_COLLECTION: cli->collection = arg; return true;
    case RG_CLI_OPT_QUIET: cli->quiet = true; return true;
    case RG_CLI_OPT_FORMAT:
        if (!strcmp(arg, "text")) {
            cli->format = RG_FORMAT_TEXT;
            return true;
        }
        if (!strcmp(arg, "json")) {
            cli->format = RG_FORMAT_JSON;
            return true;
        }
        *exit_code = rg_cli_usage_error(cli, "--format must be text or json, not '%s'", arg);
        return false;
    case '?':
        *exit_code = rg_cli_usage_error(cli, "unknown or incomplete option");
        return false;
    default:
        *exit_code = rg_cli_usage_error(cli, "unexpected option");
        return false;
    }
}

void rg_cli_getopt_reset(void)
{
    optind = 1;
    opterr = 0; /* we print our own messages */
}

/* ---- progress ---- */

struct rg_progress {
    bool enabled, tty;
    char phase[64];
    int64_t total, done;
    double start, last_draw;
    size_t last_len;
};

rg_progress *rg_progress_new(const rg_cli *cli, const char *phase, int64_t total)
{
    rg_progress *p = rg_xcalloc(1, sizeof *p);
    p->enabled = !cli->quiet;
    p->tty = isatty(STDERR_FILENO);
    p->start = rg_now();
    rg_progress_phase(p, phase, total);
    return p;
}

void rg_progress_phase(rg_progress *p, const char *phase, int64_t total)
{
    snprintf(p->phase, sizeof p->phase, "%s", phase);
    p->total = total;
    p->done = 0;
    p->start = rg_now();
    /* On a pipe the first line comes after 5 s: quick runs stay quiet. */
    p->last_draw = p->start;
}

void rg_progress_set_total(rg_progress *p, int64_t total)
{
    p->total = total;
}

void rg_progress_update(rg_progress *p, int64_t done, const char *detail)
{
    p->done = done;
    if (!p->enabled)
        return;
    double now = rg_now();
    /* Redraw at most 10 times a second on a terminal; a line every 5 s on a
     * pipe or log file. */
    if (now - p->last_draw < (p->tty ? 0.1 : 5.0) && (done != p->total || !p->tty))
        return;
    p->last_draw = now;
    double el = now - p->start;
    double rate = el > 0 ? (double)done / el : 0;
    char eta[32] = "";
    if (p->total > 0 && rate > 0 && done < p->total)
        snprintf(eta, sizeof eta, ", ETA %.0fs", (double)(p->total - done) / rate);
    char line[512];
    int n = snprintf(line, sizeof line, "%s: %lld/%lld (%.1f/s%s)%s%s", p->phase, (long long)done,
                     (long long)p->total, rate, eta, detail ? " " : "", detail ? detail : "");
    if (n < 0)
        return;
    if (p->tty) {
        /* Keep to one terminal line: cut the detail. */
        if (n > 100)
            line[100] = '\0', n = 100;
        fprintf(stderr, "\r%s%*s", line, (int)(p->last_len > (size_t)n ? p->last_len - (size_t)n : 0), "");
        p->last_len = (size_t)n;
    } else {
        fprintf(stderr, "%s\n", line);
    }
}

void rg_progress_free(rg_progress *p)
{
    if (!p)
        return;
    if (p->enabled && p->tty && p->last_len)
        fputc('\n', stderr);
    free(p);
}
