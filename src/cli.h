/* Shared pieces of the command-line front end: the command table, common
 * options and output helpers.  Each command lives in src/cmd_*.c and is
 * listed in the table in main.c. */
#ifndef RG_CLI_H
#define RG_CLI_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include "config.h"
#include "embedder.h"
#include "error.h"
#include "store.h"

typedef enum rg_output_format { RG_FORMAT_TEXT, RG_FORMAT_JSON } rg_output_format;

/* Options every command accepts; filled by rg_cli_parse_common. */
typedef struct rg_cli {
    const char *prog;           /* "ragged" */
    const char *command;        /* e.g. "query" or "collections list" */
    const char *config_path;    /* --config */
    const char *backend;        /* --backend (NULL: config) */
    const char *collection;     /* --collection (default "default") */
    bool collection_given;      /* --collection was on the command line */
    rg_output_format format;    /* --format text|json */
    bool quiet;                 /* --quiet: no progress */
    rg_config *cfg;             /* loaded lazily by rg_cli_config */
    volatile sig_atomic_t *interrupted;  /* set by SIGINT/SIGTERM */
    char **argv;                /* the command's argv (argv[0] = its name), to name a bad option */
    const struct rg_cli_command *commands;   /* the command table (help, completion) */
    size_t ncommands;
} rg_cli;

typedef struct rg_cli_command {
    const char *name;           /* "ingest", "collections", ... */
    const char *summary;        /* one line for `ragged --help` */
    int (*run)(rg_cli *cli, int argc, char **argv);   /* argv[0] is the command name */
    /* Sub-commands ("list create delete ..."), space-separated, or NULL.
     * Options are not listed here: completions and the man page read them
     * from each command's --help text, so they cannot drift from it. */
    const char *actions;
} rg_cli_command;

/* Loads the configuration once (applying --backend as a flag).  Returns NULL
 * after printing the error. */
rg_config *rg_cli_config(rg_cli *cli);
/* Opens the embedder, store and collection named by the options; prints
 * errors itself and returns the exit code (0 on success). */
int rg_cli_open_collection(rg_cli *cli, bool create, rg_embedder **emb, rg_store **store,
                           rg_collection **coll);

/* For commands that open an embedder without a collection (embed): when
 * --collection names an existing collection, its recorded embedder
 * settings go into the configuration (explicit settings win).  Returns the
 * exit code of a failure (0: applied or nothing to apply). */
int rg_cli_use_collection_settings(rg_cli *cli);
/* The same for the collection named --collection in backend (NULL: the
 * configured one), whether or not --collection was given (migrate); a
 * missing collection is an error only when must_exist. */
int rg_cli_use_collection_settings_in(rg_cli *cli, const char *backend, bool must_exist);

/* Prints "ragged: MESSAGE" to stderr and returns the exit code of the
 * status (JSON mode also writes {"error":...} to stdout). */
