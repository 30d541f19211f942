/* The lexical sidecar: SQLite FTS5 over analysed text, BM25 ranking with
 * tunable k1/b, metadata filters, and the journal that keeps it in step
 * with the backend.  See lexical.h for the guarantees.
 *
 * Layout (one SQLite file per collection, format ragged-lexical-2):
 *   meta(key, value)                   format, stemmer
 *   docs(rowid, id UNIQUE, metadata, terms)
 *               metadata packed by metapack.c (filters read it through
 *               rg_meta_json); terms is the analyser's output for the
 *               document, zstd-compressed (with dictionary lexdict when the
 *               frame names one)
 *   fts(terms)  contentless FTS5 (content=''), rowid = docs.rowid, over the
 *               analysed terms (space separated stems), tokenised by FTS5's
 *               'ascii' tokenizer, which splits on exactly those spaces
 *   lexdict(id, dict)                  zstd dictionary trained on the terms
 *   journal(op, id)                    pending writes; id NULL = unknown set
 *
 * Why contentless plus compressed terms: format 1 kept FTS5's own copy of
 * the terms as plain text (half of the file on SciFact) and metadata as
 * JSON text (another fifth).  A contentless index only keeps postings; to
 * take a document out of it FTS5 must be given the exact terms it was
 * indexed with, which is what docs.terms keeps, at about a third of their
 * size.  Nothing else reads them.
 *
 * Why pre-analysed text rather than an FTS5 tokenizer: the Snowball
 * stemmers and stop list run in C once, the same way for documents and
 * queries, and any SQLite (or sqlite3 shell) can open the file without a
 * custom tokenizer being registered. */
#include "lexical.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <zdict.h>
#include <zstd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer.h"
#include "metapack.h"
#include "sqlite_util.h"
#include "util.h"

#define LEXICAL_FORMAT "ragged-lexical-2"
#define TERMS_ZSTD_LEVEL 9        /* level 19 gains under 1% on these short texts */
#define DICT_MIN_DOCS 256         /* train the terms dictionary from this many documents */
#define DICT_RETRAIN_MAX 65536    /* retrain at 4x growth up to this many documents */
#define DICT_BYTES (64 * 1024)
#define REBUILD_PAGE 1000

struct rg_lexical {
    char *path;
    sqlite3 *db;
    rg_analyzer *an;
    rg_lexical_params params;
    int lock_fd;
    bool locked;
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    ZSTD_CDict *cdict;        /* the newest lexdict, NULL before one is trained */
    ZSTD_DDict *ddict;
    unsigned dict_id;         /* zstd dictionary id of cdict/ddict */
    bool want_vacuum;         /* rows were rewritten: repack after the commit */
};

static const char *META_SCHEMA = "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);";
static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS docs(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, metadata BLOB, terms BLOB);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(terms, tokenize = 'ascii', content = '');"
    "CREATE TABLE IF NOT EXISTS lexdict(id INTEGER PRIMARY KEY, dict BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS journal(op INTEGER PRIMARY KEY, ids TEXT);";
/* Format 1 tables have other columns; they are dropped, not migrated (the
 * index is rebuilt from the backend). */
static const char *DROP_ALL = "DROP TABLE IF EXISTS fts; DROP TABLE IF EXISTS docs; DROP TABLE IF EXISTS lexdict;"
                              "DROP TABLE IF EXISTS journal;";

/* ---- BM25 as an FTS5 auxiliary function ----
 * FTS5's built-in bm25() fixes k1 = 1.2 and b = 0.75; rg_bm25(fts, k1, b)
 * is the same formula (Robertson/Sparck Jones IDF as Lucene computes it,
 * log(1 + (N - n + 0.5) / (n + 0.5)), always positive) with the two
 * parameters as arguments.  It returns -score so ORDER BY ascends. */

typedef struct bm25_data {
    int nphrase;
    double *qw;       /* query weight of each phrase: how often its term is in the query */
    double avgdl;
    double *idf;
    int *freq;
} bm25_data;

static int count_rows(const Fts5ExtensionApi *api, Fts5Context *fts, void *ud)
{
    (*(sqlite3_int64 *)ud)++;
    return SQLITE_OK;
}

static void bm25_data_free(void *p)
{
    bm25_data *d = p;
    if (d) {
        free(d->idf);
        free(d->freq);
        free(d->qw);
        free(d);
    }
}

