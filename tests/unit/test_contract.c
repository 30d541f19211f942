/* The backend contract (store.h), checked for every backend that can be
 * opened here.  A behaviour that must differ between backends is written
 * down next to the check, with the reason. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "test.h"
#include "util.h"

#define DIM 64

/* Runs BODY once per available backend with `env` open and `coll` a fresh,
 * open collection named after the test. */
#define FOR_EACH_BACKEND(stem)                                                                     \
    for (const char *const *bn_ = rg_store_backend_names(); *bn_; bn_++)                           \
        for (contract_env env, *once_ = contract_env_open(&env, *bn_, DIM) ? &env : NULL; once_;    \
             contract_env_close(&env), once_ = NULL)                                               \
            for (char cname[64] = {0};                                                             \
                 !cname[0] && (fprintf(stderr, "    [%s]\n", *bn_), contract_collection_name(cname, sizeof cname, stem), 1);)

static rg_collection *open_new(contract_env *env, const char *name)
{
    rg_error err;
    rg_collection *c = NULL;
    if (rg_collection_open(env->store, name, env->emb, true, &c, &err) != RG_OK) {
        fprintf(stderr, "    open %s: %s\n", name, err.msg);
        return NULL;
    }
    return c;
}

/* n records "doc-i" with a distinctive text and typed metadata. */
typedef struct fixture {
    size_t n;
    char **ids, **docs;
    json_t **meta;
    float *vecs;
    rg_record *recs;
} fixture;

static const char *const WORDS[] = {"apple", "river", "copper", "violin", "glacier", "pepper", "orbit", "lantern",
                                    "meadow", "saffron", "tundra", "quartz", "harbor", "falcon", "ember", "basalt"};

static void fixture_make(fixture *f, contract_env *env, size_t n, size_t offset)
{
    f->n = n;
    f->ids = rg_xcalloc(n, sizeof *f->ids);
    f->docs = rg_xcalloc(n, sizeof *f->docs);
    f->meta = rg_xcalloc(n, sizeof *f->meta);
    f->recs = rg_xcalloc(n, sizeof *f->recs);
    for (size_t j = 0; j < n; j++) {
        size_t i = j + offset;
        f->ids[j] = rg_xasprintf("doc-%05zu", i);
        f->docs[j] = rg_xasprintf("%s %s %s record number %zu", WORDS[i % 16], WORDS[(i / 16) % 16],
                                  WORDS[(i * 7 + 3) % 16], i);
        f->meta[j] = json_pack("{s:I, s:f, s:s, s:b}", "num", (json_int_t)i, "half", (double)i / 2.0, "word",
                               WORDS[i % 16], "even", (int)(i % 2 == 0));
    }
    f->vecs = contract_embed(env, (const char *const *)f->docs, n);
    for (size_t j = 0; j < n; j++)
        f->recs[j] = (rg_record){f->ids[j], f->docs[j], f->meta[j], f->vecs + j * DIM, false};
}

static void fixture_free(fixture *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->ids[i]);
        free(f->docs[i]);
        json_decref(f->meta[i]);
    }
    free(f->ids);
    free(f->docs);
    free(f->meta);
    free(f->recs);
    free(f->vecs);
}

