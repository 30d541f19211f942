/* The leann backend's metadata index (leann_filter.c): the postings codec,
 * filtered queries and gets through the index against rg_filter_match over
 * every record's metadata after every kind of write, the k guarantee,
 * `collections check` finding a damaged index and compact repairing it, no
 * index below scan_threshold, and the upgrade of a collection without one. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "contract.h"
#include "filter.h"
#include "leann_filter.h"
#include "test.h"
#include "util.h"

#define FDIM 48

TEST(leann_postings_codec_round_trips_and_rejects_damage)
{
    uint16_t offs[LEANN_POST_SPAN], back[LEANN_POST_SPAN];
    size_t n = 0;
    for (unsigned i = 0; i < LEANN_POST_SPAN; i += 1 + i % 7)
        offs[n++] = (uint16_t)i;
    rg_buf b;
    rg_buf_init(&b);
    leann_postings_encode(offs, n, &b);
    CHECK_EQ_INT(leann_postings_decode((const uint8_t *)b.data, b.len, back), (int)n);
    CHECK(memcmp(offs, back, n * sizeof *offs) == 0);
    /* the whole span, one byte an entry */
    rg_buf_free(&b);
    rg_buf_init(&b);
    for (unsigned i = 0; i < LEANN_POST_SPAN; i++)
        offs[i] = (uint16_t)i;
    leann_postings_encode(offs, LEANN_POST_SPAN, &b);
    CHECK_EQ_INT((int)b.len, (int)LEANN_POST_SPAN);
    CHECK_EQ_INT(leann_postings_decode((const uint8_t *)b.data, b.len, back), (int)LEANN_POST_SPAN);
    rg_buf_free(&b);
    static const struct {
        const char *bytes;
        size_t n;
    } bad[] = {
        {"", 0},                 /* empty */
        {"\x80", 1},             /* truncated varint */
        {"\x81\x00", 2},         /* overlong */
        {"\x80\x08", 2},         /* 1024: out of the block */
        {"\xff\x07\x01", 3},     /* 1023, then past the end */
        {"\x05\xff\xff\x03", 4}, /* gap out of range */
    };
    for (size_t i = 0; i < RG_ARRAY_LEN(bad); i++)
        CHECK_MSG(leann_postings_decode((const uint8_t *)bad[i].bytes, bad[i].n, back) == -1, "case %zu accepted",
                  i);
}

typedef struct fx {
    contract_env env;
    rg_collection *c;
    char db[1024];
} fx;

static bool fx_open(fx *f, const char *name, const char *scan_threshold)
{
    rg_error err;
    if (!contract_env_open(&f->env, "leann", FDIM))
        return false;
    rg_store_close(f->env.store);
    f->env.store = NULL;
    if ((scan_threshold &&
         rg_config_set(f->env.cfg, "vectorstore.leann.scan_threshold", scan_threshold, RG_SRC_FLAG, &err) != RG_OK) ||
        rg_store_open(f->env.cfg, "leann", &f->env.store, &err) != RG_OK ||
        rg_collection_open(f->env.store, name, f->env.emb, true, &f->c, &err) != RG_OK) {
        fprintf(stderr, "    open: %s\n", err.msg);
        return false;
    }
    snprintf(f->db, sizeof f->db, "%s/%s/leann.sqlite",
             rg_config_str(f->env.cfg, "vectorstore.leann.persist_directory"), name);
    return true;
}

static void fx_close(fx *f)
{
    rg_collection_close(f->c);
    contract_env_close(&f->env);
}

/* Records i in [lo, hi): metadata of every indexed type; gen changes the
 * values an upsert gives. */
