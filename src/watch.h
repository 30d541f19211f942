/* Incremental re-ingest on change: `ragged watch PATHS` and
 * `ragged serve --watch`.  A thread ingests the paths once, then waits for
 * changes (inotify on Linux, every directory below the paths; elsewhere a
 * rescan every few seconds), lets them settle for debounce_ms and ingests
 * again with prune, so deleted files leave the collection.  Ingest is
 * incremental: unchanged files cost a hash.  Files changing while they are
 * read are picked up by the next round (the change event comes after). */
#ifndef RG_WATCH_H
#define RG_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "error.h"

typedef struct rg_watch_opts {
    const rg_config *cfg;        /* borrowed; outlives the watch */
    const char *collection;
    const char *backend;         /* NULL: vectorstore.backend */
    const char *const *paths;
    size_t npaths;
    unsigned debounce_ms;        /* 0: 500 */
    bool quiet;                  /* no progress lines on stderr */
    volatile sig_atomic_t *stop; /* polled; set: the thread ends */
    /* Called after every round that changed the collection (may be NULL). */
    void (*on_change)(void *ctx);
    void *ctx;
} rg_watch_opts;

typedef struct rg_watch rg_watch;

/* Checks the paths exist and starts the thread. */
rg_status rg_watch_start(const rg_watch_opts *o, rg_watch **out, rg_error *err);
/* Ends the thread (after the round in progress, which stops between files)
 * and frees.  Returns the status of the last round. */
rg_status rg_watch_stop(rg_watch *w);
/* Rounds run so far (tests wait on it). */
unsigned rg_watch_rounds(rg_watch *w);

#endif