TEST(contract_collection_lifecycle)
{
    FOR_EACH_BACKEND("life")
    {
        rg_error err;
        CHECK_OK(rg_store_create_collection(env.store, cname, &env.emb->identity, &err), &err);
        CHECK_EQ_INT(rg_store_create_collection(env.store, cname, &env.emb->identity, &err), RG_ERR_EXISTS);
        rg_collection_info *infos = NULL;
        size_t n = 0;
        CHECK_OK(rg_store_list(env.store, &infos, &n, &err), &err);
        bool found = false;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(infos[i].name, cname)) {
                found = true;
                CHECK_EQ_STR(infos[i].identity.fingerprint, env.emb->identity.fingerprint);
                CHECK_EQ_INT(infos[i].count, 0);
            }
        free(infos);
        CHECK(found);
        char renamed[80];
        snprintf(renamed, sizeof renamed, "%s-r", cname);
        CHECK_OK(rg_store_rename_collection(env.store, cname, renamed, &err), &err);
        rg_collection *c = NULL;
        CHECK_EQ_INT(rg_collection_open(env.store, cname, env.emb, false, &c, &err), RG_ERR_NOTFOUND);
        CHECK_OK(rg_collection_open(env.store, renamed, env.emb, false, &c, &err), &err);
        rg_collection_close(c);
        CHECK_OK(rg_store_delete_collection(env.store, renamed, &err), &err);
        CHECK_EQ_INT(rg_store_delete_collection(env.store, renamed, &err), RG_ERR_NOTFOUND);
        /* Names follow ChromaDB's rules everywhere. */
        static const char *const bad[] = {"ab", "-abc", "abc-", "a..b", "has space", "slash/name", "ünï", ""};
        for (size_t i = 0; i < RG_ARRAY_LEN(bad); i++)
            CHECK_EQ_INT(rg_store_create_collection(env.store, bad[i], &env.emb->identity, &err), RG_ERR_INVALID);
    }
}

TEST(contract_add_get_count)
{
    FOR_EACH_BACKEND("add")
    {
        rg_error err;
        rg_collection *c = open_new(&env, cname);
        CHECK(c);
        fixture f;
        fixture_make(&f, &env, 30, 0);
        CHECK_OK(rg_collection_add(c, f.recs, f.n, &err), &err);
        int64_t count = 0;
        CHECK_OK(rg_collection_count(c, &count, &err), &err);
        CHECK_EQ_INT(count, 30);
        const char *want[] = {"doc-00003", "doc-00017", "no-such-id"};
        rg_record_batch b;
        rg_record_batch_init(&b, DIM);
        CHECK_OK(rg_collection_get(c, want, 3, NULL, RG_INCLUDE_ALL, 0, 0, &b, &err), &err);
        CHECK_EQ_INT(b.n, 2);
        for (size_t i = 0; i < b.n; i++) {
            size_t idx = (size_t)atoi(b.items[i].id + 4);
            CHECK_EQ_STR(b.items[i].document, f.docs[idx]);
            CHECK(json_equal(b.items[i].metadata, f.meta[idx]));
            CHECK(b.items[i].embedding);
            /* leann recomputes embeddings from the text: equal up to float noise. */
            for (int d = 0; d < DIM; d++)
                CHECK(fabsf(b.items[i].embedding[d] - f.vecs[idx * DIM + d]) < 1e-4f);
        }
        rg_record_batch_free(&b);
        /* Paging visits every record exactly once. */
        bool seen[30] = {0};
        size_t total = 0;
        for (size_t off = 0; off < 40; off += 7) {
            rg_record_batch p;
            rg_record_batch_init(&p, DIM);
            CHECK_OK(rg_collection_get(c, NULL, 0, NULL, 0, off, 7, &p, &err), &err);
            for (size_t i = 0; i < p.n; i++) {
                int idx = atoi(p.items[i].id + 4);
                CHECK(idx >= 0 && idx < 30 && !seen[idx]);
                seen[idx] = true;
                CHECK(p.items[i].document == NULL && p.items[i].metadata == NULL);
            }
            total += p.n;
            rg_record_batch_free(&p);
        }
        CHECK_EQ_INT(total, 30);
        /* add of an existing id fails and writes nothing. */
        fixture g;
        fixture_make(&g, &env, 2, 29); /* doc-00029 exists, doc-00030 is new */
        CHECK_EQ_INT(rg_collection_add(c, g.recs, g.n, &err), RG_ERR_EXISTS);
        CHECK(strstr(err.msg, "doc-00029"));
        CHECK_OK(rg_collection_count(c, &count, &err), &err);
        CHECK_EQ_INT(count, 30);
        /* A batch with the same id twice is refused. */
        rg_record twice[2] = {g.recs[1], g.recs[1]};
        CHECK_EQ_INT(rg_collection_add(c, twice, 2, &err), RG_ERR_INVALID);
        fixture_free(&g);
        fixture_free(&f);
        rg_collection_close(c);
    }
}

