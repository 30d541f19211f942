/* The compact on-disk forms: packed metadata (metapack.c) round trip and
 * damage, the leann collection's packed metadata through get/filter/
 * upsert/delete, format-1 collections (JSON text metadata) still read, and
 * a damaged packed metadata row reported as an error. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "filter.h"
#include "ingest.h"
#include "leann_sqlite.h"
#include "metapack.h"
#include "test.h"
#include "util.h"

#define DDIM 64

static json_t *roundtrip(const json_t *in)
{
    rg_buf b;
    rg_buf_init(&b);
    rg_metapack_encode(in, &b);
    json_t *out = rg_metapack_decode(b.data, b.len);
    rg_buf_free(&b);
    return out;
}

TEST(metapack_roundtrip_is_lossless_and_smaller)
{
    const char *texts[] = {
        "{}",
        "{\"document_id\":\"8ecdc8b9f1ded81b\",\"document_path\":\"/a/b/c.txt\",\"file_hash\":"
        "\"08958d97ded5afa6a9498159153bb6579aaa1db58926fe10dffbb19c3a3598d7\",\"content_hash\":"
        "\"95503c95bd7eec5cddb61338b4cb13705a9ef13f0059946b00ff72028b9e86b1\",\"chunk_position\":0,"
        "\"total_chunks\":2,\"format\":\"text\",\"title\":\"T\\u00e9st \\\"q\\\"\"}",
        "{\"zeta\":-9223372036854775807,\"a\":1.5,\"b\":-0.0,\"c\":1e300,\"n\":null,\"t\":true,\"f\":false,"
        "\"arr\":[1,\"x\",{\"y\":2}],\"obj\":{\"k\":[]},\"HEX\":\"ABCDEF0123456789\",\"odd\":\"abcdef012345678\","
        "\"short\":\"abcd\",\"\":\"empty key\",\"big\":9223372036854775807,\"neg\":-1}",
    };
    for (size_t i = 0; i < RG_ARRAY_LEN(texts); i++) {
        json_t *in = json_loads(texts[i], 0, NULL);
        CHECK(in);
        json_t *out = roundtrip(in);
        CHECK_MSG(out && json_equal(in, out), "round trip changed %s", texts[i]);
        /* key order is kept */
        char *a = json_dumps(in, JSON_COMPACT), *b = json_dumps(out, JSON_COMPACT);
        CHECK_EQ_STR(a, b);
        rg_buf pk;
        rg_buf_init(&pk);
        rg_metapack_encode(in, &pk);
        if (i == 1)
            CHECK_MSG(pk.len * 2 < strlen(a), "packed %zu bytes vs %zu JSON", pk.len, strlen(a));
        /* every truncation is rejected or decodes to something, never crashes */
        for (size_t cut = 0; cut < pk.len; cut++) {
            json_t *t = rg_metapack_decode(pk.data, cut);
            json_decref(t);
        }
        /* The sorted form packs what the object's sorted text packs to,
         * and decodes to the same metadata. */
        char *sorted_text = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
        json_t *sorted_in = json_loads(sorted_text, 0, NULL);
        free(sorted_text);
        rg_buf s1, s2;
        rg_buf_init(&s1);
        rg_buf_init(&s2);
        rg_metapack_encode_sorted(in, NULL, &s1);
        rg_metapack_encode_doc(sorted_in, NULL, &s2);
        CHECK(s1.len == s2.len && memcmp(s1.data, s2.data, s1.len) == 0);
        json_t *back = rg_metapack_decode(s1.data, s1.len);
        CHECK(back && json_equal(back, in));
        json_decref(back);
        json_decref(sorted_in);
        rg_buf_free(&s1);
        rg_buf_free(&s2);
        rg_buf_free(&pk);
        free(a);
        free(b);
        json_decref(in);
        json_decref(out);
    }
    CHECK(rg_metapack_decode("\x00", 1) == NULL);         /* wrong version */
    CHECK(rg_metapack_decode("\xa1\x01\x09", 3) == NULL); /* unknown tag */
    CHECK(rg_metapack_decode("\xa1\x7f\x00", 3) == NULL); /* unknown key index */
    CHECK(rg_metapack_decode("\xa1\x01\x05\x05" "ab", 5) == NULL); /* string longer than the data */
}