static void rg_bm25(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                    sqlite3_value **vals)
{
    double k1 = nval > 0 ? sqlite3_value_double(vals[0]) : 1.2;
    double b = nval > 1 ? sqlite3_value_double(vals[1]) : 0.75;
    bm25_data *d = api->xGetAuxdata(fts, 0);
    if (!d) {
        d = rg_xcalloc(1, sizeof *d);
        d->nphrase = api->xPhraseCount(fts);
        /* Third argument: the query weights, one decimal count per phrase
         * separated by spaces (absent: 1 each). */
        d->qw = rg_xcalloc((size_t)d->nphrase + 1, sizeof *d->qw);
        const char *w = nval > 2 ? (const char *)sqlite3_value_text(vals[2]) : NULL;
        for (int i = 0; i < d->nphrase; i++) {
            char *end = NULL;
            d->qw[i] = w && *w ? strtod(w, &end) : 1.0;
            if (w && end)
                w = end;
        }
        sqlite3_int64 nrow = 0, ntok = 0;
        int rc = api->xRowCount(fts, &nrow);
        if (rc == SQLITE_OK)
            rc = api->xColumnTotalSize(fts, -1, &ntok);
        d->avgdl = nrow > 0 ? (double)ntok / (double)nrow : 1.0;
        d->idf = rg_xcalloc((size_t)d->nphrase + 1, sizeof *d->idf);
        d->freq = rg_xcalloc((size_t)d->nphrase + 1, sizeof *d->freq);
        for (int i = 0; rc == SQLITE_OK && i < d->nphrase; i++) {
            sqlite3_int64 hits = 0;
            rc = api->xQueryPhrase(fts, i, &hits, count_rows);
            d->idf[i] = log(1.0 + ((double)nrow - (double)hits + 0.5) / ((double)hits + 0.5));
        }
        if (rc == SQLITE_OK)
            rc = api->xSetAuxdata(fts, d, bm25_data_free);
        else
            bm25_data_free(d);
        if (rc != SQLITE_OK) {
            sqlite3_result_error_code(ctx, rc);
            return;
        }
    }
    memset(d->freq, 0, (size_t)d->nphrase * sizeof *d->freq);
    int ninst = 0, rc = api->xInstCount(fts, &ninst);
    for (int i = 0; rc == SQLITE_OK && i < ninst; i++) {
        int ip, ic, io;
        rc = api->xInst(fts, i, &ip, &ic, &io);
        if (rc == SQLITE_OK && ip >= 0 && ip < d->nphrase)
            d->freq[ip]++;
    }
    int dl = 0;
    if (rc == SQLITE_OK)
        rc = api->xColumnSize(fts, -1, &dl);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    double score = 0, norm = k1 * (1.0 - b + b * (double)dl / d->avgdl);
    for (int i = 0; i < d->nphrase; i++)
        if (d->freq[i])
            score += d->qw[i] * d->idf[i] * (double)d->freq[i] * (k1 + 1.0) / ((double)d->freq[i] + norm);
    sqlite3_result_double(ctx, -score);
}

static fts5_api *fts5_api_of(sqlite3 *db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return api;
}

/* ---- open / close ---- */

static char *side_path(const char *path, const char *suffix)
{
    return rg_xasprintf("%s%s", path, suffix);
}

void rg_lexical_remove_files(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal", ".lock"};
    for (size_t i = 0; i < RG_ARRAY_LEN(suffixes); i++) {
        char *p = side_path(path, suffixes[i]);
        unlink(p);
        free(p);
    }
}

void rg_lexical_rename_files(const char *from, const char *to)
{
    rg_lexical_remove_files(to);
    char *a = side_path(from, "-wal");
    bool has_wal = rg_path_exists(a);
    free(a);
    /* A WAL that is not yet checkpointed belongs to the old name and moving
     * the pair is not atomic: then the index is dropped instead (rebuilt on
     * next use).  Either way the old name's lock and -shm files go. */
    if (!has_wal && rename(from, to) != 0)
        rg_lexical_remove_files(to);
    rg_lexical_remove_files(from);
}

static rg_status exec(rg_lexical *lx, const char *sql, rg_error *err)
{
    return rg_sqlite_exec(lx->db, sql, err);
}

static rg_status mark_rebuild(rg_lexical *lx, rg_error *err)
{
    return exec(lx, "INSERT INTO journal(ids) VALUES(NULL)", err);
}

rg_status rg_lexical_open(const char *path, const rg_lexical_params *params, rg_lexical **out, rg_error *err)
{
    *out = NULL;
    char *dir = rg_path_dirname(path);
    rg_status rc = rg_mkdir_p(dir, 0700, err);
    free(dir);
    if (rc != RG_OK)
        return rc;
    rg_lexical *lx = rg_xcalloc(1, sizeof *lx);
    lx->path = rg_xstrdup(path);
    lx->params = *params;
    lx->lock_fd = -1;
    rc = rg_analyzer_new(params->stemmer, &lx->an, err);
    if (rc == RG_OK)
        rc = rg_sqlite_open_paged(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 8192, &lx->db, err);
    if (rc == RG_OK) {
        fts5_api *api = fts5_api_of(lx->db);
        if (!api || api->xCreateFunction(api, "rg_bm25", NULL, rg_bm25, NULL) != SQLITE_OK)
            rc = rg_error_set(err, RG_ERR_UNAVAILABLE,
                              "this SQLite library has no FTS5 full-text search, which BM25 retrieval needs; install "
                              "a SQLite built with FTS5 (Debian's libsqlite3 is)");
    }
    if (rc == RG_OK && rg_metapack_register(lx->db) != SQLITE_OK)
        rc = rg_sqlite_error(lx->db, path, err);
    if (rc == RG_OK) {
        char *lock = side_path(path, ".lock");
        lx->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lx->lock_fd < 0)
            rc = rg_error_set(err, RG_ERR_IO, "cannot open %s: %s", lock, strerror(errno));
        free(lock);
    }
    char *format = NULL, *stemmer = NULL;
    /* FTS5's segment merges free pages all the time; with auto_vacuum the
     * file gives them back at each commit instead of keeping about a tenth
     * of itself free.  In WAL mode it takes effect at the next VACUUM,
     * which a file without it gets after the first write of a handle. */
    int64_t av = 0;
    if (rc == RG_OK)
        rc = exec(lx, "PRAGMA auto_vacuum = FULL", err);
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(lx->db, "PRAGMA auto_vacuum", &av, err);
    lx->want_vacuum = av == 0;
    if (rc == RG_OK)
        rc = exec(lx, "BEGIN IMMEDIATE", err);
    if (rc == RG_OK) {
        rc = exec(lx, META_SCHEMA, err);
        if (rc == RG_OK)
            rc = rg_sqlite_meta_get(lx->db, "format", &format, err);
        if (rc == RG_OK)
            rc = rg_sqlite_meta_get(lx->db, "stemmer", &stemmer, err);
        if (rc == RG_OK && (!format || strcmp(format, LEXICAL_FORMAT) || !stemmer ||
                            strcmp(stemmer, params->stemmer))) {
            /* New, older format or another stemmer: start empty and mark
             * for a rebuild from the backend. */
            rc = exec(lx, DROP_ALL, err);
            if (rc == RG_OK)
                rc = exec(lx, SCHEMA, err);
            if (rc == RG_OK)
                rc = rg_sqlite_meta_set(lx->db, "format", LEXICAL_FORMAT, err);
            if (rc == RG_OK)
                rc = rg_sqlite_meta_set(lx->db, "stemmer", params->stemmer, err);
            if (rc == RG_OK)
                rc = mark_rebuild(lx, err);
        }
        rg_error ignored;
        rc = rc == RG_OK ? exec(lx, "COMMIT", err) : (exec(lx, "ROLLBACK", &ignored), rc);
    }
    free(format);
    free(stemmer);
    if (rc != RG_OK) {
        rg_lexical_close(lx);
        return rc;
    }
    *out = lx;
    return RG_OK;
}