static void make_records(fx *f, size_t lo, size_t hi, int gen, bool upsert)
{
    size_t n = hi - lo;
    char **ids = rg_xcalloc(n, sizeof *ids), **docs = rg_xcalloc(n, sizeof *docs);
    rg_record *recs = rg_xcalloc(n, sizeof *recs);
    json_t **meta = rg_xcalloc(n, sizeof *meta);
    for (size_t j = 0; j < n; j++) {
        size_t i = lo + j;
        ids[j] = rg_xasprintf("rec-%04zu", i);
        docs[j] = rg_xasprintf("passage %zu of file %zu about subject %zu, variant %d", i, i / 4, i % 13, gen);
        meta[j] = json_pack("{s:I, s:s+, s:b, s:f, s:s+, s:s}", "group", (json_int_t)((i + (size_t)gen) % 50), "tag",
                            "t", i % 7 == 0 ? "0" : i % 7 == 1 ? "1" : i % 7 == 2 ? "2" : "x", "even",
                            (int)(i % 2 == 0), "score", (double)i * 0.5, "path", "p", i / 40 == 5 ? "5" : "y",
                            "name", i % 3 ? "abc" : "zzz");
        if (!meta[j])
            rg_test_fail(__FILE__, __LINE__, "json_pack failed");
        if (i % 11 == 0)   /* a string that reads as a number */
            json_object_set_new(meta[j], "group", json_string("12"));
        if (i % 17 == 0)   /* a key only some records have */
            json_object_set_new(meta[j], "rare", json_real(1.0));
    }
    float *vecs = contract_embed(&f->env, (const char *const *)docs, n);
    for (size_t j = 0; j < n; j++)
        recs[j] = (rg_record){ids[j], docs[j], meta[j], vecs + j * FDIM, false};
    rg_error err;
    rg_status rc = upsert ? rg_collection_upsert(f->c, recs, n, &err) : rg_collection_add(f->c, recs, n, &err);
    if (rc != RG_OK)
        rg_test_fail(__FILE__, __LINE__, "write: %s", err.msg);
    for (size_t j = 0; j < n; j++) {
        free(ids[j]);
        free(docs[j]);
        json_decref(meta[j]);
    }
    free(ids);
    free(docs);
    free(recs);
    free(meta);
    free(vecs);
}

