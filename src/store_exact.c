/* The exact backend: every record's full embedding in SQLite, brute-force
 * cosine search.  A usable store for small collections and the oracle the
 * other backends are measured against.
 *
 * Layout: PERSIST_DIR/NAME/exact.sqlite with tables
 *   meta(key TEXT PRIMARY KEY, value TEXT)         format, identity
 *   records(seq INTEGER PRIMARY KEY, id TEXT UNIQUE, document TEXT,
 *           metadata TEXT, embedding BLOB)          float32, little-endian */
#include <dirent.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "sqlite_util.h"
#include "store.h"
#include "util.h"

#define EXACT_FORMAT "ragged-exact-1"
#define EXACT_DB "exact.sqlite"

typedef struct exact_store {
    char *dir;
} exact_store;

typedef struct exact_coll {
    exact_store *store;
    char *name;
    char *path;
    sqlite3 *db;
    rg_embedder_identity identity;
    /* Lazily loaded matrix of all embeddings, dropped on every write. */
    float *matrix;
    int64_t *seqs;
    size_t rows;
    bool loaded;
    /* Where the last unfiltered page of get() ended.  The next page (offset
     * equal to page_end) continues after page_seq instead of making SQLite
     * step over offset rows again: paging through a collection by offset,
     * as ingest's manifest and the BM25 rebuild do, was quadratic.  Valid
     * while PRAGMA data_version (other connections' commits) is page_version
     * and this handle has not written. */
    bool page_valid;
    size_t page_end;
    int64_t page_seq, page_version;
} exact_coll;

static rg_status exact_open(const rg_config *cfg, void **out, rg_error *err)
{
    const char *dir = rg_config_str(cfg, "vectorstore.exact.persist_directory");
    if (!*dir)
        return rg_error_set(err, RG_ERR_INVALID, "vectorstore.exact.persist_directory is empty; set it to a directory");
    exact_store *s = rg_xcalloc(1, sizeof *s);
    s->dir = rg_xstrdup(dir);
    rg_collection_dir_sweep(s->dir);
    *out = s;
    return RG_OK;
}

static void exact_close(void *impl)
{
    exact_store *s = impl;
    if (!s)
        return;
    free(s->dir);
    free(s);
}

static rg_status read_identity(sqlite3 *db, const char *path, rg_embedder_identity *id, rg_error *err)
{
    char *format = NULL, *ident = NULL;
    rg_status rc = rg_sqlite_meta_get(db, "format", &format, err);
    if (rc == RG_OK)
        rc = rg_sqlite_meta_get(db, "identity", &ident, err);
    if (rc == RG_OK && (!format || strcmp(format, EXACT_FORMAT) != 0))
        rc = rg_error_set(err, RG_ERR_CORRUPT, "%s is not a ragged exact collection (format '%s', expected '%s')", path,
                          format ? format : "none", EXACT_FORMAT);
    if (rc == RG_OK && (!ident || rg_embedder_identity_from_text(ident, id) != RG_OK))
        rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: the embedder identity is missing or damaged", path);
    free(format);
    free(ident);
    return rc;
}

static void fill_info(void *ctx, const char *coll_dir, const char *path, rg_collection_info *info)
{
    sqlite3 *db = NULL;
    rg_error ignored;
    if (rg_sqlite_open(path, SQLITE_OPEN_READONLY, &db, &ignored) == RG_OK) {
        read_identity(db, path, &info->identity, &ignored);
        rg_sqlite_scalar_int(db, "SELECT count(*) FROM records", &info->count, &ignored);
    }
    sqlite3_close(db);
}

static rg_status exact_list(void *impl, rg_collection_info **out, size_t *n, rg_error *err)
{
    exact_store *s = impl;
    return rg_collection_dir_list(s->dir, EXACT_DB, fill_info, NULL, out, n, err);
}

