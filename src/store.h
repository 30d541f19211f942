/* The storage interface: one struct of function pointers that every vector
 * store backend implements (exact, leann, chromadb), plus the generic layer
 * (store.c) that validates input once for all of them.
 *
 * Callers use the opaque rg_store / rg_collection handles and the rg_store_*
 * / rg_collection_* functions below; only backends see rg_store_ops.
 *
 * Contract (checked by tests/unit/test_contract.c for every backend):
 * - ids are non-empty UTF-8 strings of at most RG_ID_MAX bytes; unique in a
 *   batch.  add() of an id that already exists fails with RG_ERR_EXISTS and
 *   writes nothing; upsert() replaces the whole record.
 * - metadata is a JSON object whose values are strings, integers, reals or
 *   booleans (ChromaDB's types).  The generic layer rejects anything else.
 * - every mutating call is atomic: after a crash the collection holds either
 *   all of the call's records or none of them.
 * - distances are cosine distances (1 - cos) between L2-normalised vectors;
 *   hits come sorted by ascending distance, ties broken by id.
 * - a filtered query returns min(k, number of matching records) hits. */
#ifndef RG_STORE_H
#define RG_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "embedder.h"
#include "error.h"
#include "filter.h"

struct rg_config;

/* 2: rg_collection_info's identity gained `settings`. */
#define RG_STORE_ABI 2
#define RG_ID_MAX 512
/* ChromaDB takes 512, but a name is also a file name (a collection's
 * directory, ".NAME.creating.PID" while it is made, the BM25 index
 * "NAME.fts.sqlite-journal", migrate's "NAME.rgmig-staging-PID"), and file
 * names end at 255 bytes: 200 leaves room for every suffix. */
#define RG_COLLECTION_NAME_MAX 200
/* Parts of the names migrate gives its own collections (migrate.h). */
#define RG_MIGRATE_STAGING_TAG ".rgmig-staging-"
#define RG_MIGRATE_BACKUP_TAG ".rgmig-backup-"

enum {
    RG_INCLUDE_DOCUMENTS = 1u << 0,
    RG_INCLUDE_METADATAS = 1u << 1,
    RG_INCLUDE_EMBEDDINGS = 1u << 2,
    RG_INCLUDE_ALL = 7u
};

/* One record.  As input the caller owns the memory; in an rg_record_batch
 * the batch owns it. */
typedef struct rg_record {
    char *id;
    char *document;      /* NULL: none / not requested */
    json_t *metadata;    /* JSON object; NULL: none / not requested */
    float *embedding;    /* dim floats; NULL: not requested */
    /* true: embedding is what the collection's embedder gives for document,
     * computed by the caller just now (ingest, eval, a migrate that
     * re-embeds).  A backend that keeps no vectors (leann) then need not
     * check it; false (the default): it checks every record and keeps the
     * vectors it could not recompute. */
    bool embedded;
} rg_record;

typedef struct rg_record_batch {
    rg_record *items;
    size_t n, cap;
    int dim;
} rg_record_batch;

void rg_record_batch_init(rg_record_batch *b, int dim);
/* Appends deep copies (embedding may be NULL). */
void rg_record_batch_push(rg_record_batch *b, const char *id, const char *document,
                          const json_t *metadata, const float *embedding);
void rg_record_batch_clear(rg_record_batch *b);   /* frees items, keeps dim */
void rg_record_batch_free(rg_record_batch *b);

typedef struct rg_hit {
    char *id;
    float distance;      /* cosine distance, 0 = identical */
    char *document;      /* if requested */
    json_t *metadata;    /* if requested */
} rg_hit;

typedef struct rg_hits {
    rg_hit *items;
    size_t n, cap;
} rg_hits;

void rg_hits_init(rg_hits *h);
void rg_hits_push(rg_hits *h, const char *id, float distance, const char *document, const json_t *metadata);
void rg_hits_sort(rg_hits *h);     /* ascending distance, then id */
void rg_hits_free(rg_hits *h);

typedef struct rg_query_opts {
    int k;
    const rg_filter *where;  /* NULL: no filter */
    unsigned include;        /* RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS */
    int search_complexity;   /* 0: backend default (leann's beam width) */
    int exact;               /* hits that must be ranked by exact distance; 0: all k.  The rest may be
                              * ranked by approximate distances (leann: PQ, no recompute), which is all
                              * the deep side of a hybrid fusion needs */
} rg_query_opts;

typedef struct rg_store_component {
    char name[32];           /* graph, codes, passages, metadata, sqlite, ... */
    int64_t bytes;
} rg_store_component;

#define RG_STATS_MAX_COMPONENTS 16

