/* chromadb backend against a real ChromaDB server: the cases that only make
 * sense for a server (test_contract.c runs the shared contract suite on it).
 *
 * tests/run.sh starts a server on a free loopback port and a temp dir with
 * scripts/chroma-server.sh and exports:
 *   RAGGED_TEST_CHROMADB_URL      http://127.0.0.1:PORT
 *   RAGGED_TEST_CHROMADB_PIDFILE  the script's PID file (restart test)
 *   RAGGED_TEST_CHROMADB_PATH     the server's --path
 * Without them these tests skip, saying why. */
#ifndef RG_WITHOUT_CHROMADB
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "embedder.h"
#include "filter.h"
#include "http.h"
#include "store.h"
#include "test_servers.h"
#include "util.h"

#define DIM 8

static const char *server_url(void)
{
    const char *u = getenv("RAGGED_TEST_CHROMADB_URL");
    if (!u || !*u) {
        rg_test_skip("no ChromaDB server (RAGGED_TEST_CHROMADB_URL unset; tests/run.sh starts one with "
                     "scripts/chroma-server.sh)");
        return NULL;
    }
    return u;
}

/* ---- a fake embedder with a chosen identity ----------------------------- */

static rg_status fake_embed(void *impl, const char *const *texts, size_t n, rg_embed_role role, float *out,
                            rg_error *err)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t h = rg_hash64(texts[i], strlen(texts[i]), 7);
        for (int d = 0; d < DIM; d++)
            out[i * DIM + d] = (float)((h >> (d * 8)) & 0xff) + 1.0f;
        rg_normalize(out + i * DIM, DIM);
    }
    return RG_OK;
}

static const rg_embedder_ops fake_ops = {
    .abi_version = RG_EMBEDDER_ABI,
    .name = "fake",
    .embed = fake_embed,
};

static rg_embedder *fake_embedder(const char *model)
{
    rg_embedder *e = rg_embedder_new(&fake_ops, NULL);
    snprintf(e->identity.kind, sizeof e->identity.kind, "test");
    snprintf(e->identity.model, sizeof e->identity.model, "%s", model);
    e->identity.dim = DIM;
    rg_sha256_hex(model, strlen(model), e->identity.fingerprint);
    return e;
}

/* Deterministic unit vector number i. */
static void vec_for(size_t i, float *v)
{
    uint64_t h = rg_hash64(&i, sizeof i, 11);
    for (int d = 0; d < DIM; d++) {
        v[d] = (float)((int)((h >> (d * 8)) & 0xff) - 128) + 0.5f;
        if (d == (int)(i % DIM))
            v[d] += 300.0f;
    }
    rg_normalize(v, DIM);
}

/* ---- fixture ------------------------------------------------------------ */

typedef struct {
    rg_config *cfg;
    rg_store *store;
    rg_embedder *emb;
    rg_collection *coll;
    char name[96];
} fixture;

static rg_config *config_for(const char *url)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_error err = {0};
    if (rg_config_set(cfg, "vectorstore.chromadb.url", url, RG_SRC_FLAG, &err) != RG_OK) {
        fprintf(stderr, "config: %s\n", err.msg);
        abort();
    }
    const char *path = getenv("RAGGED_TEST_CHROMADB_PATH");
    if (path && *path)
        rg_config_set(cfg, "vectorstore.chromadb.persist_directory", path, RG_SRC_FLAG, &err);
    return cfg;
}

static void unique_name(char *buf, size_t n, const char *tag)
{
    static unsigned counter;
    snprintf(buf, n, "t-%s-%ld-%u", tag, (long)getpid(), ++counter);
}

/* Opens the store and a fresh collection; false (test skipped or failed)
 * when that is not possible. */
static bool fixture_open(fixture *f, const char *tag)
{
    memset(f, 0, sizeof *f);
    const char *url = server_url();
    if (!url)
        return false;
    rg_error err = {0};
    f->cfg = config_for(url);
    if (rg_store_open(f->cfg, "chromadb", &f->store, &err) != RG_OK) {
        rg_test_fail(__FILE__, __LINE__, "open: %s", err.msg);
        return false;
    }
    f->emb = fake_embedder("model-a");
    unique_name(f->name, sizeof f->name, tag);
    if (rg_collection_open(f->store, f->name, f->emb, true, &f->coll, &err) != RG_OK) {
        rg_test_fail(__FILE__, __LINE__, "create %s: %s", f->name, err.msg);
        return false;
    }
    return true;
}

static void fixture_close(fixture *f)
{
    rg_collection_close(f->coll);
    if (f->store && f->name[0])
        rg_store_delete_collection(f->store, f->name, NULL);
    rg_store_close(f->store);
    rg_embedder_free(f->emb);
    rg_config_free(f->cfg);
}

/* n records id-0..id-(n-1), each with metadata {"i": i} and document "doc i". */
static rg_record *make_records(size_t first, size_t n, size_t doc_bytes)
{
    rg_record *r = rg_xcalloc(n, sizeof *r);
    for (size_t k = 0; k < n; k++) {
        size_t i = first + k;
        r[k].id = rg_xasprintf("id-%zu", i);
        if (doc_bytes) {
            r[k].document = rg_xmalloc(doc_bytes + 1);
            memset(r[k].document, 'a' + (int)(i % 26), doc_bytes);
            r[k].document[doc_bytes] = 0;
        } else {
            r[k].document = rg_xasprintf("doc %zu", i);
        }
        r[k].metadata = json_pack("{s:I}", "i", (json_int_t)i);
        r[k].embedding = rg_xmalloc(DIM * sizeof(float));
        vec_for(i, r[k].embedding);
    }
    return r;
}