static const char *SCHEMA =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE records(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, document TEXT, metadata TEXT,"
    " embedding BLOB NOT NULL);";

static rg_status exact_create(void *impl, const char *name, const rg_embedder_identity *identity, rg_error *err)
{
    exact_store *s = impl;
    char *tmp;
    rg_status rc = rg_collection_dir_begin(s->dir, name, "exact", &tmp, err);
    if (rc != RG_OK)
        return rg_collection_dir_publish(s->dir, name, "exact", tmp, rc, err);
    sqlite3 *db = NULL;
    char *dbpath = rg_path_join(tmp, EXACT_DB);
    rc = rg_sqlite_open(dbpath, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db, err);
    if (rc == RG_OK)
        rc = rg_sqlite_exec(db, SCHEMA, err);
    if (rc == RG_OK)
        rc = rg_sqlite_meta_set(db, "format", EXACT_FORMAT, err);
    if (rc == RG_OK) {
        char *ident = rg_embedder_identity_to_text(identity);
        rc = rg_sqlite_meta_set(db, "identity", ident, err);
        free(ident);
    }
    if (db)
        sqlite3_close(db);
    free(dbpath);
    return rg_collection_dir_publish(s->dir, name, "exact", tmp, rc, err);
}

static rg_status exact_delete_collection(void *impl, const char *name, rg_error *err)
{
    exact_store *s = impl;
    return rg_collection_dir_delete(s->dir, name, EXACT_DB, "exact", err);
}

static rg_status exact_rename(void *impl, const char *from, const char *to, rg_error *err)
{
    exact_store *s = impl;
    return rg_rename_collection_dir(s->dir, from, to, "exact", err);
}

static rg_status exact_open_collection(void *impl, const char *name, rg_embedder *embedder, void **out, rg_error *err)
{
    exact_store *s = impl;
    char *dir = rg_path_join(s->dir, name);
    char *path = rg_path_join(dir, EXACT_DB);
    free(dir);
    if (!rg_path_exists(path)) {
        free(path);
        return rg_error_set(err, RG_ERR_NOTFOUND, "collection '%s' does not exist in the exact backend", name);
    }
    exact_coll *c = rg_xcalloc(1, sizeof *c);
    c->store = s;
    c->name = rg_xstrdup(name);
    c->path = path;
    rg_status rc = rg_sqlite_open(path, SQLITE_OPEN_READWRITE, &c->db, err);
    if (rc == RG_OK)
        rc = read_identity(c->db, path, &c->identity, err);
    if (rc != RG_OK) {
        if (c->db)
            sqlite3_close(c->db);
        free(c->name);
        free(c->path);
        free(c);
        return rc;
    }
    *out = c;
    return RG_OK;
}

static void drop_matrix(exact_coll *c)
{
    c->page_valid = false;
    free(c->matrix);
    free(c->seqs);
    c->matrix = NULL;
    c->seqs = NULL;
    c->rows = 0;
    c->loaded = false;
}

static void exact_close_collection(void *impl)
{
    exact_coll *c = impl;
    if (!c)
        return;
    drop_matrix(c);
    sqlite3_close(c->db);
    free(c->name);
    free(c->path);
    free(c);
}

static rg_status exact_info(void *impl, rg_collection_info *out, rg_error *err)
{
    exact_coll *c = impl;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", c->name);
    out->identity = c->identity;
    return rg_sqlite_scalar_int(c->db, "SELECT count(*) FROM records", &out->count, err);
}

/* Writes recs inside the caller's transaction. */
static rg_status write_records(exact_coll *c, const rg_record *recs, size_t n, bool upsert, rg_error *err)
{
    size_t dim = (size_t)c->identity.dim;
    rg_status rc = RG_OK;
    const char *sql = upsert ? "INSERT INTO records(id, document, metadata, embedding) VALUES(?,?,?,?) "
                               "ON CONFLICT(id) DO UPDATE SET document=excluded.document, "
                               "metadata=excluded.metadata, embedding=excluded.embedding"
                             : "INSERT INTO records(id, document, metadata, embedding) VALUES(?,?,?,?)";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        rc = rg_sqlite_error(c->db, c->path, err);
    for (size_t i = 0; rc == RG_OK && i < n; i++) {
        const rg_record *r = &recs[i];
        char *meta = r->metadata ? json_dumps(r->metadata, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        sqlite3_bind_text(st, 1, r->id, -1, SQLITE_TRANSIENT);
        if (r->document)
            sqlite3_bind_text(st, 2, r->document, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 2);
        if (meta)
            sqlite3_bind_text(st, 3, meta, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 3);
        sqlite3_bind_blob(st, 4, r->embedding, (int)(dim * sizeof(float)), SQLITE_TRANSIENT);
        int src = sqlite3_step(st);
        free(meta);
        if (src == SQLITE_CONSTRAINT)
            rc = rg_error_set(err, RG_ERR_EXISTS, "record '%s' already exists in collection '%s' (use upsert to replace it)",
                              r->id, c->name);
        else if (src != SQLITE_DONE)
            rc = rg_sqlite_error(c->db, c->path, err);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    return rc;
}

static rg_status delete_where(exact_coll *c, const char *const *ids, size_t nids, const rg_filter *where,
                              size_t *deleted, rg_error *err);

static rg_status exact_write(exact_coll *c, const rg_record *recs, size_t n, bool upsert, const char *const *del,
                             size_t ndel, size_t *deleted, rg_error *err)
{
    rg_status rc = rg_sqlite_exec(c->db, "BEGIN IMMEDIATE", err);
    if (rc != RG_OK)
        return rc;
    drop_matrix(c);
    rc = write_records(c, recs, n, upsert, err);
    if (rc == RG_OK && ndel)
        rc = delete_where(c, del, ndel, NULL, deleted, err);
    if (rc == RG_OK)
        rc = rg_sqlite_exec(c->db, "COMMIT", err);
    if (rc != RG_OK)
        rg_sqlite_exec(c->db, "ROLLBACK", NULL);
    return rc;
}

static rg_status exact_add(void *impl, const rg_record *recs, size_t n, bool upsert, rg_error *err)
{
    return exact_write(impl, recs, n, upsert, NULL, 0, NULL, err);
}

/* Both in one transaction: readers and a crash see the old or the new set. */
static rg_status exact_replace(void *impl, const rg_record *recs, size_t n, const char *const *del, size_t ndel,
                               size_t *deleted, rg_error *err)
{
    return exact_write(impl, recs, n, true, del, ndel, deleted, err);
}

/* WHERE clause for ids (bound as one JSON array) and a filter. */
static void build_where(const char *const *ids, size_t nids, const rg_filter *where, rg_buf *sql, json_t *params)
{
    rg_buf_puts(sql, " WHERE 1");
    if (ids) {
        json_t *arr = json_array();
        for (size_t i = 0; i < nids; i++)
            json_array_append_new(arr, json_string(ids[i]));
        char *text = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        rg_buf_puts(sql, " AND id IN (SELECT value FROM json_each(?))");
        json_array_append_new(params, json_string(text));
        free(text);
    }
    if (where) {
        rg_buf_puts(sql, " AND ");
        rg_filter_to_sql(where, "metadata", sql, params);
    }
}

/* Prepares "HEAD WHERE ... TAIL" for ids and/or a filter, parameters bound. */
static rg_status prepare_filtered(exact_coll *c, const char *head, const char *const *ids, size_t nids,
                                  const rg_filter *where, const char *tail, sqlite3_stmt **st, rg_error *err)
{
    rg_buf sql;
    rg_buf_init(&sql);
    json_t *params = json_array();
    rg_buf_puts(&sql, head);
    build_where(ids, nids, where, &sql, params);
    rg_buf_puts(&sql, tail);
    rg_status rc = rg_sqlite_prepare_bound(c->db, c->path, sql.data, params, st, err);
    rg_buf_free(&sql);
    json_decref(params);
    return rc;
}

static rg_status exact_get(void *impl, const char *const *ids, size_t nids, const rg_filter *where, unsigned include,
                           size_t offset, size_t limit, rg_record_batch *out, rg_error *err)
{
    exact_coll *c = impl;
    char tail[160];
    bool paging = !ids && !where;
    int64_t version = 0;
    if (paging) {
        rg_status vrc = rg_sqlite_scalar_int(c->db, "PRAGMA data_version", &version, err);
        if (vrc != RG_OK)
            return vrc;
    }
    if (paging && offset > 0 && c->page_valid && offset == c->page_end && version == c->page_version)
        snprintf(tail, sizeof tail, " AND seq > %lld ORDER BY seq LIMIT %lld", (long long)c->page_seq,
                 limit ? (long long)limit : -1LL);
    else
        snprintf(tail, sizeof tail, " ORDER BY seq LIMIT %lld OFFSET %lld", limit ? (long long)limit : -1LL,
                 (long long)offset);
    c->page_valid = false;
    sqlite3_stmt *st = NULL;
    /* Columns not asked for are not read: SQLite would otherwise load every
     * row's embedding (overflow pages) just to page through metadata. */
    char head[128];
    snprintf(head, sizeof head, "SELECT id, %s, %s, %s, seq FROM records",
             (include & RG_INCLUDE_DOCUMENTS) ? "document" : "NULL",
             (include & RG_INCLUDE_METADATAS) ? "metadata" : "NULL",
             (include & RG_INCLUDE_EMBEDDINGS) ? "embedding" : "NULL");
    rg_status rc = prepare_filtered(c, head, ids, nids, where, tail, &st, err);
    if (rc != RG_OK)
        return rc;
    int src;
    size_t got = 0;
    int64_t last_seq = 0;
    while (rc == RG_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        got++;
        last_seq = sqlite3_column_int64(st, 4);
        json_t *meta = NULL;
        if ((include & RG_INCLUDE_METADATAS) && sqlite3_column_type(st, 2) != SQLITE_NULL) {
            meta = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
            if (!meta)
                rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: metadata of record '%s' is damaged", c->path,
                                  (const char *)sqlite3_column_text(st, 0));
        }
        const float *emb = NULL;
        if (include & RG_INCLUDE_EMBEDDINGS) {
            emb = sqlite3_column_blob(st, 3);
            if (sqlite3_column_bytes(st, 3) != (int)((size_t)c->identity.dim * sizeof(float)))
                rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: embedding of record '%s' has the wrong size", c->path,
                                  (const char *)sqlite3_column_text(st, 0));
        }
        if (rc == RG_OK)
            rg_record_batch_push(out, (const char *)sqlite3_column_text(st, 0),
                                 (include & RG_INCLUDE_DOCUMENTS) ? (const char *)sqlite3_column_text(st, 1) : NULL,
                                 meta, emb);
        json_decref(meta);
    }
    if (rc == RG_OK && src != SQLITE_DONE)
        rc = rg_sqlite_error(c->db, c->path, err);
    sqlite3_finalize(st);
    if (rc == RG_OK && paging && got > 0) {
        c->page_valid = true;
        c->page_end = offset + got;
        c->page_seq = last_seq;
        c->page_version = version;
    }
    return rc;
}

static rg_status delete_where(exact_coll *c, const char *const *ids, size_t nids, const rg_filter *where,
                              size_t *deleted, rg_error *err)
{
    sqlite3_stmt *st = NULL;
    rg_status rc = prepare_filtered(c, "DELETE FROM records", ids, nids, where, "", &st, err);
    if (rc != RG_OK)
        return rc;
    drop_matrix(c);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = rg_sqlite_error(c->db, c->path, err);
    else
        *deleted = (size_t)sqlite3_changes(c->db);
    sqlite3_finalize(st);
    return rc;
}

static rg_status exact_delete(void *impl, const char *const *ids, size_t nids, const rg_filter *where, size_t *deleted,
                              rg_error *err)
{
    return delete_where(impl, ids, nids, where, deleted, err);
}

static rg_status exact_count(void *impl, int64_t *out, rg_error *err)
{
    exact_coll *c = impl;
    return rg_sqlite_scalar_int(c->db, "SELECT count(*) FROM records", out, err);
}

/* Loads (seq, embedding) rows matching an optional filter. */
static rg_status load_rows(exact_coll *c, const rg_filter *where, float **matrix, int64_t **seqs, size_t *rows,
                           rg_error *err)
{
    sqlite3_stmt *st = NULL;
    rg_status rc = prepare_filtered(c, "SELECT seq, embedding FROM records", NULL, 0, where, " ORDER BY seq", &st, err);
    if (rc != RG_OK)
        return rc;
    size_t dim = (size_t)c->identity.dim, cap = 0, n = 0;
    float *m = NULL;
    int64_t *s = NULL;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != (int)(dim * sizeof(float))) {
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: an embedding has the wrong size", c->path);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            m = rg_xrealloc(m, cap * dim * sizeof *m);
            s = rg_xrealloc(s, cap * sizeof *s);
        }
        memcpy(m + n * dim, sqlite3_column_blob(st, 1), dim * sizeof(float));
        s[n++] = sqlite3_column_int64(st, 0);
    }
    if (rc == RG_OK && src != SQLITE_DONE)
        rc = rg_sqlite_error(c->db, c->path, err);
    sqlite3_finalize(st);
    if (rc != RG_OK) {
        free(m);
        free(s);
        return rc;
    }
    *matrix = m;
    *seqs = s;
    *rows = n;
    return RG_OK;
}

