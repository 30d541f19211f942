/* The ingest pipeline: walk paths -> read -> chunk -> embed -> store.
 * Re-ingesting an unchanged file does nothing; a changed file's chunks are
 * replaced; with prune, chunks of files that no longer exist are removed. */
#ifndef RG_INGEST_H
#define RG_INGEST_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "store.h"

typedef struct rg_ingest_report {
    int64_t files_total;        /* candidate files found by the walk */
    int64_t files_done;
    int64_t files_ingested;     /* new or changed */
    int64_t files_unchanged;
    int64_t files_skipped;      /* unreadable, binary, too large, no text (with a warning) */
    int64_t files_ignored;      /* found by walking, of a kind ragged does not read (no warning) */
    int64_t chunks_written;
    int64_t chunks_removed;
    int64_t documents_pruned;
    json_t *warnings;           /* [{"path":..., "reason":...}] */
} rg_ingest_report;

typedef struct rg_ingest_opts {
    bool prune;
    /* Checked between files; set by the SIGINT/SIGTERM handler. */
    volatile sig_atomic_t *interrupted;
    /* Called after every file (may be NULL). */
    void (*on_progress)(void *ctx, const rg_ingest_report *r, const char *current);
    void *progress_ctx;
    /* Called for each skipped file as it happens (may be NULL). */
    void (*on_warning)(void *ctx, const char *path, const char *reason);
} rg_ingest_opts;

void rg_ingest_report_init(rg_ingest_report *r);
void rg_ingest_report_free(rg_ingest_report *r);

rg_status rg_ingest(rg_collection *c, const rg_config *cfg, const char *const *paths, size_t npaths,
                    const rg_ingest_opts *opts, rg_ingest_report *report, rg_error *err);

/* Stable id of a document (hex of its absolute path's hash). */
void rg_document_id(const char *abs_path, char out[17]);

/* The id ingest gives a chunk, DOCID-NNNNN, from the document_id and
 * chunk_position members of its metadata; false when either is missing or
 * not of ingest's form.  Backends use it to avoid storing ids they can
 * rebuild (leann). */
#define RG_CHUNK_ID_MAX 48
bool rg_chunk_id_from_metadata(const json_t *metadata, char out[RG_CHUNK_ID_MAX]);

#endif