static void free_records(rg_record *r, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        free(r[k].id);
        free(r[k].document);
        json_decref(r[k].metadata);
        free(r[k].embedding);
    }
    free(r);
}

static int64_t count_of(rg_collection *c)
{
    int64_t n = -1;
    rg_error err = {0};
    if (rg_collection_count(c, &n, &err) != RG_OK)
        fprintf(stderr, "    count: %s\n", err.msg);
    return n;
}

/* ---- tests -------------------------------------------------------------- */

TEST(chromadb_unreachable_says_how_to_start_it)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", rg_test_closed_port());
    rg_config *cfg = config_for(url);
    rg_store *s = NULL;
    rg_error err = {0};
    rg_status rc = rg_store_open(cfg, "chromadb", &s, &err);
    rg_store_close(s);
    rg_config_free(cfg);
    CHECK_EQ_INT(rc, RG_ERR_NETWORK);
    char want[128];
    snprintf(want, sizeof want, "cannot reach ChromaDB at %s: ", url);
    CHECK_MSG(strstr(err.msg, want) != NULL, "message: %s", err.msg);
    CHECK_MSG(strstr(err.msg, "— start it with scripts/chroma-server.sh start or set vectorstore.chromadb.url"),
              "message: %s", err.msg);
}

/* The version check, against the python test server posing as servers
 * ragged cannot use: no v2 API, a 0.x version, one that wants a token. */
TEST(chromadb_version_check_and_auth_errors)
{
    rg_test_server srv;
    if (!rg_test_server_start(&srv))
        return;
    static const struct {
        const char *path;
        rg_status code;
        const char *want;
    } cases[] = {
        {"", RG_ERR_UNAVAILABLE, "it is not ChromaDB 1.x"},
        {"/old", RG_ERR_UNAVAILABLE, "reports version 0.6.3; ragged supports ChromaDB 1.x"},
        {"/auth", RG_ERR_SERVER, "vectorstore.chromadb.auth_token_env"},
    };
    rg_status got[3];
    char msgs[3][RG_ERROR_MSG_MAX];
    for (size_t i = 0; i < RG_ARRAY_LEN(cases); i++) {
        char url[128];
        snprintf(url, sizeof url, "%s%s", srv.base, cases[i].path);
        rg_config *cfg = config_for(url);
        rg_store *s = NULL;
        rg_error err = {0};
        got[i] = rg_store_open(cfg, "chromadb", &s, &err);
        snprintf(msgs[i], sizeof msgs[i], "%s", err.msg);
        rg_store_close(s);
        rg_config_free(cfg);
    }
    rg_test_server_stop(&srv);
    for (size_t i = 0; i < RG_ARRAY_LEN(cases); i++) {
        CHECK_MSG(got[i] == cases[i].code, "%s: status %d, message: %s", cases[i].path, got[i], msgs[i]);
        CHECK_MSG(strstr(msgs[i], cases[i].want), "%s: message: %s", cases[i].path, msgs[i]);
    }
}

TEST(chromadb_missing_token_variable_is_named)
{
    rg_config *cfg = config_for("http://127.0.0.1:9");
    rg_error err = {0};
    rg_config_set(cfg, "vectorstore.chromadb.auth_token_env", "RAGGED_TEST_SURELY_UNSET_TOKEN", RG_SRC_FLAG, &err);
    rg_store *s = NULL;
    rg_status rc = rg_store_open(cfg, "chromadb", &s, &err);
    rg_store_close(s);
    rg_config_free(cfg);
    CHECK_EQ_INT(rc, RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "RAGGED_TEST_SURELY_UNSET_TOKEN"), "message: %s", err.msg);
}

TEST(chromadb_unknown_database_is_reported)
{
    const char *url = server_url();
    if (!url)
        return;
    rg_config *cfg = config_for(url);
    rg_error err = {0};
    rg_config_set(cfg, "vectorstore.chromadb.database", "no_such_db", RG_SRC_FLAG, &err);
    rg_store *s = NULL;
    rg_status rc = rg_store_open(cfg, "chromadb", &s, &err);
    rg_store_close(s);
    rg_config_free(cfg);
    CHECK_EQ_INT(rc, RG_ERR_NOTFOUND);
    CHECK_MSG(strstr(err.msg, "no_such_db") && strstr(err.msg, "not found"), "message: %s", err.msg);
}

TEST(chromadb_add_existing_id_fails_and_writes_nothing)
{
    fixture f;
    if (!fixture_open(&f, "dup"))
        goto out;
    rg_error err = {0};
    rg_record *a = make_records(0, 2, 0);   /* id-0, id-1 */
    rg_record *b = make_records(1, 2, 0);   /* id-1 (exists), id-2 */
    rg_status rc = rg_collection_add(f.coll, a, 2, &err);
    rg_status rc2 = rc == RG_OK ? rg_collection_add(f.coll, b, 2, &err) : rc;
    free_records(a, 2);
    free_records(b, 2);
    CHECK_MSG(rc == RG_OK, "first add: %s", err.msg);
    /* ChromaDB itself would skip id-1 silently and add id-2. */
    CHECK_EQ_INT(rc2, RG_ERR_EXISTS);
    CHECK_MSG(strstr(err.msg, "id-1"), "message: %s", err.msg);
    CHECK_EQ_INT(count_of(f.coll), 2);
    rg_record_batch got;
    rg_record_batch_init(&got, DIM);
    const char *ids[] = {"id-2"};
    CHECK_OK(rg_collection_get(f.coll, ids, 1, NULL, 0, 0, 0, &got, &err), &err);
    size_t n = got.n;
    rg_record_batch_free(&got);
    CHECK_EQ_INT(n, 0);
out:
    fixture_close(&f);
}