TEST(metapack_derives_document_id_from_path)
{
    char id[17];
    rg_document_id("/data/docs/10009203.txt", id);
    json_t *in = json_pack("{s:s, s:s, s:I}", "document_id", id, "document_path", "/data/docs/10009203.txt",
                           "chunk_position", (json_int_t)3);
    json_t *other = json_pack("{s:s, s:s, s:I}", "document_id", "0123456789abcdef", "document_path",
                              "/data/docs/10009203.txt", "chunk_position", (json_int_t)3);
    rg_buf a, b;
    rg_buf_init(&a);
    rg_buf_init(&b);
    rg_metapack_encode(in, &a);
    rg_metapack_encode(other, &b);
    CHECK_MSG(a.len + 8 < b.len, "derived %zu bytes, stored %zu", a.len, b.len);
    json_t *out = rg_metapack_decode(a.data, a.len), *out2 = rg_metapack_decode(b.data, b.len);
    CHECK(out && json_equal(in, out));
    CHECK(out2 && json_equal(other, out2));
    char *ja = json_dumps(in, JSON_COMPACT), *jb = json_dumps(out, JSON_COMPACT);
    bool same_order = !strcmp(ja, jb);
    free(ja);
    free(jb);
    CHECK(same_order);
    /* the derived tag without a document_path is damage, not a guess */
    json_t *nopath = json_pack("{s:s}", "document_id", id);
    rg_buf c;
    rg_buf_init(&c);
    rg_metapack_encode(nopath, &c);
    CHECK(c.data[0] == (char)0xA1);
    CHECK(rg_metapack_decode("\xa2\x03\x08", 3) == NULL);
    rg_buf_free(&a);
    rg_buf_free(&b);
    rg_buf_free(&c);
    json_decref(in);
    json_decref(other);
    json_decref(out);
    json_decref(out2);
    json_decref(nopath);
}

static rg_record *make_recs(contract_env *env, size_t n, unsigned salt, char ***ids, char ***docs, json_t ***meta,
                            float **vecs)
{
    *ids = rg_xcalloc(n, sizeof **ids);
    *docs = rg_xcalloc(n, sizeof **docs);
    *meta = rg_xcalloc(n, sizeof **meta);
    rg_record *r = rg_xcalloc(n, sizeof *r);
    char *path = rg_xasprintf("/some/dir/file%u.txt", salt);
    char doc_id[17];
    rg_document_id(path, doc_id);
    for (size_t i = 0; i < n; i++) {
        /* Ids of three kinds: the one ingest would give (leann stores none),
         * one of ingest's form for another position, and one of no form. */
        (*ids)[i] = i % 4 == 0   ? rg_xasprintf("%s-%05zu", doc_id, i)
                    : i % 4 == 1 ? rg_xasprintf("%s-%05zu", doc_id, i + 100000)
                                 : rg_xasprintf("d%u-%04zu", salt, i);
        (*docs)[i] = rg_xasprintf("passage %zu about topic %zu with words w%zu w%zu and salt %u", i, i % 7, i * 31 % 97,
                                  i * 17 % 89, salt);
        char hash[65];
        rg_sha256_hex((*docs)[i], strlen((*docs)[i]), hash);
        (*meta)[i] = json_pack("{s:s, s:s, s:s, s:I, s:f, s:s}", "document_id", doc_id, "document_path", path,
                               "content_hash", hash, "chunk_position", (json_int_t)i, "score", (double)i / 4.0, "group",
                               i % 3 == 0 ? "alpha" : "beta");
    }
    free(path);
    *vecs = contract_embed(env, (const char *const *)*docs, n);
    for (size_t i = 0; i < n; i++)
        r[i] = (rg_record){(*ids)[i], (*docs)[i], (*meta)[i], *vecs + i * DDIM, false};
    return r;
}

