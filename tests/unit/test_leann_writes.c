/* The leann core's write paths without SQLite (issue 16, item 8): insert,
 * delete, upsert-like replace, consolidation steps run to completion and a
 * full rebuild, driven the way leann_sqlite.c drives them but over an
 * in-memory store behind leann_source.  The store keeps its own copy of
 * what the core asked it to persist (lists, flags, codes, the records'
 * node numbers), so every step checks that the callbacks told it about
 * every change, besides no unreachable live node and search against brute
 * force.  This file and test_leann_core.c are also linked into
 * build/test_leann_core without -lsqlite3 (Makefile): the core needs no
 * SQLite at all. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leann.h"
#include "test.h"
#include "util.h"

/* ---- an in-memory store ---------------------------------------------------- */

typedef struct mrec {
    float *vec;      /* dim floats (owned by the pool) */
    int64_t seq;     /* insertion order; kept by an upsert */
    uint32_t node;
    bool live;
} mrec;

typedef struct mstore {
    leann_coll *c;
    int dim;
    mrec *rec;       /* by record id */
    size_t nrec;
    int64_t next_seq;
    int32_t *rec_of; /* node -> record id, -1: none (a tombstone) */
    uint32_t cap;
    /* What the core persisted through save / moved / truncated / rebuilt. */
    uint32_t sn;
    uint16_t *sdeg;
    uint32_t *snbrs; /* cap * max_degree */
    uint8_t *sflags, *shas, *scodes;
    uint32_t sentry;
    int saves, moves, truncations, rebuilds;
    bool fail;       /* the write callbacks fail (a full disk, say) */
    char bad[200];   /* first contract violation seen by a callback */
} mstore;

static void ms_grow(mstore *m, uint32_t n)
{
    if (n <= m->cap)
        return;
    uint32_t cap = m->cap ? m->cap : 256;
    while (cap < n)
        cap *= 2;
    int md = m->c->graph.max_degree;
    m->rec_of = rg_xrealloc(m->rec_of, cap * sizeof *m->rec_of);
    m->sdeg = rg_xrealloc(m->sdeg, cap * sizeof *m->sdeg);
    m->snbrs = rg_xrealloc(m->snbrs, (size_t)cap * md * sizeof *m->snbrs);
    m->sflags = rg_xrealloc(m->sflags, cap);
    m->shas = rg_xrealloc(m->shas, cap);
    m->scodes = rg_xrealloc(m->scodes, (size_t)cap * 256);
    for (uint32_t v = m->cap; v < cap; v++) {
        m->rec_of[v] = -1;
        m->sdeg[v] = 0;
        m->sflags[v] = 0;
        m->shas[v] = 0;
    }
    m->cap = cap;
}

static void ms_bad(mstore *m, const char *what, uint32_t v)
{
    if (!m->bad[0])
        snprintf(m->bad, sizeof m->bad, "%s (node %u)", what, v);
}

static rg_status ms_passages(void *ctx, const uint32_t *nodes, size_t n, leann_passage *out, rg_error *err)
{
    mstore *m = ctx;
    for (size_t i = 0; i < n; i++)
        if (nodes[i] >= m->cap || m->rec_of[nodes[i]] < 0) {
            ms_bad(m, "passage of a node without a record asked for", nodes[i]);
            return rg_error_set(err, RG_ERR_CORRUPT, "no record for node %u", nodes[i]);
        }
    for (size_t i = 0; i < n; i++) {
        out[i].text = NULL;
        out[i].vec = rg_xmalloc(sizeof(float) * (size_t)m->dim);
        memcpy(out[i].vec, m->rec[m->rec_of[nodes[i]]].vec, sizeof(float) * (size_t)m->dim);
    }
    return RG_OK;
}

static rg_status ms_filter_set(void *ctx, const rg_filter *where, uint32_t **nodes, size_t *n, rg_error *err)
{
    mstore *m = ctx;
    const leann_graph *g = &m->c->graph;
    *nodes = rg_xmalloc(sizeof(uint32_t) * (g->n ? g->n : 1));
    *n = 0;
    for (uint32_t v = 0; v < g->n; v++)
        if (m->rec_of[v] >= 0)
            (*nodes)[(*n)++] = v;
    return RG_OK;
}