void rg_lexical_close(rg_lexical *lx)
{
    if (!lx)
        return;
    rg_lexical_end(lx);
    if (lx->lock_fd >= 0)
        close(lx->lock_fd);
    ZSTD_freeCCtx(lx->cctx);
    ZSTD_freeDCtx(lx->dctx);
    ZSTD_freeCDict(lx->cdict);
    ZSTD_freeDDict(lx->ddict);
    sqlite3_close(lx->db);
    rg_analyzer_free(lx->an);
    free(lx->path);
    free(lx);
}

/* ---- the lock and the journal ---- */

static rg_status lock(rg_lexical *lx, rg_error *err)
{
    if (lx->locked)
        return RG_OK;
    while (flock(lx->lock_fd, LOCK_EX) != 0)
        if (errno != EINTR)
            return rg_error_set(err, RG_ERR_IO, "cannot lock %s.lock: %s", lx->path, strerror(errno));
    lx->locked = true;
    return RG_OK;
}

void rg_lexical_end(rg_lexical *lx)
{
    if (lx && lx->locked) {
        flock(lx->lock_fd, LOCK_UN);
        lx->locked = false;
    }
}

rg_status rg_lexical_begin(rg_lexical *lx, const char *const *ids, size_t nids, int64_t *op, rg_error *err)
{
    rg_status rc = lock(lx, err);
    if (rc != RG_OK)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(lx->db, "INSERT INTO journal(ids) VALUES(?)", -1, &st, NULL) != SQLITE_OK) {
        rc = rg_sqlite_error(lx->db, lx->path, err);
    } else {
        char *text = NULL;
        if (ids) {
            json_t *a = json_array();
            for (size_t i = 0; i < nids; i++)
                json_array_append_new(a, json_string(ids[i]));
            text = json_dumps(a, JSON_COMPACT);
            json_decref(a);
            sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
        }
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = rg_sqlite_error(lx->db, lx->path, err);
        free(text);
        *op = sqlite3_last_insert_rowid(lx->db);
    }
    sqlite3_finalize(st);
    if (rc != RG_OK)
        rg_lexical_end(lx);
    return rc;
}

