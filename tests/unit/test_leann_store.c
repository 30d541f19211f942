/* The leann backend end to end through the storage interface, against the
 * exact backend as the oracle: recall, exact distances, filters with few
 * matches, deletes/upserts then queries, compaction, persistence, damaged
 * files, records whose vectors are not the embedder's, and the writer lock. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "contract.h"
#include "leann.h"
#include "sqlite_util.h"
#include "filter.h"
#include "test.h"
#include "util.h"

#define LDIM 96

/* Pseudo-text over a fixed vocabulary: varied enough that the builtin
 * embedder spreads the documents out. */
static char *make_doc(unsigned seed)
{
    static const char *const syl[] = {"ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "za", "qu", "do",
                                      "fe", "gi", "ho", "ju", "be", "ci", "xo", "wy"};
    rg_buf b;
    rg_buf_init(&b);
    unsigned s = seed * 2654435761u + 12345u;
    int words = 6 + (int)(s % 9);
    for (int w = 0; w < words; w++) {
        s = s * 1103515245u + 12345u;
        /* a topic per record (seed / 10) plus noise words */
        unsigned pick = (w < 3) ? (seed / 10) * 7 + (unsigned)w : (s >> 8);
        for (int k = 0; k < 3; k++)
            rg_buf_puts(&b, syl[(pick >> (k * 5)) % 20]);
        rg_buf_putc(&b, ' ');
    }
    return rg_buf_steal(&b);
}

typedef struct corpus {
    size_t n;
    char **ids, **docs;
    json_t **meta;
    float *vecs;
    rg_record *recs;
} corpus;

static void corpus_make(corpus *c, contract_env *env, size_t n, unsigned salt)
{
    c->n = n;
    c->ids = rg_xcalloc(n, sizeof *c->ids);
    c->docs = rg_xcalloc(n, sizeof *c->docs);
    c->meta = rg_xcalloc(n, sizeof *c->meta);
    c->recs = rg_xcalloc(n, sizeof *c->recs);
    for (size_t i = 0; i < n; i++) {
        c->ids[i] = rg_xasprintf("r%u-%05zu", salt, i);
        c->docs[i] = make_doc((unsigned)i + salt * 100000u);
        c->meta[i] = json_pack("{s:I, s:I, s:b}", "group", (json_int_t)(i % 100), "num", (json_int_t)i, "even",
                               (int)(i % 2 == 0));
    }
    c->vecs = contract_embed(env, (const char *const *)c->docs, n);
    for (size_t i = 0; i < n; i++)
        c->recs[i] = (rg_record){c->ids[i], c->docs[i], c->meta[i], c->vecs + i * LDIM, false};
}

static void corpus_free(corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->ids[i]);
        free(c->docs[i]);
        json_decref(c->meta[i]);
    }
    free(c->ids);
    free(c->docs);
    free(c->meta);
    free(c->recs);
    free(c->vecs);
}

static ssize_t index_of(const corpus *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->ids[i], id))
            return (ssize_t)i;
    return -1;
}

/* Recall@k of leann vs exact over nq queries (perturbed record vectors);
 * also checks every leann distance is the exact one. */
static float recall_vs_exact(rg_collection *lc, rg_collection *ec, const corpus *co, int k, int nq, const rg_filter *where,
                             bool *distances_exact)
{
    int hit = 0, total = 0;
    *distances_exact = true;
    float q[LDIM];
    rg_error err;
    for (int t = 0; t < nq; t++) {
        memcpy(q, co->vecs + (size_t)((t * 37) % co->n) * LDIM, sizeof q);
        for (int d = 0; d < LDIM; d++)
            q[d] += 0.05f * (float)((t * 31 + d * 17) % 11 - 5) / 5.0f;
        rg_normalize(q, LDIM);
        rg_hits a, b;
        rg_hits_init(&a);
        rg_hits_init(&b);
        rg_query_opts qo = {.k = k, .where = where};
        if (rg_collection_query(lc, q, &qo, &a, &err) != RG_OK || rg_collection_query(ec, q, &qo, &b, &err) != RG_OK) {
            fprintf(stderr, "    query: %s\n", err.msg);
            *distances_exact = false;
            return 0;
        }
        if (a.n != b.n)
            *distances_exact = false;
        for (size_t i = 0; i < a.n; i++) {
            ssize_t ix = index_of(co, a.items[i].id);
            float want = ix >= 0 ? 1.0f - rg_dot(q, co->vecs + (size_t)ix * LDIM, LDIM) : 99;
            if (fabsf(want - a.items[i].distance) > 1e-4f)
                *distances_exact = false;
        }
        for (size_t i = 0; i < b.n; i++)
            for (size_t j = 0; j < a.n; j++)
                if (!strcmp(b.items[i].id, a.items[j].id))
                    hit++;
        total += (int)b.n;
        rg_hits_free(&a);
        rg_hits_free(&b);
    }
    return total ? (float)hit / (float)total : 1.0f;
}

typedef struct pair_env {
    contract_env le, ee;
    rg_collection *lc, *ec;
} pair_env;

/* graph: walk the graph even for these small collections (the default
 * scans every code below vectorstore.leann.scan_threshold records). */
