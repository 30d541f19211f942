/* Optional shared libraries opened on first use instead of linked.
 *
 * poppler-glib (PDF), OpenBLAS (BERT models) and libcurl (ChromaDB, remote
 * embedders, LLM) bring about 70 shared libraries with them; the dynamic
 * loader relocating them (and OpenBLAS starting its threads) was most of
 * the CPU time of a one-shot `ragged query`, which never calls them
 * (bench/startup/).  Each user loads its library through rg_dynlib_load
 * when it first needs it.  The soname and the Debian package come from the
 * build (mk/dynlib.mk), so what is opened is the library the headers
 * belong to, never a guessed file name. */
#ifndef RG_DYNLIB_H
#define RG_DYNLIB_H

#include <stddef.h>
#include "error.h"

typedef struct rg_dynlib {
    const char *soname;     /* e.g. "libcurl.so.4" */
    const char *package;    /* the Debian package that ships it, e.g. "libcurl4"; "" when unknown */
    const char *needed_for; /* what the user asked for, e.g. "reading PDF files" */
} rg_dynlib;

/* Opens lib->soname and resolves names[0..n-1] into syms[0..n-1].  On
 * failure it returns RG_ERR_UNAVAILABLE with one message naming the
 * library, why it cannot be used and the package to install.  The library
 * stays loaded for the life of the process (see dynlib.c). */
rg_status rg_dynlib_load(const rg_dynlib *lib, const char *const *names, size_t n, void **syms, rg_error *err);

#endif
