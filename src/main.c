/* ragged: the command-line entry point and command table. */
#include <signal.h>
#include <stdio.h>
#ifdef __GLIBC__ /* defined by the libc headers above */
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "ragged.h"
#include "cli.h"
#include "util.h"

int rg_cmd_ingest(rg_cli *cli, int argc, char **argv);
int rg_cmd_query(rg_cli *cli, int argc, char **argv);
int rg_cmd_collections(rg_cli *cli, int argc, char **argv);
int rg_cmd_config(rg_cli *cli, int argc, char **argv);
int rg_cmd_backend(rg_cli *cli, int argc, char **argv);
int rg_cmd_embed(rg_cli *cli, int argc, char **argv);
int rg_cmd_model(rg_cli *cli, int argc, char **argv);
int rg_cmd_migrate(rg_cli *cli, int argc, char **argv);
int rg_cmd_eval(rg_cli *cli, int argc, char **argv);
int rg_cmd_help(rg_cli *cli, int argc, char **argv);
int rg_cmd_completion(rg_cli *cli, int argc, char **argv);
int rg_cmd_serve(rg_cli *cli, int argc, char **argv);
int rg_cmd_mcp(rg_cli *cli, int argc, char **argv);
int rg_cmd_watch(rg_cli *cli, int argc, char **argv);
int rg_cmd_ask(rg_cli *cli, int argc, char **argv);

static const rg_cli_command COMMANDS[] = {
    {"ingest", "read files and store their chunks in a collection", rg_cmd_ingest, NULL},
    {"query", "find the passages that best match a question", rg_cmd_query, NULL},
    {"collections", "list, create, delete or describe collections", rg_cmd_collections,
     "list create delete info compact check reindex"},
    {"migrate", "copy a collection to another backend (staged, verified, rolled back on failure)", rg_cmd_migrate,
     NULL},
    {"config", "show, validate, create, read or change the configuration", rg_cmd_config,
     "show validate init schema get set"},
    {"backend", "compare backends side by side, or show their storage statistics", rg_cmd_backend,
     "stats compare"},
    {"embed", "embed one text and print the vector (dimension, norm, values)", rg_cmd_embed, NULL},
    {"model", "describe a sentence-transformers model directory (model info PATH)", rg_cmd_model, "info"},
    {"eval", "measure retrieval quality on a BEIR dataset (nDCG@10, Recall@100)", rg_cmd_eval, NULL},
    {"serve", "serve search, answers and ingest over HTTP (API, web page, MCP) with models kept loaded", rg_cmd_serve,
     NULL},
    {"mcp", "Model Context Protocol server on stdin/stdout (tools: search, ask, list_collections, ingest)", rg_cmd_mcp,
     NULL},
    {"watch", "ingest paths, then re-ingest them whenever files change (deletions pruned)", rg_cmd_watch, NULL},
    {"ask", "a conversation with the LLM over a collection (follow-ups, -c continues the last one)", rg_cmd_ask, NULL},
    {"help", "show the help of ragged or of a command (help COMMAND), or the man page (help --man)", rg_cmd_help,
     NULL},
    {"completion", "print a shell completion script (completion bash|zsh|fish)", rg_cmd_completion,
     "bash zsh fish"},
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

int main(int argc, char **argv)
{
    rg_cli cli = {.prog = "ragged",
                  .collection = "default",
                  .format = RG_FORMAT_TEXT,
                  .interrupted = &interrupted,
                  .commands = COMMANDS,
                  .ncommands = sizeof COMMANDS / sizeof COMMANDS[0]};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
    /* glibc raises its mmap threshold each time a large block is freed (up
     * to 32 MB); from then on batch-sized blocks come from the heap, and
     * what they leave free stays resident in pieces the next batch cannot
     * always reuse.  A 291K-chunk leann ingest peaked at 430 MB so, 349 MB
     * with a fixed 128 KB threshold (large blocks mapped and unmapped) and
     * the heap's top trimmed above 128 KB, for about 2% more CPU
     * (bench/scale/RESULTS-build.md).  A setting of this process, not of
     * the library: programs linking libragged choose their own. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif

    /* Global options before the command: --config FILE, --version, --help. */
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
            printf("ragged %s\n", RAGGED_VERSION);
            return 0;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            rg_cli_print_usage(&cli, stdout);
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
        fputs("ragged: unknown option '", stderr);
        rg_fputs_escaped(argv[i], stderr);
        fputs("' before the command\n", stderr);
        rg_cli_print_usage(&cli, stderr);
        return 2;
    }
    if (i >= argc) {
        rg_cli_print_usage(&cli, stderr);
        return 2;
    }
    const char *name = argv[i];
    const rg_cli_command *cmd = rg_cli_find_command(&cli, name);
    if (cmd) {
        cli.command = name;
        cli.argv = argv + i;
        int rc = cmd->run(&cli, argc - i, argv + i);
        rg_config_free(cli.cfg);
        fflush(stdout);
        return rc;
    }
    fputs("ragged: unknown command '", stderr);
    rg_fputs_escaped(name, stderr);
    fputs("'", stderr);
    const rg_cli_command *near = rg_cli_suggest_command(&cli, name);
    if (near)
        fprintf(stderr, "; did you mean '%s'?\n", near->name);
    else
        fputs("\n\n", stderr);
    if (!near)
        rg_cli_print_usage(&cli, stderr);
    else
        fputs("Run 'ragged help' for the list of commands.\n", stderr);
    return 2;
}
