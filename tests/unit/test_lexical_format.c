/* The native BM25 index's storage (lexical.c over bm25_segment.c): updates,
 * deletes and the merges they trigger leave an index that answers exactly
 * like one built fresh from the final records; an FTS5 sidecar of the
 * previous format is converted on first open (terms re-indexed, pending
 * journal entries kept) and an older one marked for a rebuild; damage to a
 * segment or the manifest is a clear error naming the index; files left by
 * a killed writer are removed by the next one. */
#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "analyzer.h"
#include "bm25.h"
#include "filter.h"
#include "lexical.h"
#include "test.h"
#include "util.h"

#define NREC 400

static const char *const WORDS[] = {"protein", "cell", "cancer",  "gene",   "mouse",  "trial",   "therapy",
                                    "blood",   "brain", "virus",  "dose",   "risk",   "patient", "tumour",
                                    "kinase",  "immune", "insulin", "muscle", "heart", "liver"};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

static char *make_text(size_t i, unsigned salt)
{
    rg_buf b;
    rg_buf_init(&b);
    uint64_t s = (uint64_t)i * 2654435761u + salt;
    size_t n = 20 + (size_t)(s % 40);
    for (size_t w = 0; w < n; w++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        rg_buf_printf(&b, "%s%s", w ? " " : "", WORDS[(s >> 33) % NWORDS]);
    }
    return b.data;
}

static rg_lexical *open_at(const char *name)
{
    char *path = rg_path_join(rg_test_tmpdir(), name);
    rg_lexical_params p = {.stemmer = "english", .k1 = 1.2, .b = 0.75};
    rg_lexical *lx = NULL;
    rg_error err;
    if (rg_lexical_open(path, &p, &lx, &err) != RG_OK)
        fprintf(stderr, "    open %s: %s\n", path, err.msg);
    free(path);
    return lx;
}

/* Writes records [from, to) with texts of the given salt. */
static bool put_range(rg_lexical *lx, size_t from, size_t to, unsigned salt)
{
    size_t n = to - from;
    rg_record *recs = rg_xcalloc(n, sizeof *recs);
    char **ids = rg_xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        ids[i] = rg_xasprintf("r%04zu", from + i);
        recs[i].id = ids[i];
        recs[i].document = make_text(from + i, salt);
        recs[i].metadata = json_pack("{s:I, s:s}", "num", (json_int_t)(from + i), "file_hash",
                                     "08958d97ded5afa6a9498159153bb6579aaa1db58926fe10dffbb19c3a3598d7");
    }
    rg_error err;
    int64_t op = 0;
    rg_status rc = rg_lexical_begin(lx, (const char *const *)ids, n, &op, &err);
    if (rc == RG_OK)
        rc = rg_lexical_put(lx, op, recs, n, &err);
    rg_lexical_end(lx);
    if (rc != RG_OK)
        fprintf(stderr, "    put: %s\n", err.msg);
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
        free(recs[i].document);
        json_decref(recs[i].metadata);
    }
    free(ids);
    free(recs);
    return rc == RG_OK;
}