typedef struct rg_store_stats {
    int64_t records;
    int64_t tombstones;
    int64_t bytes_total;     /* -1: unknown (remote server) */
    size_t ncomponents;
    rg_store_component components[RG_STATS_MAX_COMPONENTS];
    json_t *details;         /* backend specific (index parameters, health); owned */
} rg_store_stats;

void rg_store_stats_init(rg_store_stats *s);
void rg_store_stats_add(rg_store_stats *s, const char *component, int64_t bytes);
void rg_store_stats_free(rg_store_stats *s);

/* Progress of a long write inside a backend (leann: records written, the
 * graph linked or rebuilt, embeddings recomputed), for the caller to show.
 * stage names the step; total 0: unknown.  Called on the writing thread. */
typedef void (*rg_store_progress_fn)(void *ctx, const char *stage, int64_t done, int64_t total);

typedef struct rg_collection_info {
    char name[RG_COLLECTION_NAME_MAX + 1];
    int64_t count;                   /* -1: unknown */
    rg_embedder_identity identity;
    bool damaged;                    /* files it needs are missing: it cannot be opened */
} rg_collection_info;

/* ---- What a backend implements ---------------------------------------- */

typedef struct rg_store_ops {
    int abi_version;                 /* RG_STORE_ABI */
    const char *name;                /* "exact", "leann", "chromadb" */

    rg_status (*open)(const struct rg_config *cfg, void **store, rg_error *err);
    void (*close)(void *store);

    /* Sorted by name. */
    rg_status (*list_collections)(void *store, rg_collection_info **out, size_t *n, rg_error *err);
    /* RG_ERR_EXISTS if it exists. */
    rg_status (*create_collection)(void *store, const char *name,
                                   const rg_embedder_identity *identity, rg_error *err);
    /* RG_ERR_NOTFOUND if missing. */
    rg_status (*delete_collection)(void *store, const char *name, rg_error *err);
    /* Atomic rename; RG_ERR_EXISTS if `to` exists. */
    rg_status (*rename_collection)(void *store, const char *from, const char *to, rg_error *err);

    /* The embedder is the one the collection was built with (the generic
     * layer checks the identity right after open); backends that recompute
     * embeddings (leann) keep the pointer, valid until close_collection.
     * embedder may be NULL (`collections info`, stats, get without
     * embeddings): then operations that need it fail with a clear error. */
    rg_status (*open_collection)(void *store, const char *name, rg_embedder *embedder,
                                 void **coll, rg_error *err);
    void (*close_collection)(void *coll);
    rg_status (*info)(void *coll, rg_collection_info *out, rg_error *err);

    /* Records arrive validated (see contract above). */
    rg_status (*add)(void *coll, const rg_record *recs, size_t n, bool upsert, rg_error *err);
    /* ids == NULL: all records; where may be NULL.  Records come in a stable
     * order (unchanged while the collection is not modified), so offset/limit
     * pages through the collection.  limit 0 = no limit. */
    rg_status (*get)(void *coll, const char *const *ids, size_t nids, const rg_filter *where,
                     unsigned include, size_t offset, size_t limit, rg_record_batch *out,
                     rg_error *err);
    /* ids == NULL and where == NULL is refused by the generic layer. */
    rg_status (*delete_records)(void *coll, const char *const *ids, size_t nids,
                                const rg_filter *where, size_t *deleted, rg_error *err);
    rg_status (*count)(void *coll, int64_t *out, rg_error *err);
    rg_status (*query)(void *coll, const float *query, const rg_query_opts *opts,
                       rg_hits *out, rg_error *err);
    rg_status (*stats)(void *coll, rg_store_stats *out, rg_error *err);
    /* Optional (NULL): rebuild / reclaim space. */
    rg_status (*compact)(void *coll, rg_error *err);
    /* Optional (NULL: the generic layer calls add(upsert) then
     * delete_records, two steps a crash can split): upserts recs and deletes
     * the records named by del in one atomic step, so a changed file's new
     * chunks and the removal of its old version's surplus chunks become
     * visible together.  Records arrive validated; no id is in both lists.
     * *deleted counts the removed records. */
    rg_status (*replace)(void *coll, const rg_record *recs, size_t n, const char *const *del, size_t ndel,
                         size_t *deleted, rg_error *err);
    /* Optional (NULL: no progress from inside writes): fn (NULL: none) is
     * called during later writes of this handle. */
    void (*set_progress)(void *coll, rg_store_progress_fn fn, void *ctx);
    /* Optional (NULL: the backend cannot check): verifies every stored byte
     * it can of collection name without opening it for queries (a damaged
     * one cannot be opened), appending {"component", "ok", "detail"} objects
     * to report (a JSON array).  RG_OK when the check ran, whatever it
     * found; RG_ERR_NOTFOUND when there is no such collection. */
    rg_status (*check)(void *store, const char *name, json_t *report, rg_error *err);
} rg_store_ops;

