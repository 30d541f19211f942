/* Path selection rules in gitignore syntax: the lines of a .gitignore or
 * .ignore file, and the --include/--exclude globs of the command line.
 *
 * A rule set holds the rules of one file (or of the command line); each is
 * matched against a path relative to the directory the file sits in,
 * '/'-separated.  Semantics follow gitignore(5): blank lines and "#"
 * comments are skipped, "!" negates, a trailing "/" matches directories
 * only, a pattern with a "/" at its start or in its middle is anchored to
 * the file's directory while one without matches the name at any depth,
 * "**" matches any number of directories, and the last matching rule
 * wins.  Single segments are matched by fnmatch(3). */
#ifndef RG_IGNORE_H
#define RG_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rg_ignore rg_ignore;

typedef enum rg_ignore_verdict {
    RG_IGNORE_NONE,     /* no rule matched */
    RG_IGNORE_EXCLUDE,  /* the last matching rule excludes the path */
    RG_IGNORE_INCLUDE   /* the last matching rule is a negation ("!") */
} rg_ignore_verdict;

rg_ignore *rg_ignore_new(void);
void rg_ignore_free(rg_ignore *ig);
/* Adds one rule (a line of an ignore file, or a command-line glob). */
void rg_ignore_add(rg_ignore *ig, const char *line);
/* Adds every line of an ignore file's text. */
void rg_ignore_add_text(rg_ignore *ig, const char *text, size_t len);
size_t rg_ignore_count(const rg_ignore *ig);
/* rel: path relative to the rule set's directory, no leading "/". */
rg_ignore_verdict rg_ignore_match(const rg_ignore *ig, const char *rel, bool is_dir);

/* fnmatch(3) per '/'-separated segment, with "**" as a whole segment
 * matching zero or more segments.  Work is bounded: a pathological pattern
 * gives up (no match) rather than running for minutes. */
bool rg_glob_match(const char *pattern, const char *path);

#endif
