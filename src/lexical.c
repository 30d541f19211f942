/* The lexical index of a collection: segments (bm25_segment.c), their
 * manifest and the journal that keeps them in step with the backend.  See
 * lexical.h for the guarantees and docs/bm25.md for the formats.
 *
 * DIR/NAME.bm25/index.sqlite (WAL):
 *   meta(key, value)        format, stemmer
 *   manifest(id = 1, data)  the segments, their tombstones and the live
 *                           statistics, one blob with its own CRC32C
 *   journal(op, ids)        pending writes; ids NULL = unknown set
 * DIR/NAME.bm25/GEN.seg     segments named by the manifest
 * DIR/NAME.bm25/lock        flock()ed by the writer
 *
 * A write puts its new segment files on disk first (fsynced), then commits
 * the manifest that names them; killed at any instant, the manifest names
 * complete files only.  Files it does not name are orphans of a killed or
 * failed writer (or segments merged away) that the next writer deletes.
 *
 * Deletes and replaced records are tombstones in the manifest (a bitset per
 * segment); merges drop them.  After each write, the newest segments are
 * merged while the one before holds no more than twice the live records of
 * the newest (sizes stay geometric: O(log n) segments, each record
 * rewritten O(log n) times), and a segment more than half dead is merged
 * with its neighbour. */
#include "lexical.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "analyzer.h"
#include "bm25.h"
#include "sqlite_util.h"
#include "util.h"

#define LEXICAL_FORMAT "ragged-bm25-2"   /* -1: segment version 1, rebuilt from the backend */
#define LEGACY_FORMAT "ragged-lexical-2"
#define MANIFEST_MAGIC "RGBM25MF"
#define MANIFEST_VERSION 1
#define REBUILD_PAGE 1000
#define REBUILD_SEGMENT_DOCS 65536 /* a rebuild writes a segment per this many records */

typedef struct segref {
    uint64_t gen;
    uint32_t ndocs, ndead;
    uint64_t bytes, live_dl;
    uint8_t *dead;                 /* (ndocs + 7) / 8 bytes */
    rg_bm25_seg *seg;              /* opened lazily */
} segref;

/* id -> segment generation and document, for the live records. */
typedef struct idslot {
    char *id;                      /* NULL: empty; DELETED: removed */
    uint64_t gen;
    uint32_t doc;
} idslot;

static char DELETED_MARK;
#define DELETED (&DELETED_MARK)

typedef struct idmap {
    idslot *s;
    size_t cap, used;              /* used counts DELETED slots too */
} idmap;

struct rg_lexical {
    char *base, *dir, *db_path, *lock_path;
    sqlite3 *db;
    rg_analyzer *an;
    rg_lexical_params params;
    int lock_fd;
    bool locked;
    /* the manifest as last read */
    bool loaded;
    uint64_t counter, next_gen, ndocs, total_dl;
    uint32_t crc;                  /* of the manifest blob read or written last */
    segref *segs;
    size_t nsegs;
    idmap map;
    bool map_ok;
    bool converted;                /* this open converted an FTS5 sidecar */
    rg_buf terms;                  /* scratch */
};

/* ---- names ---- */

char *rg_lexical_file_collection(const char *filename)
{
    static const char *const suffixes[] = {".bm25", ".fts.sqlite"};
    for (size_t i = 0; i < RG_ARRAY_LEN(suffixes); i++) {
        const char *at = strstr(filename, suffixes[i]);
        if (at && at != filename)
            return rg_xstrndup(filename, (size_t)(at - filename));
    }
    return NULL;
}

static void remove_legacy(const char *base)
{
    static const char *const suffixes[] = {".fts.sqlite", ".fts.sqlite-wal", ".fts.sqlite-shm",
                                           ".fts.sqlite-journal", ".fts.sqlite.lock"};
    for (size_t i = 0; i < RG_ARRAY_LEN(suffixes); i++) {
        char *p = rg_xasprintf("%s%s", base, suffixes[i]);
        unlink(p);
        free(p);
    }
}

void rg_lexical_remove_files(const char *base)
{
    char *dir = rg_xasprintf("%s.bm25", base);
    rg_error ignored;
    rg_remove_tree(dir, &ignored);
    free(dir);
    remove_legacy(base);
}

void rg_lexical_rename_files(const char *from, const char *to)
{
    rg_lexical_remove_files(to);
    char *a = rg_xasprintf("%s.bm25", from), *b = rg_xasprintf("%s.bm25", to);
    if (rg_path_exists(a) && rename(a, b) != 0)
        rg_lexical_remove_files(to);
    free(a);
    free(b);
    rg_lexical_remove_files(from);   /* an old sidecar is rebuilt under the new name */
}

int64_t rg_lexical_bytes(const char *base)
{
    char *dir = rg_xasprintf("%s.bm25", base);
    int64_t total = rg_path_exists(dir) ? rg_dir_size(dir) : 0;
    free(dir);
    static const char *const legacy[] = {".fts.sqlite", ".fts.sqlite-wal"};
    for (size_t i = 0; i < RG_ARRAY_LEN(legacy); i++) {
        char *p = rg_xasprintf("%s%s", base, legacy[i]);
        struct stat sb;
        if (stat(p, &sb) == 0)
            total += sb.st_size;
        free(p);
    }
    return total;
}

static char *seg_path(const rg_lexical *lx, uint64_t gen)
{
    return rg_xasprintf("%s/%llu.seg", lx->dir, (unsigned long long)gen);
}

static rg_status exec(rg_lexical *lx, const char *sql, rg_error *err)
{
    return rg_sqlite_exec(lx->db, sql, err);
}

static rg_status damaged(const rg_lexical *lx, const char *what, rg_error *err)
{
    return rg_error_set(err, RG_ERR_CORRUPT,
                        "the BM25 index %s is damaged (%s); " RG_BM25_REINDEX_HINT,
                        lx->dir, what);
}

/* ---- the id map ---- */

static void idmap_free(idmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].id && m->s[i].id != DELETED)
            free(m->s[i].id);
    free(m->s);
    memset(m, 0, sizeof *m);
}

static idslot *idmap_find(idmap *m, const char *id)
{
    if (!m->cap)
        return NULL;
    size_t at = (size_t)rg_hash64(id, strlen(id), 1) & (m->cap - 1);
    while (m->s[at].id) {
        if (m->s[at].id != DELETED && !strcmp(m->s[at].id, id))
            return &m->s[at];
        at = (at + 1) & (m->cap - 1);
    }
    return NULL;
}

static void idmap_put(idmap *m, const char *id, uint64_t gen, uint32_t doc);

static void idmap_grow(idmap *m)
{
    idmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 1024;
    m->s = rg_xcalloc(m->cap, sizeof *m->s);
    m->used = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.s[i].id && old.s[i].id != DELETED) {
            size_t at = (size_t)rg_hash64(old.s[i].id, strlen(old.s[i].id), 1) & (m->cap - 1);
            while (m->s[at].id)
                at = (at + 1) & (m->cap - 1);
            m->s[at] = old.s[i];
            m->used++;
        }
    free(old.s);
}