/* Backends (one file each).  A backend not compiled in or not finished has
 * an ops table whose open() says so. */
extern const rg_store_ops rg_store_exact_ops;
extern const rg_store_ops rg_store_leann_ops;
extern const rg_store_ops rg_store_chromadb_ops;

/* ---- What callers use ------------------------------------------------- */

typedef struct rg_store rg_store;
typedef struct rg_collection rg_collection;

/* Names of all known backends, NULL-terminated. */
const char *const *rg_store_backend_names(void);
const rg_store_ops *rg_store_backend_find(const char *name);

/* backend NULL: vectorstore.backend from the config. */
rg_status rg_store_open(const struct rg_config *cfg, const char *backend, rg_store **out, rg_error *err);
void rg_store_close(rg_store *s);
const char *rg_store_backend(const rg_store *s);

/* ChromaDB's rules, applied to every backend so collections can move between
 * them: 3-RG_COLLECTION_NAME_MAX of [a-zA-Z0-9._-], starting and ending with a
 * letter or digit, no "..". */
rg_status rg_collection_name_check(const char *name, rg_error *err);
/* The check for a name a user creates: also refuses the names migrate gives
 * its staging and backup collections ("*.rgmig-staging-*",
 * "*.rgmig-backup-*"), which a later migrate would delete or rename as its
 * own leftovers. */
rg_status rg_collection_name_check_new(const char *name, rg_error *err);

rg_status rg_store_list(rg_store *s, rg_collection_info **out, size_t *n, rg_error *err);
/* `collections check`: the backend's check of collection name plus its BM25
 * index; *report is a new JSON array of components, *ok whether all are. */
rg_status rg_store_check(rg_store *s, const char *name, json_t **report, bool *ok, rg_error *err);
rg_status rg_store_create_collection(rg_store *s, const char *name, const rg_embedder_identity *id, rg_error *err);
rg_status rg_store_delete_collection(rg_store *s, const char *name, rg_error *err);
rg_status rg_store_rename_collection(rg_store *s, const char *from, const char *to, rg_error *err);
/* Removes BM25 index files left under the name of a collection the backend
 * does not hold, when drop(name, ctx) says so.  A rename is two steps (the
 * backend, then the index file), so a process killed between them leaves
 * the index under the old name, which no later call touches.  Returns how
 * many indexes were removed, -1 (err set) when the backend cannot list. */
int rg_store_sweep_indexes(rg_store *s, bool (*drop)(const char *name, void *ctx), void *ctx, rg_error *err);

/* Small settings a command keeps with a collection (ingest: the selection
 * rules), in NAME.settings.json beside the collection's BM25 sidecar, for
 * every backend; deleted, and renamed, with the collection.  get: *out is
 * NULL when unset (new reference otherwise).  put: value NULL removes key.
 * Written atomically. */
rg_status rg_store_collection_setting_get(rg_store *s, const char *name, const char *key, json_t **out,
                                          rg_error *err);
rg_status rg_store_collection_setting_put(rg_store *s, const char *name, const char *key, json_t *value,
                                          rg_error *err);

/* Opens `name`, creating it for this embedder when create is true and it does
 * not exist.  Fails with RG_ERR_MISMATCH if it was built by another embedder. */
rg_status rg_collection_open(rg_store *s, const char *name, rg_embedder *embedder, bool create,
                             rg_collection **out, rg_error *err);
void rg_collection_close(rg_collection *c);
const char *rg_collection_name(const rg_collection *c);
rg_store *rg_collection_store(const rg_collection *c);
int rg_collection_dim(const rg_collection *c);
rg_embedder *rg_collection_embedder(const rg_collection *c);
/* The identity of the embedder the collection was built with. */
const rg_embedder_identity *rg_collection_identity(const rg_collection *c);

rg_status rg_collection_add(rg_collection *c, const rg_record *recs, size_t n, rg_error *err);
rg_status rg_collection_upsert(rg_collection *c, const rg_record *recs, size_t n, rg_error *err);
rg_status rg_collection_get(rg_collection *c, const char *const *ids, size_t nids, const rg_filter *where,
                            unsigned include, size_t offset, size_t limit, rg_record_batch *out, rg_error *err);
rg_status rg_collection_delete(rg_collection *c, const char *const *ids, size_t nids, const rg_filter *where,
                               size_t *deleted, rg_error *err);
/* Upserts recs and deletes the ids in del (none of them in recs): in one
 * atomic step where the backend has a replace op, else upsert first, then
 * delete (a crash between leaves the old records beside the new ones, never
 * fewer).  deleted may be NULL. */
rg_status rg_collection_replace(rg_collection *c, const rg_record *recs, size_t n, const char *const *del,
                                size_t ndel, size_t *deleted, rg_error *err);