int rg_cli_fail(rg_cli *cli, const rg_error *err);
/* Same for a usage problem: message plus "see 'ragged CMD --help'"; exit 2. */
int rg_cli_usage_error(rg_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A whole decimal number from lo to hi in s (an option's argument). */
bool rg_cli_parse_long(const char *s, long lo, long hi, long *out);
/* Asks "PROMPT [y/N] " on the terminal and reads the answer; true only for
 * y or yes.  Only called when stdin and stderr are terminals. */
bool rg_cli_confirm(const char *prompt);
/* Whether to colour stdout for a --color value ("auto", "always",
 * "never"; NULL = auto): auto colours a terminal unless NO_COLOR is set
 * (https://no-color.org) or TERM is "dumb".  Returns -1 for an invalid
 * value. */
int rg_cli_color_choice(const char *value);
/* Runs the named command with --help and returns what it printed (for
 * `ragged help`, completions and the man page); NULL if unknown. */
char *rg_cli_command_help(rg_cli *cli, const rg_cli_command *cmd);
/* `ragged --help`: usage and the command table. */
void rg_cli_print_usage(const rg_cli *cli, FILE *out);
/* The command named name, or NULL. */
const rg_cli_command *rg_cli_find_command(const rg_cli *cli, const char *name);
/* The command closest to a mistyped name (edit distance at most 2, or a
 * unique prefix), or NULL. */
const rg_cli_command *rg_cli_suggest_command(const rg_cli *cli, const char *name);
/* " (did you mean 'ACTION'?)" for a mistyped sub-command of the current
 * command (its `actions` in the table), or "". */
const char *rg_cli_suggest_action(const rg_cli *cli, const char *word, char *buf, size_t n);
/* `config set`'s edit (cmd_config.c): the YAML text with the dotted key
 * set to value (YAML scalar text), nested as ragged's keys are, comments and
 * other lines kept.  New string; the caller verifies it loads. */
char *rg_config_yaml_set(const char *text, const char *key, const char *value);
/* Prints a JSON value to stdout (indent 2) and frees it. */
void rg_cli_print_json(json_t *v);
/* True if any argument is --help or -h. */
bool rg_cli_wants_help(int argc, char **argv);

/* The options every command accepts, for getopt_long tables:
 *   static const struct option opts[] = { RG_CLI_COMMON_OPTIONS, {"k", ...}, {0} };
 * and in the switch: default: if (rg_cli_common_option(cli, c, optarg, &rc)) break; return rc; */
#define RG_CLI_OPT_CONFIG 1001
#define RG_CLI_OPT_FORMAT 1002
#define RG_CLI_OPT_BACKEND 1003
#define RG_CLI_OPT_COLLECTION 1004
#define RG_CLI_OPT_QUIET 1005
#define RG_CLI_OPT_HELP 'h'
#define RG_CLI_COMMON_OPTIONS                                                                  \
    {"config", required_argument, NULL, RG_CLI_OPT_CONFIG},                                    \
        {"format", required_argument, NULL, RG_CLI_OPT_FORMAT},                                \
        {"backend", required_argument, NULL, RG_CLI_OPT_BACKEND},                              \
        {"collection", required_argument, NULL, RG_CLI_OPT_COLLECTION},                        \
        {"quiet", no_argument, NULL, RG_CLI_OPT_QUIET}, {"help", no_argument, NULL, RG_CLI_OPT_HELP}
#define RG_CLI_COMMON_HELP                                                                     \
    "Common options:\n"                                                                        \
    "  --config FILE        configuration file (default: $RAGGED_CONFIG, ./ragged.yml,\n"       \
    "                       $XDG_CONFIG_HOME/ragged/config.yml)\n"                             \
    "  --backend NAME       leann, chromadb or exact (default: vectorstore.backend)\n"          \
    "  --collection NAME    collection to use (default: default)\n"                            \
    "  --format text|json   output format (default: text)\n"                                    \
    "  --quiet              no progress on stderr\n"                                            \
    "  -h, --help           this help\n"                                                        \
    "Exit codes: 0 success, 1 failure (I/O, server, corrupt store, ...), 2 bad usage or\n"      \
    "invalid input, 130 interrupted.\n"
/* Handles a common option.  Returns true if handled; false with *exit_code
 * set when the option is unknown or its value invalid (the message is
 * printed). */
bool rg_cli_common_option(rg_cli *cli, int opt, const char *arg, int *exit_code);
/* Resets getopt for a command's parser and runs getopt_long over argv. */
void rg_cli_getopt_reset(void);

/* Progress on stderr: redrawn in place on a terminal, a line every few
 * seconds otherwise, nothing with --quiet. */
typedef struct rg_progress rg_progress;
rg_progress *rg_progress_new(const rg_cli *cli, const char *phase, int64_t total);
void rg_progress_update(rg_progress *p, int64_t done, const char *detail);
void rg_progress_phase(rg_progress *p, const char *phase, int64_t total);
void rg_progress_set_total(rg_progress *p, int64_t total);
void rg_progress_free(rg_progress *p);   /* finishes the line */

#endif