static bool pair_open_mode(pair_env *p, const char *name, bool graph)
{
    rg_error err;
    if (!contract_env_open(&p->le, "leann", LDIM) || !contract_env_open(&p->ee, "exact", LDIM))
        return false;
    if (graph) {
        rg_store_close(p->le.store);
        p->le.store = NULL;
        if (rg_config_set(p->le.cfg, "vectorstore.leann.scan_threshold", "0", RG_SRC_FLAG, &err) != RG_OK ||
            rg_store_open(p->le.cfg, "leann", &p->le.store, &err) != RG_OK) {
            fprintf(stderr, "    reopen: %s\n", err.msg);
            return false;
        }
    }
    if (rg_collection_open(p->le.store, name, p->le.emb, true, &p->lc, &err) != RG_OK ||
        rg_collection_open(p->ee.store, name, p->ee.emb, true, &p->ec, &err) != RG_OK) {
        fprintf(stderr, "    open: %s\n", err.msg);
        return false;
    }
    return true;
}

/* As pair_open, with vectorstore.leann.* settings (NULL-terminated key,
 * value pairs) set first. */
static bool pair_open_with(pair_env *p, const char *name, const char *const *kv)
{
    rg_error err;
    if (!contract_env_open(&p->le, "leann", LDIM) || !contract_env_open(&p->ee, "exact", LDIM))
        return false;
    rg_store_close(p->le.store);
    p->le.store = NULL;
    for (size_t i = 0; kv[i]; i += 2)
        if (rg_config_set(p->le.cfg, kv[i], kv[i + 1], RG_SRC_FLAG, &err) != RG_OK) {
            fprintf(stderr, "    %s: %s\n", kv[i], err.msg);
            return false;
        }
    if (rg_store_open(p->le.cfg, "leann", &p->le.store, &err) != RG_OK ||
        rg_collection_open(p->le.store, name, p->le.emb, true, &p->lc, &err) != RG_OK ||
        rg_collection_open(p->ee.store, name, p->ee.emb, true, &p->ec, &err) != RG_OK) {
        fprintf(stderr, "    open: %s\n", err.msg);
        return false;
    }
    return true;
}

static bool pair_open(pair_env *p, const char *name)
{
    return pair_open_mode(p, name, true);
}

static void pair_close(pair_env *p)
{
    rg_collection_close(p->lc);
    rg_collection_close(p->ec);
    contract_env_close(&p->le);
    contract_env_close(&p->ee);
}

static rg_status add_both(pair_env *p, const rg_record *r, size_t n, bool upsert, rg_error *err)
{
    rg_status rc = upsert ? rg_collection_upsert(p->lc, r, n, err) : rg_collection_add(p->lc, r, n, err);
    if (rc == RG_OK)
        rc = upsert ? rg_collection_upsert(p->ec, r, n, err) : rg_collection_add(p->ec, r, n, err);
    return rc;
}

/* Live nodes no walk from the entry reaches (backend stats' "unreachable",
 * leann_graph_unreachable), and tombstones; -1 if stats fail. */
static int64_t unreachable_of(rg_collection *lc)
{
    rg_store_stats st;
    rg_error err;
    if (rg_collection_stats(lc, &st, &err) != RG_OK) {
        fprintf(stderr, "    stats: %s\n", err.msg);
        return -1;
    }
    json_t *u = json_object_get(st.details, "unreachable");
    int64_t n = json_is_integer(u) ? (int64_t)json_integer_value(u) : -1;
    rg_store_stats_free(&st);
    return n;
}

static int64_t tombstones_of(rg_collection *lc)
{
    rg_store_stats st;
    rg_error err;
    if (rg_collection_stats(lc, &st, &err) != RG_OK)
        return -1;
    int64_t n = st.tombstones;
    rg_store_stats_free(&st);
    return n;
}

/* A detail of backend stats (-1 when absent), and a component's bytes. */
static int64_t detail_of(rg_collection *lc, const char *key, const char *component, int64_t *bytes)
{
    rg_store_stats st;
    rg_error err;
    if (rg_collection_stats(lc, &st, &err) != RG_OK)
        return -1;
    json_t *u = json_object_get(st.details, key);
    int64_t n = json_is_integer(u) ? (int64_t)json_integer_value(u) : -1;
    for (size_t i = 0; bytes && i < st.ncomponents; i++)
        if (strcmp(st.components[i].name, component) == 0)
            *bytes = st.components[i].bytes;
    rg_store_stats_free(&st);
    return n;
}