rg_status rg_collection_count(rg_collection *c, int64_t *out, rg_error *err);
/* Progress from inside the writes of this handle, where the backend
 * reports it (fn NULL: none). */
void rg_collection_set_progress(rg_collection *c, rg_store_progress_fn fn, void *ctx);
rg_status rg_collection_query(rg_collection *c, const float *query, const rg_query_opts *opts,
                              rg_hits *out, rg_error *err);
/* Embeds `text` with the collection's embedder (query role) and queries. */
rg_status rg_collection_query_text(rg_collection *c, const char *text, const rg_query_opts *opts,
                                   rg_hits *out, rg_error *err);
/* BM25 over the collection's lexical index (lexical.h), for every backend.
 * The index is a sidecar the generic layer keeps in step with the writes
 * above (each write first catches up: a conversion, a crash between the two
 * writes, another tool's writes).  A query never writes: an index that is
 * missing or out of step is an RG_ERR_MISMATCH naming `collections
 * reindex`; a collection without records or index has no hits.  opts->where
 * applies; search_complexity is ignored.  Hits: distance = -BM25 score, so
 * ascending distance is best first. */
rg_status rg_collection_query_lexical(rg_collection *c, const char *text, const rg_query_opts *opts,
                                      rg_hits *out, rg_error *err);
/* Brings the lexical index up to date with the backend (replays writes a
 * failure or a crash left pending); a failure is the caller's failure.
 * Ingest ends with it, so an ingest that exits 0 leaves BM25 complete. */
rg_status rg_collection_lexical_sync(rg_collection *c, rg_error *err);
/* `collections reindex`: converts an FTS5 sidecar (*converted) or rebuilds
 * the index from the backend; *records: records indexed. */
rg_status rg_collection_lexical_reindex(rg_collection *c, bool *converted, int64_t *records, rg_error *err);
/* Fills document/metadata (per include) of hits that carry only ids. */
rg_status rg_collection_attach(rg_collection *c, rg_hits *hits, unsigned include, rg_error *err);
rg_status rg_collection_info_get(rg_collection *c, rg_collection_info *out, rg_error *err);
rg_status rg_collection_stats(rg_collection *c, rg_store_stats *out, rg_error *err);
rg_status rg_collection_compact(rg_collection *c, rg_error *err);

/* Shared by backends that keep one directory per collection (exact, leann):
 * atomic rename of DIR/from to DIR/to, RG_ERR_EXISTS if `to` exists. */
rg_status rg_rename_collection_dir(const char *dir, const char *from, const char *to, const char *backend,
                                   rg_error *err);
void rg_collection_info_sort(rg_collection_info *infos, size_t n);
/* Creating a collection: a hidden DIR/.NAME.creating.PID is made for the
 * backend to build in (*tmp, owned by the caller until publish), then
 * rg_collection_dir_publish renames it to DIR/NAME when rc is RG_OK (or
 * removes it), so a crash leaves no collection or a complete one.  Both
 * say RG_ERR_EXISTS when NAME is there already. */
rg_status rg_collection_dir_begin(const char *dir, const char *name, const char *backend, char **tmp, rg_error *err);
rg_status rg_collection_dir_publish(const char *dir, const char *name, const char *backend, char *tmp, rg_status rc,
                                    rg_error *err);
/* Deletes DIR/NAME (a collection when DIR/NAME/marker exists): renamed away
 * first, so it disappears atomically, then removed. */
rg_status rg_collection_dir_delete(const char *dir, const char *name, const char *marker, const char *backend,
                                   rg_error *err);
/* Lists the collections DIR/NAME/marker, sorted; fill(ctx, coll_dir,
 * marker_path, info) completes each info (name set, count -1) and may
 * leave it partly unknown on errors. */
typedef void (*rg_collection_dir_fill_fn)(void *ctx, const char *coll_dir, const char *marker_path,
                                          rg_collection_info *info);
rg_status rg_collection_dir_list(const char *dir, const char *marker, rg_collection_dir_fill_fn fill, void *ctx,
                                 rg_collection_info **out, size_t *n, rg_error *err);
/* Removes DIR/.NAME.creating.PID and DIR/.NAME.deleting.PID directories
 * (left by a process killed while creating or deleting a collection) whose
 * process is gone.  Best effort: errors are ignored. */
void rg_collection_dir_sweep(const char *dir);

/* Shared by backends: validates one batch as the contract above says. */
rg_status rg_records_validate(const rg_record *recs, size_t n, int dim, rg_error *err);
/* Exact top-k over an in-memory matrix: used by the exact backend and as the
 * test oracle.  ok(i) may be NULL (all rows eligible). */
void rg_exact_topk(const float *matrix, size_t rows, int dim, const float *query, int k,
                   bool (*ok)(void *ctx, size_t row), void *ctx, size_t *idx_out, float *dist_out,
                   size_t *nout);

#endif
