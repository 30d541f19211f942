/* The lexical (BM25) index of a collection: a SQLite FTS5 sidecar database
 * that shadows the backend's records (id, analysed text, metadata) so that
 * BM25 search and metadata filters work the same for every backend.
 *
 * The generic store layer (store.c) owns one sidecar per collection and
 * keeps it in step; this file knows nothing about backends.  It reads the
 * backend through an rg_lexical_source when it has to catch up.
 *
 * Keeping in step (the guarantees):
 * - every write goes begin -> backend write -> put/remove -> end.  begin
 *   commits a journal entry (the ids about to change, or "unknown set" for a
 *   delete by filter) before the backend is touched; put/remove apply the
 *   change and clear the entry in one transaction.  An exclusive lock file
 *   is held from begin to end, so journal entries seen by anyone else under
 *   the lock belong to writers that died or failed.
 * - rg_lexical_sync (before a search) replays leftover journal entries by
 *   re-reading those ids from the backend (or rebuilds everything for an
 *   unknown set), and, when asked, compares the record counts and rebuilds
 *   on a difference: that catches a missing or deleted sidecar and records
 *   added or deleted by another tool.  Not caught: another tool replacing
 *   the text of an existing id in place; rg_lexical_rebuild (`ragged
 *   collections reindex`-style callers) fixes that. */
#ifndef RG_LEXICAL_H
#define RG_LEXICAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "filter.h"
#include "store.h"

typedef struct rg_lexical rg_lexical;

/* BM25 parameters and the stemmer; the stemmer is part of the index (a
 * change rebuilds it), k1 and b are applied at query time. */
typedef struct rg_lexical_params {
    char stemmer[16];   /* english | porter | none */
    double k1, b;
} rg_lexical_params;

/* How the index reads the collection it shadows. */
typedef struct rg_lexical_source {
    /* ids NULL: all records, paged by offset/limit; include documents and
     * metadata. */
    rg_status (*get)(void *ctx, const char *const *ids, size_t nids, size_t offset, size_t limit,
                     rg_record_batch *out, rg_error *err);
    rg_status (*count)(void *ctx, int64_t *out, rg_error *err);
    void *ctx;
} rg_lexical_source;

/* Opens (creating the file and its directory if needed) the sidecar at
 * path.  A new file, or one made with another stemmer or format, is marked
 * for a full rebuild at the next sync. */
rg_status rg_lexical_open(const char *path, const rg_lexical_params *params, rg_lexical **out, rg_error *err);
void rg_lexical_close(rg_lexical *lx);
/* Removes the sidecar's files (database, WAL, lock); missing files are fine. */
void rg_lexical_remove_files(const char *path);
/* Moves the sidecar's files; on failure removes both (it is rebuilt later). */
void rg_lexical_rename_files(const char *from, const char *to);

/* The write protocol.  ids NULL: the set is not known in advance (delete
 * by filter).  *op identifies the journal entry. */
rg_status rg_lexical_begin(rg_lexical *lx, const char *const *ids, size_t nids, int64_t *op, rg_error *err);
/* Inserts or replaces records (id, document, metadata) and clears op. */
rg_status rg_lexical_put(rg_lexical *lx, int64_t op, const rg_record *recs, size_t n, rg_error *err);
/* Removes ids, or (ids NULL) the records matching where, and clears op. */
rg_status rg_lexical_remove(rg_lexical *lx, int64_t op, const char *const *ids, size_t nids, const rg_filter *where,
                            rg_error *err);
/* Releases the lock taken by begin (the journal entry stays if put/remove
 * was not reached). */
void rg_lexical_end(rg_lexical *lx);

/* Brings the index in step with src (see above).  *rebuilt (may be NULL)
 * tells whether a full rebuild happened. */
rg_status rg_lexical_sync(rg_lexical *lx, const rg_lexical_source *src, bool check_count, bool *rebuilt,
                          rg_error *err);
rg_status rg_lexical_rebuild(rg_lexical *lx, const rg_lexical_source *src, rg_error *err);
/* A new sidecar is marked for a full rebuild.  When the index and the
 * backend are both empty, the rebuild would give the empty index there
 * already is: the mark is dropped, so the first search after a fresh ingest
 * does not analyse every passage a second time. */
rg_status rg_lexical_settle_empty(rg_lexical *lx, const rg_lexical_source *src, rg_error *err);

/* The longest query text BM25 accepts (bytes): far more than any question,
 * small enough that a pasted document cannot make one query take seconds. */
#define RG_LEXICAL_QUERY_MAX 16384

/* Top k by BM25 among records matching where (NULL: all).  A text longer
 * than RG_LEXICAL_QUERY_MAX is RG_ERR_INVALID.  Hits carry ids
 * only, distance = -BM25 score (so ascending distance = best first; ties by
 * id).  A text without any searchable term gives no hits. */
rg_status rg_lexical_search(rg_lexical *lx, const char *text, int k, const rg_filter *where, rg_hits *out,
                            rg_error *err);
rg_status rg_lexical_count(rg_lexical *lx, int64_t *out, rg_error *err);
int64_t rg_lexical_bytes(const char *path);

#endif
