/* Result codes and error messages shared by every subsystem.
 *
 * Every fallible function returns an rg_status and, on failure, fills the
 * caller's rg_error with a message meant for the user: what went wrong and,
 * where we know it, how to fix it.  No global error state (SQLite style, but
 * the message lives with the caller so threads never share it). */
#ifndef RG_ERROR_H
#define RG_ERROR_H

#include <stdarg.h>

typedef enum rg_status {
    RG_OK = 0,
    RG_ERR_INVALID,      /* bad input from the user: arguments, config, filter */
    RG_ERR_IO,           /* file system */
    RG_ERR_CORRUPT,      /* a file we own is damaged, truncated or foreign */
    RG_ERR_NOTFOUND,     /* collection, record, file or model missing */
    RG_ERR_EXISTS,       /* refusing to overwrite */
    RG_ERR_MISMATCH,     /* e.g. collection built with another embedder */
    RG_ERR_UNAVAILABLE,  /* feature not compiled in / not implemented yet */
    RG_ERR_NETWORK,      /* cannot reach a server */
    RG_ERR_SERVER,       /* a server answered with an error */
    RG_ERR_LOCKED,       /* another process holds the collection */
    RG_ERR_NOMEM,
    RG_ERR_INTERRUPTED,  /* SIGINT/SIGTERM */
    RG_ERR_INTERNAL
} rg_status;

#define RG_ERROR_MSG_MAX 1024

typedef struct rg_error {
    rg_status code;
    char msg[RG_ERROR_MSG_MAX];
} rg_error;

/* Sets code and message; returns code so callers can `return rg_error_set(...)`.
 * err may be NULL. */
rg_status rg_error_set(rg_error *err, rg_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
rg_status rg_error_setv(rg_error *err, rg_status code, const char *fmt, va_list ap);
/* Prefixes an existing message: "context: old message". */
rg_status rg_error_prefix(rg_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rg_error_clear(rg_error *err);
const char *rg_status_name(rg_status code);

/* CLI exit code for a status: 1 for runtime failures, 2 for bad usage/input. */
int rg_status_exit_code(rg_status code);

#endif