TEST(contract_upsert_and_delete)
{
    FOR_EACH_BACKEND("upsert")
    {
        rg_error err;
        rg_collection *c = open_new(&env, cname);
        CHECK(c);
        fixture f;
        fixture_make(&f, &env, 10, 0);
        CHECK_OK(rg_collection_add(c, f.recs, f.n, &err), &err);
        /* upsert replaces the whole record: old metadata keys disappear. */
        const char *doc = "a completely new text about saffron and quartz";
        json_t *meta = json_pack("{s:s}", "only", "this");
        float *v = contract_embed(&env, &doc, 1);
        rg_record r = {"doc-00004", (char *)doc, meta, v, false};
        CHECK_OK(rg_collection_upsert(c, &r, 1, &err), &err);
        const char *id = "doc-00004";
        rg_record_batch b;
        rg_record_batch_init(&b, DIM);
        CHECK_OK(rg_collection_get(c, &id, 1, NULL, RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS, 0, 0, &b, &err),
                 &err);
        CHECK_EQ_INT(b.n, 1);
        CHECK_EQ_STR(b.items[0].document, doc);
        CHECK(json_equal(b.items[0].metadata, meta));
        rg_record_batch_free(&b);
        /* The replaced text is what queries find now. */
        rg_hits h;
        rg_hits_init(&h);
        rg_query_opts qo = {.k = 1, .include = RG_INCLUDE_DOCUMENTS};
        CHECK_OK(rg_collection_query(c, v, &qo, &h, &err), &err);
        CHECK_EQ_INT(h.n, 1);
        CHECK_EQ_STR(h.items[0].id, "doc-00004");
        CHECK(h.items[0].distance < 1e-3f);
        rg_hits_free(&h);
        /* upsert of a new id inserts. */
        r.id = "brand-new";
        CHECK_OK(rg_collection_upsert(c, &r, 1, &err), &err);
        int64_t count;
        CHECK_OK(rg_collection_count(c, &count, &err), &err);
        CHECK_EQ_INT(count, 11);
        /* delete by ids (a missing id is not an error) and by filter. */
        const char *del[] = {"doc-00001", "doc-00002", "missing"};
        size_t deleted = 0;
        CHECK_OK(rg_collection_delete(c, del, 3, NULL, &deleted, &err), &err);
        CHECK_EQ_INT(deleted, 2);
        rg_filter *even = NULL;
        CHECK_OK(rg_filter_parse("{\"even\": true}", &even, &err), &err);
        CHECK_OK(rg_collection_delete(c, NULL, 0, even, &deleted, &err), &err);
        CHECK_EQ_INT(deleted, 3); /* 0, 6 and 8: 2 is gone already and 4 was replaced without 'even' */
        rg_filter_free(even);
        CHECK_OK(rg_collection_count(c, &count, &err), &err);
        CHECK_EQ_INT(count, 6);
        /* Deleted records are never returned by queries. */
        rg_hits_init(&h);
        qo.k = 100;
        CHECK_OK(rg_collection_query(c, f.vecs, &qo, &h, &err), &err);
        CHECK_EQ_INT(h.n, 6);
        for (size_t i = 0; i < h.n; i++)
            CHECK(strcmp(h.items[i].id, "doc-00000") && strcmp(h.items[i].id, "doc-00001"));
        rg_hits_free(&h);
        /* delete with neither ids nor filter is refused. */
        CHECK_EQ_INT(rg_collection_delete(c, NULL, 0, NULL, &deleted, &err), RG_ERR_INVALID);
        free(v);
        json_decref(meta);
        fixture_free(&f);
        rg_collection_close(c);
    }
}

/* rg_collection_replace: upserts and deletes in one call (atomic where the
 * backend has a replace op; the kill tests check that part). */