static rg_status remove_range(rg_lexical *lx, size_t from, size_t to, rg_error *err)
{
    size_t n = to - from;
    char **ids = rg_xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = rg_xasprintf("r%04zu", from + i);
    int64_t op = 0;
    rg_status rc = rg_lexical_begin(lx, (const char *const *)ids, n, &op, err);
    if (rc == RG_OK)
        rc = rg_lexical_remove(lx, op, (const char *const *)ids, n, err);
    rg_lexical_end(lx);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

static char *tmp_path(const char *name)
{
    return rg_path_join(rg_test_tmpdir(), name);
}

static int64_t scalar(const char *name, const char *sql)
{
    char *path = tmp_path(name);
    sqlite3 *db = NULL;
    int64_t v = -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(path);
    return v;
}

static bool run_sql(const char *name, const char *sql)
{
    char *path = tmp_path(name);
    sqlite3 *db = NULL;
    bool ok = sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    free(path);
    return ok;
}

/* Same ids, same order and the same scores for a few queries, also among
 * the records a filter allows (num >= 200). */
static bool same_results(rg_lexical *a, rg_lexical *b)
{
    static const char *const Q[] = {"protein kinase", "cancer therapy trial", "mouse brain", "insulin liver heart",
                                    "virus"};
    char *allow[NREC + 700];
    size_t nallow = 0;
    for (size_t i = 200; i < NREC + 700; i++)
        allow[nallow++] = rg_xasprintf("r%04zu", i);
    rg_error err;
    bool same = true;
    for (size_t q = 0; same && q < 2 * RG_ARRAY_LEN(Q); q++) {
        rg_hits ha, hb;
        rg_hits_init(&ha);
        rg_hits_init(&hb);
        const char *const *al = q % 2 ? (const char *const *)allow : NULL;
        same = rg_lexical_search(a, Q[q / 2], 20, al, nallow, &ha, &err) == RG_OK &&
               rg_lexical_search(b, Q[q / 2], 20, al, nallow, &hb, &err) == RG_OK && ha.n == hb.n && ha.n > 0;
        for (size_t i = 0; same && i < ha.n; i++)
            same = !strcmp(ha.items[i].id, hb.items[i].id) &&
                   fabsf(ha.items[i].distance - hb.items[i].distance) <= 1e-5f * fabsf(hb.items[i].distance);
        if (!same)
            fprintf(stderr, "    query \"%s\"%s differs (%s)\n", Q[q / 2], al ? " (filtered)" : "", err.msg);
        rg_hits_free(&ha);
        rg_hits_free(&hb);
    }
    for (size_t i = 0; i < nallow; i++)
        free(allow[i]);
    return same;
}

static size_t count_files(const char *dir, const char *suffix)
{
    char *p = tmp_path(dir);
    DIR *d = opendir(p);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += strlen(de->d_name) > strlen(suffix) && !strcmp(de->d_name + strlen(de->d_name) - strlen(suffix), suffix);
    if (d)
        closedir(d);
    free(p);
    return n;
}

TEST(lexical_updates_match_fresh_index)
{
    rg_lexical *lx = open_at("upd");
    CHECK(lx);
    CHECK(put_range(lx, 0, 100, 1));
    CHECK(put_range(lx, 50, 80, 2));   /* replaces: tombstones in the first segment */
    CHECK(put_range(lx, 100, 256, 1));
    CHECK(put_range(lx, 256, NREC, 1));
    CHECK(put_range(lx, 80, 90, 2));
    CHECK(put_range(lx, 300, 350, 3));
    rg_error err;
    CHECK_OK(remove_range(lx, 0, 20, &err), &err);
    CHECK_OK(remove_range(lx, 340, 360, &err), &err);
    CHECK(put_range(lx, NREC, 1030, 4));
    CHECK_OK(remove_range(lx, 1000, 1010, &err), &err);
    CHECK(put_range(lx, 30, 40, 5));
    for (size_t i = 0; i < 20; i++)   /* many small writes: merges keep the segment count low */
        CHECK(put_range(lx, 500 + 2 * i, 502 + 2 * i, 6));

    rg_lexical *ref = open_at("ref");
    CHECK(ref);
    CHECK(put_range(ref, 20, 30, 1));
    CHECK(put_range(ref, 30, 40, 5));
    CHECK(put_range(ref, 40, 50, 1));
    CHECK(put_range(ref, 50, 90, 2));
    CHECK(put_range(ref, 90, 300, 1));
    CHECK(put_range(ref, 300, 340, 3));
    CHECK(put_range(ref, 360, NREC, 1));
    CHECK(put_range(ref, NREC, 500, 4));
    CHECK(put_range(ref, 500, 540, 6));
    CHECK(put_range(ref, 540, 1000, 4));
    CHECK(put_range(ref, 1010, 1030, 4));
    int64_t na = 0, nb = 0;
    CHECK_OK(rg_lexical_count(lx, &na, &err), &err);
    CHECK_OK(rg_lexical_count(ref, &nb, &err), &err);
    CHECK_EQ_INT(na, nb);
    CHECK(same_results(lx, ref));
    CHECK_OK(rg_lexical_verify(lx, &err), &err);
    size_t segs = count_files("upd.bm25", ".seg");
    CHECK_MSG(segs >= 1 && segs <= 12, "%zu segments after 32 writes", segs);
    /* Reopened (another process's view): the same. */
    rg_lexical_close(lx);
    lx = open_at("upd");
    CHECK(lx);
    CHECK(same_results(lx, ref));
    rg_lexical_close(lx);
    rg_lexical_close(ref);
}

/* Writes a format-2 FTS5 sidecar (the previous version's) holding
 * records [0, n) as that version stored them: analysed terms, zstd. */
static bool make_legacy(const char *name, size_t n, const char *journal_ids)
{
    char *file = rg_xasprintf("%s.fts.sqlite", name);
    bool ok = run_sql(file, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                            "INSERT INTO meta VALUES('format', 'ragged-lexical-2'), ('stemmer', 'english');"
                            "CREATE TABLE docs(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, metadata BLOB, "
                            "terms BLOB);"
                            "CREATE TABLE lexdict(id INTEGER PRIMARY KEY, dict BLOB NOT NULL);"
                            "CREATE TABLE journal(op INTEGER PRIMARY KEY, ids TEXT);");
    char *path = tmp_path(file);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    ok = ok && sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
         sqlite3_prepare_v2(db, "INSERT INTO docs(id, terms) VALUES(?, ?)", -1, &st, NULL) == SQLITE_OK;
    rg_analyzer *an = NULL;
    rg_error err;
    ok = ok && rg_analyzer_new("english", &an, &err) == RG_OK;
    for (size_t i = 0; ok && i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%04zu", i);
        char *text = make_text(i, 1);
        rg_buf t;
        rg_buf_init(&t);
        rg_analyzer_terms(an, text, &t);
        size_t bound = ZSTD_compressBound(t.len);
        void *z = rg_xmalloc(bound);
        size_t zn = ZSTD_compress(z, bound, t.data, t.len, 3);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, z, (int)zn, SQLITE_TRANSIENT);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
        free(z);
        free(text);
        rg_buf_free(&t);
    }
    sqlite3_finalize(st);
    ok = ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    if (ok && journal_ids) {
        char *sql = rg_xasprintf("INSERT INTO journal(ids) VALUES('%s')", journal_ids);
        ok = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
        free(sql);
    }
    sqlite3_close(db);
    rg_analyzer_free(an);
    free(path);
    free(file);
    return ok;
}