TEST(chromadb_upsert_replaces_whole_record)
{
    fixture f;
    if (!fixture_open(&f, "upsert"))
        goto out;
    rg_error err = {0};
    rg_record *r = make_records(0, 1, 0);
    json_object_set_new(r[0].metadata, "old_only", json_string("x"));
    CHECK_OK(rg_collection_add(f.coll, r, 1, &err), &err);
    /* Same id: new metadata without old_only, no document, new vector.
     * ChromaDB's own upsert would merge the metadata and keep the document. */
    json_decref(r[0].metadata);
    r[0].metadata = json_pack("{s:s}", "new_only", "y");
    free(r[0].document);
    r[0].document = NULL;
    vec_for(99, r[0].embedding);
    rg_status rc = rg_collection_upsert(f.coll, r, 1, &err);
    rg_record_batch got;
    rg_record_batch_init(&got, DIM);
    if (rc == RG_OK)
        rc = rg_collection_get(f.coll, NULL, 0, NULL, RG_INCLUDE_ALL, 0, 0, &got, &err);
    bool meta_ok = got.n == 1 && got.items[0].metadata && json_object_size(got.items[0].metadata) == 1 &&
                   json_object_get(got.items[0].metadata, "new_only");
    bool doc_ok = got.n == 1 && got.items[0].document == NULL;
    /* Cosine collections store re-normalised float32 vectors: equal up to
     * the last bits (see docs/chromadb.md). */
    bool emb_ok = got.n == 1 && got.items[0].embedding;
    for (int d = 0; emb_ok && d < DIM; d++)
        emb_ok = fabsf(got.items[0].embedding[d] - r[0].embedding[d]) <= 1e-6f;
    rg_record_batch_free(&got);
    free_records(r, 1);
    CHECK_MSG(rc == RG_OK, "%s", err.msg);
    CHECK(meta_ok);
    CHECK(doc_ok);
    CHECK(emb_ok);
    CHECK_EQ_INT(count_of(f.coll), 1);
out:
    fixture_close(&f);
}

TEST(chromadb_20000_record_batches_and_paging)
{
    fixture f;
    if (!fixture_open(&f, "big"))
        goto out;
    rg_error err = {0};
    const size_t n = 20000;
    rg_record *r = make_records(0, n, 0);
    rg_status rc = rg_collection_add(f.coll, r, n, &err);
    CHECK_MSG(rc == RG_OK, "add: %s", err.msg);
    CHECK_EQ_INT(count_of(f.coll), (int64_t)n);
    /* Upsert of all 20,000 (every one exists): still one logical call. */
    for (size_t i = 0; i < n; i++)
        json_object_set_new(r[i].metadata, "v", json_integer(2));
    rc = rg_collection_upsert(f.coll, r, n, &err);
    free_records(r, n);
    CHECK_MSG(rc == RG_OK, "upsert: %s", err.msg);
    CHECK_EQ_INT(count_of(f.coll), (int64_t)n);
    /* Page through: every id once, stable order. */
    char *seen = rg_xcalloc(n, 1);
    size_t total = 0, dups = 0, bad_meta = 0;
    for (size_t off = 0; off < n; off += 3000) {
        rg_record_batch page;
        rg_record_batch_init(&page, DIM);
        rc = rg_collection_get(f.coll, NULL, 0, NULL, RG_INCLUDE_METADATAS, off, 3000, &page, &err);
        for (size_t i = 0; rc == RG_OK && i < page.n; i++) {
            size_t id = strtoul(page.items[i].id + 3, NULL, 10);
            if (id < n && seen[id]++)
                dups++;
            if (json_integer_value(json_object_get(page.items[i].metadata, "v")) != 2)
                bad_meta++;
        }
        total += page.n;
        rg_record_batch_free(&page);
        if (rc != RG_OK)
            break;
    }
    free(seen);
    CHECK_MSG(rc == RG_OK, "get: %s", err.msg);
    CHECK_EQ_INT(total, n);
    CHECK_EQ_INT(dups, 0);
    CHECK_EQ_INT(bad_meta, 0);
out:
    fixture_close(&f);
}

TEST(chromadb_batches_split_by_request_bytes)
{
    fixture f;
    if (!fixture_open(&f, "bytes"))
        goto out;
    rg_error err = {0};
    /* 42 records of 1 MiB: one request would be 42 MiB, over the server's
     * 40 MiB limit (it answers 413), though far under max_batch_size. */
    const size_t n = 42;
    rg_record *r = make_records(0, n, 1u << 20);
    rg_status rc = rg_collection_add(f.coll, r, n, &err);
    CHECK_MSG(rc == RG_OK, "add: %s", err.msg);
    CHECK_EQ_INT(count_of(f.coll), (int64_t)n);
    rg_record_batch got;
    rg_record_batch_init(&got, DIM);
    const char *ids[] = {"id-41"};
    rc = rg_collection_get(f.coll, ids, 1, NULL, RG_INCLUDE_DOCUMENTS, 0, 0, &got, &err);
    bool same = rc == RG_OK && got.n == 1 && got.items[0].document && strcmp(got.items[0].document, r[41].document) == 0;
    rg_record_batch_free(&got);
    free_records(r, n);
    CHECK(same);
out:
    fixture_close(&f);
}