static const char *const FILTERS[] = {
    "{\"tag\": \"t0\"}",
    "{\"group\": 7}",
    "{\"group\": 7.0}",
    "{\"group\": \"12\"}",
    "{\"group\": 12}",
    "{\"even\": true}",
    "{\"even\": 1}",
    "{\"score\": {\"$gte\": 100}}",
    "{\"score\": {\"$lt\": 10.5}}",
    "{\"group\": {\"$lte\": 3}}",
    "{\"group\": {\"$gt\": 45.5}}",
    "{\"group\": {\"$in\": [1, 2, \"12\", true]}}",
    "{\"$or\": [{\"tag\": \"t1\"}, {\"group\": {\"$gt\": 45}}]}",
    "{\"$and\": [{\"tag\": \"t2\"}, {\"group\": {\"$ne\": 9}}]}",
    "{\"$and\": [{\"path\": \"p5\"}, {\"name\": {\"$contains\": \"ab\"}}]}",
    "{\"path\": \"p5\", \"tag\": {\"$nin\": [\"t0\"]}, \"even\": false}",
    "{\"tag\": {\"$ne\": \"t1\"}}",
    "{\"$or\": [{\"tag\": \"t1\"}, {\"tag\": {\"$ne\": \"t2\"}}]}",
    "{\"missing\": \"x\"}",
    "{\"rare\": 1}",
    "{\"rare\": {\"$gte\": 1}}",
    "{\"$and\": [{\"tag\": \"t1\"}, {\"tag\": \"t2\"}]}",
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ids of set, sorted, as one string. */
static char *id_list(char **ids, size_t n)
{
    qsort(ids, n, sizeof *ids, cmp_str);
    rg_buf b;
    rg_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        rg_buf_printf(&b, "%s ", ids[i]);
    return rg_buf_steal(&b);
}

/* Every filter: the ids get returns and those a query with k above the
 * collection size returns (both through the index where it applies) are
 * those rg_filter_match picks from every record's metadata; a query with
 * k 10 returns min(10, matches) hits, all matching (the k guarantee). */
static void same_as_scan(fx *f, const char *when)
{
    rg_error err;
    rg_record_batch every;
    rg_record_batch_init(&every, FDIM);
    if (rg_collection_get(f->c, NULL, 0, NULL, RG_INCLUDE_METADATAS, 0, 0, &every, &err) != RG_OK) {
        rg_test_fail(__FILE__, __LINE__, "%s: get: %s", when, err.msg);
        return;
    }
    float *q = contract_embed(&f->env, (const char *const[]){"passage about subject 3"}, 1);
    char **want = rg_xcalloc(every.n + 1, sizeof *want), **a = rg_xcalloc(every.n + 1, sizeof *a),
         **b = rg_xcalloc(every.n + 1, sizeof *b);
    for (size_t i = 0; i < RG_ARRAY_LEN(FILTERS); i++) {
        rg_filter *w = NULL;
        if (rg_filter_parse(FILTERS[i], &w, &err) != RG_OK) {
            rg_test_fail(__FILE__, __LINE__, "%s", err.msg);
            break;
        }
        size_t nwant = 0;
        for (size_t j = 0; j < every.n; j++)
            if (rg_filter_match(w, every.items[j].metadata))
                want[nwant++] = every.items[j].id;
        rg_record_batch got;
        rg_record_batch_init(&got, FDIM);
        rg_hits all, ten;
        rg_hits_init(&all);
        rg_hits_init(&ten);
        rg_query_opts all_o = {.k = (int)every.n + 5, .where = w};
        rg_query_opts ten_o = {.k = 10, .where = w, .include = RG_INCLUDE_METADATAS};
        if (rg_collection_get(f->c, NULL, 0, w, 0, 0, 0, &got, &err) != RG_OK ||
            rg_collection_query(f->c, q, &all_o, &all, &err) != RG_OK ||
            rg_collection_query(f->c, q, &ten_o, &ten, &err) != RG_OK) {
            rg_test_fail(__FILE__, __LINE__, "%s: %s: %s", when, FILTERS[i], err.msg);
        } else if (got.n != nwant || all.n != nwant) {
            rg_test_fail(__FILE__, __LINE__, "%s: %s: %zu match, get gives %zu, the query %zu", when, FILTERS[i],
                         nwant, got.n, all.n);
        } else {
            for (size_t j = 0; j < nwant; j++) {
                a[j] = got.items[j].id;
                b[j] = all.items[j].id;
            }
            char *sw = id_list(want, nwant), *sa = id_list(a, nwant), *sb = id_list(b, nwant);
            if (strcmp(sw, sa) != 0 || strcmp(sw, sb) != 0)
                rg_test_fail(__FILE__, __LINE__, "%s: %s: other records than the ones that match", when,
                             FILTERS[i]);
            free(sw);
            free(sa);
            free(sb);
            if (ten.n != RG_MIN(nwant, (size_t)10))
                rg_test_fail(__FILE__, __LINE__, "%s: %s: k 10 gave %zu of %zu matches", when, FILTERS[i], ten.n,
                             nwant);
            for (size_t j = 0; j < ten.n; j++)
                if (!rg_filter_match(w, ten.items[j].metadata))
                    rg_test_fail(__FILE__, __LINE__, "%s: %s: hit %s does not match", when, FILTERS[i],
                                 ten.items[j].id);
        }
        rg_record_batch_free(&got);
        rg_hits_free(&all);
        rg_hits_free(&ten);
        rg_filter_free(w);
    }
    free(want);
    free(a);
    free(b);
    free(q);
    rg_record_batch_free(&every);
}

/* `collections check`: overall ok, and the filters line's message. */
static bool check_of(fx *f, const char *name, char *msg, size_t cap)
{
    json_t *report = NULL;
    bool ok = false;
    rg_error err;
    msg[0] = '\0';
    if (rg_store_check(f->env.store, name, &report, &ok, &err) != RG_OK) {
        snprintf(msg, cap, "check failed: %s", err.msg);
        return false;
    }
    size_t i;
    json_t *e;
    json_array_foreach(report, i, e)
    {
        if (!strcmp(json_string_value(json_object_get(e, "component")) ?: "", "filters"))
            snprintf(msg, cap, "%s", json_string_value(json_object_get(e, "detail")) ?: "");
    }
    json_decref(report);
    return ok;
}

static int64_t sql_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    int64_t v = -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        int r = sqlite3_step(st);
        v = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : r == SQLITE_DONE ? 0 : -1;
    }
    if (v < 0)
        fprintf(stderr, "    %s: %s\n", sql, h ? sqlite3_errmsg(h) : "cannot open");
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