static rg_status ms_order(void *ctx, const uint32_t *nodes, size_t n, int64_t *out, rg_error *err)
{
    mstore *m = ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = nodes[i] < m->cap && m->rec_of[nodes[i]] >= 0 ? m->rec[m->rec_of[nodes[i]]].seq : INT64_MAX;
    return RG_OK;
}

static int cmp_seq(const void *a, const void *b, void *ctx)
{
    const mrec *r = ctx;
    int64_t x = r[*(const int32_t *)a].seq, y = r[*(const int32_t *)b].seq;
    return x < y ? -1 : x > y;
}

static rg_status ms_live(void *ctx, uint32_t **nodes, int64_t **order, size_t *n, rg_error *err)
{
    mstore *m = ctx;
    int32_t *ids = rg_xmalloc(sizeof(int32_t) * (m->nrec ? m->nrec : 1));
    size_t k = 0;
    for (size_t i = 0; i < m->nrec; i++)
        if (m->rec[i].live)
            ids[k++] = (int32_t)i;
    qsort_r(ids, k, sizeof *ids, cmp_seq, m->rec);
    *nodes = rg_xmalloc(sizeof(uint32_t) * (k ? k : 1));
    *order = rg_xmalloc(sizeof(int64_t) * (k ? k : 1));
    for (size_t i = 0; i < k; i++) {
        (*nodes)[i] = m->rec[ids[i]].node;
        (*order)[i] = m->rec[ids[i]].seq;
    }
    *n = k;
    free(ids);
    return RG_OK;
}

static rg_status ms_moved(void *ctx, const uint32_t *from, const uint32_t *to, size_t n, rg_error *err)
{
    mstore *m = ctx;
    m->moves += (int)n;
    for (size_t i = 0; i < n; i++) {
        if (m->rec_of[from[i]] < 0 || m->rec_of[to[i]] >= 0) {
            ms_bad(m, "moved from a tombstone or onto a live node", from[i]);
            return rg_error_set(err, RG_ERR_CORRUPT, "bad move %u -> %u", from[i], to[i]);
        }
        m->rec_of[to[i]] = m->rec_of[from[i]];
        m->rec_of[from[i]] = -1;
        m->rec[m->rec_of[to[i]]].node = to[i];
    }
    return RG_OK;
}

static rg_status ms_truncated(void *ctx, uint32_t n, rg_error *err)
{
    mstore *m = ctx;
    m->truncations++;
    for (uint32_t v = n; v < m->sn; v++) {
        if (m->rec_of[v] >= 0)
            ms_bad(m, "a live node truncated", v);
        m->sdeg[v] = 0;
        m->sflags[v] = 0;
        m->shas[v] = 0;
    }
    if (m->sn > n)
        m->sn = n;
    return RG_OK;
}

static void ms_keep(mstore *m, uint32_t v, bool list, bool code)
{
    const leann_coll *c = m->c;
    const leann_graph *g = &c->graph;
    if (list) {
        m->sdeg[v] = g->deg[v];
        memcpy(m->snbrs + (size_t)v * g->max_degree, leann_graph_nbrs(g, v), sizeof(uint32_t) * g->deg[v]);
        m->sflags[v] = g->flags[v];
    }
    if (g->flags[v] & LEANN_NODE_DELETED) {
        if (list)
            m->shas[v] = 0;   /* a tombstone keeps no code */
    } else if (code) {
        memcpy(m->scodes + (size_t)v * 256, c->codes + (size_t)v * c->pq.m, (size_t)c->pq.m);
        m->shas[v] = 1;
    }
}

static rg_status ms_save(void *ctx, const uint8_t *dirty, uint32_t new_from, rg_error *err)
{
    mstore *m = ctx;
    const leann_graph *g = &m->c->graph;
    if (m->fail)
        return rg_error_set(err, RG_ERR_IO, "save refused");
    m->saves++;
    ms_grow(m, g->n);
    if (dirty) {
        for (uint32_t v = 0; v < g->n; v++)
            if (dirty[v] || v >= new_from)
                ms_keep(m, v, dirty[v] & 1, v >= new_from || (dirty[v] & LEANN_DIRTY_CODE));
        m->sn = g->n;
    }
    m->sentry = g->entry;
    return RG_OK;
}