/* A later batch that the server refuses: the call's earlier batches are
 * undone.  The generic layer would refuse the empty id before sending, so the
 * test calls the backend directly to get a refusal from the server itself. */
TEST(chromadb_failed_multi_batch_write_is_undone)
{
    fixture f;
    if (!fixture_open(&f, "undo"))
        goto out;
    rg_error err = {0};
    const rg_store_ops *ops = rg_store_backend_find("chromadb");
    void *st = NULL, *coll = NULL;
    CHECK_OK(ops->open(f.cfg, &st, &err), &err);
    rg_status rc = ops->open_collection(st, f.name, f.emb, &coll, &err);
    if (rc != RG_OK) {
        ops->close(st);
        CHECK_OK(rc, &err);
    }
    /* 100 records exist with v=1. */
    rg_record *base = make_records(0, 100, 0);
    for (size_t i = 0; i < 100; i++)
        json_object_set_new(base[i].metadata, "v", json_integer(1));
    rc = ops->add(coll, base, 100, false, &err);
    /* 6,000 records (more than one batch of 5,461) whose last id is empty. */
    const size_t n = 6000;
    rg_record *r = make_records(0, n, 0);
    for (size_t i = 0; i < n; i++)
        json_object_set_new(r[i].metadata, "v", json_integer(2));
    r[n - 1].id[0] = 0;
    rg_error e1 = {0}, e2 = {0};
    rg_status add_rc = rc == RG_OK ? ops->add(coll, r + 100, n - 100, false, &e1) : rc;
    int64_t after_add = -1, after_upsert = -1;
    ops->count(coll, &after_add, &err);
    rg_status up_rc = rc == RG_OK ? ops->add(coll, r, n, true, &e2) : rc;
    ops->count(coll, &after_upsert, &err);
    rg_record_batch got;
    rg_record_batch_init(&got, DIM);
    size_t restored = 0;
    if (ops->get(coll, NULL, 0, NULL, RG_INCLUDE_METADATAS, 0, 0, &got, &err) == RG_OK)
        for (size_t i = 0; i < got.n; i++)
            restored += json_integer_value(json_object_get(got.items[i].metadata, "v")) == 1;
    rg_record_batch_free(&got);
    free_records(base, 100);
    free_records(r, n);
    ops->close_collection(coll);
    ops->close(st);
    CHECK_MSG(rc == RG_OK, "%s", err.msg);
    CHECK(add_rc != RG_OK);
    CHECK_MSG(strstr(e1.msg, "undone") && strstr(e1.msg, "Empty ID"), "add message: %s", e1.msg);
    CHECK_EQ_INT(after_add, 100);
    CHECK(up_rc != RG_OK);
    CHECK_MSG(strstr(e2.msg, "undone"), "upsert message: %s", e2.msg);
    CHECK_EQ_INT(after_upsert, 100);
    CHECK_EQ_INT(restored, 100);
out:
    fixture_close(&f);
}

TEST(chromadb_every_metadata_type_round_trips)
{
    fixture f;
    if (!fixture_open(&f, "meta"))
        goto out;
    rg_error err = {0};
    rg_record *r = make_records(0, 1, 0);
    json_decref(r[0].metadata);
    r[0].metadata = json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:b, s:b}", "str", "plain",
                              "unicode", "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 \xe4\xb8\xad", "int", (json_int_t)42,
                              "neg", (json_int_t)-7, "big", (json_int_t)9007199254740993LL, "real", 2.5, "whole_real",
                              1.0, "tiny", 1e-300, "huge", 1e300, "yes", 1, "no", 0);
    CHECK_OK(rg_collection_add(f.coll, r, 1, &err), &err);
    rg_record_batch got;
    rg_record_batch_init(&got, DIM);
    rg_status rc = rg_collection_get(f.coll, NULL, 0, NULL, RG_INCLUDE_METADATAS, 0, 0, &got, &err);
    bool same = rc == RG_OK && got.n == 1 && json_equal(got.items[0].metadata, r[0].metadata);
    /* json_equal compares types too: 1.0 must come back a real, 42 an integer. */
    bool types = same && json_is_real(json_object_get(got.items[0].metadata, "whole_real")) &&
                 json_is_integer(json_object_get(got.items[0].metadata, "big"));
    char *shown = got.n ? json_dumps(got.items[0].metadata, JSON_COMPACT) : NULL;
    rg_record_batch_free(&got);
    free_records(r, 1);
    CHECK_MSG(same, "got %s", shown ? shown : "(nothing)");
    free(shown);
    CHECK(types);
out:
    fixture_close(&f);
}

TEST(chromadb_reserved_metadata_keys_are_refused)
{
    fixture f;
    if (!fixture_open(&f, "reserved"))
        goto out;
    rg_error err = {0};
    rg_record *r = make_records(0, 1, 0);
    json_object_set_new(r[0].metadata, "chroma:document", json_integer(1));
    rg_status rc = rg_collection_add(f.coll, r, 1, &err);
    free_records(r, 1);
    CHECK_EQ_INT(rc, RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "chroma:document"), "message: %s", err.msg);
    /* The server is still healthy (such a key crashes its log writer). */
    r = make_records(5, 1, 0);
    rc = rg_collection_add(f.coll, r, 1, &err);
    free_records(r, 1);
    CHECK_MSG(rc == RG_OK, "%s", err.msg);
out:
    fixture_close(&f);
}

