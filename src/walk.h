/* Finding the files an ingest reads: walking the paths given on the command
 * line, applying the selection rules (hidden entries, node_modules,
 * .gitignore/.ignore, --include/--exclude), following symbolic links safely
 * and reading every file once.
 *
 * The walk never ends a run: whatever goes wrong with one entry is a
 * warning naming it.  Paths named on the command line that cannot be read
 * are counted in failed_args (the command exits 1 after doing the rest, as
 * cp and rg do). */
#ifndef RG_WALK_H
#define RG_WALK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rg_walk_opts {
    const char *const *include;   /* --include GLOBs: when any, only files matching one are read */
    size_t ninclude;
    const char *const *exclude;   /* --exclude GLOBs: files and directories never read */
    size_t nexclude;
    bool no_ignore;               /* --no-ignore: .gitignore and .ignore files are not read */
    bool follow;                  /* --follow: symbolic links may lead out of the given roots */
    volatile sig_atomic_t *interrupted;
    /* path is raw (may not be UTF-8); the callee escapes it for display. */
    void (*on_warning)(void *ctx, const char *path, const char *reason);
    void (*on_progress)(void *ctx, int64_t found);
    void *ctx;
} rg_walk_opts;

typedef struct rg_walk_file {
    char *path;           /* absolute, symbolic links resolved: the document's identity */
    const char *reader;   /* reader name, NULL when none claims the file (named explicitly) */
    bool named;           /* given on the command line */
} rg_walk_file;

typedef struct rg_walk_result {
    rg_walk_file *files;  /* in walk order: arguments in order, directories sorted */
    size_t nfiles, capfiles;
    char **roots;         /* resolved paths of the arguments that could be read */
    size_t nroots;
    char **unreadable;    /* directories that could not be listed: what is under them is unknown */
    size_t nunreadable, capunreadable;
    int64_t ignored;      /* regular files of a kind no reader claims (no warning) */
    int64_t excluded;     /* entries passed over by the selection rules (hidden, ignore files, globs) */
    int64_t duplicates;   /* files reached a second time (links, repeated or overlapping arguments) */
    int64_t warnings;     /* entries reported through on_warning */
    size_t failed_args;   /* command-line paths that could not be read or are not files/directories */
} rg_walk_result;

/* Walks paths[0..n).  Returns false only when interrupted. */
bool rg_walk(const char *const *paths, size_t n, const rg_walk_opts *o, rg_walk_result *out);
void rg_walk_result_free(rg_walk_result *r);
/* Whether path lies under a directory that could not be listed. */
bool rg_walk_under_unreadable(const rg_walk_result *r, const char *path);
/* path equals root or lies below it. */
bool rg_path_inside(const char *path, const char *root);

/* The lossless text form of a file name for metadata and display: a name
 * that is valid UTF-8 without control characters or backslashes is kept as
 * is; otherwise each backslash becomes "\\" and each invalid or control byte
 * "\xHH".  rg_path_unescape inverts it exactly (any other backslash is kept
 * literally).  Both return malloc'd strings. */
char *rg_path_escape(const char *raw);
char *rg_path_unescape(const char *escaped);

#endif