static rg_status ms_renumber(void *ctx, const uint32_t *old, const int64_t *order, size_t n, rg_error *err)
{
    mstore *m = ctx;
    if (m->fail)
        return rg_error_set(err, RG_ERR_IO, "renumber refused");
    int32_t *ids = rg_xmalloc(sizeof(int32_t) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        ids[i] = m->rec_of[old[i]];
        if (ids[i] < 0 || m->rec[ids[i]].seq != order[i])
            ms_bad(m, "renumbered a node without its record", old[i]);
    }
    ms_grow(m, (uint32_t)n);
    for (uint32_t v = 0; v < m->cap; v++) {
        m->rec_of[v] = -1;   /* nothing of the old graph stays */
        m->sdeg[v] = 0;
        m->sflags[v] = 0;
        m->shas[v] = 0;
    }
    m->sn = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0) {
            m->rec_of[i] = ids[i];
            m->rec[ids[i]].node = (uint32_t)i;
        }
    free(ids);
    return RG_OK;
}

static rg_status ms_rebuilt(void *ctx, rg_error *err)
{
    mstore *m = ctx;
    const leann_graph *g = &m->c->graph;
    m->rebuilds++;
    ms_grow(m, g->n);
    for (uint32_t v = 0; v < g->n; v++)
        ms_keep(m, v, true, true);
    m->sn = g->n;
    m->sentry = g->entry;
    return RG_OK;
}

/* ---- what leann_sqlite.c does around the core ------------------------------ */

/* add / upsert of records ids[0..n) with vectors vecs[i]. */
static rg_status ms_add(mstore *m, const int *ids, float *const *vecs, size_t n, rg_error *err)
{
    leann_coll *c = m->c;
    rg_record *recs = rg_xcalloc(n, sizeof *recs);
    uint32_t *old = rg_xmalloc(sizeof(uint32_t) * n);
    size_t nold = 0;
    uint32_t first = c->graph.n;
    ms_grow(m, first + (uint32_t)n);
    char idbuf[16];
    for (size_t i = 0; i < n; i++) {
        size_t id = (size_t)ids[i];
        if (id >= m->nrec) {
            m->rec = rg_xrealloc(m->rec, (id + 1) * sizeof *m->rec);
            memset(m->rec + m->nrec, 0, (id + 1 - m->nrec) * sizeof *m->rec);
            m->nrec = id + 1;
        }
        mrec *r = &m->rec[id];
        if (r->live) {
            old[nold++] = r->node;   /* upsert: the old version becomes a tombstone */
            m->rec_of[r->node] = -1;
        } else {
            r->seq = ++m->next_seq;
            r->live = true;
        }
        r->vec = vecs[i];
        r->node = first + (uint32_t)i;
        m->rec_of[r->node] = (int32_t)id;
        snprintf(idbuf, sizeof idbuf, "%d", ids[i]);
        recs[i].id = idbuf;   /* the core does not read ids */
        recs[i].embedding = vecs[i];
    }
    int64_t live_after = c->live - (int64_t)nold + (int64_t)n;
    rg_status rc = leann_insert(c, recs, n, old, nold, live_after, err);
    if (rc == RG_OK)
        c->live = live_after;
    free(recs);
    free(old);
    return rc;
}

static rg_status ms_delete(mstore *m, const int *ids, size_t n, rg_error *err)
{
    uint32_t *nodes = rg_xmalloc(sizeof(uint32_t) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        mrec *r = &m->rec[ids[i]];
        nodes[i] = r->node;
        r->live = false;
        m->rec_of[r->node] = -1;
    }
    rg_status rc = leann_remove(m->c, nodes, n, err);
    if (rc == RG_OK)
        m->c->live -= (int64_t)n;
    free(nodes);
    return rc;
}

/* ---- checks ------------------------------------------------------------------ */

/* The persisted copy equals memory; records and nodes agree; no live node
 * is unreachable.  Returns a description of the first difference, or NULL. */
