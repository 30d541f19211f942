/* ragged serve [--host H] [--port P] [--watch PATH]...   and   ragged mcp
 *
 * Both keep one rg_service (service.h) for the life of the process; serve
 * puts the HTTP server of serve.c in front of it, mcp the stdio loop of
 * mcp.c.  Both stop cleanly on SIGINT/SIGTERM (exit 0). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mcp.h"
#include "serve.h"
#include "service.h"
#include "util.h"
#include "watch.h"

int rg_cmd_serve(rg_cli *cli, int argc, char **argv);
int rg_cmd_mcp(rg_cli *cli, int argc, char **argv);

static const char SERVE_HELP[] =
    "usage: ragged serve [--host ADDR] [--port N] [--allow-host NAME]... [--watch PATH]...\n\n"
    "Serves the collections over HTTP: a search page at /, the JSON API under /v1\n"
    "(health, collections, query, answer, ingest, jobs) and MCP at /mcp (docs/serve.md).\n"
    "Collections, embedders and caches stay open between requests.\n\n"
    "  --host ADDR          address to listen on (default 127.0.0.1).  Anything but\n"
    "                       loopback needs a token: serve.token_env names the\n"
    "                       environment variable that holds it\n"
    "  --port N             port (default 8765; 0: any free port, printed on start)\n"
    "  --allow-host NAME    another name clients may use in the Host header (e.g. the\n"
    "                       machine's DNS name); may be repeated\n"
    "  --max-body BYTES     largest request body (default 1048576)\n"
    "  --watch PATH         re-ingest PATH into --collection when files change (like\n"
    "                       ragged watch); may be repeated\n\n"
    "Stops on SIGINT/SIGTERM after the requests in flight (exit 0).\n\n" RG_CLI_COMMON_HELP;

static const char MCP_HELP[] =
    "usage: ragged mcp\n\n"
    "A Model Context Protocol server on standard input/output (JSON-RPC 2.0, one\n"
    "message a line) with the tools search, ask (when llm.* is configured),\n"
    "list_collections and ingest.  Add it to an MCP client as the command\n"
    "`ragged mcp` (docs/serve.md).  Ends at end of input or on SIGINT (exit 0).\n\n" RG_CLI_COMMON_HELP;

typedef struct watch_target {
    rg_service *svc;
    const char *backend, *collection;
} watch_target;

static void on_watch_change(void *ctx)
{
    watch_target *t = ctx;
    rg_service_changed(t->svc, t->backend, t->collection);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int rg_cmd_serve(rg_cli *cli, int argc, char **argv)
{
    enum { OPT_HOST = 2001, OPT_PORT, OPT_ALLOW, OPT_MAXBODY, OPT_WATCH };
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS,
                                         {"host", required_argument, NULL, OPT_HOST},
                                         {"port", required_argument, NULL, OPT_PORT},
                                         {"allow-host", required_argument, NULL, OPT_ALLOW},
                                         {"max-body", required_argument, NULL, OPT_MAXBODY},
                                         {"watch", required_argument, NULL, OPT_WATCH},
                                         {0}};
    rg_serve_opts so;
    rg_serve_opts_default(&so);
    const char **allow = rg_xcalloc((size_t)argc + 1, sizeof *allow);
    const char **watch = rg_xcalloc((size_t)argc + 1, sizeof *watch);
    size_t nallow = 0, nwatch = 0;
    int c, rc = 0;
    rg_cli_getopt_reset();
    while (rc == 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(SERVE_HELP, stdout);
            free(allow);
            free(watch);
            return 0;
        case OPT_HOST: so.host = optarg; break;
        case OPT_PORT: {
            long v = 0;
            if (!rg_cli_parse_long(optarg, 0, 65535, &v))
                rc = rg_cli_usage_error(cli, "--port takes a number from 0 to 65535, not '%s'", optarg);
            so.port = (int)v;
            break;
        }
        case OPT_MAXBODY: {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*end || !*optarg || v < 1024 || v > (1LL << 30))
                rc = rg_cli_usage_error(cli, "--max-body takes a number of bytes from 1024 to 1073741824, not '%s'",
                                        optarg);
            so.max_body = (size_t)v;
            break;
        }
        case OPT_ALLOW: allow[nallow++] = optarg; break;
        case OPT_WATCH: watch[nwatch++] = optarg; break;
        default:
            if (!rg_cli_common_option(cli, c, optarg, &rc) && !rc)
                rc = 2;
        }
    }
    if (rc == 0 && optind < argc)
        rc = rg_cli_usage_error(cli, "serve takes no arguments (got '%s')", argv[optind]);
    rg_config *cfg = rc ? NULL : rg_cli_config(cli);
    if (!rc && !cfg)
        rc = 2;
    const char *token = NULL;
    if (!rc) {
        const char *env = rg_config_str(cfg, "serve.token_env");
        if (env && *env) {
            token = getenv(env);
            if (!token || !*token) {
                rg_error err;
                rg_error_set(&err, RG_ERR_INVALID,
                             "serve.token_env names the environment variable %s, which is not set (or empty); "
                             "export it with a long random token, or clear serve.token_env",
                             env);
                rc = rg_cli_fail(cli, &err);
            } else if (strlen(token) < 16) {
                rg_error err;
                rg_error_set(&err, RG_ERR_INVALID,
                             "the token in %s (serve.token_env) is shorter than 16 characters; use a long random "
                             "one, e.g. from `head -c 24 /dev/urandom | base64`",
                             env);
                rc = rg_cli_fail(cli, &err);
            }
        }
    }
    if (rc) {
        free(allow);
        free(watch);
        return rc;
    }
    so.token = token;
    so.allow_hosts = allow;
    so.nallow = nallow;
    so.log = !cli->quiet;
    rg_service *svc = rg_service_new(cfg, cli->collection, cli->interrupted);
    rg_server *server = NULL;
    rg_error err;
    rg_watch *w = NULL;
    watch_target wt = {svc, cli->backend, cli->collection};
    rg_status st = rg_server_start(svc, &so, &server, &err);
    if (st == RG_OK && nwatch) {
        rg_watch_opts wo = {.cfg = cfg, .collection = cli->collection, .backend = cli->backend,
                            .paths = watch, .npaths = nwatch, .quiet = cli->quiet, .stop = cli->interrupted,
                            .on_change = on_watch_change, .ctx = &wt};
        st = rg_watch_start(&wo, &w, &err);
    }
    if (st != RG_OK) {
        rg_server_stop(server);
        rg_service_free(svc);
        free(allow);
        free(watch);
        return rg_cli_fail(cli, &err);
    }
    const char *h = so.host;
    bool v6 = strchr(h, ':') != NULL;
    printf("ragged serve: listening on http://%s%s%s:%d/\n", v6 ? "[" : "", h, v6 ? "]" : "", rg_server_port(server));
    fflush(stdout);
    while (!*cli->interrupted)
        sleep_ms(100);
    if (!cli->quiet)
        fprintf(stderr, "ragged serve: stopping\n");
    rg_watch_stop(w);
    rg_server_stop(server);
    rg_service_free(svc);
    free(allow);
    free(watch);
    return 0;
}

int rg_cmd_mcp(rg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS, {0}};
    int c, rc = 0;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(MCP_HELP, stdout);
            return 0;
        }
        if (!rg_cli_common_option(cli, c, optarg, &rc))
            return rc;
    }
    if (optind < argc)
        return rg_cli_usage_error(cli, "mcp takes no arguments (got '%s')", argv[optind]);
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 2;
    rg_service *svc = rg_service_new(cfg, cli->collection, cli->interrupted);
    rg_mcp *m = rg_mcp_new(svc);
    /* stdout carries the protocol only; nothing else may be printed there. */
    rc = rg_mcp_stdio(m, stdin, stdout, 4u << 20, cli->interrupted);
    rg_mcp_free(m);
    rg_service_free(svc);
    return rc == 130 ? 0 : rc;
}
