/* The lexical (BM25) index of a collection: ragged's own segment files of
 * compressed postings (bm25.h) plus a small SQLite file holding the
 * manifest (which segments, their tombstones, the live statistics) and the
 * write journal.  It keeps no copy of the collection's passages or
 * metadata: filters are resolved by the backend (the caller passes the ids
 * that match), and a rebuild reads the passages back from the backend.
 *
 * The generic store layer (store.c) owns one index per collection and
 * keeps it in step; this file knows nothing about backends.  It reads the
 * backend through an rg_lexical_source when it has to catch up.
 *
 * Keeping in step (the guarantees):
 * - every write goes begin -> backend write -> put/remove -> end.  begin
 *   commits a journal entry (the ids about to change, or "unknown set")
 *   before the backend is touched; put/remove write a new segment file
 *   (fsynced) and then, in one SQLite transaction, the new manifest and the
 *   cleared entry.  An exclusive lock file is held from begin to end, so
 *   journal entries seen by anyone else under the lock belong to writers
 *   that died or failed.
 * - rg_lexical_sync (every write starts with it, ingest ends with it,
 *   `collections reindex` runs it; a query never does) replays
 *   leftover journal entries by re-reading those ids from the backend (or
 *   rebuilds everything for an unknown set), and, when asked, compares the
 *   record counts and rebuilds on a difference: that catches a missing or
 *   deleted index and records added or deleted by another tool.  Not
 *   caught: another tool replacing the text of an existing id in place;
 *   rg_lexical_rebuild fixes that.
 * - files: DIR/NAME.bm25/ holds index.sqlite, lock and GEN.seg segments;
 *   a rename or removal of the collection's index is one directory
 *   operation.  A file from the FTS5 sidecar of earlier versions
 *   (DIR/NAME.fts.sqlite) is converted on first open (its stored terms are
 *   re-indexed; no backend read) and removed. */
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

/* Opens (creating its directory if needed) the index whose files start
 * with base (DIR/NAME).  A new index, or one made with another stemmer or
 * format, is marked for a full rebuild at the next sync; an FTS5 sidecar
 * of an earlier version is converted. */
rg_status rg_lexical_open(const char *base, const rg_lexical_params *params, rg_lexical **out, rg_error *err);
/* Whether that open converted an FTS5 sidecar (no backend read needed). */
bool rg_lexical_converted(const rg_lexical *lx);

/* What a query finds (docs/bm25.md, "Queries never write"). */
typedef enum rg_lexical_state {
    RG_LEXICAL_READY,          /* in step, or a writer is at work: its last commit is the answer */
    RG_LEXICAL_MISSING,        /* no index */
    RG_LEXICAL_OLD_FORMAT,     /* an FTS5 sidecar or segment format 1: a write or reindex converts it */
    RG_LEXICAL_OTHER_STEMMER,  /* built with another retrieval.bm25_stemmer */
    RG_LEXICAL_UNBUILT,        /* marked for a rebuild, or a delete by filter did not finish */
    RG_LEXICAL_UNFINISHED,     /* a write did not finish (its ids are in the journal) */
    RG_LEXICAL_BEHIND          /* record counts differ from the backend's (another tool wrote) */
} rg_lexical_state;

/* The query side's open: never creates, converts or marks anything.  *out
 * is NULL unless *state is RG_LEXICAL_READY. */
rg_status rg_lexical_open_reader(const char *base, const rg_lexical_params *params, rg_lexical **out,
                                 rg_lexical_state *state, rg_error *err);
/* Whether a query may read lx: journal entries left by a writer that is
 * gone, and (check_count) the record counts against src.  Writes nothing;
 * holds a shared lock for the moment of the check.  *indexed and *stored
 * are the counts when compared (else -1). */
rg_status rg_lexical_query_state(rg_lexical *lx, const rg_lexical_source *src, bool check_count,
                                 rg_lexical_state *state, int64_t *indexed, int64_t *stored, rg_error *err);
void rg_lexical_close(rg_lexical *lx);
/* Removes the index's files (and an old sidecar's); missing files are fine. */
void rg_lexical_remove_files(const char *base);
/* Moves the index's files (one directory rename); on failure removes both
 * (it is rebuilt later). */
void rg_lexical_rename_files(const char *from, const char *to);
/* The collection name a file name in the index directory belongs to
 * (malloc'd), or NULL for other files. */
char *rg_lexical_file_collection(const char *filename);

/* The write protocol.  ids NULL: the set is not known in advance (delete
 * by filter).  *op identifies the journal entry. */
rg_status rg_lexical_begin(rg_lexical *lx, const char *const *ids, size_t nids, int64_t *op, rg_error *err);
/* Inserts or replaces records (id, document, metadata) and clears op. */
rg_status rg_lexical_put(rg_lexical *lx, int64_t op, const rg_record *recs, size_t n, rg_error *err);
/* Removes ids (absent ones are ignored) and clears op. */
rg_status rg_lexical_remove(rg_lexical *lx, int64_t op, const char *const *ids, size_t nids, rg_error *err);
/* put and remove in one step (a changed file's new chunks and the
 * removal of its old surplus ones). */
rg_status rg_lexical_replace(rg_lexical *lx, int64_t op, const rg_record *recs, size_t n, const char *const *del,
                             size_t ndel, rg_error *err);
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

/* Top k by BM25.  allow NULL: every record; else only the nallow ids
 * listed (the records a filter matched, as the backend says).  Hits carry
 * ids only, distance = -BM25 score (so ascending distance = best first;
 * ties by id).  A text without any searchable term gives no hits.  A text
 * longer than RG_LEXICAL_QUERY_MAX is RG_ERR_INVALID.  BM25: Lucene's IDF
 * log(1 + (N - df + 0.5) / (df + 0.5)) over live records, each distinct
 * query term weighted by how often the query repeats it. */
rg_status rg_lexical_search(rg_lexical *lx, const char *text, int k, const char *const *allow, size_t nallow,
                            rg_hits *out, rg_error *err);
rg_status rg_lexical_count(rg_lexical *lx, int64_t *out, rg_error *err);
/* Bytes on disk (index and a not yet converted old sidecar). */
int64_t rg_lexical_bytes(const char *base);
/* Adds the index's components (bm25-segments, bm25-manifest) and bytes to
 * s and details (segments, live and deleted records) to s->details. */
rg_status rg_lexical_stats(rg_lexical *lx, rg_store_stats *s, rg_error *err);
/* Checks every byte of every segment against its checksums and decodes
 * every postings list. */
rg_status rg_lexical_verify(rg_lexical *lx, rg_error *err);

/* Verifies the index whose files start with base without changing it
 * (SQLite's integrity check of the manifest database, every segment byte
 * against its checksum, every postings list decoded, ids unique); appends
 * {"component": "bm25", "ok", "detail"} to report.  No index yet is fine
 * (it is built on first use). */
rg_status rg_lexical_check(const char *path, json_t *report);

#endif