static void idmap_put(idmap *m, const char *id, uint64_t gen, uint32_t doc)
{
    idslot *x = idmap_find(m, id);
    if (x) {
        x->gen = gen;
        x->doc = doc;
        return;
    }
    if ((m->used + 1) * 2 > m->cap)
        idmap_grow(m);
    size_t at = (size_t)rg_hash64(id, strlen(id), 1) & (m->cap - 1);
    while (m->s[at].id)
        at = (at + 1) & (m->cap - 1);
    m->s[at] = (idslot){rg_xstrdup(id), gen, doc};
    m->used++;
}

static void idmap_del(idslot *x)
{
    free(x->id);
    x->id = DELETED;
}

/* ---- the manifest ---- */

static void forget(rg_lexical *lx)
{
    for (size_t i = 0; i < lx->nsegs; i++) {
        free(lx->segs[i].dead);
        rg_bm25_seg_free(lx->segs[i].seg);
    }
    free(lx->segs);
    lx->segs = NULL;
    lx->nsegs = 0;
    lx->loaded = false;
    lx->counter = lx->next_gen = lx->ndocs = lx->total_dl = 0;
    idmap_free(&lx->map);
    lx->map_ok = false;
}

static void encode_manifest(const rg_lexical *lx, rg_buf *out)
{
    rg_buf_append(out, MANIFEST_MAGIC, 8);
    rg_buf_put_le32(out, MANIFEST_VERSION);
    rg_buf_put_le32(out, (uint32_t)lx->nsegs);
    rg_buf_put_le64(out, lx->counter);
    rg_buf_put_le64(out, lx->next_gen);
    rg_buf_put_le64(out, lx->ndocs);
    rg_buf_put_le64(out, lx->total_dl);
    for (size_t i = 0; i < lx->nsegs; i++) {
        const segref *s = &lx->segs[i];
        rg_buf_put_le64(out, s->gen);
        rg_buf_put_le32(out, s->ndocs);
        rg_buf_put_le32(out, s->ndead);
        rg_buf_put_le64(out, s->bytes);
        rg_buf_put_le64(out, s->live_dl);
        rg_buf_append(out, s->dead, (s->ndocs + 7) / 8);
    }
    rg_buf_put_le32(out, rg_crc32c(0, out->data, out->len));
}

/* Parses a manifest blob into lx (segments not opened). */
static rg_status decode_manifest(rg_lexical *lx, const uint8_t *p, size_t n, rg_error *err)
{
    if (n < 48 + 4 || memcmp(p, MANIFEST_MAGIC, 8))
        return damaged(lx, "manifest: bad magic or too short", err);
    if (rg_crc32c(0, p, n - 4) != rg_le32(p + n - 4))
        return damaged(lx, "manifest checksum mismatch", err);
    if (rg_le32(p + 8) != MANIFEST_VERSION)
        return damaged(lx, "manifest of an unknown version", err);
    size_t nsegs = rg_le32(p + 12);
    lx->counter = rg_le64(p + 16);
    lx->next_gen = rg_le64(p + 24);
    lx->ndocs = rg_le64(p + 32);
    lx->total_dl = rg_le64(p + 40);
    const uint8_t *q = p + 48, *end = p + n - 4;
    if (nsegs > (size_t)(end - q) / 32)
        return damaged(lx, "manifest segment count", err);
    lx->segs = rg_xcalloc(nsegs + 1, sizeof *lx->segs);
    uint64_t docs = 0, dl = 0;
    for (size_t i = 0; i < nsegs; i++) {
        if (end - q < 32)
            return damaged(lx, "manifest truncated", err);
        segref *s = &lx->segs[lx->nsegs++];
        s->gen = rg_le64(q);
        s->ndocs = rg_le32(q + 8);
        s->ndead = rg_le32(q + 12);
        s->bytes = rg_le64(q + 16);
        s->live_dl = rg_le64(q + 24);
        q += 32;
        size_t nb = ((size_t)s->ndocs + 7) / 8;
        if ((size_t)(end - q) < nb || s->ndead > s->ndocs || s->gen >= lx->next_gen)
            return damaged(lx, "manifest segment entry", err);
        s->dead = rg_xmalloc(nb + 1);
        memcpy(s->dead, q, nb);
        q += nb;
        uint32_t marked = 0;
        for (uint32_t d = 0; d < s->ndocs; d++)
            marked += rg_bit_get(s->dead, d);
        if (marked != s->ndead)
            return damaged(lx, "manifest tombstone count", err);
        docs += s->ndocs - s->ndead;
        dl += s->live_dl;
    }
    if (q != end || docs != lx->ndocs || dl != lx->total_dl)
        return damaged(lx, "manifest totals", err);
    lx->loaded = true;
    return RG_OK;
}

static rg_status open_seg(rg_lexical *lx, segref *s, rg_error *err)
{
    if (s->seg)
        return RG_OK;
    char *path = seg_path(lx, s->gen);
    rg_status rc = rg_bm25_seg_open(path, &s->seg, err);
    free(path);
    if (rc == RG_OK && (rg_bm25_seg_ndocs(s->seg) != s->ndocs || rg_bm25_seg_bytes(s->seg) != s->bytes)) {
        rg_bm25_seg_free(s->seg);
        s->seg = NULL;
        rc = damaged(lx, "a segment does not match the manifest", err);
    }
    return rc;
}

/* Reads the manifest (a snapshot) unless the one in memory is current. */
static rg_status load(rg_lexical *lx, rg_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(lx->db, "SELECT data FROM manifest WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(lx->db, lx->db_path, err);
    rg_status rc = RG_OK;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const uint8_t *p = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (lx->loaded && n >= 24 && rg_le64(p + 16) == lx->counter && rg_le32(p + n - 4) == lx->crc &&
            rg_crc32c(0, p, n - 4) == lx->crc) {
            sqlite3_finalize(st);
            return RG_OK;
        }
        /* Keep the open segments that the new manifest still names. */
        segref *old = lx->segs;
        size_t nold = lx->nsegs;
        lx->segs = NULL;
        lx->nsegs = 0;
        idmap_free(&lx->map);
        lx->map_ok = false;
        rc = decode_manifest(lx, p ? p : (const uint8_t *)"", n, err);
        if (rc == RG_OK)
            lx->crc = rg_le32(p + n - 4);
        for (size_t i = 0; i < nold; i++) {
            for (size_t j = 0; rc == RG_OK && j < lx->nsegs && old[i].seg; j++)
                if (lx->segs[j].gen == old[i].gen) {
                    lx->segs[j].seg = old[i].seg;
                    old[i].seg = NULL;
                }
            rg_bm25_seg_free(old[i].seg);
            free(old[i].dead);
        }
        free(old);
    } else if (r == SQLITE_DONE) {
        /* Every open writes a manifest before anything can read it: a
         * missing row is damage, not an empty index. */
        rc = damaged(lx, "the manifest is missing", err);
    } else {
        rc = rg_sqlite_error(lx->db, lx->db_path, err);
    }
    sqlite3_finalize(st);
    if (rc != RG_OK)
        forget(lx);
    return rc;
}