/* Every operator, nested $and/$or: the server's answer equals rg_filter_match
 * over the same records (the exact backend's semantics). */
TEST(chromadb_every_filter_operator_matches_the_reference)
{
    fixture f;
    if (!fixture_open(&f, "filter"))
        goto out;
    rg_error err = {0};
    const size_t n = 60;
    rg_record *r = make_records(0, n, 0);
    for (size_t i = 0; i < n; i++) {
        json_t *m = r[i].metadata;
        if (i % 7 != 0)   /* some records lack keys: $ne/$nin must include them */
            json_object_set_new(m, "lang", json_string(i % 3 == 0 ? "en" : i % 3 == 1 ? "de" : "fr"));
        json_object_set_new(m, "score", json_real((double)i / 4.0));
        if (i % 5 != 0)
            json_object_set_new(m, "ok", json_boolean(i % 2));
        json_object_set_new(m, "name", json_string(i % 2 ? "\xc3\xa9t\xc3\xa9" : "plain"));
        json_object_set_new(m, "neg", json_integer((json_int_t)i - 30));
    }
    rg_status rc = rg_collection_add(f.coll, r, n, &err);
    CHECK_MSG(rc == RG_OK, "add: %s", err.msg);
    static const char *const filters[] = {
        "{\"lang\": \"en\"}",
        "{\"lang\": {\"$eq\": \"de\"}}",
        "{\"lang\": {\"$ne\": \"de\"}}",
        "{\"i\": {\"$gt\": 40}}",
        "{\"i\": {\"$gte\": 40}}",
        "{\"score\": {\"$lt\": 3.5}}",
        "{\"score\": {\"$lte\": 3.5}}",
        "{\"i\": {\"$lt\": 10.5}}",
        /* Non-integral reals against integers: ChromaDB truncates the value
         * (see docs/chromadb.md); the backend rewrites these. */
        "{\"i\": {\"$lte\": 10.5}}",
        "{\"i\": {\"$gt\": 10.5}}",
        "{\"i\": {\"$gte\": 10.5}}",
        "{\"i\": {\"$eq\": 10.5}}",
        "{\"i\": {\"$ne\": 10.5}}",
        "{\"neg\": {\"$lt\": -2.5}}",
        "{\"neg\": {\"$lte\": -2.5}}",
        "{\"neg\": {\"$gt\": -2.5}}",
        "{\"neg\": {\"$gte\": -2.5}}",
        "{\"neg\": {\"$eq\": -2.5}}",
        "{\"neg\": {\"$ne\": -2.5}}",
        "{\"neg\": {\"$gte\": -3.0}}",
        "{\"score\": {\"$eq\": 2.5}}",
        "{\"score\": {\"$eq\": 3}}",
        "{\"score\": {\"$ne\": 2.5}}",
        "{\"i\": {\"$in\": [2.5, 3, 4.0]}}",
        "{\"i\": {\"$nin\": [2.5, 3, 4.0]}}",
        "{\"score\": {\"$in\": [2.5, 3.25]}}",
        "{\"lang\": {\"$in\": [\"en\", 3, true]}}",
        "{\"ok\": {\"$nin\": [\"en\", 3, true]}}",
        "{\"score\": {\"$nin\": [2.5, 3.25]}}",
        "{\"score\": {\"$gte\": 2}}",
        "{\"lang\": {\"$in\": [\"en\", \"fr\"]}}",
        "{\"lang\": {\"$nin\": [\"en\", \"fr\"]}}",
        "{\"i\": {\"$in\": [1, 2, 3, 59, 100]}}",
        "{\"i\": {\"$nin\": [1, 2, 3]}}",
        "{\"ok\": true}",
        "{\"ok\": {\"$ne\": true}}",
        "{\"ok\": {\"$eq\": false}}",
        "{\"name\": \"\xc3\xa9t\xc3\xa9\"}",
        "{\"missing\": {\"$ne\": 1}}",
        "{\"missing\": 1}",
        "{\"lang\": \"en\", \"i\": {\"$gt\": 20}}",
        "{\"$and\": [{\"lang\": \"en\"}, {\"i\": {\"$gt\": 20}}]}",
        "{\"$or\": [{\"lang\": \"de\"}, {\"i\": {\"$lt\": 5}}]}",
        "{\"$or\": [{\"$and\": [{\"lang\": \"en\"}, {\"ok\": true}]}, {\"$and\": [{\"score\": {\"$gt\": 10}}, "
        "{\"lang\": {\"$nin\": [\"de\"]}}]}]}",
        "{\"$and\": [{\"$or\": [{\"i\": {\"$lt\": 10}}, {\"i\": {\"$gt\": 50}}]}, {\"$or\": [{\"lang\": \"fr\"}, "
        "{\"ok\": false}]}]}",
    };
    for (size_t fi = 0; fi < RG_ARRAY_LEN(filters) && rc == RG_OK; fi++) {
        rg_filter *flt = NULL;
        rc = rg_filter_parse(filters[fi], &flt, &err);
        if (rc != RG_OK) {
            rg_test_fail(__FILE__, __LINE__, "parse %s: %s", filters[fi], err.msg);
            break;
        }
        char *want = rg_xcalloc(n, 1);
        size_t nwant = 0;
        for (size_t i = 0; i < n; i++)
            if (rg_filter_match(flt, r[i].metadata))
                want[i] = 1, nwant++;
        rg_record_batch got;
        rg_record_batch_init(&got, DIM);
        rc = rg_collection_get(f.coll, NULL, 0, flt, 0, 0, 0, &got, &err);
        size_t agree = 0;
        for (size_t i = 0; rc == RG_OK && i < got.n; i++) {
            size_t id = strtoul(got.items[i].id + 3, NULL, 10);
            agree += id < n && want[id];
        }
        /* The same filter in a query: min(k, matches) hits, all matching. */
        rg_hits hits;
        rg_hits_init(&hits);
        rg_query_opts qo = {.k = 10, .where = flt};
        size_t qagree = 0;
        if (rc == RG_OK)
            rc = rg_collection_query(f.coll, r[0].embedding, &qo, &hits, &err);
        for (size_t i = 0; rc == RG_OK && i < hits.n; i++) {
            size_t id = strtoul(hits.items[i].id + 3, NULL, 10);
            qagree += id < n && want[id];
        }
        if (rc != RG_OK)
            rg_test_fail(__FILE__, __LINE__, "filter %s: %s", filters[fi], err.msg);
        else if (got.n != nwant || agree != nwant)
            rg_test_fail(__FILE__, __LINE__, "filter %s: server %zu records, reference %zu (%zu agree)", filters[fi],
                         got.n, nwant, agree);
        else if (hits.n != RG_MIN(nwant, (size_t)10) || qagree != hits.n)
            rg_test_fail(__FILE__, __LINE__, "filter %s in query: %zu hits (want %zu), %zu matching", filters[fi],
                         hits.n, RG_MIN(nwant, (size_t)10), qagree);
        rg_hits_free(&hits);
        rg_record_batch_free(&got);
        free(want);
        rg_filter_free(flt);
    }
    free_records(r, n);
out:
    fixture_close(&f);
}