#define IN_STEP(f, name, when)                                                                    \
    do {                                                                                          \
        char m_[512];                                                                             \
        CHECK_MSG(check_of(f, name, m_, sizeof m_), "%s: check: %s", when, m_);                   \
        CHECK_MSG(strstr(m_, "in step") != NULL, "%s: filters: '%s'", when, m_);                  \
    } while (0)

TEST(leann_filter_index_in_step_under_every_write)
{
    fx f;
    CHECK(fx_open(&f, "keys", "0"));
    rg_error err;
    make_records(&f, 0, 300, 0, false);   /* ingest, in two batches */
    make_records(&f, 300, 520, 0, false);
    IN_STEP(&f, "keys", "after add");
    CHECK(sql_int(f.db, "SELECT count(*) FROM rec_post") > 0);
    same_as_scan(&f, "after add");

    make_records(&f, 100, 180, 3, true);   /* upsert: new values for old ids */
    IN_STEP(&f, "keys", "after upsert");
    same_as_scan(&f, "after upsert");

    const char *del[] = {"rec-0001", "rec-0002", "rec-0050", "rec-0519"};
    size_t deleted = 0;
    CHECK_OK(rg_collection_delete(f.c, del, RG_ARRAY_LEN(del), NULL, &deleted, &err), &err);
    CHECK_EQ_INT((int)deleted, 4);
    rg_filter *w;
    CHECK_OK(rg_filter_parse("{\"tag\": \"t0\"}", &w, &err), &err);
    CHECK_OK(rg_collection_delete(f.c, NULL, 0, w, &deleted, &err), &err);
    CHECK(deleted > 50);
    rg_filter_free(w);
    IN_STEP(&f, "keys", "after deletes");
    same_as_scan(&f, "after deletes");

    /* many deletes: the next write consolidates (renumbers nodes, retrains
     * the dictionaries, rewriting every row) */
    CHECK_OK(rg_filter_parse("{\"group\": {\"$lt\": 30}}", &w, &err), &err);
    CHECK_OK(rg_collection_delete(f.c, NULL, 0, w, &deleted, &err), &err);
    rg_filter_free(w);
    make_records(&f, 600, 640, 1, false);
    IN_STEP(&f, "keys", "after consolidation");
    same_as_scan(&f, "after consolidation");

    const char *gone[] = {"rec-0600"};
    make_records(&f, 601, 603, 9, true);
    CHECK_OK(rg_collection_replace(f.c, NULL, 0, gone, 1, &deleted, &err), &err);
    CHECK_OK(rg_collection_compact(f.c, &err), &err);
    IN_STEP(&f, "keys", "after replace and compact");
    same_as_scan(&f, "after compact");
    fx_close(&f);
}

