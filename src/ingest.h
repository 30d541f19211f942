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
#include "walk.h"

/* The phases of a run, for progress.  Reading, embedding and storing
 * alternate: files are read until a batch of chunks is full, then the
 * batch is embedded and stored. */
typedef enum rg_ingest_phase {
    RG_INGEST_WALK,     /* done: files found so far; total unknown (0) */
    RG_INGEST_READ,     /* done/total: files */
    RG_INGEST_EMBED,    /* done/total: chunks of the current batch */
    RG_INGEST_STORE,    /* done/total: records of the current batch written (0 then n) */
    RG_INGEST_PRUNE,    /* done/total: documents checked */
} rg_ingest_phase;

const char *rg_ingest_phase_name(rg_ingest_phase p);

typedef struct rg_ingest_report {
    int64_t files_total;        /* candidate files found by the walk */
    int64_t files_done;
    int64_t files_ingested;     /* new or changed */
    int64_t files_unchanged;
    int64_t files_skipped;      /* unreadable, binary, too large, no text (with a warning) */
    int64_t files_ignored;      /* found by walking, of a kind ragged does not read (no warning) */
    int64_t files_excluded;     /* passed over by the selection rules (hidden, ignore files, globs) */
    int64_t files_duplicate;    /* reached a second time (links, repeated or overlapping paths): read once */
    int64_t named_failed;       /* paths named on the command line that could not be read */
    int64_t chunks_written;
    int64_t chunks_removed;
    int64_t documents_pruned;
    int64_t chunks_embedded;
    json_t *warnings;           /* [{"path":..., "reason":...}], path escaped (rg_path_escape) */
} rg_ingest_report;

typedef struct rg_ingest_opts {
    bool prune;
    /* Checked between files; set by the SIGINT/SIGTERM handler. */
    volatile sig_atomic_t *interrupted;
    /* Called as work advances inside every phase (may be NULL).  In the
     * store phase, current names the backend's step ("building the graph")
     * and done/total count within it; otherwise it is NULL. */
    void (*on_progress)(void *ctx, rg_ingest_phase phase, int64_t done, int64_t total, const char *current);
    void *progress_ctx;
    /* Called for each skipped file as it happens (may be NULL); path escaped. */
    void (*on_warning)(void *ctx, const char *path, const char *reason);
    /* Called for each file read and stored or found unchanged (may be NULL). */
    void (*on_file)(void *ctx, const char *path, const char *what, size_t chunks);
} rg_ingest_opts;

void rg_ingest_report_init(rg_ingest_report *r);
void rg_ingest_report_free(rg_ingest_report *r);
/* Records a warning (path raw, escaped here) and calls opts->on_warning. */
void rg_ingest_warn(const rg_ingest_opts *o, rg_ingest_report *r, const char *path, const char *reason);
/* Copies the walk's counts into the report. */
void rg_ingest_report_walk(rg_ingest_report *r, const rg_walk_result *w);

/* Reads, chunks, embeds and stores the files the walk found; with
 * opts->prune removes documents under the walk's roots whose file is gone
 * (a file that cannot be checked, or lies under a directory the walk could
 * not list, is kept). */
rg_status rg_ingest(rg_collection *c, const rg_config *cfg, const rg_walk_result *files, const rg_ingest_opts *opts,
                    rg_ingest_report *report, rg_error *err);

/* rg_walk with the default selection (as `ragged ingest PATHS` without
 * selection flags; the walk's warnings go into the report), then rg_ingest:
 * for callers without a command line (serve's ingest jobs, watch, backend
 * compare).  An interrupted walk stores nothing and is RG_ERR_INTERRUPTED. */
rg_status rg_ingest_paths(rg_collection *c, const rg_config *cfg, const char *const *paths, size_t npaths,
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