TEST(chromadb_embedder_mismatch_and_foreign_collections)
{
    fixture f;
    if (!fixture_open(&f, "mismatch"))
        goto out;
    rg_error err = {0};
    /* The identity is stored in the collection's metadata and listed. */
    rg_collection_info *infos = NULL;
    size_t ninfos = 0;
    CHECK_OK(rg_store_list(f.store, &infos, &ninfos, &err), &err);
    bool listed = false;
    for (size_t i = 0; i < ninfos; i++)
        if (!strcmp(infos[i].name, f.name))
            listed = !strcmp(infos[i].identity.model, "model-a") && infos[i].identity.dim == DIM &&
                     !strcmp(infos[i].identity.fingerprint, f.emb->identity.fingerprint) && infos[i].count == 0;
    bool sorted = true;
    for (size_t i = 1; i < ninfos; i++)
        sorted = sorted && strcmp(infos[i - 1].name, infos[i].name) < 0;
    free(infos);
    CHECK(listed);
    CHECK(sorted);
    rg_embedder *other = fake_embedder("model-b");
    rg_collection *c2 = NULL;
    rg_status rc = rg_collection_open(f.store, f.name, other, false, &c2, &err);
    rg_collection_close(c2);
    rg_embedder_free(other);
    CHECK_EQ_INT(rc, RG_ERR_MISMATCH);

    /* A collection made by another Chroma tool (no ragged identity, l2 space). */
    rg_http *h = NULL;
    CHECK_OK(rg_http_new(NULL, &h, &err), &err);
    char foreign[96], url[512], body[256];
    unique_name(foreign, sizeof foreign, "foreign");
    snprintf(url, sizeof url, "%s/api/v2/tenants/default_tenant/databases/default_database/collections",
             server_url());
    snprintf(body, sizeof body, "{\"name\": \"%s\"}", foreign);
    long status = 0;
    rg_buf resp;
    rg_buf_init(&resp);
    rc = rg_http_request(h, "POST", url, body, strlen(body), &status, &resp, &err);
    rg_buf_free(&resp);
    rg_http_free(h);
    CHECK_MSG(rc == RG_OK && status == 200, "creating a foreign collection: %ld %s", status, err.msg);
    rc = rg_collection_open(f.store, foreign, f.emb, false, &c2, &err);
    rg_collection_close(c2);
    rg_store_delete_collection(f.store, foreign, NULL);
    CHECK_EQ_INT(rc, RG_ERR_MISMATCH);
    CHECK_MSG(strstr(err.msg, "'l2'"), "message: %s", err.msg);
out:
    fixture_close(&f);
}

/* ragged's name rule (rg_collection_name_check) equals the server's: every
 * name is accepted by both or refused by both, except that ragged stops at
 * RG_COLLECTION_NAME_MAX characters (names are file names too) where the
 * server takes 512. */