TEST(leann_recall_and_exact_distances_incremental)
{
    pair_env p;
    CHECK(pair_open(&p, "recall"));
    corpus co;
    corpus_make(&co, &p.le, 1540, 1);
    rg_error err;
    /* Batches of 100: rebuilds at doublings, incremental inserts between. */
    for (size_t i = 0; i < 1500; i += 100)
        CHECK_OK(add_both(&p, co.recs + i, 100, false, &err), &err);
    /* and some single-record adds (pure incremental path) */
    for (size_t i = 1500; i < co.n; i++)
        CHECK_OK(add_both(&p, co.recs + i, 1, false, &err), &err);
    bool exact;
    float r10 = recall_vs_exact(p.lc, p.ec, &co, 10, 60, NULL, &exact);
    CHECK_MSG(exact, "leann distances differ from the exact ones");
    CHECK_MSG(r10 >= 0.9f, "recall@10 %.3f", r10);
    /* the single-added records are findable by their own vector */
    for (size_t i = 1500; i < co.n; i += 7) {
        rg_hits h;
        rg_hits_init(&h);
        rg_query_opts qo = {.k = 1};
        CHECK_OK(rg_collection_query(p.lc, co.vecs + i * LDIM, &qo, &h, &err), &err);
        CHECK(h.n == 1 && h.items[0].distance < 1e-4f);
        rg_hits_free(&h);
    }
    rg_store_stats st;
    CHECK_OK(rg_collection_stats(p.lc, &st, &err), &err);
    CHECK_EQ_INT(st.records, 1540);
    int have = 0;
    for (size_t i = 0; i < st.ncomponents; i++) {
        const char *n = st.components[i].name;
        if (!strcmp(n, "graph") || !strcmp(n, "codes") || !strcmp(n, "passages") || !strcmp(n, "metadata") ||
            !strcmp(n, "sqlite"))
            have += st.components[i].bytes > 0;
        CHECK_MSG(strcmp(n, "vectors(no text)") != 0, "vectors were stored for records with text");
    }
    CHECK_EQ_INT(have, 5);
    json_t *avg = json_object_get(st.details, "avg_degree");
    CHECK(avg && json_real_value(avg) > 2 && json_real_value(avg) <= 32);
    /* scan_threshold 0: stats say the walk, as the last query did */
    const char *how = json_string_value(json_object_get(st.details, "search"));
    CHECK_MSG(how && !strncmp(how, "graph walk", 10), "%s", how ? how : "(none)");
    /* the builtin embedder recomputes cheaply: the walk is refined */
    CHECK_EQ_STR(json_string_value(json_object_get(st.details, "last_query")), "walk, exact refinement");
    rg_store_stats_free(&st);
    corpus_free(&co);
    pair_close(&p);
}

TEST(leann_scan_mode_recall)
{
    pair_env p;
    CHECK(pair_open_mode(&p, "scan", false));
    corpus co;
    corpus_make(&co, &p.le, 1000, 9);
    rg_error err;
    CHECK_OK(add_both(&p, co.recs, co.n, false, &err), &err);
    bool exact;
    float r = recall_vs_exact(p.lc, p.ec, &co, 10, 40, NULL, &exact);
    CHECK_MSG(exact, "scan mode: wrong count or distance");
    CHECK_MSG(r >= 0.95f, "scan mode recall@10 %.3f", r);
    rg_store_stats st;
    CHECK_OK(rg_collection_stats(p.lc, &st, &err), &err);
    const char *how = json_string_value(json_object_get(st.details, "search"));
    CHECK_MSG(how && !strncmp(how, "scan of every PQ code", 21), "%s", how ? how : "(none)");
    CHECK_EQ_STR(json_string_value(json_object_get(st.details, "last_query")), "scan");
    rg_store_stats_free(&st);
    corpus_free(&co);
    pair_close(&p);
}

/* rg_query_opts.exact: the first `exact` hits are the exact top ones with
 * exact distances, the rest (the deep side of a hybrid fusion) come ranked
 * by PQ without a recompute each, and there are still k of them. */
TEST(leann_query_exact_prefix_then_approximate)
{
    pair_env p;
    CHECK(pair_open_mode(&p, "prefix", false));
    corpus co;
    corpus_make(&co, &p.le, 600, 5);
    rg_error err;
    CHECK_OK(add_both(&p, co.recs, co.n, false, &err), &err);
    float q[LDIM];
    memcpy(q, co.vecs + 17 * LDIM, sizeof q);
    rg_hits top, deep, ex;
    rg_hits_init(&top);
    rg_hits_init(&deep);
    rg_hits_init(&ex);
    rg_query_opts o5 = {.k = 5}, o50 = {.k = 50, .exact = 5};
    CHECK_OK(rg_collection_query(p.lc, q, &o5, &top, &err), &err);
    CHECK_OK(rg_collection_query(p.lc, q, &o50, &deep, &err), &err);
    CHECK_OK(rg_collection_query(p.ec, q, &o50, &ex, &err), &err);
    CHECK_EQ_INT(deep.n, 50);
    for (size_t i = 0; i < top.n; i++) {
        CHECK_EQ_STR(deep.items[i].id, top.items[i].id);
        CHECK(fabsf(deep.items[i].distance - top.items[i].distance) < 1e-6f);
    }
    /* the tail is ordered, distinct, and mostly the exact backend's */
    int found = 0;
    for (size_t i = 0; i < deep.n; i++) {
        if (i > 5)
            CHECK(deep.items[i].distance >= deep.items[i - 1].distance);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(deep.items[i].id, deep.items[j].id) != 0);
        for (size_t j = 0; j < ex.n; j++)
            found += !strcmp(deep.items[i].id, ex.items[j].id);
    }
    CHECK_MSG(found >= 45, "%d of the exact top 50", found);
    rg_hits_free(&top);
    rg_hits_free(&deep);
    rg_hits_free(&ex);
    corpus_free(&co);
    pair_close(&p);
}

TEST(leann_filters_with_few_matches_return_k)
{
    pair_env p;
    CHECK(pair_open(&p, "filter"));
    corpus co;
    corpus_make(&co, &p.le, 1200, 3);
    rg_error err;
    CHECK_OK(add_both(&p, co.recs, co.n, false, &err), &err);
    const char *filters[] = {"{\"group\": 7}", "{\"num\": {\"$lt\": 15}}", "{\"even\": true}",
                             "{\"$or\": [{\"group\": 3}, {\"num\": 1199}]}", "{\"group\": {\"$in\": [1, 2]}}"};
    for (size_t f = 0; f < RG_ARRAY_LEN(filters); f++) {
        rg_filter *w;
        CHECK_OK(rg_filter_parse(filters[f], &w, &err), &err);
        bool exact;
        float r = recall_vs_exact(p.lc, p.ec, &co, 10, 20, w, &exact);
        CHECK_MSG(exact, "filter %s: wrong count or distance", filters[f]);
        CHECK_MSG(r >= 0.95f, "filter %s: recall %.3f", filters[f], r);
        rg_filter_free(w);
    }
    corpus_free(&co);
    pair_close(&p);
}