static rg_status exact_query(void *impl, const float *query, const rg_query_opts *opts, rg_hits *out, rg_error *err)
{
    exact_coll *c = impl;
    float *m;
    int64_t *seqs;
    size_t rows;
    rg_status rc;
    if (opts->where) {
        rc = load_rows(c, opts->where, &m, &seqs, &rows, err);
    } else {
        if (!c->loaded) {
            rc = load_rows(c, NULL, &c->matrix, &c->seqs, &c->rows, err);
            if (rc != RG_OK)
                return rc;
            c->loaded = true;
        }
        m = c->matrix;
        seqs = c->seqs;
        rows = c->rows;
        rc = RG_OK;
    }
    if (rc != RG_OK)
        return rc;
    size_t k = (size_t)opts->k, nout = 0;
    size_t *idx = rg_xmalloc(k * sizeof *idx);
    float *dist = rg_xmalloc(k * sizeof *dist);
    rg_exact_topk(m, rows, c->identity.dim, query, opts->k, NULL, NULL, idx, dist, &nout);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT id, document, metadata FROM records WHERE seq = ?", -1, &st, NULL) !=
        SQLITE_OK)
        rc = rg_sqlite_error(c->db, c->path, err);
    for (size_t i = 0; rc == RG_OK && i < nout; i++) {
        sqlite3_bind_int64(st, 1, seqs[idx[i]]);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = rg_sqlite_error(c->db, c->path, err);
            break;
        }
        json_t *meta = NULL;
        if ((opts->include & RG_INCLUDE_METADATAS) && sqlite3_column_type(st, 2) != SQLITE_NULL)
            meta = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
        rg_hits_push(out, (const char *)sqlite3_column_text(st, 0), dist[i],
                     (opts->include & RG_INCLUDE_DOCUMENTS) ? (const char *)sqlite3_column_text(st, 1) : NULL, meta);
        json_decref(meta);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    free(idx);
    free(dist);
    if (opts->where) {
        free(m);
        free(seqs);
    }
    return rc;
}