TEST(chromadb_name_rules_agree_with_the_server)
{
    const char *url = server_url();
    if (!url)
        return;
    char long_ok[RG_COLLECTION_NAME_MAX + 1], long_server[513], long_bad[514];
    memset(long_ok, 'a', RG_COLLECTION_NAME_MAX);
    long_ok[RG_COLLECTION_NAME_MAX] = 0;
    memset(long_server, 'c', 512);
    long_server[512] = 0;
    memset(long_bad, 'b', 513);
    long_bad[513] = 0;
    const char *names[] = {"abc", "ab", "a", "a-b_c.d", "A1.z", "-abc", "abc-", ".abc", "abc.", "a..b", "a.b.c",
                           "a b", "a/b", "caf\xc3\xa9", "123", "a_", "_a", long_ok, long_server, long_bad, "x:y",
                           "a%2Fb"};
    rg_error err = {0};
    rg_http *h = NULL;
    CHECK_OK(rg_http_new(NULL, &h, &err), &err);
    char curl[512];
    snprintf(curl, sizeof curl, "%s/api/v2/tenants/default_tenant/databases/default_database/collections", url);
    rg_buf resp;
    rg_buf_init(&resp);
    for (size_t i = 0; i < RG_ARRAY_LEN(names); i++) {
        bool ours = rg_collection_name_check(names[i], NULL) == RG_OK;
        json_t *b = json_pack("{s:s}", "name", names[i]);
        char *text = json_dumps(b, JSON_COMPACT);
        json_decref(b);
        long status = 0;
        rg_status rc = rg_http_request(h, "POST", curl, text, strlen(text), &status, &resp, &err);
        free(text);
        if (rc != RG_OK) {
            rg_test_fail(__FILE__, __LINE__, "%s", err.msg);
            break;
        }
        bool theirs = status == 200;
        if (theirs) {   /* clean up */
            char *d = rg_xasprintf("%s/%s", curl, names[i]);
            rg_http_request(h, "DELETE", d, NULL, 0, &status, &resp, &err);
            free(d);
        }
        if (ours != theirs && !(theirs && strlen(names[i]) > RG_COLLECTION_NAME_MAX))
            rg_test_fail(__FILE__, __LINE__, "name '%.20s%s' (%zu bytes): ragged %s, server %s", names[i],
                         strlen(names[i]) > 20 ? "..." : "", strlen(names[i]), ours ? "accepts" : "refuses",
                         theirs ? "accepts" : "refuses");
    }
    rg_buf_free(&resp);
    rg_http_free(h);
}

TEST(chromadb_collection_lifecycle)
{
    fixture f;
    if (!fixture_open(&f, "life"))
        goto out;
    rg_error err = {0};
    rg_status rc = rg_store_create_collection(f.store, f.name, &f.emb->identity, &err);
    CHECK_EQ_INT(rc, RG_ERR_EXISTS);
    char to[96];
    unique_name(to, sizeof to, "renamed");
    rg_collection_close(f.coll);
    f.coll = NULL;
    CHECK_OK(rg_store_rename_collection(f.store, f.name, to, &err), &err);
    rc = rg_store_rename_collection(f.store, to, to, &err);
    CHECK_EQ_INT(rc, RG_ERR_EXISTS);
    rc = rg_store_delete_collection(f.store, f.name, &err);
    CHECK_EQ_INT(rc, RG_ERR_NOTFOUND);
    CHECK_OK(rg_store_delete_collection(f.store, to, &err), &err);
    rc = rg_collection_open(f.store, to, f.emb, false, &f.coll, &err);
    CHECK_EQ_INT(rc, RG_ERR_NOTFOUND);
out:
    fixture_close(&f);
}

/* Stops the server with scripts/chroma-server.sh, starts it again on the same
 * port and data directory, and reads the collection back. */
static bool restart_server(void)
{
    const char *pidfile = getenv("RAGGED_TEST_CHROMADB_PIDFILE");
    const char *path = getenv("RAGGED_TEST_CHROMADB_PATH");
    const char *url = getenv("RAGGED_TEST_CHROMADB_URL");
    const char *port = url ? strrchr(url, ':') : NULL;
    if (!pidfile || !path || !port)
        return false;
    char *cmd = rg_xasprintf("scripts/chroma-server.sh stop --pid-file '%s' >/dev/null 2>&1 && "
                             "scripts/chroma-server.sh start --port %s --path '%s' --pid-file '%s' --timeout 60 "
                             ">/dev/null",
                             pidfile, port + 1, path, pidfile);
    int st = system(cmd);
    free(cmd);
    return st == 0;
}

TEST(chromadb_persists_across_server_restart)
{
    if (!getenv("RAGGED_TEST_CHROMADB_PIDFILE")) {
        rg_test_skip("RAGGED_TEST_CHROMADB_PIDFILE unset: the server was not started by tests/run.sh");
        return;
    }
    fixture f;
    if (!fixture_open(&f, "restart"))
        goto out;
    rg_error err = {0};
    const size_t n = 1500;   /* more than the 1,000 records after which HNSW files are written */
    rg_record *r = make_records(0, n, 0);
    rg_status rc = rg_collection_add(f.coll, r, n, &err);
    if (rc != RG_OK) {
        free_records(r, n);
        CHECK_OK(rc, &err);
    }
    rg_collection_close(f.coll);
    f.coll = NULL;
    bool restarted = restart_server();
    if (restarted)
        rc = rg_collection_open(f.store, f.name, f.emb, false, &f.coll, &err);
    rg_hits hits;
    rg_hits_init(&hits);
    rg_query_opts qo = {.k = 3, .include = RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS};
    if (restarted && rc == RG_OK)
        rc = rg_collection_query(f.coll, r[777].embedding, &qo, &hits, &err);
    bool top_ok = hits.n == 3 && !strcmp(hits.items[0].id, "id-777") && hits.items[0].distance < 1e-4f &&
                  hits.items[0].document && !strcmp(hits.items[0].document, "doc 777") &&
                  json_integer_value(json_object_get(hits.items[0].metadata, "i")) == 777;
    rg_hits_free(&hits);
    free_records(r, n);
    CHECK_MSG(restarted, "scripts/chroma-server.sh could not restart the server");
    CHECK_MSG(rc == RG_OK, "%s", err.msg);
    CHECK_EQ_INT(count_of(f.coll), (int64_t)n);
    CHECK(top_ok);
out:
    fixture_close(&f);
}

/* Interop: the official chromadb JavaScript client (the pinned version the
 * server script installs) reads what ragged wrote. */