static void free_recs(size_t n, rg_record *r, char **ids, char **docs, json_t **meta, float *vecs)
{
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
        free(docs[i]);
        json_decref(meta[i]);
    }
    free(ids);
    free(docs);
    free(meta);
    free(r);
    free(vecs);
}

static void check_all_meta(rg_collection *c, size_t n, char **ids, json_t **meta)
{
    rg_error err;
    rg_record_batch b;
    rg_record_batch_init(&b, 0);
    CHECK_OK(rg_collection_get(c, NULL, 0, NULL, RG_INCLUDE_METADATAS | RG_INCLUDE_DOCUMENTS, 0, 0, &b, &err), &err);
    CHECK_EQ_INT(b.n, n);
    for (size_t i = 0; i < b.n; i++) {
        CHECK_EQ_STR(b.items[i].id, ids[i]);
        CHECK_MSG(json_equal(b.items[i].metadata, meta[i]), "metadata of %s differs", ids[i]);
    }
    rg_record_batch_free(&b);
}

static void check_count_where(rg_collection *c, const char *where, size_t expect)
{
    rg_error err;
    rg_filter *f = NULL;
    CHECK_OK(rg_filter_parse(where, &f, &err), &err);
    rg_record_batch b;
    rg_record_batch_init(&b, 0);
    CHECK_OK(rg_collection_get(c, NULL, 0, f, RG_INCLUDE_METADATAS, 0, 0, &b, &err), &err);
    CHECK_EQ_INT(b.n, expect);
    rg_record_batch_free(&b);
    rg_filter_free(f);
}

static rg_status exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int r = sqlite3_open(path, &db);
    if (r == SQLITE_OK)
        r = leann_sql_register(db, NULL);
    if (r == SQLITE_OK)
        r = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (r != SQLITE_OK)
        fprintf(stderr, "sql: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return r == SQLITE_OK ? RG_OK : RG_ERR_IO;
}

/* The integer the query sql gives on database path (-1 on error). */
static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