TEST(leann_delete_upsert_compact_then_query)
{
    pair_env p;
    CHECK(pair_open(&p, "mutate"));
    corpus co;
    corpus_make(&co, &p.le, 1000, 4);
    rg_error err;
    CHECK_OK(add_both(&p, co.recs, co.n, false, &err), &err);
    /* delete 30% by filter, plus a few by id */
    rg_filter *w;
    CHECK_OK(rg_filter_parse("{\"group\": {\"$lt\": 30}}", &w, &err), &err);
    size_t dl = 0, de = 0;
    CHECK_OK(rg_collection_delete(p.lc, NULL, 0, w, &dl, &err), &err);
    CHECK_OK(rg_collection_delete(p.ec, NULL, 0, w, &de, &err), &err);
    CHECK_EQ_INT(dl, 300);
    CHECK_EQ_INT(dl, de);
    rg_filter_free(w);
    /* That delete's consolidation step (budget 4 x 300) moved the top live
     * nodes into the holes and dropped the tombstones left at the top (the
     * moves' overlay made it checkpoint): no tombstone is left. */
    CHECK_EQ_INT(tombstones_of(p.lc), 0);
    CHECK_EQ_INT(unreachable_of(p.lc), 0);
    const char *ids[] = {co.ids[31], co.ids[32], co.ids[33]};
    CHECK_OK(rg_collection_delete(p.lc, ids, 3, NULL, &dl, &err), &err);
    CHECK_OK(rg_collection_delete(p.ec, ids, 3, NULL, &de, &err), &err);
    CHECK_EQ_INT(dl, 3);
    bool exact;
    float r = recall_vs_exact(p.lc, p.ec, &co, 10, 40, NULL, &exact);
    CHECK_MSG(exact, "after delete: wrong count or distance");
    CHECK_MSG(r >= 0.9f, "after delete: recall %.3f", r);
    /* upsert: new text for 10 records; their new vectors find them */
    for (size_t i = 40; i < 50; i++) {
        free(co.docs[i]);
        co.docs[i] = make_doc(900000u + (unsigned)i);
        const char *t[1] = {co.docs[i]};
        CHECK_OK(rg_embedder_embed(p.le.emb, t, 1, RG_EMBED_DOCUMENT, co.vecs + i * LDIM, &err), &err);
        co.recs[i].document = co.docs[i];
    }
    CHECK_OK(add_both(&p, co.recs + 40, 10, true, &err), &err);
    int64_t n;
    CHECK_OK(rg_collection_count(p.lc, &n, &err), &err);
    CHECK_EQ_INT(n, 697);
    for (size_t i = 40; i < 50; i++) {
        rg_hits h;
        rg_hits_init(&h);
        rg_query_opts qo = {.k = 3, .include = RG_INCLUDE_DOCUMENTS};
        CHECK_OK(rg_collection_query(p.lc, co.vecs + i * LDIM, &qo, &h, &err), &err);
        CHECK(h.n == 3 && h.items[0].distance < 1e-4f);
        CHECK_EQ_STR(h.items[0].document, co.docs[i]);
        rg_hits_free(&h);
    }
    rg_store_stats st;
    CHECK_OK(rg_collection_stats(p.lc, &st, &err), &err);
    /* 3 deleted and 10 upserted since: the steps moved live nodes into
     * those holes; tombstones left at the top of the generation files'
     * nodes wait for the next checkpoint, so at most 13 are left */
    CHECK_MSG(st.tombstones <= 13, "tombstones %lld", (long long)st.tombstones);
    CHECK_EQ_INT(unreachable_of(p.lc), 0);
    rg_store_stats_free(&st);
    CHECK_OK(rg_collection_compact(p.lc, &err), &err);
    CHECK_OK(rg_collection_stats(p.lc, &st, &err), &err);
    CHECK_EQ_INT(st.tombstones, 0);
    CHECK_EQ_INT(st.records, 697);
    rg_store_stats_free(&st);
    r = recall_vs_exact(p.lc, p.ec, &co, 10, 40, NULL, &exact);
    CHECK_MSG(exact && r >= 0.9f, "after compact: recall %.3f", r);
    /* delete everything, then add again */
    CHECK_OK(rg_filter_parse("{\"num\": {\"$gte\": 0}}", &w, &err), &err);
    CHECK_OK(rg_collection_delete(p.lc, NULL, 0, w, &dl, &err), &err);
    rg_filter_free(w);
    CHECK_EQ_INT(dl, 697);
    rg_hits h;
    rg_hits_init(&h);
    rg_query_opts qo = {.k = 3};
    CHECK_OK(rg_collection_query(p.lc, co.vecs, &qo, &h, &err), &err);
    CHECK_EQ_INT(h.n, 0);
    CHECK_OK(rg_collection_add(p.lc, co.recs, 5, &err), &err);
    CHECK_OK(rg_collection_query(p.lc, co.vecs, &qo, &h, &err), &err);
    CHECK_EQ_INT(h.n, 3);
    CHECK(h.items[0].distance < 1e-4f);
    rg_hits_free(&h);
    corpus_free(&co);
    pair_close(&p);
}

