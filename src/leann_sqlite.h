/* The SQLite layer of the leann backend: everything that runs SQL or
 * touches the collection's files (leann.sqlite's rows, meta, graph/codes
 * overlay, transactions, generation files, the lock).  It calls the core
 * (leann.h: graph, PQ, search, insert, delete repair, consolidation,
 * rebuild) and hands it a leann_source whose callbacks read and write the
 * stored data; the core never calls back into this layer by name and
 * never includes sqlite3.h.
 *
 *   store_leann.c   rg_store_ops entry points, schema, load, lock, queries
 *   leann_sqlite.c  write transactions: record rows, the source's write
 *                   callbacks (overlay, checkpoints, renumbering), compact
 *   leann_text.c    passage / metadata compression (SQL functions)
 *   leann_filter.c  the metadata key index (rec_post) over SQLite
 *   leann_check.c   `collections check` */
#ifndef RG_LEANN_SQLITE_H
#define RG_LEANN_SQLITE_H

#include <sqlite3.h>

#include "leann.h"

typedef struct leann_dict {
    int64_t id;
    void *ddict;          /* ZSTD_DDict */
} leann_dict;

typedef struct leann_cdict {
    int64_t id;           /* 0: none */
    int level;            /* it compresses at (leann_text.c: by collection size) */
    void *cdict;          /* ZSTD_CDict */
} leann_cdict;

/* A collection handle of the SQLite layer: the core's state first (so a
 * leann_coll * of it converts back), then what only this layer uses. */
typedef struct leann_sql {
    leann_coll c;
    sqlite3 *db;
    char *dir, *db_path;
    rg_embedder_identity identity;
    /* State as of meta.version; reloaded when another process changed it. */
    int64_t version;
    int64_t generation;   /* graph-G.bin / codes-G.bin; 0: none yet */
    int lock_fd;          /* -1 until the first write takes the lock */
    int format;           /* of the schema: 1..4 (store_leann.c) */
    int64_t dict_id;      /* zstd dictionary for new passages; 0: none */
    int64_t meta_dict_id; /* and for metadata */
    leann_cdict passage_cdict, meta_cdict;
    void *cctx;           /* ZSTD_CCtx, reused */
    void *dctx;           /* ZSTD_DCtx, reused */
    rg_buf zbuf;          /* a frame being compressed or given its magic back */
    leann_dict *ddicts;   /* decompression dictionaries by id */
    size_t nddicts;
} leann_sql;

/* The SQLite layer's handle of a collection it opened (c points into one). */
#define leann_sq(coll) ((leann_sql *)(void *)(coll))
/* Its database (an lvalue). */
#define leann_db(coll) (leann_sq(coll)->db)

/* store_leann.c */
/* Appends "SELECT lead, doc, doclen, dict, metadata FROM records" with NULL
 * (and 0) for what include leaves out: SQLite computes every result column
 * of a row it steps to, and metadata costs a decompression and a hash. */
void leann_select_records(rg_buf *sql, const char *lead, unsigned include);
rg_status leann_refresh(leann_coll *c, rg_error *err);
rg_status leann_lock(leann_coll *c, rg_error *err);

/* The passages of nodes[0..n) into out[0..n), in one call; this is the one
 * place that knows how passages are stored.  On error nothing is left to
 * free.  Release with leann_passages_free. */
rg_status leann_fetch_passages(leann_coll *c, const uint32_t *nodes, size_t n, leann_passage *out, rg_error *err);
/* The SQLite-backed source of handle c (reads: passages, filter sets,
 * order; writes: leann_sql_writes). */
leann_source leann_sql_source(leann_coll *c);

/* leann_text.c: passages and metadata, compressed with dictionaries trained
 * on the collection. */
/* The passage's frame into out (replacing its content), with the dictionary
 * leann_doc_dict() names (what records.dict must hold). */
rg_status leann_doc_compress(leann_coll *c, const char *doc, rg_buf *out, rg_error *err);
int64_t leann_doc_dict(leann_coll *c);
rg_status leann_doc_decompress(leann_coll *c, const void *blob, size_t len, int64_t dict, int64_t rawlen,
                               char **out, rg_error *err);
/* The stored form of metadata obj of a record whose passage is doc (NULL:
 * none) into out (replacing its content): packed in key order, its
 * content_hash left to be recomputed when it is doc's, compressed with the
 * metadata dictionary if there is one. */
rg_status leann_meta_pack(leann_coll *c, const json_t *obj, const char *doc, rg_buf *out, rg_error *err);
/* SQL functions rg_leann_meta(meta, doc, doclen, dict) and rg_leann_id(meta)
 * on db, for handle c (NULL on a connection that only counts rows: the
 * functions then fail if called). */
