/* Shared command-line plumbing: configuration loading, opening the
 * collection a command works on, errors, JSON output and progress. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
    rg_embedder_identity stored;
    bool have_stored = false;
    rg_status rc = rg_store_open(cfg, NULL, store, &err);
    if (rc == RG_OK && create)
        rc = rg_collection_name_check_new(cli->collection, &err);
    if (rc == RG_OK) {
        /* An existing collection brings its own embedder settings (what
         * the user set explicitly still wins; a clash is reported below). */
        rg_collection *peek = NULL;
        rg_error perr;
        if (rg_collection_open(*store, cli->collection, NULL, false, &peek, &perr) == RG_OK) {
            stored = *rg_collection_identity(peek);
            have_stored = true;
            rg_collection_close(peek);
        } else if (perr.code != RG_ERR_NOTFOUND || !create) {
            rc = perr.code;
            err = perr;
        }
    }
    int applied = rc == RG_OK && have_stored ? rg_embedder_settings_apply(&stored, cfg) : 0;
    if (rc == RG_OK) {
        rc = rg_embedder_open(cfg, emb, &err);
        if (rc != RG_OK && applied) {
            char ident[400];
            rg_error why = err;   /* not err.msg as an argument of a write to err */
            rg_embedder_identity_format(&stored, ident, sizeof ident);
            rg_error_set(&err, why.code,
                         "%s (collection '%s' was built with embedder %s, settings %s; where they differ now, set "
                         "them with --config or RAGGED_EMBEDDING_* to what works here)",
                         why.msg, cli->collection, ident, stored.settings);
        }
    }
    if (rc == RG_OK)
        rc = rg_collection_open(*store, cli->collection, *emb, create, coll, &err);
    if (rc == RG_ERR_MISMATCH && have_stored) {
        char clash[1024];
        rg_embedder_settings_conflicts(&stored, cfg, clash, sizeof clash);
        if (clash[0]) {
            char a[400], b[400];
            rg_embedder_identity_format(&stored, a, sizeof a);
            rg_embedder_identity_format(&(*emb)->identity, b, sizeof b);
            rg_error_set(&err, RG_ERR_MISMATCH,
                         "collection '%s' was built with embedder %s but the settings given make %s: %s.  Remove "
                         "those settings to use the collection's own, or use another collection (--collection)",
                         cli->collection, a, b, clash);
        }
    }
    if (rc != RG_OK) {
        rg_store_close(*store);
        rg_embedder_free(*emb);
        *store = NULL;
        *emb = NULL;
        return rg_cli_fail(cli, &err);
    }
    return 0;
}

int rg_cli_use_collection_settings(rg_cli *cli)
{
    if (!cli->collection_given)
        return rg_cli_config(cli) ? 0 : 2;
    return rg_cli_use_collection_settings_in(cli, NULL, true);
}

int rg_cli_use_collection_settings_in(rg_cli *cli, const char *backend, bool must_exist)
{
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 2;
    rg_error err;
    rg_store *store = NULL;
    rg_collection *peek = NULL;
    rg_status rc = rg_store_open(cfg, backend, &store, &err);
    if (rc == RG_OK)
        rc = rg_collection_open(store, cli->collection, NULL, false, &peek, &err);
    if (rc == RG_OK)
        rg_embedder_settings_apply(rg_collection_identity(peek), cfg);
    rg_collection_close(peek);
    rg_store_close(store);
    if (rc == RG_ERR_NOTFOUND && !must_exist)
        return 0;
    return rc == RG_OK ? 0 : rg_cli_fail(cli, &err);
}

bool rg_cli_confirm(const char *prompt)
{
    fprintf(stderr, "%s [y/N] ", prompt);
    fflush(stderr);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return false;
    line[strcspn(line, "\r\n")] = '\0';
    return !strcasecmp(line, "y") || !strcasecmp(line, "yes");
}

int rg_cli_color_choice(const char *value)
{
    if (!value || !strcmp(value, "auto")) {
        const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
        if ((no && *no) || (term && !strcmp(term, "dumb")))
            return 0;
        return isatty(STDOUT_FILENO) ? 1 : 0;
    }
    if (!strcmp(value, "always"))
        return 1;
    if (!strcmp(value, "never"))
        return 0;
    return -1;
}

void rg_cli_print_usage(const rg_cli *cli, FILE *out)
{
    fprintf(out, "usage: ragged [--config FILE] COMMAND [OPTIONS]\n\n"
                 "ragged keeps a searchable store of your documents on your own disk and finds the\n"
                 "passages that answer a question.\n\nCommands:\n");
    for (size_t i = 0; i < cli->ncommands; i++)
        fprintf(out, "  %-12s %s\n", cli->commands[i].name, cli->commands[i].summary);
    fprintf(out, "\nRun 'ragged help COMMAND' for a command's options.  'ragged --version' prints the version.\n"
                 "Exit codes: 0 success, 1 failure, 2 bad usage or invalid input, 130 interrupted.\n");
}

const rg_cli_command *rg_cli_find_command(const rg_cli *cli, const char *name)
{
    for (size_t i = 0; i < cli->ncommands; i++)
        if (!strcmp(cli->commands[i].name, name))
            return &cli->commands[i];
    return NULL;
}