TEST(leann_persists_and_reports_damaged_files)
{
    pair_env p;
    CHECK(pair_open(&p, "persist"));
    corpus co;
    corpus_make(&co, &p.le, 600, 5);
    rg_error err;
    CHECK_OK(add_both(&p, co.recs, co.n, false, &err), &err);
    rg_hits a, b;
    rg_hits_init(&a);
    rg_hits_init(&b);
    rg_query_opts qo = {.k = 10};
    CHECK_OK(rg_collection_query(p.lc, co.vecs + 5 * LDIM, &qo, &a, &err), &err);
    rg_collection_close(p.lc);
    p.lc = NULL;
    CHECK_OK(rg_collection_open(p.le.store, "persist", p.le.emb, false, &p.lc, &err), &err);
    CHECK_OK(rg_collection_query(p.lc, co.vecs + 5 * LDIM, &qo, &b, &err), &err);
    CHECK_EQ_INT(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        CHECK_EQ_STR(a.items[i].id, b.items[i].id);
    rg_hits_free(&a);
    rg_hits_free(&b);
    rg_collection_close(p.lc);
    p.lc = NULL;

    /* Exactly one generation's files are on disk. */
    char *dir = rg_path_join(rg_test_tmpdir(), "leann/persist");
    char *graph = NULL, *codes = NULL;
    for (int g = 1; g < 100 && !graph; g++) {
        char *gp = rg_xasprintf("%s/graph-%d.bin", dir, g);
        if (rg_path_exists(gp)) {
            graph = gp;
            codes = rg_xasprintf("%s/codes-%d.bin", dir, g);
        } else {
            free(gp);
        }
    }
    CHECK(graph && rg_path_exists(codes));
    char *data;
    size_t len;
    CHECK_OK(rg_read_file(graph, 1 << 26, &data, &len, &err), &err);
    data[len - 3] ^= 0x10;
    CHECK_OK(rg_write_file_atomic(graph, data, len, &err), &err);
    rg_collection *c = NULL;
    CHECK_EQ_INT(rg_collection_open(p.le.store, "persist", p.le.emb, false, &c, &err), RG_ERR_CORRUPT);
    CHECK_MSG(strstr(err.msg, "graph-") != NULL, "message does not name the file: %s", err.msg);
    data[len - 3] ^= 0x10;
    CHECK_OK(rg_write_file_atomic(graph, data, len, &err), &err);
    free(data);
    CHECK_OK(rg_read_file(codes, 1 << 26, &data, &len, &err), &err);
    CHECK_OK(rg_write_file_atomic(codes, data, len / 2, &err), &err);
    CHECK_EQ_INT(rg_collection_open(p.le.store, "persist", p.le.emb, false, &c, &err), RG_ERR_CORRUPT);
    CHECK_MSG(strstr(err.msg, "codes-") != NULL, "message does not name the file: %s", err.msg);
    CHECK_OK(rg_write_file_atomic(codes, data, len, &err), &err);
    free(data);
    /* a missing generation file is damage too */
    char *moved = rg_xasprintf("%s.moved", graph);
    CHECK(rename(graph, moved) == 0);
    CHECK(rg_collection_open(p.le.store, "persist", p.le.emb, false, &c, &err) != RG_OK);
    CHECK(rename(moved, graph) == 0);
    CHECK_OK(rg_collection_open(p.le.store, "persist", p.le.emb, false, &p.lc, &err), &err);
    free(moved);
    free(graph);
    free(codes);
    free(dir);
    corpus_free(&co);
    pair_close(&p);
}

TEST(leann_vectors_not_from_the_embedder_stay_exact)
{
    pair_env p;
    CHECK(pair_open(&p, "custom"));
    corpus co;
    corpus_make(&co, &p.le, 300, 6);
    /* replace vectors by unrelated random unit vectors */
    srand(5);
    for (size_t i = 0; i < co.n * LDIM; i++)
        co.vecs[i] = (float)rand() / RAND_MAX - 0.5f;
    for (size_t i = 0; i < co.n; i++)
        rg_normalize(co.vecs + i * LDIM, LDIM);
    co.recs[3].document = NULL;   /* and one record without text */
    rg_error err;
    CHECK_OK(add_both(&p, co.recs, co.n, false, &err), &err);
    bool exact;
    float r = recall_vs_exact(p.lc, p.ec, &co, 5, 30, NULL, &exact);
    CHECK_MSG(exact && r >= 0.9f, "recall %.3f", r);
    rg_record_batch b;
    rg_record_batch_init(&b, LDIM);
    const char *ids[] = {co.ids[3], co.ids[4]};
    CHECK_OK(rg_collection_get(p.lc, ids, 2, NULL, RG_INCLUDE_ALL, 0, 0, &b, &err), &err);
    CHECK_EQ_INT(b.n, 2);
    for (size_t i = 0; i < b.n; i++) {
        ssize_t ix = index_of(&co, b.items[i].id);
        CHECK(ix >= 0 && b.items[i].embedding);
        CHECK(rg_dot(b.items[i].embedding, co.vecs + (size_t)ix * LDIM, LDIM) > 0.9999f);
    }
    rg_record_batch_free(&b);
    corpus_free(&co);
    pair_close(&p);
}

TEST(leann_second_writer_gets_locked_error)
{
    pair_env p;
    CHECK(pair_open(&p, "locked"));
    corpus co;
    corpus_make(&co, &p.le, 20, 7);
    rg_error err;
    CHECK_OK(rg_collection_add(p.lc, co.recs, 10, &err), &err);
    /* Another process's lock, as ragged takes it. */
    char *lock = rg_path_join(rg_test_tmpdir(), "leann/locked/lock");
    int fd = open(lock, O_RDWR);
    CHECK(fd >= 0);
    CHECK(flock(fd, LOCK_EX) == 0);
    CHECK(pwrite(fd, "4242\n", 5, 0) == 5);
    double t0 = rg_now();
    CHECK_EQ_INT(rg_collection_add(p.lc, co.recs + 10, 10, &err), RG_ERR_LOCKED);
    CHECK(rg_now() - t0 >= 1.0);   /* it waited first */
    CHECK_MSG(strstr(err.msg, "locked by another ragged process (pid 4242)") != NULL, "%s", err.msg);
    /* readers are not blocked */
    int64_t n;
    CHECK_OK(rg_collection_count(p.lc, &n, &err), &err);
    CHECK_EQ_INT(n, 10);
    rg_hits h;
    rg_hits_init(&h);
    rg_query_opts qo = {.k = 3};
    CHECK_OK(rg_collection_query(p.lc, co.vecs, &qo, &h, &err), &err);
    CHECK_EQ_INT(h.n, 3);
    rg_hits_free(&h);
    close(fd);
    CHECK_OK(rg_collection_add(p.lc, co.recs + 10, 10, &err), &err);
    free(lock);
    corpus_free(&co);
    pair_close(&p);
}

/* Issue 16 item 1: no live node is ever unreachable from the entry point,
 * whatever the write: incremental inserts (one at a time and in batches),
 * deletes under the consolidation threshold (repair path) and over it
 * (automatic rebuild), upserts, and churn cycles of removing 30% and
 * putting it back.  The collection is walked (scan_threshold 0), and recall
 * against the exact backend holds at the end. */
TEST(leann_graph_stays_connected_under_every_write)
{
    /* Narrow lists strand nodes often (with the defaults this corpus
     * strands none, and the test could not fail). */
    const char *const kv[] = {"vectorstore.leann.scan_threshold", "0", "vectorstore.leann.graph_degree", "6",
                              "vectorstore.leann.pruned_degree", "3", NULL};
    pair_env p;
    CHECK(pair_open_with(&p, "health", kv));
    corpus co;
    corpus_make(&co, &p.le, 1400, 11);
    rg_error err;
    int64_t worst = 0;
#define HEALTH(what)                                                                                                \
    do {                                                                                                            \
        int64_t u_ = unreachable_of(p.lc);                                                                          \
        CHECK_MSG(u_ == 0, "%s: %lld live nodes unreachable", what, (long long)u_);                                \
        if (u_ > worst)                                                                                             \
            worst = u_;                                                                                             \
    } while (0)
    CHECK_OK(add_both(&p, co.recs, 300, false, &err), &err);
    HEALTH("bulk build");
    size_t at = 300;
    for (int i = 0; i < 40; i++, at++) {
        CHECK_OK(add_both(&p, co.recs + at, 1, false, &err), &err);
        HEALTH("single insert");
    }
    for (; at + 37 <= 560; at += 37) {
        CHECK_OK(add_both(&p, co.recs + at, 37, false, &err), &err);
        HEALTH("batch insert");
    }
    /* deletes of a few records at a time: repaired, not rebuilt */
    for (int round = 0; round < 6; round++) {
        const char *ids[8];
        for (int j = 0; j < 8; j++)
            ids[j] = co.ids[(size_t)(round * 53 + j * 7) % at];
        size_t dl = 0, de = 0;
        CHECK_OK(rg_collection_delete(p.lc, ids, 8, NULL, &dl, &err), &err);
        CHECK_OK(rg_collection_delete(p.ec, ids, 8, NULL, &de, &err), &err);
        CHECK_EQ_INT(dl, de);
        HEALTH("delete");
    }
    CHECK_MSG(tombstones_of(p.lc) > 0, "the small deletes were not left as tombstones");
    /* upserts: new text for 30 records */
    for (size_t i = 100; i < 130; i++) {
        free(co.docs[i]);
        co.docs[i] = make_doc(700000u + (unsigned)i);
        const char *t[1] = {co.docs[i]};
        CHECK_OK(rg_embedder_embed(p.le.emb, t, 1, RG_EMBED_DOCUMENT, co.vecs + i * LDIM, &err), &err);
        co.recs[i].document = co.docs[i];
    }
    CHECK_OK(add_both(&p, co.recs + 100, 30, true, &err), &err);
    HEALTH("upsert");
    /* churn: remove a third (by filter), put it back, three times */
    for (int cycle = 0; cycle < 3; cycle++) {
        char f[80];
        snprintf(f, sizeof f, "{\"$and\": [{\"group\": {\"$gte\": %d}}, {\"group\": {\"$lt\": %d}}]}", cycle * 20,
                 cycle * 20 + 33);
        rg_filter *w;
        CHECK_OK(rg_filter_parse(f, &w, &err), &err);
        size_t dl = 0, de = 0;
        CHECK_OK(rg_collection_delete(p.lc, NULL, 0, w, &dl, &err), &err);
        CHECK_OK(rg_collection_delete(p.ec, NULL, 0, w, &de, &err), &err);
        rg_filter_free(w);
        CHECK_EQ_INT(dl, de);
        HEALTH("churn delete");
        /* put back in batches of 50, through upsert (some ids are live) */
        for (size_t i = 0; i < at; i += 50) {
            CHECK_OK(add_both(&p, co.recs + i, RG_MIN(50, at - i), true, &err), &err);
            HEALTH("churn re-add");
        }
        int64_t tomb = tombstones_of(p.lc);
        CHECK_MSG(tomb < (int64_t)(0.25 * (double)at), "cycle %d: %lld tombstones", cycle, (long long)tomb);
        /* tombstones keep no code: the codes (file + overlay) are the live
         * nodes' plus the codebooks and the file's bitmap, not more */
        int64_t codes = -1, pqb = detail_of(p.lc, "pq_bytes_per_node", NULL, NULL);
        int64_t nodes = detail_of(p.lc, "nodes", "codes", &codes);
        CHECK_MSG(codes > 0 && codes <= (int64_t)at * pqb + 64 * 1024 + nodes / 8,
                  "cycle %d: codes %lld bytes for %zu live nodes of %lld bytes", cycle, (long long)codes, at,
                  (long long)pqb);
    }
    /* each cycle changed a third of the records: consolidation passes ran */
    CHECK_MSG(detail_of(p.lc, "consolidation_passes", NULL, NULL) >= 3, "%lld consolidation passes",
              (long long)detail_of(p.lc, "consolidation_passes", NULL, NULL));
    /* and growth on top: incremental inserts into the churned graph */
    for (; at + 100 <= co.n; at += 100) {
        CHECK_OK(add_both(&p, co.recs + at, 100, false, &err), &err);
        HEALTH("insert after churn");
    }
#undef HEALTH
    CHECK_EQ_INT(worst, 0);
    int64_t nl, ne;
    CHECK_OK(rg_collection_count(p.lc, &nl, &err), &err);
    CHECK_OK(rg_collection_count(p.ec, &ne, &err), &err);
    CHECK_EQ_INT(nl, ne);
    bool exact;
    float r = recall_vs_exact(p.lc, p.ec, &co, 10, 40, NULL, &exact);
    CHECK_MSG(exact, "after churn: wrong count or distance");
    CHECK_MSG(r >= 0.8f, "after churn: recall@10 %.3f (graph degree 6/3)", r);
    corpus_free(&co);
    pair_close(&p);
}

/* meta value of the leann collection `name` of p (NULL: none), read with a
 * connection of its own. */
static char *leann_meta_of(pair_env *p, const char *name, const char *key)
{
    char *path = rg_xasprintf("%s/%s/leann.sqlite", rg_config_str(p->le.cfg, "vectorstore.leann.persist_directory"),
                              name);
    sqlite3 *db = NULL;
    char *v = NULL;
    rg_error err;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        rg_sqlite_meta_get(db, key, &v, &err);
    sqlite3_close(db);
    free(path);
    return v;
}

/* Rebuilds retrain the passage and metadata dictionaries (and rewrite every
 * row) until they have learned from a full sample; after that a rebuild
 * keeps them (a 256K-chunk ingest recompressed every row at every rebuild).
 * Passages stay readable either way. */
TEST(leann_dictionaries_kept_once_trained_on_a_full_sample)
{
    pair_env p;
    CHECK(pair_open(&p, "dicts"));
    corpus co;
    corpus_make(&co, &p.le, 600, 9);
    rg_error err;
    CHECK_OK(add_both(&p, co.recs, co.n, false, &err), &err);
    char *id1 = leann_meta_of(&p, "dicts", "dict_id"), *sampled = leann_meta_of(&p, "dicts", "dict_sample_bytes");
    CHECK(id1 && sampled && atoll(sampled) > 0 && atoll(sampled) < (32 << 20));
    /* a small sample: compact retrains */
    CHECK_OK(rg_collection_compact(p.lc, &err), &err);
    char *id2 = leann_meta_of(&p, "dicts", "dict_id");
    CHECK(id2 && atoll(id2) > atoll(id1));
    /* The retraining rewrote every row, a page at a time (600 rows: more
     * than one page): each still reads back as written. */
    for (size_t off = 0; off < co.n; off += 128) {
        rg_record_batch b;
        rg_record_batch_init(&b, LDIM);
        CHECK_OK(rg_collection_get(p.lc, NULL, 0, NULL, RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS, off, 128, &b,
                                   &err),
                 &err);
        CHECK_EQ_INT((int64_t)b.n, (int64_t)RG_MIN((size_t)128, co.n - off));
        for (size_t i = 0; i < b.n; i++) {
            size_t k = 0;
            while (k < co.n && strcmp(co.ids[k], b.items[i].id) != 0)
                k++;
            CHECK_MSG(k < co.n, "unknown id %s", b.items[i].id);
            CHECK_EQ_STR(b.items[i].document, co.docs[k]);
            CHECK_MSG(json_equal(b.items[i].metadata, co.meta[k]), "metadata of %s changed", co.ids[k]);
        }
        rg_record_batch_free(&b);
    }
    /* as if the sample had been full: compact keeps the dictionaries */
    char *path = rg_xasprintf("%s/dicts/leann.sqlite", rg_config_str(p.le.cfg, "vectorstore.leann.persist_directory"));
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE meta SET value = '33554432' WHERE key = 'dict_sample_bytes'", NULL, NULL, NULL) ==
          SQLITE_OK);
    sqlite3_close(db);
    free(path);
    CHECK_OK(rg_collection_compact(p.lc, &err), &err);
    char *id3 = leann_meta_of(&p, "dicts", "dict_id");
    CHECK(id3 && atoll(id3) == atoll(id2));
    for (size_t i = 0; i < 5; i++) {
        rg_hits h;
        rg_hits_init(&h);
        rg_query_opts qo = {.k = 1, .include = RG_INCLUDE_DOCUMENTS};
        CHECK_OK(rg_collection_query(p.lc, co.vecs + i * 100 * LDIM, &qo, &h, &err), &err);
        CHECK(h.n == 1 && h.items[0].document && !strcmp(h.items[0].document, co.docs[i * 100]));
        rg_hits_free(&h);
    }
    free(id1);
    free(id2);
    free(id3);
    free(sampled);
    corpus_free(&co);
    pair_close(&p);
}