TEST(leann_packed_metadata_get_filter_upsert_delete)
{
    contract_env env;
    if (!contract_env_open(&env, "leann", DDIM))
        return;
    rg_error err;
    rg_collection *c = NULL;
    CHECK_OK(rg_collection_open(env.store, "packed", env.emb, true, &c, &err), &err);
    size_t n = 300;
    char **ids, **docs;
    json_t **meta;
    float *vecs;
    rg_record *r = make_recs(&env, n, 1, &ids, &docs, &meta, &vecs);
    CHECK_OK(rg_collection_add(c, r, n, &err), &err);
    check_all_meta(c, n, ids, meta);
    /* exactly the ids the metadata gives back are not stored; no row
     * needed the node index */
    char *dbpath = rg_path_join(rg_test_tmpdir(), "leann/packed/leann.sqlite");
    CHECK_EQ_INT(sql_int(dbpath, "SELECT count(*) FROM rec WHERE own_id IS NULL"), n / 4);
    CHECK_EQ_INT(sql_int(dbpath, "SELECT count(*) FROM rec WHERE node != seq - 1"), 0);
    free(dbpath);
    /* a derived id is found, and is a duplicate, like any other */
    rg_record_batch one;
    rg_record_batch_init(&one, 0);
    const char *want[] = {ids[8], ids[9]};
    CHECK_OK(rg_collection_get(c, want, 2, NULL, 0, 0, 0, &one, &err), &err);
    CHECK_EQ_INT(one.n, 2);
    rg_record_batch_free(&one);
    CHECK(rg_collection_add(c, r + 8, 1, &err) == RG_ERR_EXISTS);

    /* a filter on packed metadata: strings, numbers */
    rg_filter *f = NULL;
    CHECK_OK(rg_filter_parse("{\"group\": \"alpha\"}", &f, &err), &err);
    rg_record_batch b;
    rg_record_batch_init(&b, 0);
    CHECK_OK(rg_collection_get(c, NULL, 0, f, RG_INCLUDE_METADATAS, 0, 0, &b, &err), &err);
    CHECK_EQ_INT(b.n, 100);
    rg_record_batch_clear(&b);
    rg_hits h;
    rg_hits_init(&h);
    rg_query_opts qo = {.k = 5, .where = f, .include = RG_INCLUDE_METADATAS};
    CHECK_OK(rg_collection_query(c, vecs + 4 * DDIM, &qo, &h, &err), &err);
    CHECK_EQ_INT(h.n, 5);
    for (size_t i = 0; i < h.n; i++)
        CHECK_EQ_STR(json_string_value(json_object_get(h.items[i].metadata, "group")), "alpha");
    rg_hits_free(&h);

    /* upsert changes metadata of some, delete by filter removes others */
    for (size_t i = 0; i < 50; i++) {
        json_object_set_new(meta[i], "group", json_string("gamma"));
        json_object_set_new(meta[i], "extra", json_real((double)i + 0.25));
    }
    CHECK_OK(rg_collection_upsert(c, r, 50, &err), &err);
    check_all_meta(c, n, ids, meta);
    size_t deleted = 0;
    CHECK_OK(rg_collection_delete(c, NULL, 0, f, &deleted, &err), &err);
    CHECK_EQ_INT(deleted, 83); /* alpha among 50..299 */
    rg_filter_free(f);
    CHECK_OK(rg_collection_get(c, NULL, 0, NULL, RG_INCLUDE_METADATAS, 0, 0, &b, &err), &err);
    CHECK_EQ_INT(b.n, n - 83);
    for (size_t i = 0; i < b.n; i++)
        CHECK(strcmp(json_string_value(json_object_get(b.items[i].metadata, "group")), "alpha") != 0);
    rg_record_batch_free(&b);
    rg_collection_close(c);

    /* a damaged packed row is an error naming the problem, not a crash */
    char *db = rg_path_join(rg_test_tmpdir(), "leann/packed/leann.sqlite");
    CHECK(exec_sql(db, "UPDATE rec SET meta = x'a10905' WHERE seq = (SELECT max(seq) FROM rec)") == RG_OK);
    CHECK_OK(rg_collection_open(env.store, "packed", env.emb, false, &c, &err), &err);
    rg_record_batch_init(&b, 0);
    CHECK(rg_collection_get(c, NULL, 0, NULL, RG_INCLUDE_METADATAS, 0, 0, &b, &err) != RG_OK);
    CHECK_MSG(strstr(err.msg, "metadata") != NULL, "unclear message: %s", err.msg);
    rg_record_batch_free(&b);
    rg_collection_close(c);
    /* so is a damaged passage, even when only the metadata (its recomputed
     * content_hash) is read, and the message says which */
    CHECK(exec_sql(db, "UPDATE rec SET meta = NULL WHERE seq = (SELECT max(seq) FROM rec);"
                       "UPDATE rec SET doc = x'0102' WHERE seq = 2")   /* a stored id: no rg_leann_id needed */ == RG_OK);
    CHECK_OK(rg_collection_open(env.store, "packed", env.emb, false, &c, &err), &err);
    rg_record_batch_init(&b, 0);
    CHECK(rg_collection_get(c, NULL, 0, NULL, RG_INCLUDE_METADATAS, 0, 0, &b, &err) == RG_ERR_CORRUPT);
    CHECK_MSG(strstr(err.msg, "compressed text") != NULL, "unclear message: %s", err.msg);
    rg_record_batch_free(&b);
    rg_collection_close(c);
    free(db);
    free_recs(n, r, ids, docs, meta, vecs);
    contract_env_close(&env);
}