static rg_status clear_op(rg_lexical *lx, int64_t op, rg_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(lx->db, "DELETE FROM journal WHERE op = ?", -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(lx->db, lx->path, err);
    sqlite3_bind_int64(st, 1, op);
    rg_status rc = sqlite3_step(st) == SQLITE_DONE ? RG_OK : rg_sqlite_error(lx->db, lx->path, err);
    sqlite3_finalize(st);
    return rc;
}

/* ---- stored terms: zstd frames, with the lexdict their header names ---- */

static void forget_dict(rg_lexical *lx)
{
    ZSTD_freeCDict(lx->cdict);
    ZSTD_freeDDict(lx->ddict);
    lx->cdict = NULL;
    lx->ddict = NULL;
    lx->dict_id = 0;
}

/* There is at most one dictionary: it is trained once there are enough
 * documents and dropped by a rebuild, which trains the next one. */
static rg_status load_dict(rg_lexical *lx, unsigned want, rg_error *err)
{
    /* want 0: the file's dictionary (if any), for compressing. */
    sqlite3_stmt *st = NULL;
    const char *sql = want ? "SELECT id, dict FROM lexdict WHERE id = ?" : "SELECT id, dict FROM lexdict LIMIT 1";
    if (sqlite3_prepare_v2(lx->db, sql, -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(lx->db, lx->path, err);
    if (want)
        sqlite3_bind_int64(st, 1, want);
    rg_status rc = RG_OK;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const void *d = sqlite3_column_blob(st, 1);
        size_t n = (size_t)sqlite3_column_bytes(st, 1);
        unsigned id = (unsigned)sqlite3_column_int64(st, 0);
        ZSTD_CDict *cd = ZSTD_createCDict(d, n, TERMS_ZSTD_LEVEL);
        ZSTD_DDict *dd = ZSTD_createDDict(d, n);
        if (!cd || !dd || ZSTD_getDictID_fromDDict(dd) != id) {
            ZSTD_freeCDict(cd);
            ZSTD_freeDDict(dd);
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: the terms dictionary %u is damaged; delete the file (it is rebuilt from the collection)", lx->path, id);
        } else {
            ZSTD_freeCDict(lx->cdict);
            ZSTD_freeDDict(lx->ddict);
            lx->cdict = cd;
            lx->ddict = dd;
            lx->dict_id = id;
        }
    } else if (r != SQLITE_DONE) {
        rc = rg_sqlite_error(lx->db, lx->path, err);
    } else if (!want) {
        forget_dict(lx);
    } else {
        rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: terms dictionary %u is missing; delete the file (it is rebuilt from the collection)", lx->path, want);
    }
    sqlite3_finalize(st);
    return rc;
}

static rg_status pack_terms(rg_lexical *lx, const char *terms, size_t len, rg_buf *out, rg_error *err)
{
    if (!lx->cctx)
        lx->cctx = ZSTD_createCCtx();
    size_t bound = ZSTD_compressBound(len);
    out->len = 0;
    rg_buf_reserve(out, bound);
    size_t r = lx->cdict ? ZSTD_compress_usingCDict(lx->cctx, out->data, bound, terms, len, lx->cdict)
                         : ZSTD_compressCCtx(lx->cctx, out->data, bound, terms, len, TERMS_ZSTD_LEVEL);
    if (ZSTD_isError(r))
        return rg_error_set(err, RG_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
    out->len = r;
    return RG_OK;
}

/* Appends the terms a docs.terms blob holds to out (NUL-terminated). */
static rg_status unpack_terms(rg_lexical *lx, const void *blob, size_t n, rg_buf *out, rg_error *err)
{
    out->len = 0;
    if (!blob || !n) {
        rg_buf_reserve(out, 1);
        out->data[0] = '\0';
        return RG_OK;
    }
    unsigned long long raw = ZSTD_getFrameContentSize(blob, n);
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > (1ull << 31))
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: stored terms are damaged; delete the file (it is rebuilt from the collection)", lx->path);
    unsigned id = ZSTD_getDictID_fromFrame(blob, n);
    if (id && id != lx->dict_id) {
        rg_status rc = load_dict(lx, id, err);
        if (rc != RG_OK)
            return rc;
    }
    if (!lx->dctx)
        lx->dctx = ZSTD_createDCtx();
    rg_buf_reserve(out, (size_t)raw + 1);
    size_t r = id ? ZSTD_decompress_usingDDict(lx->dctx, out->data, (size_t)raw, blob, n, lx->ddict)
                  : ZSTD_decompressDCtx(lx->dctx, out->data, (size_t)raw, blob, n);
    if (ZSTD_isError(r) || r != raw)
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: stored terms are damaged (%s); delete the file (it is rebuilt from the collection)", lx->path,
                            ZSTD_isError(r) ? ZSTD_getErrorName(r) : "wrong length");
    out->len = (size_t)raw;
    out->data[raw] = '\0';
    return RG_OK;
}

/* ---- row level writes (inside a transaction) ---- */

typedef struct writer {
    sqlite3_stmt *find, *ins_doc, *upd_doc, *del_doc, *ins_fts, *del_fts;
    rg_buf terms, old, z, meta;
} writer;

static void writer_free(writer *w)
{
    sqlite3_finalize(w->find);
    sqlite3_finalize(w->ins_doc);
    sqlite3_finalize(w->upd_doc);
    sqlite3_finalize(w->del_doc);
    sqlite3_finalize(w->ins_fts);
    sqlite3_finalize(w->del_fts);
    rg_buf_free(&w->terms);
    rg_buf_free(&w->old);
    rg_buf_free(&w->z);
    rg_buf_free(&w->meta);
}

static rg_status writer_init(rg_lexical *lx, writer *w, rg_error *err)
{
    memset(w, 0, sizeof *w);
    sqlite3 *db = lx->db;
    if (sqlite3_prepare_v2(db, "SELECT rowid, terms FROM docs WHERE id = ?", -1, &w->find, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO docs(id, metadata, terms) VALUES(?, ?, ?)", -1, &w->ins_doc, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE docs SET metadata = ?, terms = ? WHERE rowid = ?", -1, &w->upd_doc, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "DELETE FROM docs WHERE rowid = ?", -1, &w->del_doc, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO fts(rowid, terms) VALUES(?, ?)", -1, &w->ins_fts, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO fts(fts, rowid, terms) VALUES('delete', ?, ?)", -1, &w->del_fts, NULL) !=
            SQLITE_OK) {
        rg_status rc = rg_sqlite_error(db, lx->path, err);
        writer_free(w);
        return rc;
    }
    /* Another process may have trained or replaced the dictionary since
     * this handle last looked (we are inside the write transaction now). */
    int64_t id = 0;
    rg_status rc = rg_sqlite_scalar_int(db, "SELECT coalesce(max(id), 0) FROM lexdict", &id, err);
    if (rc == RG_OK && (unsigned)id != lx->dict_id)
        rc = load_dict(lx, 0, err);
    if (rc != RG_OK)
        writer_free(w);
    return rc;
}

/* Finds id; on a hit also takes its terms out of the index. */
static rg_status find_and_unindex(rg_lexical *lx, writer *w, const char *id, int64_t *row, rg_error *err)
{
    sqlite3_reset(w->find);
    sqlite3_bind_text(w->find, 1, id, -1, SQLITE_STATIC);
    *row = 0;
    int r = sqlite3_step(w->find);
    rg_status rc = RG_OK;
    if (r == SQLITE_ROW) {
        *row = sqlite3_column_int64(w->find, 0);
        rc = unpack_terms(lx, sqlite3_column_blob(w->find, 1), (size_t)sqlite3_column_bytes(w->find, 1), &w->old, err);
    } else if (r != SQLITE_DONE) {
        rc = rg_sqlite_error(lx->db, lx->path, err);
    }
    sqlite3_reset(w->find);
    if (rc == RG_OK && *row) {
        sqlite3_bind_int64(w->del_fts, 1, *row);
        sqlite3_bind_text(w->del_fts, 2, w->old.data, (int)w->old.len, SQLITE_STATIC);
        r = sqlite3_step(w->del_fts);
        sqlite3_reset(w->del_fts);
        if (r != SQLITE_DONE)
            rc = rg_sqlite_error(lx->db, lx->path, err);
    }
    return rc;
}

static bool step_done(sqlite3_stmt *st)
{
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE;
}

static void bind_blob_or_null(sqlite3_stmt *st, int i, const rg_buf *b)
{
    if (b->len)
        sqlite3_bind_blob(st, i, b->data, (int)b->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static rg_status put_one(rg_lexical *lx, writer *w, const char *id, const char *document, const json_t *metadata,
                         rg_error *err)
{
    int64_t row = 0;
    rg_status rc = find_and_unindex(lx, w, id, &row, err);
    if (rc != RG_OK)
        return rc;
    w->terms.len = 0;
    rg_analyzer_terms(lx->an, document ? document : "", &w->terms);
    w->z.len = 0;
    if (w->terms.len && (rc = pack_terms(lx, w->terms.data, w->terms.len, &w->z, err)) != RG_OK)
        return rc;
    w->meta.len = 0;
    if (metadata)
        rg_metapack_encode(metadata, &w->meta);
    bool ok;
    if (row) {
        bind_blob_or_null(w->upd_doc, 1, &w->meta);
        bind_blob_or_null(w->upd_doc, 2, &w->z);
        sqlite3_bind_int64(w->upd_doc, 3, row);
        ok = step_done(w->upd_doc);
    } else {
        sqlite3_bind_text(w->ins_doc, 1, id, -1, SQLITE_STATIC);
        bind_blob_or_null(w->ins_doc, 2, &w->meta);
        bind_blob_or_null(w->ins_doc, 3, &w->z);
        ok = step_done(w->ins_doc);
        row = sqlite3_last_insert_rowid(lx->db);
    }
    if (ok) {
        sqlite3_bind_int64(w->ins_fts, 1, row);
        sqlite3_bind_text(w->ins_fts, 2, w->terms.data ? w->terms.data : "", (int)w->terms.len, SQLITE_STATIC);
        ok = step_done(w->ins_fts);
    }
    return ok ? RG_OK : rg_sqlite_error(lx->db, lx->path, err);
}

static rg_status remove_one(rg_lexical *lx, writer *w, const char *id, rg_error *err)
{
    int64_t row = 0;
    rg_status rc = find_and_unindex(lx, w, id, &row, err);
    if (rc != RG_OK || !row)
        return rc;
    sqlite3_bind_int64(w->del_doc, 1, row);
    return step_done(w->del_doc) ? RG_OK : rg_sqlite_error(lx->db, lx->path, err);
}

/* Once 256 documents have been written, trains a dictionary on their terms
 * and recompresses every row with it (the index itself does not change);
 * again whenever the rows written have grown fourfold, up to 65,536: a
 * dictionary trained on the first 256 compresses the rest of SciFact 4%
 * worse than one trained on all.  Growth is measured by the largest rowid
 * (no count(*) scan per write); meta.dict_rows keeps its value at the last
 * training, even one that produced no dictionary. */
static rg_status maybe_train_dict(rg_lexical *lx, writer *w, rg_error *err)
{
    int64_t top = 0, at = 0, n = 0;
    char *v = NULL;
    rg_status rc = rg_sqlite_scalar_int(lx->db, "SELECT coalesce(max(rowid), 0) FROM docs", &top, err);
    if (rc == RG_OK)
        rc = rg_sqlite_meta_get(lx->db, "dict_rows", &v, err);
    if (v)
        at = strtoll(v, NULL, 10);
    free(v);
    bool due = at <= 0 ? top >= DICT_MIN_DOCS : top >= 4 * at && at < DICT_RETRAIN_MAX;
    if (rc != RG_OK || !due)
        return rc;
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)top);
    rc = rg_sqlite_meta_set(lx->db, "dict_rows", num, err);
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(lx->db, "SELECT count(*) FROM docs WHERE terms IS NOT NULL", &n, err);
    if (rc != RG_OK || n < DICT_MIN_DOCS / 4)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(lx->db, "SELECT rowid, terms FROM docs WHERE terms IS NOT NULL ORDER BY rowid", -1, &st,
                           NULL) != SQLITE_OK)
        return rg_sqlite_error(lx->db, lx->path, err);
    rg_buf all;
    rg_buf_init(&all);
    size_t *sizes = rg_xmalloc((size_t)n * sizeof *sizes);
    int64_t *rows = rg_xmalloc((size_t)n * sizeof *rows);
    size_t k = 0;
    while (rc == RG_OK && k < (size_t)n && sqlite3_step(st) == SQLITE_ROW) {
        rows[k] = sqlite3_column_int64(st, 0);
        rc = unpack_terms(lx, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &w->old, err);
        if (rc == RG_OK) {
            rg_buf_append(&all, w->old.data, w->old.len);
            sizes[k++] = w->old.len;
        }
    }
    sqlite3_finalize(st);
    uint8_t *dict = rg_xmalloc(DICT_BYTES);
    size_t dlen = 0;
    if (rc == RG_OK && k) {
        dlen = ZDICT_trainFromBuffer(dict, DICT_BYTES, all.data, sizes, (unsigned)k);
        if (ZDICT_isError(dlen) || ZDICT_getDictID(dict, dlen) == 0)
            dlen = 0;   /* too little or too uniform text: stay without one */
    }
    if (rc == RG_OK && dlen) {
        sqlite3_stmt *ins = NULL, *upd = NULL;
        /* Every row was read above, so the old dictionary can go now. */
        rc = exec(lx, "DELETE FROM lexdict", err);
        if (rc == RG_OK &&
            (sqlite3_prepare_v2(lx->db, "INSERT INTO lexdict(id, dict) VALUES(?, ?)", -1, &ins, NULL) != SQLITE_OK ||
             sqlite3_prepare_v2(lx->db, "UPDATE docs SET terms = ? WHERE rowid = ?", -1, &upd, NULL) != SQLITE_OK))
            rc = rg_sqlite_error(lx->db, lx->path, err);
        if (rc == RG_OK) {
            sqlite3_bind_int64(ins, 1, ZDICT_getDictID(dict, dlen));
            sqlite3_bind_blob(ins, 2, dict, (int)dlen, SQLITE_STATIC);
            rc = step_done(ins) ? load_dict(lx, 0, err) : rg_sqlite_error(lx->db, lx->path, err);
            lx->want_vacuum = true;
            size_t off = 0;
            for (size_t i = 0; rc == RG_OK && i < k; off += sizes[i], i++) {
                rc = pack_terms(lx, all.data + off, sizes[i], &w->z, err);
                if (rc == RG_OK) {
                    sqlite3_bind_blob(upd, 1, w->z.data, (int)w->z.len, SQLITE_STATIC);
                    sqlite3_bind_int64(upd, 2, rows[i]);
                    if (!step_done(upd))
                        rc = rg_sqlite_error(lx->db, lx->path, err);
                }
            }
        }
        sqlite3_finalize(ins);
        sqlite3_finalize(upd);
        if (rc != RG_OK)   /* rolled back by the caller */
            forget_dict(lx);
    }
    free(dict);
    free(sizes);
    free(rows);
    rg_buf_free(&all);
    return rc;
}