/* Past the rebuilds' memory bound a growing collection retrains its PQ
 * codebooks at each doubling (leann_retrain_codes, issue 16 item 3b) and
 * the write persists them with every node's new code as a new generation:
 * read back from disk (the generation's codes file plus any overlay row),
 * every live node's code decodes close to its exact vector under the
 * codebooks stored with it.  A write that left old codebooks (or old codes)
 * on disk beside new ones fails this. */
TEST(leann_codes_retrained_past_the_memory_bound_persist)
{
    pair_env p;
    /* 1 MB: 2,730 vectors at 96-d; full builds at doublings up to 1,600. */
    const char *kv[] = {"vectorstore.leann.build_memory_mb", "1", "vectorstore.leann.scan_threshold", "0", NULL};
    CHECK(pair_open_with(&p, "retrain", kv));
    corpus co;
    corpus_make(&co, &p.le, 3300, 9);
    rg_error err;
    size_t at = 0;
    for (; at < 1600; at += 100)
        CHECK_OK(add_both(&p, co.recs + at, 100, false, &err), &err);
    for (; at < co.n; at += 25)   /* small writes: their own edits alone would go to the overlay */
        CHECK_OK(add_both(&p, co.recs + at, 25, false, &err), &err);
    rg_store_stats st;
    CHECK_OK(rg_collection_stats(p.lc, &st, &err), &err);
    json_int_t built = json_integer_value(json_object_get(st.details, "built_n"));
    json_int_t codes_n = json_integer_value(json_object_get(st.details, "codes_n"));
    json_int_t gen = json_integer_value(json_object_get(st.details, "generation"));
    rg_store_stats_free(&st);
    CHECK_MSG(built == 1600 && codes_n == 3200, "built_n %lld, codes_n %lld", (long long)built, (long long)codes_n);
    bool exact;
    float r10 = recall_vs_exact(p.lc, p.ec, &co, 10, 60, NULL, &exact);
    CHECK_MSG(exact && r10 >= 0.9f, "recall@10 after the retrain %.3f", r10);
    rg_collection_close(p.lc);
    p.lc = NULL;

    char *dir = rg_path_join(rg_test_tmpdir(), "leann/retrain");
    char *cp = rg_xasprintf("%s/codes-%lld.bin", dir, (long long)gen);
    leann_pq pq;
    uint8_t *codes = NULL;
    uint32_t n = 0;
    CHECK_OK(leann_codes_read(&pq, &codes, &n, cp, &err), &err);
    /* nodes added since the generation have overlay rows only */
    codes = rg_xrealloc(codes, (n + co.n) * (size_t)pq.m);
    memset(codes + (size_t)n * pq.m, 0, co.n * (size_t)pq.m);
    n += (uint32_t)co.n;
    char *dbp = rg_path_join(dir, "leann.sqlite");
    sqlite3 *db;
    CHECK(sqlite3_open_v2(dbp, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *s;
    CHECK(sqlite3_prepare_v2(db, "SELECT node, code FROM codes", -1, &s, NULL) == SQLITE_OK);
    int overlay = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        uint32_t v = (uint32_t)sqlite3_column_int64(s, 0);
        if (v < n && sqlite3_column_bytes(s, 1) == pq.m) {
            memcpy(codes + (size_t)v * pq.m, sqlite3_column_blob(s, 1), (size_t)pq.m);
            overlay++;
        }
    }
    sqlite3_finalize(s);
    CHECK(sqlite3_prepare_v2(db, "SELECT seq, node FROM rec", -1, &s, NULL) == SQLITE_OK);
    float rec[LDIM], worst = 1.0f;
    double sum = 0;
    int rows = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(s, 0);
        uint32_t v = (uint32_t)sqlite3_column_int64(s, 1);
        CHECK(seq >= 1 && (size_t)seq <= co.n && v < n);
        if (seq < 1 || (size_t)seq > co.n || v >= n)
            break;
        leann_pq_decode(&pq, codes + (size_t)v * pq.m, rec);
        float cos = rg_dot(rec, co.vecs + (size_t)(seq - 1) * LDIM, LDIM) / sqrtf(rg_dot(rec, rec, LDIM));
        sum += cos;
        worst = cos < worst ? cos : worst;
        rows++;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    fprintf(stderr, "    %d records, %d overlay codes: cosine(decoded code, exact vector) mean %.3f, worst %.3f\n", rows,
            overlay, sum / (rows ? rows : 1), worst);
    CHECK_EQ_INT(rows, (int)co.n);
    CHECK_MSG(worst >= 0.8f, "a stored code decodes far from its vector: cosine %.3f", worst);
    free(codes);
    leann_pq_free(&pq);
    free(dbp);
    free(cp);
    free(dir);
    corpus_free(&co);
    pair_close(&p);
}