TEST(contract_replace)
{
    FOR_EACH_BACKEND("replace")
    {
        rg_error err;
        rg_collection *c = open_new(&env, cname);
        CHECK(c);
        fixture f, g;
        fixture_make(&f, &env, 8, 0);
        fixture_make(&g, &env, 3, 100);
        CHECK_OK(rg_collection_add(c, f.recs, f.n, &err), &err);
        /* doc-00000..2 get g's texts; doc-00005..7 go; doc-00003/4 stay. */
        for (size_t i = 0; i < g.n; i++)
            g.recs[i].id = f.ids[i];
        const char *del[] = {"doc-00005", "doc-00006", "doc-00007", "missing"};
        size_t deleted = 0;
        CHECK_OK(rg_collection_replace(c, g.recs, g.n, del, 4, &deleted, &err), &err);
        CHECK_EQ_INT(deleted, 3);
        int64_t count;
        CHECK_OK(rg_collection_count(c, &count, &err), &err);
        CHECK_EQ_INT(count, 5);
        rg_record_batch b;
        rg_record_batch_init(&b, DIM);
        CHECK_OK(rg_collection_get(c, NULL, 0, NULL, RG_INCLUDE_DOCUMENTS, 0, 0, &b, &err), &err);
        CHECK_EQ_INT(b.n, 5);
        for (size_t i = 0; i < b.n; i++) {
            int at = atoi(b.items[i].id + 4);
            CHECK(at <= 4);
            CHECK_EQ_STR(b.items[i].document, at < 3 ? g.docs[at] : f.docs[at]);
        }
        rg_record_batch_free(&b);
        /* The BM25 index follows: a deleted record's words find nothing of it. */
        rg_hits h;
        rg_hits_init(&h);
        rg_query_opts qo = {.k = 10, .include = 0};
        CHECK_OK(rg_collection_query_lexical(c, f.docs[6], &qo, &h, &err), &err);
        for (size_t i = 0; i < h.n; i++)
            CHECK(strcmp(h.items[i].id, "doc-00006") != 0);
        rg_hits_free(&h);
        /* An id both written and deleted is refused, and nothing changes. */
        const char *both[] = {"doc-00003", f.ids[0]};
        CHECK_EQ_INT(rg_collection_replace(c, g.recs, 1, both, 2, &deleted, &err), RG_ERR_INVALID);
        CHECK_OK(rg_collection_count(c, &count, &err), &err);
        CHECK_EQ_INT(count, 5);
        /* Only upserts, only deletes. */
        CHECK_OK(rg_collection_replace(c, f.recs + 5, 1, NULL, 0, &deleted, &err), &err);
        CHECK_EQ_INT(deleted, 0);
        CHECK_OK(rg_collection_replace(c, NULL, 0, both, 1, &deleted, &err), &err);
        CHECK_EQ_INT(deleted, 1);
        CHECK_OK(rg_collection_count(c, &count, &err), &err);
        CHECK_EQ_INT(count, 5);
        fixture_free(&f);
        fixture_free(&g);
        rg_collection_close(c);
    }
}

TEST(contract_query_basics)
{
    FOR_EACH_BACKEND("query")
    {
        rg_error err;
        rg_collection *c = open_new(&env, cname);
        CHECK(c);
        rg_hits h;
        rg_hits_init(&h);
        float q[DIM] = {1};
        rg_query_opts qo = {.k = 5, .include = RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS};
        /* Empty collection: no hits, no error. */
        CHECK_OK(rg_collection_query(c, q, &qo, &h, &err), &err);
        CHECK_EQ_INT(h.n, 0);
        fixture f;
        fixture_make(&f, &env, 200, 0);
        CHECK_OK(rg_collection_add(c, f.recs, f.n, &err), &err);
        /* Every record's own vector finds it first. */
        for (size_t i = 0; i < f.n; i += 17) {
            rg_hits_init(&h);
            CHECK_OK(rg_collection_query(c, f.vecs + i * DIM, &qo, &h, &err), &err);
            CHECK_EQ_INT(h.n, 5);
            CHECK_MSG(h.items[0].distance < 1e-3f, "record %zu: best distance %f (%s)", i, h.items[0].distance,
                      h.items[0].id);
            for (size_t j = 1; j < h.n; j++)
                CHECK(h.items[j - 1].distance <= h.items[j].distance);
            CHECK(h.items[0].document && h.items[0].metadata);
            rg_hits_free(&h);
        }
        /* k larger than the collection returns everything. */
        qo.k = 1000;
        rg_hits_init(&h);
        CHECK_OK(rg_collection_query(c, f.vecs, &qo, &h, &err), &err);
        CHECK_EQ_INT(h.n, 200);
        rg_hits_free(&h);
        qo.k = 0;
        CHECK_EQ_INT(rg_collection_query(c, f.vecs, &qo, &h, &err), RG_ERR_INVALID);
        fixture_free(&f);
        rg_collection_close(c);
    }
}