static rg_status exact_stats(void *impl, rg_store_stats *out, rg_error *err)
{
    exact_coll *c = impl;
    rg_status rc = rg_sqlite_scalar_int(c->db, "SELECT count(*) FROM records", &out->records, err);
    if (rc != RG_OK)
        return rc;
    char *dir = rg_path_dirname(c->path);
    out->bytes_total = rg_dir_size(dir);
    free(dir);
    int64_t vectors = out->records * c->identity.dim * (int64_t)sizeof(float);
    rg_store_stats_add(out, "vectors", vectors);
    rg_store_stats_add(out, "passages+metadata+sqlite", out->bytes_total - vectors);
    out->details = json_pack("{s:s, s:i}", "search", "brute force (exact)", "dimension", c->identity.dim);
    return RG_OK;
}

static rg_status exact_compact(void *impl, rg_error *err)
{
    exact_coll *c = impl;
    return rg_sqlite_exec(c->db, "VACUUM", err);
}

/* SQLite's structure only: the exact backend's rows carry no checksums. */
static rg_status exact_check(void *impl, const char *name, json_t *report, rg_error *err)
{
    exact_store *s = impl;
    char *dir = rg_path_join(s->dir, name);
    char *path = rg_path_join(dir, EXACT_DB);
    free(dir);
    if (!rg_path_exists(path)) {
        free(path);
        return RG_ERR_NOTFOUND;
    }
    sqlite3 *db = NULL;
    rg_error e = {0};
    rg_buf found;
    rg_buf_init(&found);
    if (rg_sqlite_open(path, SQLITE_OPEN_READONLY, &db, &e) != RG_OK) {
        rg_buf_puts(&found, e.msg);
    } else {
        sqlite3_stmt *st = NULL;
        int n = 0;
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK) {
            while (sqlite3_step(st) == SQLITE_ROW) {
                const char *m = (const char *)sqlite3_column_text(st, 0);
                if (m && strcmp(m, "ok") != 0 && n++ < 3)
                    rg_buf_printf(&found, "%s%s", found.len ? "; " : "", m);
            }
            sqlite3_finalize(st);
        } else {
            rg_buf_puts(&found, sqlite3_errmsg(db));
        }
    }
    sqlite3_close(db);
    char *detail = rg_xasprintf("%s: %s", path, found.len ? found.data : "structure ok (rows carry no checksums)");
    json_array_append_new(report,
                          json_pack("{s:s, s:b, s:s}", "component", "database", "ok", !found.len, "detail", detail));
    free(detail);
    rg_buf_free(&found);
    free(path);
    (void)err;
    return RG_OK;
}

const rg_store_ops rg_store_exact_ops = {
    .abi_version = RG_STORE_ABI,
    .name = "exact",
    .open = exact_open,
    .close = exact_close,
    .list_collections = exact_list,
    .create_collection = exact_create,
    .delete_collection = exact_delete_collection,
    .rename_collection = exact_rename,
    .open_collection = exact_open_collection,
    .close_collection = exact_close_collection,
    .info = exact_info,
    .add = exact_add,
    .get = exact_get,
    .delete_records = exact_delete,
    .count = exact_count,
    .query = exact_query,
    .stats = exact_stats,
    .compact = exact_compact,
    .replace = exact_replace,
    .check = exact_check,
};
