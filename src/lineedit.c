/* Line input (see lineedit.h).  libedit's readline-compatible API: one
 * editor per process (its state is global inside the library), which is
 * why ragged opens at most one rg_lineedit at a time. */
#include "lineedit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <editline/readline.h>

#include "dynlib.h"
#include "util.h"

#ifndef RG_EDIT_SONAME
#error "RG_EDIT_SONAME is not set: mk/dynlib.mk reads it from libedit's development package"
#endif
#ifndef RG_EDIT_PACKAGE
#define RG_EDIT_PACKAGE ""
#endif

#define EDIT_FUNCS(X)                                                                                                  \
    X(readline)                                                                                                        \
    X(add_history)                                                                                                     \
    X(using_history)

typedef struct edit_api {
#define X(f) __typeof__(f) *f;
    EDIT_FUNCS(X)
#undef X
} edit_api;

enum {
#define X(f) EDIT_FUNC_##f,
    EDIT_FUNCS(X)
#undef X
    EDIT_NFUNCS
};

struct rg_lineedit {
    bool interactive;
    edit_api api;
};

rg_status rg_lineedit_open(bool interactive, rg_lineedit **out, rg_error *err)
{
    rg_lineedit *le = rg_xcalloc(1, sizeof *le);
    le->interactive = interactive;
    if (interactive) {
        static const rg_dynlib lib = {RG_EDIT_SONAME, RG_EDIT_PACKAGE, "line editing in ragged ask"};
        static const char *const names[] = {
#define X(f) #f,
            EDIT_FUNCS(X)
#undef X
        };
        void *syms[EDIT_NFUNCS];
        rg_status st = rg_dynlib_load(&lib, names, EDIT_NFUNCS, syms, err);
        if (st != RG_OK) {
            free(le);
            return st;
        }
#define X(f) le->api.f = (__typeof__(le->api.f))syms[EDIT_FUNC_##f];
        EDIT_FUNCS(X)
#undef X
        le->api.using_history();
    }
    *out = le;
    return RG_OK;
}

void rg_lineedit_free(rg_lineedit *le)
{
    free(le);
}

char *rg_lineedit_read(rg_lineedit *le, const char *prompt)
{
    if (le->interactive)
        return le->api.readline(prompt);   /* malloc'd by libedit, freed with free() */
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

void rg_lineedit_remember(rg_lineedit *le, const char *line)
{
    if (le->interactive && *line)
        le->api.add_history(line);
}