/* Rows that shrink (recompressed with the dictionary) or go, and FTS5
 * segment merges, leave free pages that SQLite only reuses, never returns.
 * When more than an eighth of the file is free, or after a rebuild or the
 * recompression that comes with the dictionary, the file is rewritten; a
 * VACUUM costs one pass over the file, so over many writes this stays a
 * constant factor.  A failure (a reader holding the file, say) is harmless: it is
 * tried again after the next write. */
static void maybe_vacuum(rg_lexical *lx)
{
    int64_t free_pages = 0, pages = 0;
    rg_error ignored;
    if (rg_sqlite_scalar_int(lx->db, "PRAGMA freelist_count", &free_pages, &ignored) == RG_OK &&
        rg_sqlite_scalar_int(lx->db, "PRAGMA page_count", &pages, &ignored) == RG_OK && free_pages > 64 &&
        free_pages * 8 > pages)
        lx->want_vacuum = true;
    if (lx->want_vacuum && exec(lx, "VACUUM", &ignored) == RG_OK)
        lx->want_vacuum = false;
}

static rg_status commit_or_rollback(rg_lexical *lx, rg_status rc, rg_error *err)
{
    if (rc == RG_OK) {
        rc = exec(lx, "COMMIT", err);
        if (rc == RG_OK)
            maybe_vacuum(lx);
    }
    if (rc != RG_OK) {
        rg_error ignored;
        exec(lx, "ROLLBACK", &ignored);
        /* The transaction may have trained the dictionary this handle now
         * holds; writer_init reloads whatever the file has. */
        forget_dict(lx);
    }
    return rc;
}