/* Optimal string alignment distance (adjacent swaps count 1), capped. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64)
        return 99;
    size_t d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = RG_MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);
            v = RG_MIN(v, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                v = RG_MIN(v, d[i - 2][j - 2] + 1);
            d[i][j] = v;
        }
    return d[n][m];
}

const rg_cli_command *rg_cli_suggest_command(const rg_cli *cli, const char *name)
{
    const rg_cli_command *best = NULL, *prefix = NULL;
    size_t best_d = 3, nprefix = 0;
    for (size_t i = 0; i < cli->ncommands; i++) {
        size_t d = edit_distance(name, cli->commands[i].name);
        if (d < best_d)
            best_d = d, best = &cli->commands[i];
        if (*name && !strncmp(cli->commands[i].name, name, strlen(name)))
            prefix = &cli->commands[i], nprefix++;
    }
    if (best)
        return best;
    return nprefix == 1 ? prefix : NULL;
}

const char *rg_cli_suggest_action(const rg_cli *cli, const char *word, char *buf, size_t n)
{
    buf[0] = '\0';
    const rg_cli_command *cmd = cli->command ? rg_cli_find_command(cli, cli->command) : NULL;
    if (!cmd || !cmd->actions)
        return buf;
    size_t best_d = 3;
    for (const char *p = cmd->actions; *p;) {
        size_t len = strcspn(p, " ");
        char action[64];
        snprintf(action, sizeof action, "%.*s", (int)RG_MIN(len, sizeof action - 1), p);
        size_t d = edit_distance(word, action);
        if (d < best_d) {
            best_d = d;
            snprintf(buf, n, " (did you mean '%s'?)", action);
        }
        p += len;
        while (*p == ' ')
            p++;
    }
    return buf;
}

char *rg_cli_command_help(rg_cli *cli, const rg_cli_command *cmd)
{
    /* Each command prints its own help text; it is captured through a
     * temporary file on fd 1 rather than kept in a second copy. */
    fflush(stdout);
    FILE *tmp = tmpfile();
    int saved = tmp ? dup(STDOUT_FILENO) : -1;
    if (saved < 0 || dup2(fileno(tmp), STDOUT_FILENO) < 0) {
        if (saved >= 0)
            close(saved);
        if (tmp)
            fclose(tmp);
        return NULL;
    }
    char *argv[] = {(char *)cmd->name, "--help", NULL};
    rg_cli sub = *cli;
    sub.command = cmd->name;
    sub.argv = argv;
    sub.cfg = NULL;
    cmd->run(&sub, 2, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rg_config_free(sub.cfg);
    rg_buf b;
    rg_buf_init(&b);
    rewind(tmp);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, tmp)) > 0)
        rg_buf_append(&b, chunk, n);
    fclose(tmp);
    return rg_buf_steal(&b);
}

int rg_cli_fail(rg_cli *cli, const rg_error *err)
{
    /* Messages quote file names and server replies: escaped on the terminal
     * (raw in JSON, where jansson escapes them). */
    fputs("ragged: ", stderr);
    rg_fputs_escaped(err->msg, stderr);
    fputc('\n', stderr);
    if (cli && cli->format == RG_FORMAT_JSON) {
        json_t *j = json_pack("{s:o}", "error", rg_json_error(rg_status_name(err->code), err->msg));
        rg_cli_print_json(j);
    }
    return rg_status_exit_code(err->code);
}

bool rg_cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || end == s || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int rg_cli_usage_error(rg_cli *cli, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fputs("ragged: ", stderr);
    rg_fputs_escaped(msg, stderr);
    fprintf(stderr, "\nTry 'ragged %s%s--help'.\n", cli && cli->command ? cli->command : "",
            cli && cli->command ? " " : "");
    if (cli && cli->format == RG_FORMAT_JSON) {
        json_t *j = json_pack("{s:o}", "error", rg_json_error("usage", msg));
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
    case RG_CLI_OPT_COLLECTION:
        cli->collection = arg;
        cli->collection_given = true;
        return true;
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
    case '?': {
        /* getopt_long (opterr = 0) leaves the offending word at
         * argv[optind - 1] and optopt = 0 for an unknown long option, the
         * option's value for one missing its argument, the letter for a
         * short option (unknown or missing its argument). */
        const char *word = cli->argv && optind > 0 ? cli->argv[optind - 1] : NULL;
        char name[128];
        if (word && word[0] == '-' && word[1] == '-') {
            size_t n = strcspn(word, "=");
            snprintf(name, sizeof name, "%.*s", (int)RG_MIN(n, sizeof name - 1), word);
            if (optopt)
                *exit_code = rg_cli_usage_error(cli, "option '%s' needs a value", name);
            else
                *exit_code = rg_cli_usage_error(cli, "unknown option '%s'", name);
        } else if (optopt && optopt < 128 && optopt > ' ') {
            *exit_code = rg_cli_usage_error(cli, "unknown option '-%c', or it needs a value", optopt);
        } else {
            *exit_code = rg_cli_usage_error(cli, "unknown option '%s'", word ? word : "?");
        }
        return false;
    }
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
    char *safe = detail ? rg_escape_text(detail) : NULL;   /* file names reach the terminal */
    int n = snprintf(line, sizeof line, "%s: %lld/%lld (%.1f/s%s)%s%s", p->phase, (long long)done,
                     (long long)p->total, rate, eta, safe ? " " : "", safe ? safe : "");
    free(safe);
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
