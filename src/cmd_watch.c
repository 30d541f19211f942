/* ragged watch PATH... : keep a collection in step with files (watch.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "watch.h"

int rg_cmd_watch(rg_cli *cli, int argc, char **argv);

static const char HELP[] =
    "usage: ragged watch PATH... [--collection NAME] [--debounce MS]\n\n"
    "Ingests the paths, then again whenever files below them change (inotify; a\n"
    "rescan every 3 s where that is unavailable), after changes have settled for\n"
    "--debounce milliseconds (default 500).  Deleted files are pruned from the\n"
    "collection.  One progress line per round on stderr.  Stops on SIGINT/SIGTERM\n"
    "after the file in progress (exit 0; everything ingested so far is stored).\n\n" RG_CLI_COMMON_HELP;

int rg_cmd_watch(rg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS, {"debounce", required_argument, NULL, 'd'}, {0}};
    int c, rc = 0;
    unsigned debounce = 500;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(HELP, stdout);
            return 0;
        }
        if (c == 'd') {
            long v;
            if (!rg_cli_parse_long(optarg, 10, 600000, &v))
                return rg_cli_usage_error(cli, "--debounce takes milliseconds from 10 to 600000, not '%s'", optarg);
            debounce = (unsigned)v;
            continue;
        }
        if (!rg_cli_common_option(cli, c, optarg, &rc))
            return rc;
    }
    if (optind >= argc)
        return rg_cli_usage_error(cli, "watch needs the files or directories to watch");
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 2;
    rg_watch_opts o = {.cfg = cfg, .collection = cli->collection, .backend = cli->backend,
                       .paths = (const char *const *)argv + optind, .npaths = (size_t)(argc - optind),
                       .debounce_ms = debounce, .quiet = cli->quiet, .stop = cli->interrupted};
    rg_watch *w;
    rg_error err;
    if (rg_watch_start(&o, &w, &err) != RG_OK)
        return rg_cli_fail(cli, &err);
    if (!cli->quiet)
        fprintf(stderr, "ragged watch: watching %d path%s for collection %s (Ctrl-C stops)\n", argc - optind,
                argc - optind == 1 ? "" : "s", cli->collection);
    struct timespec ts = {0, 100 * 1000000L};
    while (!*cli->interrupted)
        nanosleep(&ts, NULL);
    rg_watch_stop(w);
    if (!cli->quiet)
        fprintf(stderr, "ragged watch: stopped\n");
    return 0;
}