rg_status rg_lexical_put(rg_lexical *lx, int64_t op, const rg_record *recs, size_t n, rg_error *err)
{
    rg_status rc = exec(lx, "BEGIN IMMEDIATE", err);
    if (rc != RG_OK)
        return rc;
    writer w;
    rc = writer_init(lx, &w, err);
    if (rc != RG_OK)
        return commit_or_rollback(lx, rc, err);
    for (size_t i = 0; rc == RG_OK && i < n; i++)
        rc = put_one(lx, &w, recs[i].id, recs[i].document, recs[i].metadata, err);
    if (rc == RG_OK)
        rc = maybe_train_dict(lx, &w, err);
    writer_free(&w);
    if (rc == RG_OK)
        rc = clear_op(lx, op, err);
    return commit_or_rollback(lx, rc, err);
}

rg_status rg_lexical_remove(rg_lexical *lx, int64_t op, const char *const *ids, size_t nids, const rg_filter *where,
                            rg_error *err)
{
    rg_status rc = exec(lx, "BEGIN IMMEDIATE", err);
    if (rc != RG_OK)
        return rc;
    writer w;
    rc = writer_init(lx, &w, err);
    if (rc != RG_OK)
        return commit_or_rollback(lx, rc, err);
    if (ids) {
        for (size_t i = 0; rc == RG_OK && i < nids; i++)
            rc = remove_one(lx, &w, ids[i], err);
    } else {
        /* The backend deleted what matched the filter in its copy of the
         * metadata; the sidecar holds the same metadata. */
        rg_buf sql;
        rg_buf_init(&sql);
        json_t *params = json_array();
        rg_buf_puts(&sql, "SELECT id FROM docs WHERE ");
        rg_filter_to_sql(where, "rg_meta_json(metadata)", &sql, params);
        sqlite3_stmt *st = NULL;
        rc = rg_sqlite_prepare_bound(lx->db, lx->path, sql.data, params, &st, err);
        char **victims = NULL;
        size_t nv = 0, cap = 0;
        while (rc == RG_OK && sqlite3_step(st) == SQLITE_ROW) {
            if (nv == cap) {
                cap = cap ? cap * 2 : 64;
                victims = rg_xrealloc(victims, cap * sizeof *victims);
            }
            victims[nv++] = rg_xstrdup((const char *)sqlite3_column_text(st, 0));
        }
        sqlite3_finalize(st);
        for (size_t i = 0; i < nv; i++) {
            if (rc == RG_OK)
                rc = remove_one(lx, &w, victims[i], err);
            free(victims[i]);
        }
        free(victims);
        json_decref(params);
        rg_buf_free(&sql);
    }
    writer_free(&w);
    if (rc == RG_OK)
        rc = clear_op(lx, op, err);
    return commit_or_rollback(lx, rc, err);
}