static const char *const FILTERS[] = {
    "{\"num\": 7}",
    "{\"num\": {\"$eq\": 7}}",
    "{\"word\": {\"$ne\": \"apple\"}}",
    "{\"num\": {\"$gt\": 150}}",
    "{\"num\": {\"$gte\": 150}}",
    "{\"half\": {\"$lt\": 3.5}}",
    "{\"half\": {\"$lte\": 3.5}}",
    "{\"word\": {\"$in\": [\"river\", \"ember\"]}}",
    "{\"word\": {\"$nin\": [\"river\", \"ember\", \"apple\"]}}",
    "{\"even\": false}",
    "{\"$and\": [{\"even\": true}, {\"num\": {\"$lt\": 40}}]}",
    "{\"$or\": [{\"word\": \"quartz\"}, {\"$and\": [{\"num\": {\"$gte\": 10}}, {\"num\": {\"$lte\": 12}}]}]}",
    "{\"num\": {\"$in\": [3, 5, 1000]}}",
    "{\"word\": \"nothing-matches\"}",
    "{\"half\": 2.5}",
    "{\"num\": {\"$gt\": 1.5}, \"even\": true}",
};

TEST(contract_filters_match_oracle)
{
    FOR_EACH_BACKEND("filter")
    {
        rg_error err;
        rg_collection *c = open_new(&env, cname);
        CHECK(c);
        fixture f;
        fixture_make(&f, &env, 200, 0);
        CHECK_OK(rg_collection_add(c, f.recs, f.n, &err), &err);
        for (size_t fi = 0; fi < RG_ARRAY_LEN(FILTERS); fi++) {
            rg_filter *flt = NULL;
            CHECK_OK(rg_filter_parse(FILTERS[fi], &flt, &err), &err);
            size_t expect = 0;
            for (size_t i = 0; i < f.n; i++)
                expect += rg_filter_match(flt, f.meta[i]);
            /* get with the filter returns exactly the matching set */
            rg_record_batch b;
            rg_record_batch_init(&b, DIM);
            CHECK_OK(rg_collection_get(c, NULL, 0, flt, RG_INCLUDE_METADATAS, 0, 0, &b, &err), &err);
            CHECK_MSG(b.n == expect, "filter %s: get returned %zu, expected %zu", FILTERS[fi], b.n, expect);
            for (size_t i = 0; i < b.n; i++)
                CHECK_MSG(rg_filter_match(flt, b.items[i].metadata), "filter %s returned %s", FILTERS[fi],
                          b.items[i].id);
            rg_record_batch_free(&b);
            /* a filtered query returns min(k, matches) hits, all matching */
            for (int k = 1; k <= 25; k += 12) {
                rg_hits h;
                rg_hits_init(&h);
                rg_query_opts qo = {.k = k, .where = flt, .include = RG_INCLUDE_METADATAS};
                CHECK_OK(rg_collection_query(c, f.vecs + 5 * DIM, &qo, &h, &err), &err);
                CHECK_MSG(h.n == RG_MIN((size_t)k, expect), "filter %s k=%d: %zu hits, expected %zu", FILTERS[fi], k,
                          h.n, RG_MIN((size_t)k, expect));
                for (size_t i = 0; i < h.n; i++)
                    CHECK(rg_filter_match(flt, h.items[i].metadata));
                rg_hits_free(&h);
            }
            rg_filter_free(flt);
        }
        fixture_free(&f);
        rg_collection_close(c);
    }
}