TEST(lexical_fts5_sidecar_is_converted)
{
    CHECK(make_legacy("conv", NREC, "[\"r0003\"]"));
    rg_lexical *lx = open_at("conv");
    CHECK(lx);
    char *old = tmp_path("conv.fts.sqlite");
    CHECK(!rg_path_exists(old));   /* converted, then removed */
    free(old);
    rg_lexical *ref = open_at("conv-ref");
    CHECK(ref);
    CHECK(put_range(ref, 0, NREC, 1));
    int64_t na = 0;
    rg_error err;
    CHECK_OK(rg_lexical_count(lx, &na, &err), &err);
    CHECK_EQ_INT(na, NREC);
    CHECK(same_results(lx, ref));
    /* the old file's pending write is still pending */
    CHECK_EQ_INT(scalar("conv.bm25/index.sqlite", "SELECT count(*) FROM journal WHERE ids = '[\"r0003\"]'"), 1);
    rg_lexical_close(lx);
    rg_lexical_close(ref);
}

TEST(lexical_format1_file_is_replaced)
{
    CHECK(run_sql("old.fts.sqlite",
                  "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                  "INSERT INTO meta VALUES('format', 'ragged-lexical-1'), ('stemmer', 'english');"
                  "CREATE TABLE docs(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, metadata TEXT);"
                  "CREATE VIRTUAL TABLE fts USING fts5(terms, tokenize = 'ascii');"
                  "CREATE TABLE journal(op INTEGER PRIMARY KEY, ids TEXT);"
                  "INSERT INTO docs VALUES(1, 'a', '{}'); INSERT INTO fts(rowid, terms) VALUES(1, 'cat');"));
    rg_lexical *lx = open_at("old");
    CHECK(lx);
    rg_lexical_close(lx);
    char *old = tmp_path("old.fts.sqlite");
    CHECK(!rg_path_exists(old));
    free(old);
    /* marked for a full rebuild from the backend at the next sync */
    CHECK_EQ_INT(scalar("old.bm25/index.sqlite", "SELECT count(*) FROM journal WHERE ids IS NULL"), 1);
    /* another stemmer: the same */
    rg_lexical_params p = {.stemmer = "porter", .k1 = 1.2, .b = 0.75};
    char *path = tmp_path("old");
    rg_error err;
    CHECK_OK(rg_lexical_open(path, &p, &lx, &err), &err);
    CHECK(put_range(lx, 0, 10, 1));
    rg_lexical_close(lx);
    CHECK_EQ_INT(scalar("old.bm25/index.sqlite", "SELECT value FROM meta WHERE key = 'stemmer' AND value = 'porter'") != -1, 1);
    lx = open_at("old");
    CHECK(lx);
    int64_t n = -1;
    CHECK_OK(rg_lexical_count(lx, &n, &err), &err);
    CHECK_EQ_INT(n, 0);
    rg_lexical_close(lx);
    free(path);
}