/* ---- catching up with the backend ---- */

rg_status rg_lexical_count(rg_lexical *lx, int64_t *out, rg_error *err)
{
    return rg_sqlite_scalar_int(lx->db, "SELECT count(*) FROM docs", out, err);
}

static rg_status rebuild_locked(rg_lexical *lx, const rg_lexical_source *src, rg_error *err)
{
    rg_status rc = exec(lx, "BEGIN IMMEDIATE", err);
    if (rc != RG_OK)
        return rc;
    /* A fresh dictionary is trained from the rebuilt rows. */
    rc = exec(lx,
              "DELETE FROM docs; INSERT INTO fts(fts) VALUES('delete-all'); DELETE FROM lexdict;"
              "DELETE FROM meta WHERE key = 'dict_rows'; DELETE FROM journal;",
              err);
    forget_dict(lx);
    lx->want_vacuum = true;
    writer w;
    if (rc == RG_OK)
        rc = writer_init(lx, &w, err);
    if (rc != RG_OK)
        return commit_or_rollback(lx, rc, err);
    rg_record_batch b;
    rg_record_batch_init(&b, 0);
    for (size_t offset = 0; rc == RG_OK;) {
        rg_record_batch_clear(&b);
        rc = src->get(src->ctx, NULL, 0, offset, REBUILD_PAGE, &b, err);
        for (size_t i = 0; rc == RG_OK && i < b.n; i++)
            rc = put_one(lx, &w, b.items[i].id, b.items[i].document, b.items[i].metadata, err);
        if (b.n < REBUILD_PAGE)
            break;
        offset += b.n;
    }
    rg_record_batch_free(&b);
    if (rc == RG_OK)
        rc = maybe_train_dict(lx, &w, err);
    writer_free(&w);
    /* FTS5 keeps many small segments after row-by-row inserts; merging
     * them once makes every later query cheaper. */
    if (rc == RG_OK)
        rc = exec(lx, "INSERT INTO fts(fts) VALUES('optimize')", err);
    return commit_or_rollback(lx, rc, err);
}

rg_status rg_lexical_rebuild(rg_lexical *lx, const rg_lexical_source *src, rg_error *err)
{
    rg_status rc = lock(lx, err);
    if (rc == RG_OK)
        rc = rebuild_locked(lx, src, err);
    rg_lexical_end(lx);
    return rc;
}

rg_status rg_lexical_settle_empty(rg_lexical *lx, const rg_lexical_source *src, rg_error *err)
{
    int64_t marks = 0;
    rg_status rc = rg_sqlite_scalar_int(lx->db, "SELECT count(*) FROM journal WHERE ids IS NULL", &marks, err);
    if (rc != RG_OK || !marks)
        return rc;
    /* Writers hold the lock across their backend write: under it, an empty
     * backend stays empty until the mark is gone. */
    rc = lock(lx, err);
    if (rc != RG_OK)
        return rc;
    int64_t mine = 0, theirs = 0;
    rc = rg_lexical_count(lx, &mine, err);
    if (rc == RG_OK)
        rc = src->count(src->ctx, &theirs, err);
    if (rc == RG_OK && mine == 0 && theirs == 0)
        rc = exec(lx, "DELETE FROM journal WHERE ids IS NULL", err);
    rg_lexical_end(lx);
    return rc;
}

/* Replays journal entries left by writers that did not finish. */
static rg_status replay_locked(rg_lexical *lx, const rg_lexical_source *src, bool *full, rg_error *err)
{
    *full = false;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(lx->db, "SELECT op, ids FROM journal ORDER BY op", -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(lx->db, lx->path, err);
    json_t *ids = json_array();
    int64_t max_op = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        max_op = sqlite3_column_int64(st, 0);
        const char *text = (const char *)sqlite3_column_text(st, 1);
        json_t *a = text ? json_loads(text, 0, NULL) : NULL;
        if (!json_is_array(a))
            *full = true;
        else
            json_array_extend(ids, a);
        json_decref(a);
    }
    sqlite3_finalize(st);
    rg_status rc = RG_OK;
    if (!*full && max_op) {
        size_t n = json_array_size(ids);
        const char **idv = rg_xmalloc((n ? n : 1) * sizeof *idv);
        for (size_t i = 0; i < n; i++)
            idv[i] = json_string_value(json_array_get(ids, i));
        rg_record_batch b;
        rg_record_batch_init(&b, 0);
        rc = n ? src->get(src->ctx, idv, n, 0, 0, &b, err) : RG_OK;
        if (rc == RG_OK)
            rc = exec(lx, "BEGIN IMMEDIATE", err);
        if (rc == RG_OK) {
            writer w;
            rc = writer_init(lx, &w, err);
            if (rc == RG_OK) {
                /* Ids the backend returned are (re)written, the others are
                 * gone from the backend. */
                json_t *present = json_object();
                for (size_t i = 0; rc == RG_OK && i < b.n; i++) {
                    json_object_set_new(present, b.items[i].id, json_true());
                    rc = put_one(lx, &w, b.items[i].id, b.items[i].document, b.items[i].metadata, err);
                }
                for (size_t i = 0; rc == RG_OK && i < n; i++)
                    if (!json_object_get(present, idv[i]))
                        rc = remove_one(lx, &w, idv[i], err);
                json_decref(present);
                writer_free(&w);
            }
            if (rc == RG_OK) {
                char sql[96];
                snprintf(sql, sizeof sql, "DELETE FROM journal WHERE op <= %lld", (long long)max_op);
                rc = exec(lx, sql, err);
            }
            rc = commit_or_rollback(lx, rc, err);
        }
        rg_record_batch_free(&b);
        free(idv);
    }
    json_decref(ids);
    return rc;
}