TEST(contract_metadata_types_and_unicode)
{
    FOR_EACH_BACKEND("types")
    {
        rg_error err;
        rg_collection *c = open_new(&env, cname);
        CHECK(c);
        /* 100 KB of text with multi-byte characters. */
        rg_buf big;
        rg_buf_init(&big);
        while (big.len < 100000)
            rg_buf_puts(&big, "Grüße aus Köln — 東京の図書館 🎉 naïve café; ");
        const char *docs[2] = {big.data, "emoji 🧪 and Ω in metadata"};
        float *v = contract_embed(&env, docs, 2);
        json_t *m0 = json_pack("{s:s, s:I, s:f, s:b, s:b, s:I}", "city", "Köln 東京 🎉", "big", (json_int_t)9007199254740991LL,
                               "ratio", 0.125, "yes", 1, "no", 0, "neg", (json_int_t)-42);
        json_t *m1 = json_pack("{s:s}", "symbol", "Ω");
        rg_record recs[2] = {{"ünïcödé-id-東京", big.data, m0, v, false}, {"plain", (char *)docs[1], m1, v + DIM, false}};
        CHECK_OK(rg_collection_add(c, recs, 2, &err), &err);
        const char *ids[2] = {"ünïcödé-id-東京", "plain"};
        rg_record_batch b;
        rg_record_batch_init(&b, DIM);
        CHECK_OK(rg_collection_get(c, ids, 2, NULL, RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS, 0, 0, &b, &err), &err);
        CHECK_EQ_INT(b.n, 2);
        for (size_t i = 0; i < 2; i++) {
            size_t w = !strcmp(b.items[i].id, "plain");
            CHECK_EQ_STR(b.items[i].document, docs[w]);
            CHECK(json_equal(b.items[i].metadata, w ? m1 : m0));
            /* integers stay integers, floats stay floats */
            if (!w) {
                CHECK(json_is_integer(json_object_get(b.items[i].metadata, "big")));
                CHECK(json_is_real(json_object_get(b.items[i].metadata, "ratio")));
                CHECK(json_is_true(json_object_get(b.items[i].metadata, "yes")));
            }
        }
        rg_record_batch_free(&b);
        /* Values no backend can store are refused before anything is written. */
        static const char *const bad[] = {"{\"l\": [1, 2]}", "{\"o\": {\"a\": 1}}", "{\"n\": null}"};
        for (size_t i = 0; i < RG_ARRAY_LEN(bad); i++) {
            json_t *m = json_loads(bad[i], 0, NULL);
            rg_record r = {"bad-meta", "text", m, v, false};
            CHECK_EQ_INT(rg_collection_add(c, &r, 1, &err), RG_ERR_INVALID);
            json_decref(m);
        }
        rg_record noid = {"", "text", NULL, v, false};
        CHECK_EQ_INT(rg_collection_add(c, &noid, 1, &err), RG_ERR_INVALID);
        int64_t count;
        CHECK_OK(rg_collection_count(c, &count, &err), &err);
        CHECK_EQ_INT(count, 2);
        json_decref(m0);
        json_decref(m1);
        free(v);
        rg_buf_free(&big);
        rg_collection_close(c);
    }
}

TEST(contract_persistence_and_embedder_mismatch)
{
    FOR_EACH_BACKEND("persist")
    {
        rg_error err;
        rg_collection *c = open_new(&env, cname);
        CHECK(c);
        fixture f;
        fixture_make(&f, &env, 50, 0);
        CHECK_OK(rg_collection_add(c, f.recs, f.n, &err), &err);
        rg_collection_close(c);
        rg_store_close(env.store);
        env.store = NULL;
        /* A fresh store handle sees everything. */
        CHECK_OK(rg_store_open(env.cfg, env.backend, &env.store, &err), &err);
        CHECK_OK(rg_collection_open(env.store, cname, env.emb, false, &c, &err), &err);
        int64_t count;
        CHECK_OK(rg_collection_count(c, &count, &err), &err);
        CHECK_EQ_INT(count, 50);
        rg_hits h;
        rg_hits_init(&h);
        rg_query_opts qo = {.k = 3};
        CHECK_OK(rg_collection_query(c, f.vecs + 20 * DIM, &qo, &h, &err), &err);
        CHECK(h.n == 3 && !strcmp(h.items[0].id, "doc-00020"));
        rg_hits_free(&h);
        rg_collection_close(c);
        /* Another embedder (different dimension) is refused with a clear error. */
        rg_config *other = rg_config_clone(env.cfg);
        rg_config_set(other, "embedding.dimension", "32", RG_SRC_FLAG, &err);
        rg_embedder *e2 = NULL;
        CHECK_OK(rg_embedder_open(other, &e2, &err), &err);
        CHECK_EQ_INT(rg_collection_open(env.store, cname, e2, false, &c, &err), RG_ERR_MISMATCH);
        CHECK(strstr(err.msg, cname) && strstr(err.msg, "builtin"));
        rg_embedder_free(e2);
        rg_config_free(other);
        fixture_free(&f);
    }
}