static bool flip_byte(const char *name, long at)
{
    char *path = tmp_path(name);
    FILE *f = fopen(path, "r+b");
    free(path);
    if (!f)
        return false;
    fseek(f, at, at < 0 ? SEEK_END : SEEK_SET);
    int c = fgetc(f);
    fseek(f, -1, SEEK_CUR);
    fputc(c ^ 0x10, f);
    fclose(f);
    return true;
}

static char *first_segment(const char *dir)
{
    char *p = tmp_path(dir);
    DIR *d = opendir(p);
    struct dirent *de;
    char *found = NULL;
    while (d && (de = readdir(d)) && !found)
        if (strstr(de->d_name, ".seg"))
            found = rg_xasprintf("%s/%s", dir, de->d_name);
    if (d)
        closedir(d);
    free(p);
    return found;
}

TEST(lexical_damage_is_an_error)
{
    rg_lexical *lx = open_at("bad");
    CHECK(lx);
    CHECK(put_range(lx, 0, NREC, 1));
    rg_lexical_close(lx);
    char *seg = first_segment("bad.bm25");
    CHECK(seg);
    /* A flipped bit in the postings: the query that reads them fails. */
    CHECK(flip_byte(seg, -20));
    lx = open_at("bad");
    CHECK(lx);
    rg_hits h;
    rg_hits_init(&h);
    rg_error err;
    rg_status rc = RG_OK;
    static const char *const Q[] = {"protein", "cell", "cancer", "gene", "mouse", "trial", "therapy", "blood",
                                    "brain", "virus", "dose", "risk", "patient", "tumour", "kinase", "immune",
                                    "insulin", "muscle", "heart", "liver"};
    for (size_t i = 0; i < RG_ARRAY_LEN(Q) && rc == RG_OK; i++)
        rc = rg_lexical_search(lx, Q[i], 5, NULL, 0, &h, &err);
    CHECK_EQ_INT(rc, RG_ERR_CORRUPT);
    CHECK_MSG(strstr(err.msg, "bad.bm25") && strstr(err.msg, "damaged"), "message: %s", err.msg);
    CHECK_EQ_INT(rg_lexical_verify(lx, &err), RG_ERR_CORRUPT);
    rg_hits_free(&h);
    rg_lexical_close(lx);
    /* The manifest: its own checksum. */
    CHECK(flip_byte(seg, -20));   /* undo */
    CHECK(run_sql("bad.bm25/index.sqlite",
                  "UPDATE manifest SET data = substr(data, 1, 40) || x'ff' || substr(data, 42)"));
    lx = open_at("bad");
    CHECK(lx);
    rg_hits_init(&h);
    CHECK_EQ_INT(rg_lexical_search(lx, "protein", 5, NULL, 0, &h, &err), RG_ERR_CORRUPT);
    CHECK_MSG(strstr(err.msg, "manifest"), "message: %s", err.msg);
    rg_hits_free(&h);
    rg_lexical_close(lx);
    /* A manifest row gone is damage too, not an empty index. */
    CHECK(run_sql("bad.bm25/index.sqlite", "DELETE FROM manifest"));
    lx = open_at("bad");
    CHECK(lx);
    rg_hits_init(&h);
    CHECK_EQ_INT(rg_lexical_search(lx, "protein", 5, NULL, 0, &h, &err), RG_ERR_CORRUPT);
    CHECK_MSG(strstr(err.msg, "missing"), "message: %s", err.msg);
    rg_hits_free(&h);
    rg_lexical_close(lx);
    free(seg);
}