TEST(chromadb_official_js_client_reads_ragged_collections)
{
    const char *url = server_url();
    if (!url)
        return;
    if (!rg_path_exists("tests/interop/chroma_read.cjs") || system("command -v node >/dev/null 2>&1") != 0) {
        rg_test_skip("node or tests/interop/chroma_read.cjs not found");
        return;
    }
    fixture f;
    if (!fixture_open(&f, "interop"))
        goto out;
    rg_error err = {0};
    const size_t n = 25;
    rg_record *r = make_records(0, n, 0);
    for (size_t i = 0; i < n; i++) {
        json_object_set_new(r[i].metadata, "s", json_string("\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80"));
        json_object_set_new(r[i].metadata, "x", json_real(0.25 * (double)i));
        json_object_set_new(r[i].metadata, "b", json_boolean(i & 1));
    }
    free(r[3].document);
    r[3].document = NULL;   /* no document */
    json_decref(r[4].metadata);
    r[4].metadata = NULL;   /* no metadata */
    rg_status rc = rg_collection_add(f.coll, r, n, &err);
    if (rc != RG_OK) {
        free_records(r, n);
        CHECK_OK(rc, &err);
    }
    char *out_path = rg_path_join(rg_test_tmpdir(), "js.json");
    char *cmd = rg_xasprintf("node tests/interop/chroma_read.cjs '%s' '%s' > '%s'", url, f.name, out_path);
    int st = system(cmd);
    free(cmd);
    char *text = NULL;
    size_t len = 0;
    json_t *js = NULL;
    if (st == 0 && rg_read_file(out_path, 1u << 26, &text, &len, &err) == RG_OK)
        js = json_loadb(text, len, 0, NULL);
    free(text);
    free(out_path);
    size_t mismatches = 0;
    json_t *recs = json_object_get(js, "records");
    /* make_records ids sort as strings: id-0, id-1, id-10, ... so look each up. */
    for (size_t k = 0; js && k < json_array_size(recs); k++) {
        json_t *jr = json_array_get(recs, k);
        const char *id = json_string_value(json_object_get(jr, "id"));
        size_t i = id ? strtoul(id + 3, NULL, 10) : n;
        if (i >= n) {
            mismatches++;
            continue;
        }
        const char *doc = json_string_value(json_object_get(jr, "document"));
        if ((doc == NULL) != (r[i].document == NULL) || (doc && strcmp(doc, r[i].document)))
            mismatches++;
        json_t *m = json_object_get(jr, "metadata");
        /* JavaScript has one number type: 0.0 and 0 are the same there, so
         * numbers compare by value, not by JSON type. */
        if (!r[i].metadata) {
            mismatches += !json_is_null(m);
        } else {
            const char *key;
            json_t *v;
            mismatches += json_object_size(m) != json_object_size(r[i].metadata);
            json_object_foreach(r[i].metadata, key, v)
            {
                json_t *w = json_object_get(m, key);
                if (json_is_number(v))
                    mismatches += !json_is_number(w) || json_number_value(w) != json_number_value(v);
                else
                    mismatches += !json_equal(v, w);
            }
        }
        json_t *e = json_object_get(jr, "embedding");
        if (json_array_size(e) != DIM)
            mismatches++;
        /* The server re-normalises vectors of cosine collections in float32:
         * what comes back may differ from what was sent in the last bits. */
        for (int d = 0; d < DIM && json_array_size(e) == DIM; d++)
            mismatches += fabs(json_number_value(json_array_get(e, (size_t)d)) - r[i].embedding[d]) > 1e-6;
    }
    json_t *cm = json_object_get(js, "metadata");
    const char *model = json_string_value(json_object_get(cm, "ragged:embedder_model"));
    bool identity_visible = model && !strcmp(model, "model-a");
    size_t nrecs = json_array_size(recs);
    json_int_t jcount = json_integer_value(json_object_get(js, "count"));
    const char *ver = json_string_value(json_object_get(js, "client_version"));
    bool ver_ok = ver && !strcmp(ver, "3.0.12");
    json_decref(js);
    free_records(r, n);
    CHECK_MSG(st == 0, "node tests/interop/chroma_read.cjs failed (exit %d)", st);
    CHECK_EQ_INT(nrecs, n);
    CHECK_EQ_INT(jcount, n);
    CHECK_EQ_INT(mismatches, 0);
    CHECK(identity_visible);
    CHECK(ver_ok);
out:
    fixture_close(&f);
}

TEST(chromadb_stats_reports_server_bytes)
{
    fixture f;
    if (!fixture_open(&f, "stats"))
        goto out;
    rg_error err = {0};
    rg_record *r = make_records(0, 10, 0);
    rg_status rc = rg_collection_add(f.coll, r, 10, &err);
    free_records(r, 10);
    CHECK_OK(rc, &err);
    rg_store_stats s;
    rg_store_stats_init(&s);
    rc = rg_collection_stats(f.coll, &s, &err);
    int64_t records = s.records, bytes = s.bytes_total;
    bool has_version = json_string_value(json_object_get(s.details, "server_version")) != NULL;
    rg_store_stats_free(&s);
    CHECK_OK(rc, &err);
    CHECK_EQ_INT(records, 10);
    CHECK(has_version);
    if (getenv("RAGGED_TEST_CHROMADB_PATH"))
        CHECK(bytes > 0);
    else
        CHECK_EQ_INT(bytes, -1);
out:
    fixture_close(&f);
}
#endif