int leann_text_register(sqlite3 *db, leann_coll *c);

/* A row's stored metadata as an object, without what only the passage
 * gives back (content_hash); NULL and err when it is damaged. */
json_t *leann_meta_object(leann_coll *c, const void *blob, size_t len, rg_error *err);

/* Every SQL function leann.sqlite's schema uses (rg_id_key, the metapack
 * and leann_text ones), for handle c (NULL: rg_leann_* then fail if
 * called); SQLITE_OK or an SQLite code.  Tools and tests that write the
 * database directly need them too. */
int leann_sql_register(sqlite3 *db, leann_coll *c);

/* SQL expression for rec.own_id of a row with id ID and stored metadata
 * META (store_leann.c: NULL when the metadata gives the id back). */
#define LEANN_OWN_ID(ID, META) "CASE WHEN rg_leann_id(" META ") IS " ID " THEN NULL ELSE " ID " END"

/* SQL condition for "the record row of node ?1", of table rec or view
 * records.  A row whose node is seq - 1 (every row until records are deleted
 * and compacted away, or upserted) is found through its rowid; the others
 * through the partial index rec_node, which holds only them. */
#define LEANN_NODE_ROW                                                                                      \
    "seq IN (?1 + 1, (SELECT seq FROM records WHERE node = ?1 AND node != seq - 1)) AND node = ?1"
/* leann_check.c: `collections check` of the collection in dir (its
 * database named db_name), without loading it; one object per component
 * appended to report.  RG_OK when the check ran, whatever it found. */
rg_status leann_check(const char *dir, const char *db_name, json_t *report, rg_error *err);
/* Decompresses and decodes one row's stored passage and metadata (either
 * may be NULL), which verifies their checksums; *verified is false when
 * the row predates checksums (format 6), so nothing could be verified. */
rg_status leann_text_verify_row(leann_coll *c, const void *doc, size_t doc_bytes, int64_t doclen, int64_t dict,
                                const void *meta, size_t meta_bytes, bool *verified, rg_error *err);
/* Trains new passage and metadata dictionaries on the collection and
 * rewrites every row with them (inside the caller's transaction). */
rg_status leann_train_dictionaries(leann_coll *c, rg_error *err);
/* Drops cached dictionaries (after a rolled-back write); _free also the
 * contexts. */
void leann_text_reset(leann_coll *c);
void leann_text_free(leann_coll *c);
/* Writes generation gen's graph + codes files from memory. */
rg_status leann_write_generation(leann_coll *c, int64_t gen, rg_error *err);
void leann_remove_generation(leann_coll *c, int64_t gen);
rg_status leann_meta_set_int(leann_coll *c, const char *key, int64_t v, rg_error *err);
/* Records the in-memory graph counters (nodes, entry, version+1) in meta. */
rg_status leann_meta_save(leann_coll *c, rg_error *err);
/* Drops all in-memory state so the next operation reloads from disk. */
void leann_invalidate(leann_coll *c);

/* leann_sqlite.c: writes, each one transaction */
/* Upserts recs and deletes del in one transaction. */
rg_status leann_replace(leann_coll *c, const rg_record *recs, size_t n, const char *const *del, size_t ndel,
                        size_t *deleted, rg_error *err);
rg_status leann_add(leann_coll *c, const rg_record *recs, size_t n, bool upsert, rg_error *err);
rg_status leann_delete(leann_coll *c, const char *const *ids, size_t nids, const rg_filter *where,
                       size_t *deleted, rg_error *err);
/* A full rebuild (leann_rebuild) in its own transaction, then VACUUM. */
rg_status leann_compact(leann_coll *c, rg_error *err);
/* The write callbacks of leann_sql_source (live, moved, truncated, save,
 * renumber, rebuilt) into src. */
void leann_sql_writes(leann_source *src);

/* store_leann.c: leann_search, then the hits' ids, passages and metadata. */
rg_status leann_query(leann_coll *c, const float *q, const rg_query_opts *opts, rg_hits *out,
                      rg_error *err);
/* " WHERE ..." selecting records by ids (or all when NULL) and filter
 * (or none) from the view records; binds go to params. */
void leann_where_sql(const leann_coll *c, const char *const *ids, size_t nids, const rg_filter *where,
                     rg_buf *sql, json_t *params);
/* Nodes matching a filter (ascending); NULL filter: all live nodes. */
rg_status leann_filter_nodes(leann_coll *c, const rg_filter *where, uint32_t **nodes, size_t *n,
                             rg_error *err);

#endif