TEST(contract_large_batch)
{
    FOR_EACH_BACKEND("large")
    {
        rg_error err;
        rg_collection *c = open_new(&env, cname);
        CHECK(c);
        fixture f;
        fixture_make(&f, &env, 5000, 0);
        CHECK_OK(rg_collection_add(c, f.recs, f.n, &err), &err);
        int64_t count;
        CHECK_OK(rg_collection_count(c, &count, &err), &err);
        CHECK_EQ_INT(count, 5000);
        rg_hits h;
        rg_hits_init(&h);
        rg_query_opts qo = {.k = 10};
        CHECK_OK(rg_collection_query(c, f.vecs + 4321 * DIM, &qo, &h, &err), &err);
        CHECK_EQ_INT(h.n, 10);
        CHECK(h.items[0].distance < 1e-3f);
        rg_hits_free(&h);
        fixture_free(&f);
        rg_collection_close(c);
    }
}

static char *first_id_of_page(rg_collection *c, size_t offset, size_t limit, unsigned include)
{
    rg_error err;
    rg_record_batch p;
    rg_record_batch_init(&p, DIM);
    char *id = NULL;
    if (rg_collection_get(c, NULL, 0, NULL, include, offset, limit, &p, &err) == RG_OK && p.n)
        id = rg_xstrdup(p.items[0].id);
    rg_record_batch_free(&p);
    return id;
}

/* Pages that follow each other are served from where the previous one ended
 * (the exact backend keeps a cursor so a full scan is not quadratic); a
 * write in between, by this handle or another one, must bring back plain
 * offset semantics over the records as they are now. */
TEST(contract_paging_after_writes)
{
    FOR_EACH_BACKEND("paging")
    {
        if (!strcmp(env.backend, "chromadb"))
            continue; /* the server's order of get() after a delete is its own */
        rg_error err;
        rg_collection *c = open_new(&env, cname), *other = NULL;
        CHECK(c);
        fixture f;
        fixture_make(&f, &env, 40, 0);
        CHECK_OK(rg_collection_add(c, f.recs, f.n, &err), &err);
        char *id = first_id_of_page(c, 0, 10, RG_INCLUDE_METADATAS);
        CHECK_EQ_STR(id, "doc-00000");
        free(id);
        id = first_id_of_page(c, 10, 10, RG_INCLUDE_METADATAS);
        CHECK_EQ_STR(id, "doc-00010");
        free(id);
        /* This handle deletes a record before the page boundary. */
        const char *gone[] = {"doc-00001"};
        size_t deleted = 0;
        CHECK_OK(rg_collection_delete(c, gone, 1, NULL, &deleted, &err), &err);
        CHECK_EQ_INT(deleted, 1);
        id = first_id_of_page(c, 20, 10, 0);
        CHECK_EQ_STR(id, "doc-00021");
        free(id);
        /* Another handle deletes one while this one pages. */
        CHECK_OK(rg_collection_open(env.store, cname, env.emb, false, &other, &err), &err);
        id = first_id_of_page(c, 30, 5, 0);
        CHECK_EQ_STR(id, "doc-00031");
        free(id);
        const char *gone2[] = {"doc-00002"};
        CHECK_OK(rg_collection_delete(other, gone2, 1, NULL, &deleted, &err), &err);
        id = first_id_of_page(c, 35, 5, 0);
        CHECK_EQ_STR(id, "doc-00037");
        free(id);
        /* Going back to an earlier offset is not a continuation. */
        id = first_id_of_page(c, 3, 1, RG_INCLUDE_DOCUMENTS);
        CHECK_EQ_STR(id, "doc-00005");
        free(id);
        rg_collection_close(other);
        fixture_free(&f);
        rg_collection_close(c);
    }
}