/* Turns collection NAME into what format 1 (a records table with JSON
 * text) or format 3 (packed metadata that stores content_hash, and the view
 * of that format) wrote, with meta[i] as the metadata of row i. */
static void make_old_format(const char *name, int format, size_t n, char **ids, json_t **meta)
{
    char *rel = rg_xasprintf("leann/%s/leann.sqlite", name);
    char *db = rg_path_join(rg_test_tmpdir(), rel);
    free(rel);
    sqlite3 *h = NULL;
    CHECK(sqlite3_open(db, &h) == SQLITE_OK);
    CHECK(leann_sql_register(h, NULL) == SQLITE_OK);
    /* Format 5 stores no id that the metadata gives back: take them all
     * from ids (row i has seq i + 1). */
    CHECK(sqlite3_exec(h, "CREATE TEMP TABLE ids(seq INTEGER PRIMARY KEY, id TEXT)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_stmt *put = NULL;
    CHECK(sqlite3_prepare_v2(h, "INSERT INTO ids VALUES(?, ?)", -1, &put, NULL) == SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(put, 1, (int64_t)i + 1);
        sqlite3_bind_text(put, 2, ids[i], -1, SQLITE_STATIC);
        CHECK(sqlite3_step(put) == SQLITE_DONE);
        sqlite3_reset(put);
    }
    sqlite3_finalize(put);
    CHECK(sqlite3_exec(h,
                       "BEGIN; CREATE TABLE old AS SELECT seq, ids.id, node, doc, doclen, dict,"
                       " CAST(NULL AS TEXT) AS metadata, vec FROM rec JOIN ids USING(seq);"
                       " DROP VIEW records; DROP TABLE rec;",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_stmt *up = NULL;
    CHECK(sqlite3_prepare_v2(h, "UPDATE old SET metadata = ? WHERE id = ?", -1, &up, NULL) == SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        char *text = json_dumps(meta[i], JSON_COMPACT);
        sqlite3_bind_text(up, 1, text, -1, free);
        sqlite3_bind_text(up, 2, ids[i], -1, SQLITE_STATIC);
        CHECK(sqlite3_step(up) == SQLITE_DONE);
        sqlite3_reset(up);
    }
    sqlite3_finalize(up);
    const char *v1 = "CREATE TABLE records(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, node INTEGER NOT NULL "
                     "UNIQUE, doc BLOB, doclen INTEGER NOT NULL DEFAULT 0, dict INTEGER NOT NULL DEFAULT 0, metadata "
                     "TEXT, vec BLOB); INSERT INTO records SELECT * FROM old; DROP TABLE old;"
                     "UPDATE meta SET value = 'ragged-leann-1' WHERE key = 'format'; COMMIT;";
    const char *v3 =
        "CREATE TABLE rec(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, node INTEGER NOT NULL UNIQUE,"
        " doc BLOB, doclen INTEGER NOT NULL DEFAULT 0, dict INTEGER NOT NULL DEFAULT 0, meta BLOB, vec BLOB);"
        "INSERT INTO rec SELECT seq, id, node, doc, doclen, dict, rg_meta_pack(metadata), vec FROM old;"
        "DROP TABLE old;"
        "CREATE VIEW records AS SELECT seq, id, node, doc, doclen, dict, rg_meta_json(meta) AS metadata, vec FROM rec;"
        "CREATE TRIGGER records_insert INSTEAD OF INSERT ON records BEGIN"
        " INSERT INTO rec(seq, id, node, doc, doclen, dict, meta, vec) VALUES(NEW.seq, NEW.id, NEW.node, NEW.doc,"
        " coalesce(NEW.doclen, 0), coalesce(NEW.dict, 0), rg_meta_pack(NEW.metadata), NEW.vec); END;"
        "CREATE TRIGGER records_delete INSTEAD OF DELETE ON records BEGIN DELETE FROM rec WHERE seq = OLD.seq; END;"
        "UPDATE meta SET value = 'ragged-leann-3' WHERE key = 'format'; COMMIT;";
    CHECK(sqlite3_exec(h, format == 1 ? v1 : v3, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    free(db);
}

static char *format_of(const char *name)
{
    char *rel = rg_xasprintf("leann/%s/leann.sqlite", name);
    char *db = rg_path_join(rg_test_tmpdir(), rel);
    free(rel);
    sqlite3 *h = NULL;
    char *out = NULL;
    sqlite3_stmt *fs = NULL;
    if (sqlite3_open(db, &h) == SQLITE_OK &&
        sqlite3_prepare_v2(h, "SELECT value FROM meta WHERE key = 'format'", -1, &fs, NULL) == SQLITE_OK &&
        sqlite3_step(fs) == SQLITE_ROW)
        out = rg_xstrdup((const char *)sqlite3_column_text(fs, 0));
    sqlite3_finalize(fs);
    sqlite3_close(h);
    free(db);
    return out ? out : rg_xstrdup("none");
}

static void old_format_reads_and_writes(int format)
{
    contract_env env;
    if (!contract_env_open(&env, "leann", DDIM))
        return;
    rg_error err;
    rg_collection *c = NULL;
    const char *name = format == 1 ? "old1" : "old3";
    CHECK_OK(rg_collection_open(env.store, name, env.emb, true, &c, &err), &err);
    /* 300 records: over the count at which dictionaries are trained */
    size_t n = 420;
    char **ids, **docs;
    json_t **meta;
    float *vecs;
    rg_record *r = make_recs(&env, n, 2, &ids, &docs, &meta, &vecs);
    CHECK_OK(rg_collection_add(c, r, 300, &err), &err);
    rg_collection_close(c);
    make_old_format(name, format, 300, ids, meta);
    CHECK_OK(rg_collection_open(env.store, name, env.emb, false, &c, &err), &err);
    check_all_meta(c, 300, ids, meta);
    check_count_where(c, "{\"group\": \"alpha\"}", 100);
    /* the first write upgrades the schema in place */
    CHECK_OK(rg_collection_add(c, r + 300, n - 300, &err), &err);
    check_all_meta(c, n, ids, meta);
    check_count_where(c, "{\"group\": \"alpha\"}", 140);
    /* a filter on the recomputed content_hash */
    char where[128];
    char *hash = rg_xstrdup(json_string_value(json_object_get(meta[7], "content_hash")));
    snprintf(where, sizeof where, "{\"content_hash\": \"%s\"}", hash);
    free(hash);
    check_count_where(c, where, 1);
    rg_store_stats st;
    rg_store_stats_init(&st);
    CHECK_OK(rg_collection_stats(c, &st, &err), &err);
    CHECK_EQ_INT(st.records, n);
    rg_store_stats_free(&st);
    /* a rebuild rewrites every row in the current form */
    CHECK_OK(rg_collection_compact(c, &err), &err);
    check_all_meta(c, n, ids, meta);
    check_count_where(c, where, 1);   /* now recomputed from the passage */
    check_count_where(c, "{\"group\": \"alpha\"}", 140);
    rg_collection_close(c);
    /* marked format 7, so older versions refuse it by name instead of
     * reporting damage */
    char *fmt = format_of(name);
    CHECK_EQ_STR(fmt, "ragged-leann-7");
    free(fmt);
    free_recs(n, r, ids, docs, meta, vecs);
    contract_env_close(&env);
}

TEST(leann_format1_collection_still_reads_and_writes)
{
    old_format_reads_and_writes(1);
}

TEST(leann_format3_collection_still_reads_and_writes)
{
    old_format_reads_and_writes(3);
}