static const char *ms_check(mstore *m, char *buf, size_t len)
{
    const leann_coll *c = m->c;
    const leann_graph *g = &c->graph;
    if (m->bad[0])
        return m->bad;
    if (m->sn != g->n)
        return snprintf(buf, len, "stored %u nodes, memory %u", m->sn, g->n), buf;
    if (m->sentry != g->entry)
        return snprintf(buf, len, "stored entry %u, memory %u", m->sentry, g->entry), buf;
    uint32_t tomb = 0;
    for (uint32_t v = 0; v < g->n; v++) {
        bool del = g->flags[v] & LEANN_NODE_DELETED;
        tomb += del;
        if (m->sflags[v] != g->flags[v] || m->sdeg[v] != g->deg[v] ||
            memcmp(m->snbrs + (size_t)v * g->max_degree, leann_graph_nbrs(g, v), sizeof(uint32_t) * g->deg[v]))
            return snprintf(buf, len, "node %u: stored list/flags differ from memory", v), buf;
        if (del != (m->rec_of[v] < 0))
            return snprintf(buf, len, "node %u: %s but %s record", v, del ? "tombstone" : "live",
                            del ? "has a" : "has no"), buf;
        if (del ? m->shas[v] : !m->shas[v] || memcmp(m->scodes + (size_t)v * 256, c->codes + (size_t)v * c->pq.m,
                                                     (size_t)c->pq.m))
            return snprintf(buf, len, "node %u: stored code differs (tombstone %d)", v, del), buf;
    }
    if ((int64_t)(g->n - tomb) != c->live)
        return snprintf(buf, len, "%u live nodes, %lld live records", g->n - tomb, (long long)c->live), buf;
    uint32_t un = leann_graph_unreachable(g);
    if (un)
        return snprintf(buf, len, "%u live nodes unreachable", un), buf;
    return NULL;
}

/* Recall@10 of leann_search against brute force over the live records;
 * also checks the hits are live, exact and the right count. */
static float ms_recall(mstore *m, int nq, uint64_t seed, bool *ok)
{
    leann_coll *c = m->c;
    int dim = m->dim, hit = 0, total = 0;
    float *q = rg_xmalloc(sizeof(float) * (size_t)dim);
    leann_cand *all = rg_xmalloc(sizeof(leann_cand) * (m->nrec ? m->nrec : 1));
    for (int t = 0; t < nq; t++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t src = (size_t)(seed >> 33) % m->nrec;
        for (int d = 0; d < dim; d++)
            q[d] = m->rec[src].vec[d] + 0.1f * (float)((t * 31 + d * 17) % 11 - 5) / 5.0f;
        rg_normalize(q, (size_t)dim);
        size_t na = 0;
        for (size_t i = 0; i < m->nrec; i++)
            if (m->rec[i].live)
                all[na++] = (leann_cand){1.0f - rg_dot(q, m->rec[i].vec, (size_t)dim), m->rec[i].node};
        qsort(all, na, sizeof *all, leann_cand_cmp);
        rg_query_opts o = {.k = 10};
        leann_cand *got = NULL;
        size_t ng = 0;
        rg_error err;
        if (leann_search(c, q, &o, &got, &ng, &err) != RG_OK) {
            fprintf(stderr, "    leann_search: %s\n", err.msg);
            *ok = false;
            break;
        }
        size_t want = na < 10 ? na : 10;
        if (ng != want)
            *ok = false;
        for (size_t i = 0; i < ng; i++) {
            uint32_t u = got[i].node;
            if (u >= c->graph.n || m->rec_of[u] < 0 ||
                fabsf(got[i].dist - (1.0f - rg_dot(q, m->rec[m->rec_of[u]].vec, (size_t)dim))) > 1e-5f)
                *ok = false;
            for (size_t j = 0; j < want; j++)
                hit += all[j].node == u;
        }
        total += (int)want;
        free(got);
    }
    free(all);
    free(q);
    return total ? (float)hit / (float)total : 1.0f;
}

static float *pool_vectors(uint32_t n, int dim, uint64_t seed)
{
    float *v = rg_xmalloc(sizeof(float) * n * dim);
    int nclusters = 16;
    float *cent = rg_xmalloc(sizeof(float) * nclusters * dim);
    for (int i = 0; i < nclusters * dim; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        cent[i] = (float)(seed >> 40) / (float)(1u << 24) - 0.5f;
    }
    for (uint32_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int)((seed >> 33) % (uint64_t)nclusters);
        for (int t = 0; t < dim; t++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            v[(size_t)i * dim + t] = cent[k * dim + t] + 0.35f * ((float)(seed >> 40) / (float)(1u << 24) - 0.5f);
        }
        rg_normalize(v + (size_t)i * dim, (size_t)dim);
    }
    free(cent);
    return v;
}