TEST(lexical_orphan_segments_removed)
{
    rg_lexical *lx = open_at("orph");
    CHECK(lx);
    CHECK(put_range(lx, 0, 50, 1));
    /* As a writer killed after writing its segment, before the commit. */
    char *p = tmp_path("orph.bm25/999.seg");
    rg_error err;
    CHECK_OK(rg_write_file_atomic(p, "x", 1, &err), &err);
    char *t = tmp_path("orph.bm25/998.seg.tmp.12345");
    CHECK_OK(rg_write_file_atomic(t, "x", 1, &err), &err);
    CHECK(put_range(lx, 50, 60, 1));
    CHECK(!rg_path_exists(p));
    CHECK(!rg_path_exists(t));
    int64_t n = 0;
    CHECK_OK(rg_lexical_count(lx, &n, &err), &err);
    CHECK_EQ_INT(n, 60);
    rg_lexical_close(lx);
    free(p);
    free(t);
}

/* A source of records r0000.. with texts of salt 7, for rebuilds. */
static rg_status src_get(void *ctx, const char *const *ids, size_t nids, size_t offset, size_t limit,
                         rg_record_batch *out, rg_error *err)
{
    (void)err;
    size_t n = *(size_t *)ctx;
    for (size_t i = offset; !ids && i < n && (!limit || i < offset + limit); i++) {
        char id[16];
        snprintf(id, sizeof id, "r%04zu", i);
        char *text = make_text(i, 7);
        rg_record_batch_push(out, id, text, NULL, NULL);
        free(text);
    }
    (void)nids;
    return RG_OK;
}

static rg_status src_count(void *ctx, int64_t *out, rg_error *err)
{
    (void)err;
    *out = (int64_t)*(size_t *)ctx;
    return RG_OK;
}

/* Another handle's cached manifest is never taken for the new one after a
 * rebuild (change counter and generations keep growing). */
TEST(lexical_reader_sees_rebuild)
{
    rg_lexical *w = open_at("rb"), *r = open_at("rb");
    CHECK(w && r);
    CHECK(put_range(w, 0, 100, 1));
    rg_hits h;
    rg_hits_init(&h);
    rg_error err;
    CHECK_OK(rg_lexical_search(r, "protein", 200, NULL, 0, &h, &err), &err);
    size_t before = h.n;
    CHECK(before > 0);
    rg_hits_free(&h);
    size_t n = 30;
    rg_lexical_source src = {src_get, src_count, &n};
    CHECK_OK(rg_lexical_rebuild(w, &src, &err), &err);
    rg_hits_init(&h);
    CHECK_OK(rg_lexical_search(r, "protein", 200, NULL, 0, &h, &err), &err);
    CHECK(h.n <= 30 && h.n < before);
    rg_hits_free(&h);
    int64_t c = 0;
    CHECK_OK(rg_lexical_count(r, &c, &err), &err);
    CHECK_EQ_INT(c, 30);
    CHECK_EQ_INT(count_files("rb.bm25", ".seg"), 1);
    rg_lexical_close(w);
    rg_lexical_close(r);
}

/* An index of the previous format (ragged-bm25-1: segments of version 1,
 * with an uncompressed dictionary) is not read: the first open replaces
 * its manifest by an empty one marked for a rebuild from the backend and
 * removes its segments; a version-1 segment read directly is a clear error. */
