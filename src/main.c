/* ragged: the command-line entry point and command table. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ragged.h"
#include "cli.h"

int rg_cmd_ingest(rg_cli *cli, int argc, char **argv);
int rg_cmd_query(rg_cli *cli, int argc, char **argv);
int rg_cmd_collections(rg_cli *cli, int argc, char **argv);
int rg_cmd_config(rg_cli *cli, int argc, char **argv);
int rg_cmd_backend(rg_cli *cli, int argc, char **argv);
int rg_cmd_embed(rg_cli *cli, int argc, char **argv);
int rg_cmd_model(rg_cli *cli, int argc, char **argv);
int rg_cmd_migrate(rg_cli *cli, int argc, char **argv);
int rg_cmd_eval(rg_cli *cli, int argc, char **argv);
int rg_cmd_serve(rg_cli *cli, int argc, char **argv);
int rg_cmd_mcp(rg_cli *cli, int argc, char **argv);
int rg_cmd_watch(rg_cli *cli, int argc, char **argv);
int rg_cmd_ask(rg_cli *cli, int argc, char **argv);

static const rg_cli_command COMMANDS[] = {
    {"ingest", "read files and store their chunks in a collection", rg_cmd_ingest},
    {"query", "find the passages that best match a question", rg_cmd_query},
    {"collections", "list, create, delete or describe collections", rg_cmd_collections},
    {"migrate", "copy a collection to another backend (staged, verified, rolled back on failure)", rg_cmd_migrate},
    {"config", "show, validate or create the configuration", rg_cmd_config},
    {"backend", "compare backends side by side, or show their storage statistics", rg_cmd_backend},
    {"embed", "embed one text and print the vector (dimension, norm, values)", rg_cmd_embed},
    {"model", "describe a sentence-transformers model directory (model info PATH)", rg_cmd_model},
    {"eval", "measure retrieval quality on a BEIR dataset (nDCG@10, Recall@100)", rg_cmd_eval},
    {"serve", "serve search, answers and ingest over HTTP (API, web page, MCP) with models kept loaded", rg_cmd_serve},
    {"mcp", "Model Context Protocol server on stdin/stdout (tools: search, ask, list_collections, ingest)", rg_cmd_mcp},
    {"watch", "ingest paths, then re-ingest them whenever files change (deletions pruned)", rg_cmd_watch},
    {"ask", "a conversation with the LLM over a collection (follow-ups, -c continues the last one)", rg_cmd_ask},
};

/* The one piece of process-wide state: async-signal-safe flag. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    if (interrupted) {
        /* Second signal: the user insists; die with the default action. */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    interrupted = 1;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: ragged [--config FILE] COMMAND [OPTIONS]\n\n"
                 "ragged keeps a searchable store of your documents on your own disk and finds the\n"
                 "passages that answer a question.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\nRun 'ragged COMMAND --help' for a command's options.  'ragged --version' prints the version.\n"
                 "Exit codes: 0 success, 1 failure, 2 bad usage or invalid input, 130 interrupted.\n");
}

int main(int argc, char **argv)
{
    rg_cli cli = {.prog = "ragged", .collection = "default", .format = RG_FORMAT_TEXT, .interrupted = &interrupted};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Global options before the command: --config FILE, --version, --help. */
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
            printf("ragged %s\n", RAGGED_VERSION);
            return 0;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            cli.config_path = argv[i + 1];
            i += 2;
            continue;
        }
        if (!strncmp(argv[i], "--config=", 9)) {
            cli.config_path = argv[i] + 9;
            i++;
            continue;
        }
        fprintf(stderr, "ragged: unknown option '%s' before the command\n", argv[i]);
        usage(stderr);
        return 2;
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[i];
    for (size_t c = 0; c < sizeof COMMANDS / sizeof COMMANDS[0]; c++) {
        if (strcmp(COMMANDS[c].name, name) != 0)
            continue;
        cli.command = name;
        int rc = COMMANDS[c].run(&cli, argc - i, argv + i);
        rg_config_free(cli.cfg);
        fflush(stdout);
        return rc;
    }
    fprintf(stderr, "ragged: unknown command '%s'\n\n", name);
    usage(stderr);
    return 2;
}
