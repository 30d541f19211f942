/* Line input for `ragged ask`: line editing and history with libedit
 * (opened with dlopen on first use, like libcurl) on a terminal, plain
 * lines from a pipe or file otherwise (scripts and tests). */
#ifndef RG_LINEEDIT_H
#define RG_LINEEDIT_H

#include <stdbool.h>
#include "error.h"

typedef struct rg_lineedit rg_lineedit;

/* interactive: use libedit (stdin is a terminal).  RG_ERR_UNAVAILABLE
 * naming the package when libedit cannot be loaded. */
rg_status rg_lineedit_open(bool interactive, rg_lineedit **out, rg_error *err);
void rg_lineedit_free(rg_lineedit *le);
/* The next line without its newline (caller frees), or NULL at end of
 * input. */
char *rg_lineedit_read(rg_lineedit *le, const char *prompt);
/* Adds a line to the in-memory history (Up/Down); no-op without libedit. */
void rg_lineedit_remember(rg_lineedit *le, const char *line);

#endif