TEST(lexical_segment_format1_index_rebuilt)
{
    rg_lexical *lx = open_at("v1");
    CHECK(lx);
    CHECK(put_range(lx, 0, 50, 1));
    rg_lexical_close(lx);
    char *seg = first_segment("v1.bm25");
    CHECK(seg);
    /* What the previous ragged left: its format name, version 1 segments. */
    char *segp = tmp_path(seg);
    FILE *f = fopen(segp, "r+b");
    CHECK(f);
    fseek(f, 8, SEEK_SET);
    fputc(1, f);
    fclose(f);
    rg_bm25_seg *s = NULL;
    rg_error err;
    CHECK_EQ_INT(rg_bm25_seg_open(segp, &s, &err), RG_ERR_CORRUPT);
    CHECK_MSG(strstr(err.msg, "version 1"), "message: %s", err.msg);
    CHECK(run_sql("v1.bm25/index.sqlite", "UPDATE meta SET value = 'ragged-bm25-1' WHERE key = 'format'"));
    lx = open_at("v1");
    CHECK(lx);
    CHECK_EQ_INT(scalar("v1.bm25/index.sqlite", "SELECT count(*) FROM journal WHERE ids IS NULL"), 1);
    CHECK(!rg_path_exists(segp));
    int64_t c = -1;
    CHECK_OK(rg_lexical_count(lx, &c, &err), &err);
    CHECK_EQ_INT(c, 0);
    size_t n = 30;
    rg_lexical_source src = {src_get, src_count, &n};
    CHECK_OK(rg_lexical_rebuild(lx, &src, &err), &err);
    CHECK_OK(rg_lexical_count(lx, &c, &err), &err);
    CHECK_EQ_INT(c, 30);
    rg_hits h;
    rg_hits_init(&h);
    CHECK_OK(rg_lexical_search(lx, "protein", 200, NULL, 0, &h, &err), &err);
    CHECK(h.n > 0 && h.n <= 30);
    rg_hits_free(&h);
    CHECK_OK(rg_lexical_verify(lx, &err), &err);
    rg_lexical_close(lx);
    free(segp);
    free(seg);
}

/* A reader that opens the index while the first writer is creating it (the
 * file exists, its tables or its format do not yet) finds no index, as
 * before the file existed, not a corrupt one (concurrent_ingest saw
 * "no meta table" once). */
TEST(lexical_reader_index_being_created_is_missing)
{
    rg_lexical_params p = {.stemmer = "english", .k1 = 1.2, .b = 0.75};
    char *dir = tmp_path("creating.bm25");
    rg_error err;
    CHECK(rg_mkdir_p(dir, 0700, &err) == RG_OK);
    free(dir);
    char *base = tmp_path("creating");
    /* The file only: SQLite's empty database. */
    CHECK(run_sql("creating.bm25/index.sqlite", "PRAGMA user_version = 0"));
    rg_lexical *lx = NULL;
    rg_lexical_state state = RG_LEXICAL_READY;
    CHECK_OK(rg_lexical_open_reader(base, &p, &lx, &state, &err), &err);
    CHECK(!lx);
    CHECK_EQ_INT(state, RG_LEXICAL_MISSING);
    /* The tables, not yet the format. */
    CHECK(run_sql("creating.bm25/index.sqlite", "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"));
    state = RG_LEXICAL_READY;
    CHECK_OK(rg_lexical_open_reader(base, &p, &lx, &state, &err), &err);
    CHECK(!lx);
    CHECK_EQ_INT(state, RG_LEXICAL_MISSING);
    /* Once a writer has opened it, the reader gets the index. */
    rg_lexical *w = open_at("creating");
    CHECK(w);
    state = RG_LEXICAL_MISSING;
    CHECK_OK(rg_lexical_open_reader(base, &p, &lx, &state, &err), &err);
    CHECK(lx);
    CHECK_EQ_INT(state, RG_LEXICAL_READY);
    rg_lexical_close(lx);
    rg_lexical_close(w);
    free(base);
}
