/* The lexical sidecar's storage (format ragged-lexical-2): a contentless
 * FTS5 index plus zstd-compressed terms and packed metadata.  Checks that
 * updates and deletes (which must hand FTS5 the exact terms a row was
 * indexed with) leave the index identical to one built fresh from the
 * final records, before and after the terms dictionary is trained; that a
 * format-1 file is replaced and marked for a rebuild; and that damaged
 * stored terms are a clear error naming the file. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        rc = rg_lexical_remove(lx, op, (const char *const *)ids, n, NULL, err);
    rg_lexical_end(lx);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

static int64_t scalar(const char *name, const char *sql)
{
    char *path = rg_path_join(rg_test_tmpdir(), name);
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
    char *path = rg_path_join(rg_test_tmpdir(), name);
    sqlite3 *db = NULL;
    bool ok = sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    free(path);
    return ok;
}

/* Same ids, same order and same scores for a few queries (and a filter). */
static bool same_results(rg_lexical *a, rg_lexical *b)
{
    static const char *const Q[] = {"protein kinase", "cancer therapy trial", "mouse brain", "insulin liver heart",
                                    "virus"};
    rg_filter *f = NULL;
    rg_error err;
    if (rg_filter_parse("{\"num\": {\"$gte\": 200}}", &f, &err) != RG_OK)
        return false;
    bool same = true;
    for (size_t q = 0; same && q < 2 * RG_ARRAY_LEN(Q); q++) {
        rg_hits ha, hb;
        rg_hits_init(&ha);
        rg_hits_init(&hb);
        const rg_filter *where = q % 2 ? f : NULL;
        same = rg_lexical_search(a, Q[q / 2], 20, where, &ha, &err) == RG_OK &&
               rg_lexical_search(b, Q[q / 2], 20, where, &hb, &err) == RG_OK && ha.n == hb.n && ha.n > 0;
        for (size_t i = 0; same && i < ha.n; i++)
            same = !strcmp(ha.items[i].id, hb.items[i].id) && ha.items[i].distance == hb.items[i].distance;
        if (!same)
            fprintf(stderr, "    query \"%s\"%s differs\n", Q[q / 2], where ? " (filtered)" : "");
        rg_hits_free(&ha);
        rg_hits_free(&hb);
    }
    rg_filter_free(f);
    return same;
}

TEST(lexical_format2_updates_match_fresh_index)
{
    rg_lexical *lx = open_at("upd.fts.sqlite");
    CHECK(lx);
    /* Below the dictionary threshold: plain zstd frames. */
    CHECK(put_range(lx, 0, 100, 1));
    CHECK_EQ_INT(scalar("upd.fts.sqlite", "SELECT count(*) FROM lexdict"), 0);
    CHECK(put_range(lx, 50, 80, 2));   /* replaces rows stored without a dictionary */
    CHECK(put_range(lx, 100, 256, 1));
    CHECK_EQ_INT(scalar("upd.fts.sqlite", "SELECT count(*) FROM lexdict"), 1);
    int64_t first_dict = scalar("upd.fts.sqlite", "SELECT id FROM lexdict");
    CHECK(put_range(lx, 256, NREC, 1));
    CHECK(put_range(lx, 80, 90, 2));    /* rows recompressed with the dictionary */
    CHECK(put_range(lx, 300, 350, 3));  /* rows written with it */
    rg_error err;
    CHECK_OK(remove_range(lx, 0, 20, &err), &err);
    CHECK_OK(remove_range(lx, 340, 360, &err), &err);
    /* 4x the rows of the first training: retrained, every row recompressed */
    CHECK(put_range(lx, NREC, 1030, 4));
    CHECK_EQ_INT(scalar("upd.fts.sqlite", "SELECT count(*) FROM lexdict"), 1);
    CHECK(scalar("upd.fts.sqlite", "SELECT id FROM lexdict") != first_dict);
    CHECK_OK(remove_range(lx, 1000, 1010, &err), &err);
    CHECK(put_range(lx, 30, 40, 5));

    rg_lexical *ref = open_at("ref.fts.sqlite");
    CHECK(ref);
    CHECK(put_range(ref, 20, 30, 1));
    CHECK(put_range(ref, 30, 40, 5));
    CHECK(put_range(ref, 40, 50, 1));
    CHECK(put_range(ref, 50, 90, 2));
    CHECK(put_range(ref, 90, 300, 1));
    CHECK(put_range(ref, 300, 340, 3));
    CHECK(put_range(ref, 360, NREC, 1));
    CHECK(put_range(ref, NREC, 1000, 4));
    CHECK(put_range(ref, 1010, 1030, 4));
    int64_t na = 0, nb = 0;
    CHECK_OK(rg_lexical_count(lx, &na, &err), &err);
    CHECK_OK(rg_lexical_count(ref, &nb, &err), &err);
    CHECK_EQ_INT(na, nb);
    CHECK(same_results(lx, ref));
    /* The text is not kept twice: the index holds postings only. */
    CHECK_EQ_INT(scalar("upd.fts.sqlite", "SELECT count(*) FROM sqlite_schema WHERE name = 'fts_content'"), 0);
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
    rg_lexical *lx = open_at("old.fts.sqlite");
    CHECK(lx);
    rg_lexical_close(lx);
    CHECK_EQ_INT(scalar("old.fts.sqlite", "PRAGMA auto_vacuum"), 0);
    CHECK_EQ_INT(scalar("old.fts.sqlite", "SELECT count(*) FROM docs"), 0);
    CHECK_EQ_INT(scalar("old.fts.sqlite", "SELECT count(*) FROM pragma_table_info('docs') WHERE name = 'terms'"), 1);
    /* marked for a full rebuild from the backend at the next sync */
    CHECK_EQ_INT(scalar("old.fts.sqlite", "SELECT count(*) FROM journal WHERE ids IS NULL"), 1);
    /* the first write repacks the file with auto_vacuum on, so pages freed
     * later go back to the file system */
    lx = open_at("old.fts.sqlite");
    CHECK(lx);
    CHECK(put_range(lx, 0, 10, 1));
    rg_lexical_close(lx);
    CHECK_EQ_INT(scalar("old.fts.sqlite", "PRAGMA auto_vacuum"), 1);
}

TEST(lexical_damaged_terms_are_an_error)
{
    rg_lexical *lx = open_at("bad.fts.sqlite");
    CHECK(lx);
    CHECK(put_range(lx, 0, NREC, 1));
    CHECK(run_sql("bad.fts.sqlite", "UPDATE docs SET terms = substr(terms, 1, 9) WHERE id = 'r0007';"
                                    "UPDATE docs SET terms = x'00112233445566778899' WHERE id = 'r0008';"));
    rg_error err;
    for (size_t i = 7; i <= 8; i++) {
        rg_status rc = remove_range(lx, i, i + 1, &err);
        CHECK_EQ_INT(rc, RG_ERR_CORRUPT);
        CHECK_MSG(strstr(err.msg, "bad.fts.sqlite") && strstr(err.msg, "damaged"), "message: %s", err.msg);
    }
    CHECK(run_sql("bad.fts.sqlite", "DELETE FROM lexdict;"));
    rg_lexical_close(lx);
    lx = open_at("bad.fts.sqlite");
    CHECK(lx);
    rg_status rc = remove_range(lx, 9, 10, &err);
    CHECK_EQ_INT(rc, RG_ERR_CORRUPT);
    CHECK_MSG(strstr(err.msg, "bad.fts.sqlite") && strstr(err.msg, "missing"), "message: %s", err.msg);
    rg_lexical_close(lx);
}
