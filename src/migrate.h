/* Migration of one collection between two backends (or two names in one
 * backend): streamed in pages, written to a staging collection, optionally
 * verified, then published by rename.  Library level: no printing; the
 * caller gets progress and notices through callbacks and a report.
 *
 * Guarantees (docs/migration.md has the whole story):
 * - the source is only read, never written;
 * - the target name shows either its previous content (or nothing) or the
 *   complete new content: records go to TARGET.rgmig-staging-PID, which is
 *   renamed to TARGET only after every record is written (and verified with
 *   opts.verify);
 * - overwrite renames the old target to TARGET.rgmig-backup-PID first,
 *   publishes, then deletes the backup; a failure in between renames the
 *   backup back;
 * - any failure or interruption removes the staging collection;
 * - leftovers of a killed run (staging or backup names whose process is
 *   gone) are found in the target backend at the start of the next run:
 *   staging is deleted, a backup whose target is missing is renamed back
 *   (the old target returns), a backup next to a published target is
 *   deleted. */
#ifndef RG_MIGRATE_H
#define RG_MIGRATE_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "store.h"

/* RG_MIGRATE_STAGING_TAG and RG_MIGRATE_BACKUP_TAG are in store.h: the
 * names are reserved for migrate (rg_collection_name_check_new). */

typedef enum rg_migrate_phase {
    RG_MIGRATE_RECOVER,   /* cleaning leftovers of a killed run */
    RG_MIGRATE_READ,      /* paging through the source */
    RG_MIGRATE_EMBED,     /* computing vectors with the target's embedder */
    RG_MIGRATE_WRITE,     /* adding a page to the staging collection */
    RG_MIGRATE_BUILD,     /* compacting / rebuilding the staging index */
    RG_MIGRATE_VERIFY,    /* comparing staging with the source, record by record */
    RG_MIGRATE_QUERIES,   /* verification: top-k overlap of sample queries */
    RG_MIGRATE_PUBLISH,   /* renames */
    RG_MIGRATE_NPHASES
} rg_migrate_phase;

const char *rg_migrate_phase_name(rg_migrate_phase p);

typedef struct rg_migrate_opts {
    const char *from_backend;     /* required */
    const char *to_backend;       /* required */
    const char *collection;       /* source collection */
    const char *to;               /* target collection; NULL: same name */
    size_t batch_size;            /* records per page; 0: chosen for the backends */
    bool verify;
    bool dry_run;
    bool overwrite;
    bool reembed;                 /* recompute vectors even when the embedders match */
    /* The final compact of the target ("build" phase).  Default: yes, except
     * into leann, whose compact is a full rebuild that recomputes every
     * vector (the graph its inserts built from the copied vectors is kept). */
    bool no_build;                /* never */
    bool rebuild;                 /* always */
    int verify_queries;           /* sample size for the top-k overlap; 0: 50 */
    int verify_k;                 /* 0: 10 */
    double min_overlap;           /* mean top-k overlap below this fails --verify; <0: 0.8 */
    volatile sig_atomic_t *interrupted;   /* checked between pages; may be NULL */

    /* Progress: records done of total in the phase (total -1: unknown). */
    void (*on_progress)(void *ctx, rg_migrate_phase phase, int64_t done, int64_t total);
    /* Messages the user should see (leftovers cleaned, re-embedding, ...). */
    void (*on_notice)(void *ctx, const char *msg);
    void *ctx;
    /* Test hook, called with the staging collection after all records are
     * written and built, before verification; a non-OK status is a failure. */
    rg_status (*after_write)(void *ctx, rg_collection *staging, rg_error *err);
} rg_migrate_opts;

typedef struct rg_migrate_mismatch {
    char id[RG_ID_MAX + 1];
    char what[64];                /* "missing in target", "document differs", ... */
} rg_migrate_mismatch;

#define RG_MIGRATE_MAX_MISMATCHES 20

typedef struct rg_migrate_verify_report {
    bool done;
    bool passed;
    int64_t source_count, target_count;
    int64_t checked, missing, documents_differ, metadata_differ;
    char source_digest[17], target_digest[17];   /* order-independent hash of id+document+metadata */
    size_t nmismatches;
    rg_migrate_mismatch mismatches[RG_MIGRATE_MAX_MISMATCHES];
    int queries, k;
    double overlap_mean, overlap_min, min_overlap;
    char overlap_skipped[256];    /* non-empty: why the overlap was not measured */
    char failure[512];            /* non-empty when !passed */
} rg_migrate_verify_report;

typedef struct rg_migrate_report {
    char from_backend[32], to_backend[32];
    char source[RG_COLLECTION_NAME_MAX + 1], target[RG_COLLECTION_NAME_MAX + 1];
    char staging[RG_COLLECTION_NAME_MAX + 1], backup[RG_COLLECTION_NAME_MAX + 1];
    char source_embedder[400], target_embedder[400];
    bool reembedded;
    char reembed_reason[256];
    bool dry_run, published, overwrote, target_existed, rolled_back;
    int64_t records_source, records_written;
    size_t batch_size;            /* records per write page */
    size_t read_batch;            /* records per read request (and verification page) */
    int64_t batches;
    int64_t bytes_before;         /* source bytes on disk; -1: unknown */
    int64_t bytes_after;          /* target bytes on disk after publishing; -1: unknown */
    int64_t bytes_estimated;      /* dry run: estimated target bytes; -1: unknown */
    double avg_record_bytes;      /* document + metadata JSON, from the first page */
    int leftovers_cleaned;
    double seconds;
    double phase_seconds[RG_MIGRATE_NPHASES];
    rg_migrate_verify_report verify;
} rg_migrate_report;

/* Runs (or, with dry_run, plans) a migration.  On failure err says why and
 * the report says what was done (rolled_back: staging removed). */
rg_status rg_migrate(const rg_config *cfg, const rg_migrate_opts *opts, rg_migrate_report *report, rg_error *err);

/* Finds leftovers of killed migrations in `store` and cleans them (or, with
 * dry_run, only reports them).  Returns the number found. */
int rg_migrate_recover(rg_store *store, bool dry_run, void (*on_notice)(void *ctx, const char *msg), void *ctx,
                       rg_error *err);

/* The default page size for moving records of about avg_record_bytes (text +
 * metadata) and dimension dim between the two backends. */
size_t rg_migrate_default_batch(const char *from_backend, const char *to_backend, int dim, double avg_record_bytes);

#endif