TEST(leann_filter_index_damage_is_found_and_compact_repairs_it)
{
    fx f;
    CHECK(fx_open(&f, "damage", "0"));
    rg_error err;
    make_records(&f, 0, 200, 0, false);
    IN_STEP(&f, "damage", "fresh");
    char msg[512];
    /* a row missing */
    CHECK(sql_int(f.db, "DELETE FROM rec_post WHERE k = 'tag' AND v = 't1' RETURNING 1") == 1);
    CHECK(!check_of(&f, "damage", msg, sizeof msg));
    CHECK_MSG(strstr(msg, "1 missing") != NULL, "%s", msg);
    /* a blob that does not decode: the query says so instead of guessing */
    CHECK(sql_int(f.db, "UPDATE rec_post SET seqs = x'80' WHERE k = 'tag' AND v = 't2' RETURNING 1") == 1);
    CHECK(!check_of(&f, "damage", msg, sizeof msg));
    rg_filter *w;
    CHECK_OK(rg_filter_parse("{\"tag\": \"t2\"}", &w, &err), &err);
    float *q = contract_embed(&f.env, (const char *const[]){"subject"}, 1);
    rg_hits h;
    rg_hits_init(&h);
    rg_query_opts o = {.k = 5, .where = w};
    CHECK(rg_collection_query(f.c, q, &o, &h, &err) == RG_ERR_CORRUPT);
    CHECK_MSG(strstr(err.msg, "collections check") != NULL, "%s", err.msg);
    rg_hits_free(&h);
    CHECK_OK(rg_collection_compact(f.c, &err), &err);
    IN_STEP(&f, "damage", "after compact");
    rg_hits_init(&h);
    CHECK_OK(rg_collection_query(f.c, q, &o, &h, &err), &err);
    CHECK_EQ_INT((int)h.n, 5);
    rg_hits_free(&h);
    rg_filter_free(w);
    free(q);
    fx_close(&f);
}

TEST(leann_filter_index_absent_below_scan_threshold)
{
    fx f;
    CHECK(fx_open(&f, "small", NULL));   /* default scan_threshold */
    make_records(&f, 0, 120, 0, false);
    make_records(&f, 120, 130, 0, false);
    CHECK_EQ_INT((int)sql_int(f.db, "SELECT count(*) FROM sqlite_master WHERE name = 'rec_post'"), 0);
    char msg[512];
    CHECK_MSG(check_of(&f, "small", msg, sizeof msg), "%s", msg);
    CHECK_MSG(strstr(msg, "none") != NULL, "%s", msg);
    same_as_scan(&f, "no index");
    fx_close(&f);
}

TEST(leann_filter_index_built_for_an_older_collection)
{
    fx f;
    CHECK(fx_open(&f, "older", "0"));
    make_records(&f, 0, 150, 0, false);
    rg_error err;
    char lock[1100];
    snprintf(lock, sizeof lock, "%.*s/lock", (int)(strlen(f.db) - strlen("/leann.sqlite")), f.db);
    for (int round = 0; round < 2; round++) {
        /* what a format-6 collection looks like: no index */
        rg_collection_close(f.c);
        CHECK(sql_int(f.db, "DROP TRIGGER rec_post_ins") == 0);
        CHECK(sql_int(f.db, "DROP TRIGGER rec_post_del") == 0);
        CHECK(sql_int(f.db, "DROP TRIGGER rec_post_upd") == 0);
        CHECK(sql_int(f.db, "DROP TABLE rec_post") == 0);
        CHECK(sql_int(f.db, "UPDATE meta SET value = 'ragged-leann-6' WHERE key = 'format' RETURNING 1") == 1);
        /* round 1: another process holds the write lock; opening neither
         * waits nor upgrades, queries scan, the next write upgrades */
        int fd = -1;
        if (round == 1) {
            fd = open(lock, O_RDWR | O_CREAT, 0600);
            CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
        }
        double t0 = rg_now();
        CHECK_OK(rg_collection_open(f.env.store, "older", f.env.emb, false, &f.c, &err), &err);
        CHECK(rg_now() - t0 < 2.0);
        int64_t upgraded = sql_int(f.db, "SELECT count(*) FROM meta WHERE key = 'format' AND value = 'ragged-leann-7'");
        CHECK_EQ_INT((int)upgraded, round == 0 ? 1 : 0);
        same_as_scan(&f, round == 0 ? "upgraded on open" : "format 6, scanned");
        if (fd >= 0)
            close(fd);
        if (round == 1)
            make_records(&f, 150, 160, 0, false);   /* the first write upgrades */
        CHECK_EQ_INT((int)sql_int(f.db, "SELECT count(*) FROM meta WHERE key = 'format' AND value = 'ragged-leann-7'"),
                     1);
        IN_STEP(&f, "older", "after the upgrade");
        same_as_scan(&f, "upgraded");
    }
    fx_close(&f);
}