#define STEP_OK(label)                                                                           \
    do {                                                                                         \
        const char *why_ = ms_check(&ms, buf, sizeof buf);                                       \
        CHECK_MSG(!why_, "after %s: %s", label, why_);                                           \
        bool ok_ = true;                                                                         \
        float r_ = ms_recall(&ms, 30, 99, &ok_);                                                 \
        CHECK_MSG(ok_, "after %s: a hit deleted, inexact or missing", label);                    \
        CHECK_MSG(r_ >= 0.9f, "after %s: recall@10 %.3f", label, r_);                            \
        fprintf(stderr, "    %-34s nodes %5u live %5lld recall@10 %.3f\n", label, c.graph.n,       \
                (long long)c.live, r_);                                                          \
    } while (0)

TEST(leann_core_writes_without_sqlite)
{
    const int dim = 24;
    const uint32_t npool = 3200;
    float *pool = pool_vectors(npool, dim, 42);
    uint32_t used = 0;
    leann_coll c;
    memset(&c, 0, sizeof c);
    c.name = "mem";
    c.dim = dim;
    c.params = (leann_params){.graph_degree = 24, .pruned_degree = 10, .search_complexity = 64,
                              .scan_threshold = 0, .hub_fraction = 0.02, .code_bits = 8};
    c.consolidate_next = -1;
    leann_graph_init(&c.graph, 24, 10);
    leann_cache_init(&c.cache, dim, 64 << 10);   /* smaller than the collection: recomputes happen */
    mstore ms;
    memset(&ms, 0, sizeof ms);
    ms.c = &c;
    ms.dim = dim;
    c.src = (leann_source){.passages = ms_passages, .filter_set = ms_filter_set, .order = ms_order,
                           .live = ms_live, .moved = ms_moved, .truncated = ms_truncated, .save = ms_save,
                           .renumber = ms_renumber, .rebuilt = ms_rebuilt, .ctx = &ms};
    rg_error err;
    char buf[200];
    int ids[1500];
    float *vecs[1500];

    /* A first batch: no codes yet, so a full build (live, rebuilt). */
    for (int i = 0; i < 1500; i++) {
        ids[i] = i;
        vecs[i] = pool + (size_t)used++ * dim;
    }
    CHECK_OK(ms_add(&ms, ids, vecs, 1500, &err), &err);
    CHECK_OK(leann_consolidate_step(&c, c.live, 1500, &err), &err);
    CHECK_EQ_INT(ms.rebuilds, 1);
    CHECK(c.pq.m > 0);
    STEP_OK("first batch (built)");

    /* Incremental inserts (under the doubling that would rebuild). */
    for (int b = 0; b < 4; b++) {
        for (int i = 0; i < 300; i++) {
            ids[i] = 1500 + b * 300 + i;
            vecs[i] = pool + (size_t)used++ * dim;
        }
        CHECK_OK(ms_add(&ms, ids, vecs, 300, &err), &err);
        CHECK_OK(leann_consolidate_step(&c, c.live, 300, &err), &err);
    }
    CHECK_EQ_INT(ms.rebuilds, 1);
    STEP_OK("4 incremental inserts");

    /* Deletes of 50 records a write until a consolidation pass runs (the
     * deleted reach LEANN_CONSOLIDATE_CHANGED of the live), whose steps
     * then run to completion. */
    for (int b = 0; b < 40 && c.consolidate_next < 0; b++) {
        int nd = 0;
        for (int id = b; id < 2700; id += 54)
            ids[nd++] = id * 7 % 2700;
        size_t nlive = 0;
        for (int i = 0; i < nd; i++)
            if (ms.rec[ids[i]].live)
                ids[nlive++] = ids[i];
        CHECK_OK(ms_delete(&ms, ids, nlive, &err), &err);
        CHECK_OK(leann_consolidate_step(&c, c.live, nlive, &err), &err);
    }
    STEP_OK("deletes");
    CHECK(c.consolidate_next > 0);   /* a pass is running */
    CHECK(ms.moves > 0);             /* live nodes moved into tombstones */
    int64_t passes = c.passes;
    int steps = 0;
    for (; steps < 100 && c.consolidate_next >= 0; steps++) {
        CHECK_OK(leann_consolidate_step(&c, c.live, 0, &err), &err);
        const char *why = ms_check(&ms, buf, sizeof buf);
        CHECK_MSG(!why, "consolidation step %d: %s", steps, why);
    }
    CHECK_EQ_INT(c.consolidate_next, -1);
    CHECK_EQ_INT(c.passes, passes + 1);
    CHECK(steps >= 2);
    fprintf(stderr, "    %d more steps completed the pass\n", steps);
    STEP_OK("consolidation pass completed");

    /* Upsert-like replace in one write: 120 records get new vectors (their
     * old nodes become tombstones), 40 others are deleted. */
    for (int i = 0; i < 120; i++) {
        ids[i] = 1 + i * 19;
        while (ids[i] < 2699 && !ms.rec[ids[i]].live)
            ids[i]++;
        for (int j = 0; j < i; j++)
            if (ids[j] == ids[i])
                ids[i] = -1;
    }
    int nup = 0;
    for (int i = 0; i < 120; i++)
        if (ids[i] >= 0 && ms.rec[ids[i]].live) {
            ids[nup] = ids[i];
            vecs[nup++] = pool + (size_t)used++ * dim;
        }
    CHECK(nup > 80);
    CHECK_OK(ms_add(&ms, ids, vecs, (size_t)nup, &err), &err);
    int del[40], ndel = 0;
    for (int id = 2; id < 2700 && ndel < 40; id += 31) {
        bool upserted = false;
        for (int j = 0; j < nup; j++)
            upserted |= ids[j] == id;
        if (ms.rec[id].live && !upserted)
            del[ndel++] = id;
    }
    CHECK_OK(ms_delete(&ms, del, (size_t)ndel, &err), &err);
    CHECK_OK(leann_consolidate_step(&c, c.live, (size_t)(nup + ndel), &err), &err);
    STEP_OK("replace (upsert + delete)");
    /* The replaced records answer with their new vectors. */
    for (int i = 0; i < nup; i++) {
        const mrec *r = &ms.rec[ids[i]];
        rg_query_opts o = {.k = 1};
        leann_cand *got = NULL;
        size_t ng = 0;
        CHECK_OK(leann_search(&c, r->vec, &o, &got, &ng, &err), &err);
        CHECK_MSG(ng == 1 && (got[0].node == r->node || got[0].dist <= 1e-5f), "record %d not found by its vector",
                  ids[i]);
        free(got);
    }
    while (c.consolidate_next >= 0)
        CHECK_OK(leann_consolidate_step(&c, c.live, 0, &err), &err);

    /* A full rebuild: nodes renumbered in insertion order, no tombstone. */
    int rebuilds = ms.rebuilds;
    CHECK_OK(leann_rebuild(&c, NULL, NULL, 0, &err), &err);
    CHECK_EQ_INT(ms.rebuilds, rebuilds + 1);
    CHECK_EQ_INT(c.graph.n, (uint32_t)c.live);
    for (uint32_t v = 1; v < c.graph.n; v++)
        CHECK(ms.rec[ms.rec_of[v - 1]].seq < ms.rec[ms.rec_of[v]].seq);
    STEP_OK("rebuild");
    CHECK(ms.saves > 0 && ms.truncations > 0);
    fprintf(stderr, "    callbacks: %d saves, %d moves, %d truncations, %d rebuilds\n", ms.saves, ms.moves,
            ms.truncations, ms.rebuilds);

    /* A store that cannot persist: every write reports its error (the
     * SQLite layer then rolls back and reloads). */
    ms.fail = true;
    for (int i = 0; i < 10; i++) {
        ids[i] = 3 + i * 5;
        vecs[i] = pool + (size_t)used++ * dim;
    }
    CHECK(ms_add(&ms, ids, vecs, 10, &err) == RG_ERR_IO);
    CHECK_EQ_STR(err.msg, "save refused");
    int gone[1] = {0};
    while (!ms.rec[gone[0]].live)
        gone[0]++;
    CHECK(ms_delete(&ms, gone, 1, &err) == RG_ERR_IO);
    CHECK(leann_rebuild(&c, NULL, NULL, 0, &err) == RG_ERR_IO);
    CHECK_EQ_STR(err.msg, "renumber refused");

    leann_visit_free(&c.visit);
    leann_cache_free(&c.cache);
    free(c.codes);
    leann_pq_free(&c.pq);
    leann_graph_free(&c.graph);
    free(ms.rec);
    free(ms.rec_of);
    free(ms.sdeg);
    free(ms.snbrs);
    free(ms.sflags);
    free(ms.shas);
    free(ms.scodes);
    free(pool);
}