static rg_status store_manifest(rg_lexical *lx, rg_error *err)
{
    lx->counter++;
    rg_buf b;
    rg_buf_init(&b);
    encode_manifest(lx, &b);
    lx->crc = rg_le32((const uint8_t *)b.data + b.len - 4);
    sqlite3_stmt *st = NULL;
    rg_status rc = RG_OK;
    if (sqlite3_prepare_v2(lx->db, "INSERT OR REPLACE INTO manifest(id, data) VALUES(1, ?)", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = rg_sqlite_error(lx->db, lx->db_path, err);
    } else {
        sqlite3_bind_blob(st, 1, b.data, (int)b.len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = rg_sqlite_error(lx->db, lx->db_path, err);
    }
    sqlite3_finalize(st);
    rg_buf_free(&b);
    return rc;
}

static rg_status build_map(rg_lexical *lx, rg_error *err)
{
    if (lx->map_ok)
        return RG_OK;
    idmap_free(&lx->map);
    rg_status rc = RG_OK;
    for (size_t i = 0; rc == RG_OK && i < lx->nsegs; i++) {
        segref *s = &lx->segs[i];
        rc = open_seg(lx, s, err);
        for (uint32_t d = 0; rc == RG_OK && d < s->ndocs; d++) {
            if (rg_bit_get(s->dead, d))
                continue;
            const char *id;
            rc = rg_bm25_seg_id(s->seg, d, &id, err);
            if (rc == RG_OK)
                idmap_put(&lx->map, id, s->gen, d);
        }
    }
    if (rc == RG_OK && lx->map.used != lx->ndocs)
        rc = damaged(lx, "an id is live in two places", err);
    if (rc != RG_OK)
        idmap_free(&lx->map);
    lx->map_ok = rc == RG_OK;
    return rc;
}

static segref *seg_of(rg_lexical *lx, uint64_t gen)
{
    for (size_t i = 0; i < lx->nsegs; i++)
        if (lx->segs[i].gen == gen)
            return &lx->segs[i];
    return NULL;
}

/* ---- open / close ---- */

static rg_status mark_rebuild(rg_lexical *lx, rg_error *err)
{
    return exec(lx, "INSERT INTO journal(ids) VALUES(NULL)", err);
}

static rg_status upgrade_legacy(rg_lexical *lx, const char *legacy, rg_bm25_builder *b, sqlite3 *old,
                                rg_error *err);
static rg_status commit_new_segments(rg_lexical *lx, rg_bm25_builder **builders, size_t nb, uint64_t **made,
                                     size_t *nmade, rg_error *err);
static void remove_orphans(rg_lexical *lx);

static const char *SCHEMA = "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                            "CREATE TABLE IF NOT EXISTS manifest(id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB);"
                            "CREATE TABLE IF NOT EXISTS journal(op INTEGER PRIMARY KEY, ids TEXT);";

/* A legacy sidecar of this stemmer: its stored terms become the first
 * segment and its pending journal entries carry over; anything else (or
 * a failure) leaves the new index marked for a rebuild. */
static rg_status convert_legacy(rg_lexical *lx, bool *converted, rg_error *err)
{
    *converted = false;
    char *legacy = rg_xasprintf("%s.fts.sqlite", lx->base);
    if (!rg_path_exists(legacy)) {
        free(legacy);
        return RG_OK;
    }
    sqlite3 *old = NULL;
    rg_error ignored;
    char *format = NULL, *stemmer = NULL;
    rg_bm25_builder *b = rg_bm25_builder_new();
    bool usable = rg_sqlite_open(legacy, SQLITE_OPEN_READONLY, &old, &ignored) == RG_OK &&
                  rg_sqlite_meta_get(old, "format", &format, &ignored) == RG_OK &&
                  rg_sqlite_meta_get(old, "stemmer", &stemmer, &ignored) == RG_OK && format &&
                  !strcmp(format, LEGACY_FORMAT) && stemmer && !strcmp(stemmer, lx->params.stemmer) &&
                  upgrade_legacy(lx, legacy, b, old, &ignored) == RG_OK;
    rg_status rc = RG_OK;
    if (usable) {
        uint64_t *made = NULL;
        size_t nmade = 0;
        rc = commit_new_segments(lx, &b, 1, &made, &nmade, err);
        free(made);
        *converted = rc == RG_OK;
    }
    sqlite3_close(old);
    rg_bm25_builder_free(b);
    free(format);
    free(stemmer);
    free(legacy);
    return rc;
}

static rg_lexical *handle_new(const char *base, const rg_lexical_params *params)
{
    rg_lexical *lx = rg_xcalloc(1, sizeof *lx);
    lx->base = rg_xstrdup(base);
    lx->dir = rg_xasprintf("%s.bm25", base);
    lx->db_path = rg_xasprintf("%s/index.sqlite", lx->dir);
    lx->lock_path = rg_xasprintf("%s/lock", lx->dir);
    lx->params = *params;
    lx->lock_fd = -1;
    rg_buf_init(&lx->terms);
    return lx;
}

static rg_status open_lock_file(rg_lexical *lx, rg_error *err)
{
    lx->lock_fd = open(lx->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lx->lock_fd < 0)
        return rg_error_set(err, RG_ERR_IO, "cannot open %s: %s", lx->lock_path, strerror(errno));
    return RG_OK;
}

rg_status rg_lexical_open(const char *base, const rg_lexical_params *params, rg_lexical **out, rg_error *err)
{
    *out = NULL;
    rg_lexical *lx = handle_new(base, params);
    rg_status rc = rg_mkdir_p(lx->dir, 0700, err);
    if (rc == RG_OK)
        rc = rg_analyzer_new(params->stemmer, &lx->an, err);
    if (rc == RG_OK)
        rc = open_lock_file(lx, err);
    /* A small file: 1 KiB pages (on a new file; pages that journal entries
     * free are reused by the next ones). */
    if (rc == RG_OK)
        rc = rg_sqlite_open_paged(lx->db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1024, &lx->db, err);
    char *format = NULL, *stemmer = NULL;
    if (rc == RG_OK)
        rc = exec(lx, SCHEMA, err);
    if (rc == RG_OK)
        rc = rg_sqlite_meta_get(lx->db, "format", &format, err);
    if (rc == RG_OK)
        rc = rg_sqlite_meta_get(lx->db, "stemmer", &stemmer, err);
    if (rc == RG_OK &&
        (!format || strcmp(format, LEXICAL_FORMAT) || !stemmer || strcmp(stemmer, params->stemmer))) {
        /* New, another format or another stemmer: start empty, converting
         * an old sidecar or marked for a rebuild from the backend.  Under
         * the lock, so two processes do not both convert. */
        if (flock(lx->lock_fd, LOCK_EX) != 0)
            rc = rg_error_set(err, RG_ERR_IO, "cannot lock %s: %s", lx->lock_path, strerror(errno));
        free(format);
        format = NULL;
        if (rc == RG_OK)
            rc = rg_sqlite_meta_get(lx->db, "format", &format, err);
        free(stemmer);
        stemmer = NULL;
        if (rc == RG_OK)
            rc = rg_sqlite_meta_get(lx->db, "stemmer", &stemmer, err);
        if (rc == RG_OK &&
            (!format || strcmp(format, LEXICAL_FORMAT) || !stemmer || strcmp(stemmer, params->stemmer))) {
            /* The manifest is replaced, not deleted: its change counter and
             * generation numbers carry on (commit_new_segments). */
            rc = exec(lx, "BEGIN IMMEDIATE; DELETE FROM journal;", err);
            forget(lx);
            bool converted = false;
            if (rc == RG_OK)
                rc = rg_sqlite_meta_set(lx->db, "format", LEXICAL_FORMAT, err);
            if (rc == RG_OK)
                rc = rg_sqlite_meta_set(lx->db, "stemmer", params->stemmer, err);
            if (rc == RG_OK)
                rc = convert_legacy(lx, &converted, err);
            lx->converted = converted;
            if (rc == RG_OK && !converted) {
                uint64_t *made = NULL;
                size_t nmade = 0;
                rc = commit_new_segments(lx, NULL, 0, &made, &nmade, err);   /* empty */
                free(made);
            }
            if (rc == RG_OK && !converted)
                rc = mark_rebuild(lx, err);
            rg_error ignored;
            rc = rc == RG_OK ? exec(lx, "COMMIT", err) : (exec(lx, "ROLLBACK", &ignored), rc);
            forget(lx);
            if (rc == RG_OK) {
                remove_legacy(lx->base);
                remove_orphans(lx);
            }
            /* Pages that journal entries (a batch's ids) take are freed
             * again: with auto_vacuum they go back to the file system.  In
             * WAL mode the setting takes a VACUUM, cheap on this new file. */
            int64_t av = 0;
            if (rc == RG_OK)
                rc = rg_sqlite_scalar_int(lx->db, "PRAGMA auto_vacuum", &av, err);
            if (rc == RG_OK && av == 0)
                rc = exec(lx, "PRAGMA auto_vacuum = FULL; VACUUM", err);
        }
        flock(lx->lock_fd, LOCK_UN);
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


rg_status rg_lexical_open_reader(const char *base, const rg_lexical_params *params, rg_lexical **out,
                                 rg_lexical_state *state, rg_error *err)
{
    *out = NULL;
    *state = RG_LEXICAL_READY;
    rg_lexical *lx = handle_new(base, params);
    char *legacy = rg_xasprintf("%s.fts.sqlite", base);
    bool has_legacy = rg_path_exists(legacy);
    free(legacy);
    if (!rg_path_exists(lx->db_path)) {
        *state = has_legacy ? RG_LEXICAL_OLD_FORMAT : RG_LEXICAL_MISSING;
        rg_lexical_close(lx);
        return RG_OK;
    }
    /* Read-write without create: a WAL database's readers write its shared
     * memory file, never the database. */
    rg_status rc = rg_sqlite_open(lx->db_path, SQLITE_OPEN_READWRITE, &lx->db, err);
    char *format = NULL, *stemmer = NULL;
    /* A writer creates the file, then its tables, then (under the lock)
     * the format: a reader that comes in between finds no meta table or
     * no format yet.  That index does not exist yet, as before the file
     * was created (a file that is not SQLite at all still fails to open). */
    int64_t has_meta = 0;
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(lx->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                                  &has_meta, err);
    if (rc == RG_OK && has_meta)
        rc = rg_sqlite_meta_get(lx->db, "format", &format, err);
    if (rc == RG_OK && (!has_meta || !format)) {
        *state = has_legacy ? RG_LEXICAL_OLD_FORMAT : RG_LEXICAL_MISSING;
        rg_lexical_close(lx);
        return RG_OK;
    }
    if (rc == RG_OK)
        rc = rg_sqlite_meta_get(lx->db, "stemmer", &stemmer, err);
    /* A sidecar beside a current index is one whose removal a crash
     * interrupted after the conversion committed: the index is what counts
     * (the next writer's open removes nothing, so it is not a reason to
     * refuse). */
    if (rc == RG_OK && (!format || strcmp(format, LEXICAL_FORMAT)))
        *state = RG_LEXICAL_OLD_FORMAT;
    else if (rc == RG_OK && (!stemmer || strcmp(stemmer, params->stemmer)))
        *state = RG_LEXICAL_OTHER_STEMMER;
    free(format);
    free(stemmer);
    if (rc == RG_OK && *state == RG_LEXICAL_READY)
        rc = rg_analyzer_new(params->stemmer, &lx->an, err);
    if (rc == RG_OK && *state == RG_LEXICAL_READY)
        rc = open_lock_file(lx, err);
    if (rc != RG_OK || *state != RG_LEXICAL_READY) {
        rg_lexical_close(lx);
        return rc;
    }
    *out = lx;
    return RG_OK;
}

bool rg_lexical_converted(const rg_lexical *lx)
{
    return lx->converted;
}

void rg_lexical_close(rg_lexical *lx)
{
    if (!lx)
        return;
    rg_lexical_end(lx);
    if (lx->lock_fd >= 0)
        close(lx->lock_fd);
    forget(lx);
    sqlite3_close(lx->db);
    rg_analyzer_free(lx->an);
    rg_buf_free(&lx->terms);
    free(lx->base);
    free(lx->dir);
    free(lx->db_path);
    free(lx->lock_path);
    free(lx);
}

/* ---- the lock and the journal ---- */

static rg_status lock(rg_lexical *lx, rg_error *err)
{
    if (lx->locked)
        return RG_OK;
    while (flock(lx->lock_fd, LOCK_EX) != 0)
        if (errno != EINTR)
            return rg_error_set(err, RG_ERR_IO, "cannot lock %s: %s", lx->lock_path, strerror(errno));
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
        rc = rg_sqlite_error(lx->db, lx->db_path, err);
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
            rc = rg_sqlite_error(lx->db, lx->db_path, err);
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
    if (!op)
        return RG_OK;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(lx->db, "DELETE FROM journal WHERE op = ?", -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(lx->db, lx->db_path, err);
    sqlite3_bind_int64(st, 1, op);
    rg_status rc = sqlite3_step(st) == SQLITE_DONE ? RG_OK : rg_sqlite_error(lx->db, lx->db_path, err);
    sqlite3_finalize(st);
    return rc;
}

/* ---- writing (inside a write transaction, manifest loaded) ---- */

/* Tombstones id if it is live. */
static rg_status kill_id(rg_lexical *lx, const char *id, rg_error *err)
{
    idslot *x = idmap_find(&lx->map, id);
    if (!x)
        return RG_OK;
    segref *s = seg_of(lx, x->gen);
    if (!s)
        return damaged(lx, "the id map names a segment that is gone", err);
    rg_status rc = open_seg(lx, s, err);
    uint32_t dl = 0;
    if (rc == RG_OK)
        rc = rg_bm25_seg_dl(s->seg, x->doc, &dl, err);
    if (rc != RG_OK)
        return rc;
    if (!rg_bit_get(s->dead, x->doc)) {
        rg_bit_set(s->dead, x->doc);
        s->ndead++;
        s->live_dl -= dl;
        lx->ndocs--;
        lx->total_dl -= dl;
    }
    idmap_del(x);
    return RG_OK;
}

/* Writes a segment file crash-safely: GEN.seg.tmp, fsync, rename, fsync
 * of the directory.  The temporary name is fixed (the writer holds the
 * lock); one a killed writer left is an orphan the next writer removes. */
static rg_status write_segment(rg_lexical *lx, const char *path, const rg_buf *bytes, rg_error *err)
{
    char *tmp = rg_xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    rg_status rc = RG_OK;
    if (fd < 0)
        rc = rg_error_set(err, RG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    for (size_t off = 0; rc == RG_OK && off < bytes->len;) {
        ssize_t w = write(fd, bytes->data + off, bytes->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = rg_error_set(err, RG_ERR_IO, "cannot write %s: %s", tmp, w < 0 ? strerror(errno) : "short write");
        else
            off += (size_t)w;
    }
    if (rc == RG_OK && fsync(fd) != 0)
        rc = rg_error_set(err, RG_ERR_IO, "cannot flush %s: %s", tmp, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && rc == RG_OK)
        rc = rg_error_set(err, RG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    if (rc == RG_OK && rename(tmp, path) != 0)
        rc = rg_error_set(err, RG_ERR_IO, "cannot rename %s: %s", tmp, strerror(errno));
    if (rc == RG_OK && rg_fsync_dir(lx->dir) != 0)
        rc = rg_error_set(err, RG_ERR_IO, "cannot flush %s: %s", lx->dir, strerror(errno));
    if (rc != RG_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Writes b as segment gen (fsynced), appends it to the manifest in
 * memory and records the new ids in the map. */
static rg_status add_segment(rg_lexical *lx, rg_bm25_builder *b, uint64_t gen, rg_error *err)
{
    rg_buf bytes;
    rg_buf_init(&bytes);
    rg_bm25_builder_encode(b, &bytes);
    char *path = seg_path(lx, gen);
    rg_status rc = write_segment(lx, path, &bytes, err);
    if (rc == RG_OK) {
        lx->segs = rg_xrealloc(lx->segs, (lx->nsegs + 1) * sizeof *lx->segs);
        segref *s = &lx->segs[lx->nsegs++];
        memset(s, 0, sizeof *s);
        s->gen = gen;
        s->ndocs = (uint32_t)rg_bm25_builder_ndocs(b);
        s->bytes = bytes.len;
        s->dead = rg_xcalloc(s->ndocs / 8 + 1, 1);
        rc = rg_bm25_seg_open(path, &s->seg, err);
        if (rc == RG_OK) {
            s->live_dl = rg_bm25_seg_total_dl(s->seg);
            lx->ndocs += s->ndocs;
            lx->total_dl += s->live_dl;
        }
        for (uint32_t d = 0; rc == RG_OK && lx->map_ok && d < s->ndocs; d++) {
            const char *id;
            rc = rg_bm25_seg_id(s->seg, d, &id, err);
            if (rc == RG_OK)
                idmap_put(&lx->map, id, gen, d);
        }
    }
    free(path);
    rg_buf_free(&bytes);
    return rc;
}

/* Merges segments [i, j) into one (or none when all of it is dead). */
static rg_status merge_range(rg_lexical *lx, size_t i, size_t j, rg_error *err)
{
    rg_bm25_builder *b = rg_bm25_builder_new();
    rg_status rc = RG_OK;
    for (size_t x = i; rc == RG_OK && x < j; x++) {
        rc = open_seg(lx, &lx->segs[x], err);
        if (rc == RG_OK)
            rc = rg_bm25_builder_add_segment(b, lx->segs[x].seg, lx->segs[x].dead, err);
    }
    rg_buf bytes;
    rg_buf_init(&bytes);
    segref merged = {0};
    if (rc == RG_OK && rg_bm25_builder_ndocs(b)) {
        rg_bm25_builder_encode(b, &bytes);
        merged.gen = lx->next_gen++;
        char *path = seg_path(lx, merged.gen);
        rc = write_segment(lx, path, &bytes, err);
        if (rc == RG_OK)
            rc = rg_bm25_seg_open(path, &merged.seg, err);
        free(path);
        merged.ndocs = (uint32_t)rg_bm25_builder_ndocs(b);
        merged.bytes = bytes.len;
        merged.dead = rg_xcalloc(merged.ndocs / 8 + 1, 1);
        if (merged.seg)
            merged.live_dl = rg_bm25_seg_total_dl(merged.seg);
    }
    rg_bm25_builder_free(b);
    rg_buf_free(&bytes);
    if (rc != RG_OK) {
        rg_bm25_seg_free(merged.seg);
        free(merged.dead);
        return rc;
    }
    /* The live documents of [i, j) are now merged.gen 0, 1, ... in order. */
    uint32_t next = 0;
    for (size_t x = i; rc == RG_OK && lx->map_ok && x < j; x++)
        for (uint32_t d = 0; rc == RG_OK && d < lx->segs[x].ndocs; d++) {
            if (rg_bit_get(lx->segs[x].dead, d))
                continue;
            const char *id;
            rc = rg_bm25_seg_id(lx->segs[x].seg, d, &id, err);
            idslot *slot = rc == RG_OK ? idmap_find(&lx->map, id) : NULL;
            if (slot) {
                slot->gen = merged.gen;
                slot->doc = next;
            }
            next++;
        }
    if (rc != RG_OK) {
        lx->map_ok = false;
        idmap_free(&lx->map);
        rc = RG_OK;   /* the merge itself is good: the map is rebuilt when next needed */
    }
    for (size_t x = i; x < j; x++) {
        rg_bm25_seg_free(lx->segs[x].seg);
        free(lx->segs[x].dead);
    }
    size_t keep = merged.seg ? 1 : 0;
    memmove(&lx->segs[i + keep], &lx->segs[j], (lx->nsegs - j) * sizeof *lx->segs);
    lx->nsegs -= (j - i) - keep;
    if (keep)
        lx->segs[i] = merged;
    return RG_OK;
}

static uint64_t live_of(const segref *s)
{
    return (uint64_t)s->ndocs - s->ndead;
}

static rg_status maybe_merge(rg_lexical *lx, rg_error *err)
{
    rg_status rc = RG_OK;
    for (bool again = true; again && rc == RG_OK;) {
        again = false;
        size_t n = lx->nsegs;
        if (n >= 2 && live_of(&lx->segs[n - 2]) <= 2 * live_of(&lx->segs[n - 1])) {
            rc = merge_range(lx, n - 2, n, err);
            again = true;
            continue;
        }
        for (size_t i = 0; i < lx->nsegs; i++)
            if (lx->segs[i].ndead * 2 > lx->segs[i].ndocs) {
                size_t j = i + 1 < lx->nsegs ? i + 2 : i + 1;
                rc = merge_range(lx, i, j, err);
                again = true;
                break;
            }
    }
    return rc;
}

/* Deletes segment files the manifest does not name (under the lock). */
static void remove_orphans(rg_lexical *lx)
{
    rg_error ignored;
    if (load(lx, &ignored) != RG_OK)
        return;
    DIR *d = opendir(lx->dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char *end = NULL;
        unsigned long long gen = strtoull(de->d_name, &end, 10);
        bool seg = end && end != de->d_name && !strcmp(end, ".seg");
        bool tmp = strstr(de->d_name, ".seg.tmp") != NULL;
        if ((seg && !seg_of(lx, gen)) || tmp) {
            char *p = rg_path_join(lx->dir, de->d_name);
            unlink(p);
            free(p);
        }
    }
    if (d)
        closedir(d);
}

static rg_status write_begin(rg_lexical *lx, rg_error *err)
{
    rg_status rc = exec(lx, "BEGIN IMMEDIATE", err);
    if (rc == RG_OK)
        rc = load(lx, err);
    if (rc == RG_OK)
        rc = build_map(lx, err);
    if (rc != RG_OK) {
        rg_error ignored;
        exec(lx, "ROLLBACK", &ignored);
        forget(lx);
    }
    return rc;
}

static rg_status write_end(rg_lexical *lx, rg_status rc, bool changed, rg_error *err)
{
    if (rc == RG_OK && changed)
        rc = maybe_merge(lx, err);
    if (rc == RG_OK && changed)
        rc = store_manifest(lx, err);
    if (rc == RG_OK)
        rc = exec(lx, "COMMIT", err);
    if (rc != RG_OK) {
        rg_error ignored;
        exec(lx, "ROLLBACK", &ignored);
        forget(lx);   /* the memory state is ahead of the file */
    }
    if (changed)
        remove_orphans(lx);   /* merged-away segments, or this failure's files */
    return rc;
}

/* Analyses and adds one record to b (replacing any live version). */
static rg_status put_one(rg_lexical *lx, rg_bm25_builder *b, const char *id, const char *document, rg_error *err)
{
    rg_status rc = kill_id(lx, id, err);
    if (rc != RG_OK)
        return rc;
    lx->terms.len = 0;
    rg_analyzer_terms(lx->an, document ? document : "", &lx->terms);
    rg_bm25_builder_add(b, id, lx->terms.data ? lx->terms.data : "", lx->terms.len);
    return RG_OK;
}

static rg_status put_locked(rg_lexical *lx, const rg_record *recs, size_t n, rg_error *err)
{
    rg_bm25_builder *b = rg_bm25_builder_new();
    rg_status rc = RG_OK;
    /* A record twice in one call (a replay can name an id twice): the
     * later one wins, as an upsert would. */
    json_t *seen = json_object();
    bool *skip = rg_xcalloc(n + 1, sizeof *skip);
    for (size_t i = n; i-- > 0;) {
        skip[i] = json_object_get(seen, recs[i].id) != NULL;
        json_object_set_new(seen, recs[i].id, json_true());
    }
    json_decref(seen);
    for (size_t i = 0; rc == RG_OK && i < n; i++)
        if (!skip[i])
            rc = put_one(lx, b, recs[i].id, recs[i].document, err);
    free(skip);
    if (rc == RG_OK && rg_bm25_builder_ndocs(b))
        rc = add_segment(lx, b, lx->next_gen++, err);
    rg_bm25_builder_free(b);
    return rc;
}

rg_status rg_lexical_put(rg_lexical *lx, int64_t op, const rg_record *recs, size_t n, rg_error *err)
{
    return rg_lexical_replace(lx, op, recs, n, NULL, 0, err);
}

rg_status rg_lexical_replace(rg_lexical *lx, int64_t op, const rg_record *recs, size_t n, const char *const *del,
                             size_t ndel, rg_error *err)
{
    rg_status rc = write_begin(lx, err);
    if (rc != RG_OK)
        return rc;
    for (size_t i = 0; rc == RG_OK && i < ndel; i++)
        rc = kill_id(lx, del[i], err);
    if (rc == RG_OK && n)
        rc = put_locked(lx, recs, n, err);
    if (rc == RG_OK)
        rc = clear_op(lx, op, err);
    return write_end(lx, rc, n || ndel, err);
}

rg_status rg_lexical_remove(rg_lexical *lx, int64_t op, const char *const *ids, size_t nids, rg_error *err)
{
    return rg_lexical_replace(lx, op, NULL, 0, ids, nids, err);
}

/* Writes the builders as new segments and commits them as the whole
 * index (a rebuild or a conversion; the caller holds the transaction). */
static rg_status commit_new_segments(rg_lexical *lx, rg_bm25_builder **builders, size_t nb, uint64_t **made,
                                     size_t *nmade, rg_error *err)
{
    /* The change counter and generation numbers keep growing across a
     * rebuild: a reader that holds the old manifest must not mistake the
     * new one for it, nor a new segment for an old file of the same name. */
    rg_error ignored;
    uint64_t counter = 0, next_gen = 1;
    if (load(lx, &ignored) == RG_OK) {
        counter = lx->counter;
        next_gen = lx->next_gen > 1 ? lx->next_gen : 1;
    }
    forget(lx);
    lx->loaded = true;
    lx->counter = counter;
    lx->next_gen = next_gen;
    rg_status rc = RG_OK;
    *made = rg_xcalloc(nb + 1, sizeof **made);
    for (size_t i = 0; rc == RG_OK && i < nb; i++)
        if (rg_bm25_builder_ndocs(builders[i])) {
            (*made)[(*nmade)++] = lx->next_gen;
            rc = add_segment(lx, builders[i], lx->next_gen++, err);
        }
    if (rc == RG_OK)
        rc = maybe_merge(lx, err);
    if (rc == RG_OK)
        rc = store_manifest(lx, err);
    return rc;
}

/* ---- converting an FTS5 sidecar (format ragged-lexical-2) ---- */

static rg_status upgrade_legacy(rg_lexical *lx, const char *legacy, rg_bm25_builder *b, sqlite3 *old,
                                rg_error *err)
{
    /* Its docs.terms are the analyser's output for each record, zstd
     * frames that may name the file's trained dictionary (lexdict). */
    sqlite3_stmt *st = NULL;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_DDict *dd = NULL;
    rg_status rc = RG_OK;
    if (sqlite3_prepare_v2(old, "SELECT dict FROM lexdict ORDER BY id DESC LIMIT 1", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        dd = ZSTD_createDDict(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(old, "SELECT id, terms FROM docs ORDER BY rowid", -1, &st, NULL) != SQLITE_OK)
        rc = rg_sqlite_error(old, legacy, err);
    rg_buf raw;
    rg_buf_init(&raw);
    int r = SQLITE_DONE;
    while (rc == RG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const void *z = sqlite3_column_blob(st, 1);
        size_t zn = (size_t)sqlite3_column_bytes(st, 1);
        raw.len = 0;
        if (z && zn) {
            unsigned long long n = ZSTD_getFrameContentSize(z, zn);
            unsigned want = ZSTD_getDictID_fromFrame(z, zn);
            if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > (1ull << 30) ||
                (want && (!dd || ZSTD_getDictID_fromDDict(dd) != want))) {
                rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: stored terms are damaged", legacy);
                break;
            }
            rg_buf_reserve(&raw, (size_t)n + 1);
            size_t got = want ? ZSTD_decompress_usingDDict(dctx, raw.data, (size_t)n, z, zn, dd)
                              : ZSTD_decompressDCtx(dctx, raw.data, (size_t)n, z, zn);
            if (ZSTD_isError(got) || got != n) {
                rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: stored terms are damaged", legacy);
                break;
            }
            raw.len = (size_t)n;
        }
        if (!id) {
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: a row without an id", legacy);
            break;
        }
        rg_bm25_builder_add(b, id, raw.data ? raw.data : "", raw.len);
    }
    if (rc == RG_OK && r != SQLITE_DONE)
        rc = rg_sqlite_error(old, legacy, err);
    sqlite3_finalize(st);
    rg_buf_free(&raw);
    ZSTD_freeDDict(dd);
    ZSTD_freeDCtx(dctx);
    /* Writes the old file had not applied carry over. */
    if (rc == RG_OK && sqlite3_prepare_v2(old, "SELECT ids FROM journal ORDER BY op", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_stmt *ins = NULL;
        if (sqlite3_prepare_v2(lx->db, "INSERT INTO journal(ids) VALUES(?)", -1, &ins, NULL) != SQLITE_OK)
            rc = rg_sqlite_error(lx->db, lx->db_path, err);
        while (rc == RG_OK && sqlite3_step(st) == SQLITE_ROW) {
            if (sqlite3_column_type(st, 0) == SQLITE_NULL)
                sqlite3_bind_null(ins, 1);
            else
                sqlite3_bind_text(ins, 1, (const char *)sqlite3_column_text(st, 0), -1, SQLITE_TRANSIENT);
            if (sqlite3_step(ins) != SQLITE_DONE)
                rc = rg_sqlite_error(lx->db, lx->db_path, err);
            sqlite3_reset(ins);
        }
        sqlite3_finalize(ins);
        sqlite3_finalize(st);
    }
    return rc;
}

/* ---- catching up with the backend ---- */

rg_status rg_lexical_count(rg_lexical *lx, int64_t *out, rg_error *err)
{
    rg_status rc = load(lx, err);
    *out = rc == RG_OK ? (int64_t)lx->ndocs : 0;
    return rc;
}

static rg_status rebuild_locked(rg_lexical *lx, const rg_lexical_source *src, rg_error *err)
{
    rg_status rc = exec(lx, "BEGIN IMMEDIATE", err);
    if (rc != RG_OK)
        return rc;
    rc = exec(lx, "DELETE FROM journal", err);
    rg_bm25_builder **bs = rg_xcalloc(1, sizeof *bs);
    size_t nb = 1;
    bs[0] = rg_bm25_builder_new();
    rg_record_batch batch;
    rg_record_batch_init(&batch, 0);
    json_t *seen = json_object();
    for (size_t offset = 0; rc == RG_OK;) {
        rg_record_batch_clear(&batch);
        rc = src->get(src->ctx, NULL, 0, offset, REBUILD_PAGE, &batch, err);
        for (size_t i = 0; rc == RG_OK && i < batch.n; i++) {
            if (json_object_get(seen, batch.items[i].id))
                continue;   /* a backend paging over a moving collection */
            json_object_set_new(seen, batch.items[i].id, json_true());
            if (rg_bm25_builder_ndocs(bs[nb - 1]) >= REBUILD_SEGMENT_DOCS) {
                bs = rg_xrealloc(bs, (nb + 1) * sizeof *bs);
                bs[nb++] = rg_bm25_builder_new();
            }
            lx->terms.len = 0;
            rg_analyzer_terms(lx->an, batch.items[i].document ? batch.items[i].document : "", &lx->terms);
            rg_bm25_builder_add(bs[nb - 1], batch.items[i].id, lx->terms.data ? lx->terms.data : "", lx->terms.len);
        }
        if (batch.n < REBUILD_PAGE)
            break;
        offset += batch.n;
    }
    json_decref(seen);
    rg_record_batch_free(&batch);
    uint64_t *made = NULL;
    size_t nmade = 0;
    if (rc == RG_OK)
        rc = commit_new_segments(lx, bs, nb, &made, &nmade, err);
    for (size_t i = 0; i < nb; i++)
        rg_bm25_builder_free(bs[i]);
    free(bs);
    free(made);
    if (rc == RG_OK)
        rc = exec(lx, "COMMIT", err);
    if (rc != RG_OK) {
        rg_error ignored;
        exec(lx, "ROLLBACK", &ignored);
    }
    forget(lx);
    remove_orphans(lx);
    return rc;
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
        return rg_sqlite_error(lx->db, lx->db_path, err);
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
        for (size_t i = 0; i < n; i++) {
            idv[i] = json_string_value(json_array_get(ids, i));
            if (!idv[i])
                *full = true;   /* a damaged entry: rebuild */
        }
        rg_record_batch b;
        rg_record_batch_init(&b, 0);
        rc = n && !*full ? src->get(src->ctx, idv, n, 0, 0, &b, err) : RG_OK;
        if (rc == RG_OK && !*full)
            rc = write_begin(lx, err);
        if (rc == RG_OK && !*full) {
            /* Ids the backend returned are (re)written, the others are gone
             * from the backend. */
            json_t *present = json_object();
            for (size_t i = 0; i < b.n; i++)
                json_object_set_new(present, b.items[i].id, json_true());
            rc = put_locked(lx, b.items, b.n, err);
            for (size_t i = 0; rc == RG_OK && i < n; i++)
                if (!json_object_get(present, idv[i]))
                    rc = kill_id(lx, idv[i], err);
            json_decref(present);
            if (rc == RG_OK) {
                char sql[96];
                snprintf(sql, sizeof sql, "DELETE FROM journal WHERE op <= %lld", (long long)max_op);
                rc = exec(lx, sql, err);
            }
            rc = write_end(lx, rc, true, err);
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

/* ---- the read side: answer from what is consistent, never write ---- */

rg_status rg_lexical_query_state(rg_lexical *lx, const rg_lexical_source *src, bool check_count,
                                 rg_lexical_state *state, int64_t *indexed, int64_t *stored, rg_error *err)
{
    *state = RG_LEXICAL_READY;
    *indexed = *stored = -1;
    int64_t pending = 0;
    rg_status rc = rg_sqlite_scalar_int(lx->db, "SELECT count(*) FROM journal", &pending, err);
    if (rc != RG_OK || (!pending && !check_count) || lx->locked)
        return rc;   /* lx->locked: this handle is the writer, mid-write */
    /* A writer holds the lock (exclusive) from begin to end: while one
     * works, its journal entry is its own and the committed manifest is the
     * consistent answer.  Without a writer, under a shared lock so none
     * starts, an entry left behind or a count that differs means the index
     * is out of step. */
    if (flock(lx->lock_fd, LOCK_SH | LOCK_NB) != 0)
        return errno == EWOULDBLOCK || errno == EINTR
                   ? RG_OK
                   : rg_error_set(err, RG_ERR_IO, "cannot lock %s: %s", lx->lock_path, strerror(errno));
    rc = rg_sqlite_scalar_int(lx->db, "SELECT count(*) FROM journal", &pending, err);
    if (rc == RG_OK && pending) {
        int64_t unknown = 0;
        rc = rg_sqlite_scalar_int(lx->db, "SELECT count(*) FROM journal WHERE ids IS NULL", &unknown, err);
        *state = unknown ? RG_LEXICAL_UNBUILT : RG_LEXICAL_UNFINISHED;
    }
    if (rc == RG_OK && *state == RG_LEXICAL_READY && check_count) {
        rc = rg_lexical_count(lx, indexed, err);
        if (rc == RG_OK)
            rc = src->count(src->ctx, stored, err);
        if (rc == RG_OK && *indexed != *stored)
            *state = RG_LEXICAL_BEHIND;
    }
    flock(lx->lock_fd, LOCK_UN);
    return rc;
}

/* ---- search ---- */

static int cmp_cstr_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A reader may see a manifest whose merged-away segments a writer has just
 * deleted: it reads the manifest again. */
static rg_status open_all(rg_lexical *lx, rg_error *err)
{
    rg_status rc = RG_OK;
    for (int attempt = 0; attempt < 5; attempt++) {
        rc = load(lx, err);
        for (size_t i = 0; rc == RG_OK && i < lx->nsegs; i++)
            rc = open_seg(lx, &lx->segs[i], err);
        if (rc == RG_OK)
            return RG_OK;
        forget(lx);
    }
    return rc;
}

rg_status rg_lexical_search(rg_lexical *lx, const char *text, int k, const char *const *allow, size_t nallow,
                            rg_hits *out, rg_error *err)
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
    if (!nterms || k < 1 || (allow && !nallow)) {
        rg_buf_free(&terms);
        return RG_OK;
    }
    /* Distinct terms, each weighted by how often the query repeats it
     * (Lucene's bag of words): one cursor per distinct term keeps a long
     * query linear. */
    char **tok = rg_xmalloc(nterms * sizeof *tok);
    size_t nt = 0;
    for (char *t = strtok(terms.data, " "); t && nt < nterms; t = strtok(NULL, " "))
        tok[nt++] = t;
    qsort(tok, nt, sizeof *tok, cmp_cstr_ptr);
    rg_bm25_qterm *q = rg_xmalloc((nt ? nt : 1) * sizeof *q);
    size_t nq = 0;
    for (size_t i = 0; i < nt;) {
        size_t j = i + 1;
        while (j < nt && !strcmp(tok[i], tok[j]))
            j++;
        q[nq++] = (rg_bm25_qterm){tok[i], strlen(tok[i]), (double)(j - i)};
        i = j;
    }
    free(tok);
    rg_status rc = open_all(lx, err);
    if (rc == RG_OK && allow)
        rc = build_map(lx, err);
    rg_bm25_part *parts = rg_xcalloc(lx->nsegs + 1, sizeof *parts);
    uint8_t **bits = rg_xcalloc(lx->nsegs + 1, sizeof *bits);
    for (size_t i = 0; rc == RG_OK && i < lx->nsegs; i++) {
        parts[i] = (rg_bm25_part){lx->segs[i].seg, lx->segs[i].ndead ? lx->segs[i].dead : NULL, NULL};
        if (allow)
            parts[i].allow = bits[i] = rg_xcalloc(lx->segs[i].ndocs / 8 + 1, 1);
    }
    for (size_t i = 0; rc == RG_OK && allow && i < nallow; i++) {
        idslot *x = idmap_find(&lx->map, allow[i]);
        if (!x)
            continue;   /* matched in the backend, not (yet) indexed */
        for (size_t s = 0; s < lx->nsegs; s++)
            if (lx->segs[s].gen == x->gen)
                rg_bit_set(bits[s], x->doc);
    }
    rg_bm25_result *r = NULL;
    size_t nr = 0;
    if (rc == RG_OK) {
        rg_bm25_stats st = {lx->params.k1, lx->params.b, lx->ndocs, lx->total_dl};
        rc = rg_bm25_search(parts, lx->nsegs, q, nq, &st, k, &r, &nr, err);
    }
    for (size_t i = 0; i < nr; i++)
        rg_hits_push(out, r[i].id, (float)-r[i].score, NULL, NULL);
    rg_bm25_results_free(r, nr);
    for (size_t i = 0; i < lx->nsegs; i++)
        free(bits[i]);
    free(bits);
    free(parts);
    free(q);
    rg_buf_free(&terms);
    return rc;
}

rg_status rg_lexical_stats(rg_lexical *lx, rg_store_stats *s, rg_error *err)
{
    rg_status rc = load(lx, err);
    if (rc != RG_OK)
        return rc;
    int64_t seg_bytes = 0, dead = 0;
    for (size_t i = 0; i < lx->nsegs; i++) {
        seg_bytes += (int64_t)lx->segs[i].bytes;
        dead += lx->segs[i].ndead;
    }
    int64_t all = rg_lexical_bytes(lx->base);
    rg_store_stats_add(s, "bm25-segments", seg_bytes);
    rg_store_stats_add(s, "bm25-manifest", all - seg_bytes);
    if (s->bytes_total >= 0)   /* -1: a remote server's size is unknown */
        s->bytes_total += all;
    if (!s->details)
        s->details = json_object();
    json_object_set_new(s->details, "bm25",
                        json_pack("{s:I, s:I, s:I, s:I, s:f, s:f, s:s}", "segments", (json_int_t)lx->nsegs,
                                  "records", (json_int_t)lx->ndocs, "deleted_pending_merge", (json_int_t)dead,
                                  "terms_total", (json_int_t)lx->total_dl, "k1", lx->params.k1, "b", lx->params.b,
                                  "stemmer", lx->params.stemmer));
    return RG_OK;
}

rg_status rg_lexical_verify(rg_lexical *lx, rg_error *err)
{
    rg_status rc = open_all(lx, err);
    for (size_t i = 0; rc == RG_OK && i < lx->nsegs; i++)
        rc = rg_bm25_seg_verify(lx->segs[i].seg, err);
    if (rc == RG_OK) {
        lx->map_ok = false;
        rc = build_map(lx, err);
    }
    return rc;
}

/* ---- verification ---------------------------------------------------------- */

rg_status rg_lexical_check(const char *base, json_t *report)
{
    char *dir = rg_xasprintf("%s.bm25", base), *legacy = rg_xasprintf("%s.fts.sqlite", base);
    char *detail = NULL;
    bool ok = true;
    if (!rg_path_exists(dir)) {
        detail = rg_xstrdup(rg_path_exists(legacy)
                                ? "an FTS5 sidecar of an earlier version (converted by the next write or "
                                  "'ragged collections reindex'; queries refuse it)"
                                : "no BM25 index yet (built by the next write or 'ragged collections "
                                  "reindex'; queries refuse it)");
    } else {
        /* Read only: no lock, no conversion, no reset for another stemmer. */
        rg_lexical *lx = rg_xcalloc(1, sizeof *lx);
        lx->base = rg_xstrdup(base);
        lx->dir = rg_xstrdup(dir);
        lx->db_path = rg_xasprintf("%s/index.sqlite", dir);
        lx->lock_path = rg_xasprintf("%s/lock", dir);
        lx->lock_fd = -1;
        rg_buf_init(&lx->terms);
        rg_error e = {0};
        rg_status rc = rg_sqlite_open(lx->db_path, SQLITE_OPEN_READONLY, &lx->db, &e);
        int64_t integrity = 0;
        if (rc == RG_OK)
            rc = rg_sqlite_scalar_int(lx->db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'",
                                      &integrity, &e);
        if (rc == RG_OK && integrity)
            rc = rg_error_set(&e, RG_ERR_CORRUPT, "%s fails SQLite's integrity check", lx->db_path);
        if (rc == RG_OK)
            rc = rg_lexical_verify(lx, &e);
        ok = rc == RG_OK;
        detail = ok ? rg_xasprintf("%s: %llu records in %zu segments, every byte checked", dir,
                                   (unsigned long long)lx->ndocs, lx->nsegs)
                    : rg_xasprintf("%s", e.msg);
        rg_lexical_close(lx);
    }
    json_array_append_new(report, json_pack("{s:s, s:b, s:s}", "component", "bm25", "ok", ok, "detail", detail));
    free(detail);
    free(dir);
    free(legacy);
    return RG_OK;
}