rg_status rg_lexical_sync(rg_lexical *lx, const rg_lexical_source *src, bool check_count, bool *rebuilt,
                          rg_error *err)
{
    if (rebuilt)
        *rebuilt = false;
    int64_t pending = 0;
    rg_status rc = rg_sqlite_scalar_int(lx->db, "SELECT count(*) FROM journal", &pending, err);
    if (rc != RG_OK || (!pending && !check_count))
        return rc;
    rc = lock(lx, err);
    if (rc != RG_OK)
        return rc;
    bool full = false;
    rc = replay_locked(lx, src, &full, err);
    if (rc == RG_OK && !full && check_count) {
        int64_t mine = 0, theirs = 0;
        rc = rg_lexical_count(lx, &mine, err);
        if (rc == RG_OK)
            rc = src->count(src->ctx, &theirs, err);
        full = rc == RG_OK && mine != theirs;
    }
    if (rc == RG_OK && full) {
        rc = rebuild_locked(lx, src, err);
        if (rc == RG_OK && rebuilt)
            *rebuilt = true;
    }
    rg_lexical_end(lx);
    return rc;
}

/* ---- search ---- */

static int cmp_cstr_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

rg_status rg_lexical_search(rg_lexical *lx, const char *text, int k, const rg_filter *where, rg_hits *out,
                            rg_error *err)
{
    size_t tlen = strlen(text);
    if (tlen > RG_LEXICAL_QUERY_MAX)
        return rg_error_set(err, RG_ERR_INVALID,
                            "the query is %zu bytes; BM25 and hybrid queries take at most %d bytes (shorten it, or "
                            "use --mode vector)",
                            tlen, RG_LEXICAL_QUERY_MAX);
    rg_buf terms;
    rg_buf_init(&terms);
    size_t nterms = rg_analyzer_terms(lx->an, text, &terms);
    if (!nterms || k < 1) {
        rg_buf_free(&terms);
        return RG_OK;
    }
    /* "t1" OR "t2" ...: every distinct term is a phrase of one token,
     * weighted by how often the query repeats it (Lucene's bag of words).
     * One phrase per repetition made a long query quadratic: FTS5 walks
     * every phrase for every matching row. */
    char **tok = rg_xmalloc(nterms * sizeof *tok);
    size_t nt = 0;
    for (char *t = strtok(terms.data, " "); t && nt < nterms; t = strtok(NULL, " "))
        tok[nt++] = t;
    qsort(tok, nt, sizeof *tok, cmp_cstr_ptr);
    rg_buf match, weights;
    rg_buf_init(&match);
    rg_buf_init(&weights);
    for (size_t i = 0; i < nt;) {
        size_t j = i + 1;
        while (j < nt && !strcmp(tok[i], tok[j]))
            j++;
        rg_buf_printf(&match, "%s\"%s\"", match.len ? " OR " : "", tok[i]);
        rg_buf_printf(&weights, "%s%zu", weights.len ? " " : "", j - i);
        i = j;
    }
    free(tok);
    rg_buf sql;
    rg_buf_init(&sql);
    json_t *params = json_array();
    json_array_append_new(params, json_real(lx->params.k1));
    json_array_append_new(params, json_real(lx->params.b));
    json_array_append_new(params, json_string(weights.data));
    json_array_append_new(params, json_string(match.data));
    rg_buf_puts(&sql, "SELECT d.id, rg_bm25(fts, ?, ?, ?) AS s FROM fts JOIN docs d ON d.rowid = fts.rowid"
                      " WHERE fts MATCH ?");
    if (where) {
        rg_buf_puts(&sql, " AND ");
        rg_filter_to_sql(where, "rg_meta_json(d.metadata)", &sql, params);
    }
    rg_buf_puts(&sql, " ORDER BY s, d.id LIMIT ?");
    json_array_append_new(params, json_integer(k));
    sqlite3_stmt *st = NULL;
    rg_status rc = rg_sqlite_prepare_bound(lx->db, lx->path, sql.data, params, &st, err);
    int r = SQLITE_DONE;
    while (rc == RG_OK && (r = sqlite3_step(st)) == SQLITE_ROW)
        rg_hits_push(out, (const char *)sqlite3_column_text(st, 0), (float)sqlite3_column_double(st, 1), NULL, NULL);
    if (rc == RG_OK && r != SQLITE_DONE)
        rc = rg_sqlite_error(lx->db, lx->path, err);
    sqlite3_finalize(st);
    json_decref(params);
    rg_buf_free(&sql);
    rg_buf_free(&match);
    rg_buf_free(&weights);
    rg_buf_free(&terms);
    return rc;
}

int64_t rg_lexical_bytes(const char *path)
{
    int64_t total = 0;
    static const char *const suffixes[] = {"", "-wal"};
    for (size_t i = 0; i < RG_ARRAY_LEN(suffixes); i++) {
        char *p = side_path(path, suffixes[i]);
        struct stat sb;
        if (stat(p, &sb) == 0)
            total += sb.st_size;
        free(p);
    }
    return total;
}
