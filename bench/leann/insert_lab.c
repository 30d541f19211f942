/* How well the leann core links a collection that grows by insertion
 * (issue 16, item 3b), without SQLite or an embedder in the way: the
 * vectors of a real ingest (read from an exact-backend collection, in its
 * insertion order) are added to an in-memory leann collection in ingest-sized
 * batches through leann_insert and leann_consolidate_step, exactly the calls
 * the store makes; then leann_search at the collection's defaults is
 * compared with brute force over the same vectors.  Built by
 * bench/leann/insert_lab.sh against build/libragged.a.
 *
 *   insert_lab dump EXACT_SQLITE QUERIES_TXT OUT
 *       OUT.docs: every record's embedding in seq order; OUT.queries: each
 *       line of QUERIES_TXT embedded as a query by the default (builtin)
 *       embedder (u32 n, u32 dim, n * dim float32 each)
 *   insert_lab run OUT N [BATCH]
 *       adds the first N vectors BATCH (default 4096, ingest's) at a time,
 *       prints build CPU, peak RSS, then recall@10 of leann_search (k 10,
 *       default settings, exact refinement beam 100 as with the builtin
 *       embedder) against brute force, p50 CPU, recomputes a query
 *
 * Environment: RAGGED_BENCH_BUILD_MB (build_memory_mb, default 64; large:
 * a bulk build of everything), RAGGED_BENCH_NQ (queries, default all),
 * RAGGED_BENCH_SWEEP ("L:W,L:W": search_complexity and refine_beam pairs to
 * query the same graph with; default 1000:100, the defaults),
 * RAGGED_BENCH_ORACLE_PQ (1: after the last full build, codebooks trained
 * on a sample spread over all N vectors, known in advance: the ceiling of
 * codebook retraining). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sqlite3.h>

#include "config.h"
#include "embedder.h"
#include "leann.h"
#include "util.h"
#include "../bench_util.h"

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "insert_lab: %s: %s\n", what, msg ? msg : "");
    exit(1);
}

static int dump(char **argv)
{
    sqlite3 *db;
    if (sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die(argv[2], sqlite3_errmsg(db));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT embedding FROM records ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
        die("select", sqlite3_errmsg(db));
    char *p = rg_xasprintf("%s.docs", argv[4]);
    FILE *f = fopen(p, "wb");
    uint32_t n = 0, dim = 0;
    if (!f || fwrite(&n, 4, 1, f) != 1 || fwrite(&dim, 4, 1, f) != 1)
        die(p, "cannot write");
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint32_t d = (uint32_t)sqlite3_column_bytes(st, 0) / 4;
        if (dim == 0)
            dim = d;
        if (d != dim)
            die("records", "embeddings of two dimensions");
        if (fwrite(sqlite3_column_blob(st, 0), 4, dim, f) != dim)
            die(p, "cannot write");
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (fseek(f, 0, SEEK_SET) || fwrite(&n, 4, 1, f) != 1 || fwrite(&dim, 4, 1, f) != 1 || fclose(f))
        die(p, "cannot write");
    free(p);

    FILE *q = fopen(argv[3], "r");
    if (!q)
        die(argv[3], "cannot read");
    char **texts = NULL, *line = NULL;
    size_t nq = 0, cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, q)) > 0) {
        if (line[len - 1] == '\n')
            line[len - 1] = 0;
        texts = rg_xrealloc(texts, (nq + 1) * sizeof *texts);
        texts[nq++] = rg_xstrdup(line);
    }
    free(line);
    fclose(q);
    rg_config *cfg = rg_config_new_defaults();
    rg_embedder *emb;
    rg_error err;
    if (rg_embedder_open(cfg, &emb, &err) != RG_OK)
        die("embedder", err.msg);
    if ((uint32_t)emb->identity.dim != dim)
        die("embedder", "the default embedder's dimension is not the collection's");
    float *qv = rg_xmalloc(sizeof(float) * nq * dim);
    if (rg_embedder_embed(emb, (const char *const *)texts, nq, RG_EMBED_QUERY, qv, &err) != RG_OK)
        die("embed", err.msg);
    p = rg_xasprintf("%s.queries", argv[4]);
    bench_write_vecs(p, qv, (uint32_t)nq, dim);
    free(p);
    printf("dumped %u records and %zu queries at %u-d\n", n, nq, dim);
    return 0;
}

/* ---- the in-memory source -------------------------------------------------- */

typedef struct lab {
    const float *vecs;
    uint32_t dim;
    leann_coll *c;
    uint64_t fetched;
} lab;

static rg_status lab_passages(void *ctx, const uint32_t *nodes, size_t n, leann_passage *out, rg_error *err)
{
    (void)err;
    lab *l = ctx;
    for (size_t i = 0; i < n; i++) {
        out[i].text = NULL;
        out[i].vec = rg_xmalloc(sizeof(float) * l->dim);
        memcpy(out[i].vec, l->vecs + (size_t)nodes[i] * l->dim, sizeof(float) * l->dim);
    }
    l->fetched += n;
    return RG_OK;
}

static rg_status lab_filter_set(void *ctx, const rg_filter *where, uint32_t **nodes, size_t *n, rg_error *err)
{
    (void)where;
    (void)err;
    lab *l = ctx;
    const leann_graph *g = &l->c->graph;
    *nodes = rg_xmalloc(sizeof(uint32_t) * (g->n ? g->n : 1));
    *n = 0;
    for (uint32_t v = 0; v < g->n; v++)
        if (!(g->flags[v] & LEANN_NODE_DELETED))
            (*nodes)[(*n)++] = v;
    return RG_OK;
}

static rg_status lab_order(void *ctx, const uint32_t *nodes, size_t n, int64_t *out, rg_error *err)
{
    (void)ctx;
    (void)err;
    for (size_t i = 0; i < n; i++)
        out[i] = nodes[i];
    return RG_OK;
}

/* Node numbers stay record numbers: nothing is deleted here, so a rebuild's
 * renumbering (live nodes in insertion order) is the identity. */
static rg_status lab_live(void *ctx, uint32_t **nodes, int64_t **order, size_t *n, rg_error *err)
{
    uint32_t *all = NULL;
    rg_status rc = lab_filter_set(ctx, NULL, &all, n, err);
    *nodes = all;
    *order = rg_xmalloc(sizeof(int64_t) * (*n ? *n : 1));
    for (size_t i = 0; i < *n; i++)
        (*order)[i] = all[i];
    return rc;
}

static rg_status lab_renumber(void *ctx, const uint32_t *old, const int64_t *order, size_t n, rg_error *err)
{
    (void)ctx;
    (void)order;
    for (size_t i = 0; i < n; i++)
        if (old[i] != i)
            return rg_error_set(err, RG_ERR_INTERNAL, "insert_lab: a rebuild renumbered node %u to %zu", old[i], i);
    return RG_OK;
}

static rg_status lab_moved(void *ctx, const uint32_t *from, const uint32_t *to, size_t n, rg_error *err)
{
    (void)ctx;
    (void)from;
    (void)to;
    return n ? rg_error_set(err, RG_ERR_INTERNAL, "insert_lab: nodes moved") : RG_OK;
}

static rg_status lab_truncated(void *ctx, uint32_t n, rg_error *err)
{
    (void)ctx;
    (void)n;
    (void)err;
    return RG_OK;
}

static rg_status lab_save(void *ctx, const uint8_t *dirty, uint32_t new_from, rg_error *err)
{
    (void)ctx;
    (void)dirty;
    (void)new_from;
    (void)err;
    return RG_OK;
}

static rg_status lab_rebuilt(void *ctx, rg_error *err)
{
    (void)ctx;
    (void)err;
    return RG_OK;
}

static int cmp_cand(const void *a, const void *b) { return leann_cand_cmp(a, b); }
static double env_num(const char *name, double dflt)
{
    const char *s = getenv(name);
    return s && *s ? atof(s) : dflt;
}

/* RAGGED_BENCH_DIAG: where the misses come from.  Recall of a walk on
 * exact distances (the graph's own navigability, no codes) at several
 * beams, of a scan of every PQ code then an exact rerank of the best R (the
 * codes' own ceiling), and the in-degrees of the graph and of the true
 * neighbours the default search missed. */
typedef struct exact_ctx {
    const float *v, *q;
    uint32_t dim;
} exact_ctx;

static void exact_dist(void *ctx, const uint32_t *nodes, int n, float *out)
{
    exact_ctx *e = ctx;
    for (int i = 0; i < n; i++)
        out[i] = 1.0f - leann_dot(e->q, e->v + (size_t)nodes[i] * e->dim, e->dim);
}

static void diag(leann_coll *c, const float *v, uint32_t n, uint32_t dim, const float *qv, uint32_t nq,
                 const float *tenth)
{
    leann_graph *g = &c->graph;
    uint32_t *indeg = rg_xcalloc(g->n, sizeof *indeg);
    for (uint32_t u = 0; u < g->n; u++)
        for (int i = 0; i < g->deg[u]; i++)
            indeg[leann_graph_nbrs(g, u)[i]]++;
    uint32_t hist[6] = {0};
    for (uint32_t u = 0; u < g->n; u++)
        hist[indeg[u] < 5 ? indeg[u] : 5]++;
    printf("diag: in-degree 0: %u, 1: %u, 2: %u, 3: %u, 4: %u, 5+: %u (built_n %u)\n", hist[0], hist[1], hist[2],
           hist[3], hist[4], hist[5], c->built_n);
    int beams[] = {100, 211, 500, 2000};
    for (int b = 0; b < 4; b++) {
        int hit = 0;
        for (uint32_t t = 0; t < nq; t++) {
            exact_ctx e = {v, qv + (size_t)t * dim, dim};
            leann_cand *seen = NULL;
            size_t ns = 0;
            leann_beam_search(g, exact_dist, &e, beams[b], &c->visit, &seen, &ns);
            for (size_t i = 0; i < ns && i < 10; i++)
                hit += seen[i].dist <= tenth[t] + 1e-6f;
            free(seen);
        }
        printf("diag: exact walk beam %d: recall@10 %.4f\n", beams[b], (double)hit / (10.0 * nq));
    }
    float *table = rg_xmalloc(sizeof(float) * (size_t)c->pq.m * c->pq.ksub);
    leann_cand *all = rg_xmalloc(sizeof(leann_cand) * n);
    int rs[] = {211, 1000, 5000};
    int hitr[3] = {0};
    uint64_t miss_in[6] = {0}, miss_ins = 0, nmiss = 0;
    for (uint32_t t = 0; t < nq; t++) {
        const float *q = qv + (size_t)t * dim;
        leann_pq_table(&c->pq, q, table);
        for (uint32_t i = 0; i < n; i++)
            all[i] = (leann_cand){leann_pq_distance(&c->pq, table, c->codes + (size_t)i * c->pq.m), i};
        leann_cand_sort(all, n);
        for (int r = 0; r < 3; r++) {
            float best[10];
            int nb = 0;
            for (int i = 0; i < rs[r] && (uint32_t)i < n; i++) {
                float d = 1.0f - leann_dot(q, v + (size_t)all[i].node * dim, dim);
                if (nb == 10 && d >= best[9])
                    continue;
                int pos = nb < 10 ? nb++ : 9;
                while (pos > 0 && best[pos - 1] > d) {
                    best[pos] = best[pos - 1];
                    pos--;
                }
                best[pos] = d;
            }
            for (int i = 0; i < nb; i++)
                hitr[r] += best[i] <= tenth[t] + 1e-6f;
        }
        /* The default search's misses. */
        rg_query_opts o = {.k = 10};
        leann_cand *got = NULL;
        size_t ng = 0;
        rg_error err;
        if (leann_search(c, q, &o, &got, &ng, &err) != RG_OK)
            die("search", err.msg);
        int qhit = 0;
        for (size_t j = 0; j < ng; j++)
            qhit += 1.0f - leann_dot(q, v + (size_t)got[j].node * dim, dim) <= tenth[t] + 1e-6f;
        for (uint32_t i = 0; i < n && qhit < 10; i++) {
            float d = 1.0f - leann_dot(q, v + (size_t)i * dim, dim);
            if (d > tenth[t] + 1e-6f)
                continue;
            /* a tie with a returned node's distance is a duplicate */
            bool tie = false;
            for (size_t j = 0; j < ng && !tie; j++)
                tie = fabsf(d - (1.0f - leann_dot(q, v + (size_t)got[j].node * dim, dim))) < 1e-6f &&
                      got[j].node != i;
            if (tie)
                continue;
            bool found = false;
            for (size_t j = 0; j < ng && !found; j++)
                found = got[j].node == i;
            if (found)
                continue;
            nmiss++;
            miss_in[indeg[i] < 5 ? indeg[i] : 5]++;
            miss_ins += i >= c->built_n;
        }
        free(got);
        leann_cache_clear(&c->cache);
    }
    for (int r = 0; r < 3; r++)
        printf("diag: PQ scan + exact rerank of %d: recall@10 %.4f\n", rs[r], (double)hitr[r] / (10.0 * nq));
    printf("diag: default search missed %llu true neighbours (%llu inserted); their in-degree 0: %llu, 1: %llu, "
           "2: %llu, 3: %llu, 4: %llu, 5+: %llu\n", (unsigned long long)nmiss, (unsigned long long)miss_ins,
           (unsigned long long)miss_in[0], (unsigned long long)miss_in[1], (unsigned long long)miss_in[2],
           (unsigned long long)miss_in[3], (unsigned long long)miss_in[4], (unsigned long long)miss_in[5]);
    fflush(stdout);
    free(all);
    free(table);
    free(indeg);
}

/* RAGGED_BENCH_SAVE / RAGGED_BENCH_LOAD: the built graph, codebooks and
 * codes to and from a file, so query-side variants skip the build. */
static void put(FILE *f, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, f) != n)
        die("state", "cannot write");
}
static void get(FILE *f, void *p, size_t n)
{
    if (n && fread(p, 1, n, f) != n)
        die("state", "cannot read");
}

static void state_save(const leann_coll *c, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        die(path, "cannot write");
    const leann_graph *g = &c->graph;
    const leann_pq *pq = &c->pq;
    uint32_t hdr[10] = {g->n, (uint32_t)g->max_degree, (uint32_t)g->pruned_degree, g->entry, c->built_n, c->codes_n,
                        (uint32_t)pq->dim, (uint32_t)pq->m, (uint32_t)pq->ksub, pq->scales != NULL};
    put(f, hdr, sizeof hdr);
    put(f, g->deg, sizeof *g->deg * g->n);
    put(f, g->flags, g->n);
    put(f, g->nbrs, sizeof *g->nbrs * (size_t)g->n * (size_t)g->max_degree);
    put(f, pq->centroids, sizeof(float) * (size_t)pq->m * pq->ksub * pq->dsub);
    if (pq->scales)
        put(f, pq->scales, sizeof(float) * (size_t)pq->m);
    put(f, c->codes, (size_t)g->n * pq->m);
    if (fclose(f))
        die(path, "cannot write");
}

static void state_load(leann_coll *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path, "cannot read");
    uint32_t hdr[10];
    get(f, hdr, sizeof hdr);
    leann_graph *g = &c->graph;
    leann_graph_free(g);
    leann_graph_init(g, (int)hdr[1], (int)hdr[2]);
    leann_graph_reserve(g, hdr[0]);
    for (uint32_t i = 0; i < hdr[0]; i++)
        leann_graph_add_node(g);
    g->entry = hdr[3];
    c->built_n = hdr[4];
    c->codes_n = hdr[5];
    get(f, g->deg, sizeof *g->deg * g->n);
    get(f, g->flags, g->n);
    get(f, g->nbrs, sizeof *g->nbrs * (size_t)g->n * (size_t)g->max_degree);
    leann_pq *pq = &c->pq;
    memset(pq, 0, sizeof *pq);
    pq->dim = (int)hdr[6];
    pq->m = (int)hdr[7];
    pq->ksub = (int)hdr[8];
    pq->dsub = pq->dim / pq->m;
    pq->centroids = rg_xmalloc(sizeof(float) * (size_t)pq->m * pq->ksub * pq->dsub);
    get(f, pq->centroids, sizeof(float) * (size_t)pq->m * pq->ksub * pq->dsub);
    if (hdr[9]) {
        pq->scales = rg_xmalloc(sizeof(float) * (size_t)pq->m);
        get(f, pq->scales, sizeof(float) * (size_t)pq->m);
    }
    leann_pq_prepare(pq);
    leann_codes_reserve(c, g->n);
    get(f, c->codes, (size_t)g->n * pq->m);
    fclose(f);
}

static int run(int argc, char **argv)
{
    uint32_t n, dim, nq, qdim;
    float *v = bench_read_vecs(rg_xasprintf("%s.docs", argv[2]), (uint32_t)atol(argv[3]), &n, &dim);
    float *qv = bench_read_vecs(rg_xasprintf("%s.queries", argv[2]), (uint32_t)env_num("RAGGED_BENCH_NQ", 0), &nq, &qdim);
    size_t batch = argc > 4 ? (size_t)atol(argv[4]) : 4096;
    if (qdim != dim)
        die("queries", "dimension differs from the records'");

    leann_coll c;
    memset(&c, 0, sizeof c);
    c.name = "lab";
    c.dim = (int)dim;
    c.params = (leann_params){.graph_degree = 32, .pruned_degree = 8, .search_complexity = 1000,
                              .rerank_candidates = 0, .refine_beam = 100, .code_bytes = 0, .code_bits = 8,
                              .scan_threshold = 16384, .hub_fraction = 0.02, .cache_mb = 64,
                              .build_memory_mb = (int64_t)env_num("RAGGED_BENCH_BUILD_MB", 64)};
    c.consolidate_next = -1;
    c.graph.entry = LEANN_NONE;
    leann_graph_init(&c.graph, c.params.graph_degree, c.params.pruned_degree);
    leann_cache_init(&c.cache, (int)dim, (size_t)c.params.cache_mb << 20);
    lab l = {v, dim, &c, 0};
    c.src = (leann_source){.passages = lab_passages, .filter_set = lab_filter_set, .order = lab_order,
                           .live = lab_live, .moved = lab_moved, .truncated = lab_truncated, .save = lab_save,
                           .renumber = lab_renumber, .rebuilt = lab_rebuilt, .ctx = &l};

    rg_record *recs = rg_xcalloc(batch, sizeof *recs);
    rg_error err;
    bool oracle_pq = env_num("RAGGED_BENCH_ORACLE_PQ", 0) > 0, oracle_done = false;
    double c0 = cpu_seconds(), w0 = rg_now();
    const char *load = getenv("RAGGED_BENCH_LOAD");
    if (load && *load) {
        state_load(&c, load);
        c.live = n;
    }
    for (size_t at = load && *load ? n : 0; at < n; at += batch) {
        size_t b = n - at < batch ? n - at : batch;
        for (size_t i = 0; i < b; i++)
            recs[i].embedding = v + (at + i) * dim;
        int64_t live_after = (int64_t)(at + b);
        if (leann_insert(&c, recs, b, NULL, 0, live_after, &err) != RG_OK)
            die("insert", err.msg);
        c.live = live_after;
        if (oracle_pq && (uint64_t)c.built_n * 2 > leann_rebuild_max_nodes(&c) && !oracle_done) {
            /* Ceiling of codebook retraining: codes trained on a sample
             * spread over the whole collection, known in advance. */
            size_t ns = 32768 < n ? 32768 : n;
            float *smp = rg_xmalloc(sizeof(float) * ns * dim);
            for (size_t i = 0; i < ns; i++)
                memcpy(smp + i * dim, v + (i * (n / ns)) * dim, sizeof(float) * dim);
            int m = c.pq.m, bits = c.pq.ksub <= 16 ? 4 : 8;
            leann_pq_free(&c.pq);
            if (leann_pq_train(&c.pq, smp, ns, (int)dim, m, bits, 0xc0de5, &err) != RG_OK)
                die("oracle pq", err.msg);
            for (uint32_t i = 0; i < c.graph.n; i++)
                leann_pq_encode(&c.pq, v + (size_t)i * dim, c.codes + (size_t)i * c.pq.m);
            free(smp);
            oracle_done = true;
            printf("oracle codebooks at %u nodes (m %d)\n", c.graph.n, c.pq.m);
        }
        if (leann_consolidate_step(&c, c.live, b, &err) != RG_OK)
            die("consolidate", err.msg);
    }
    double build_cpu = cpu_seconds() - c0, build_wall = rg_now() - w0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t fetched_build = l.fetched;
    printf("build: %u records, batch %zu, build_memory_mb %lld: CPU %.1f s, wall %.1f s, peak RSS %ld MB, "
           "%llu vectors fetched, built_n %u, codes_n %u, unreachable %u, avg degree %.2f\n",
           n, batch, (long long)c.params.build_memory_mb, build_cpu, build_wall, ru.ru_maxrss / 1024,
           (unsigned long long)fetched_build, c.built_n, c.codes_n, leann_graph_unreachable(&c.graph),
           leann_graph_avg_degree(&c.graph));
    fflush(stdout);
    const char *save_to = getenv("RAGGED_BENCH_SAVE");
    if (save_to && *save_to)
        state_save(&c, save_to);

    /* The exact 10th distance of every query (ties at it count as hits,
     * as bench_scale's recall10_ties). */
    leann_cand *all = rg_xmalloc(sizeof(leann_cand) * n);
    float *tenth = rg_xmalloc(sizeof(float) * nq);
    for (uint32_t t = 0; t < nq; t++) {
        const float *q = qv + (size_t)t * dim;
        for (uint32_t i = 0; i < n; i++)
            all[i] = (leann_cand){1.0f - leann_dot(q, v + (size_t)i * dim, dim), i};
        qsort(all, n, sizeof *all, cmp_cand);
        tenth[t] = all[9].dist;
    }
    /* RAGGED_BENCH_SWEEP "L:W,L:W": search_complexity and refine_beam
     * pairs to query the same graph with (default: the defaults). */
    const char *sweep = getenv("RAGGED_BENCH_SWEEP");
    char *list = rg_xstrdup(sweep && *sweep ? sweep : "1000:100"), *save = NULL;
    double *cpu = rg_xmalloc(sizeof(double) * nq);
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int sc = 1000, rb = 100, rr = 0;
        sscanf(tok, "%d:%d:%d", &sc, &rb, &rr);
        c.params.search_complexity = sc;
        c.params.refine_beam = rb;
        c.params.rerank_candidates = rr;
        /* Queries on a cold cache, as a one-shot CLI query. */
        leann_cache_clear(&c.cache);
        int hit = 0, total = 0;
        uint64_t recomputed = 0;
        for (uint32_t t = 0; t < nq; t++) {
            const float *q = qv + (size_t)t * dim;
            rg_query_opts o = {.k = 10};
            leann_cand *got = NULL;
            size_t ng = 0;
            uint64_t f0 = l.fetched;
            double t0 = cpu_seconds();
            if (leann_search(&c, q, &o, &got, &ng, &err) != RG_OK)
                die("search", err.msg);
            cpu[t] = cpu_seconds() - t0;
            recomputed += l.fetched - f0;
            leann_cache_clear(&c.cache);
            for (size_t i = 0; i < ng; i++) {
                float d = 1.0f - leann_dot(q, v + (size_t)got[i].node * dim, dim);
                hit += d <= tenth[t] + 1e-6f;
            }
            total += 10;
            free(got);
        }
        qsort(cpu, nq, sizeof *cpu, cmp_double);
        printf("query (search_complexity %d, refine_beam %d, rerank %d): %u queries, recall@10 %.4f, CPU p50 %.1f ms, p95 %.1f ms, "
               "%.1f recomputes a query, beam %d\n", sc, rb, rr, nq,
               (double)hit / total, cpu[nq / 2] * 1e3, cpu[(size_t)(nq * 0.95)] * 1e3, (double)recomputed / nq,
               leann_walk_beam(&c, 0));
        fflush(stdout);
    }
    free(list);
    if (env_num("RAGGED_BENCH_DIAG", 0) > 0)
        diag(&c, v, n, dim, qv, nq, tenth);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "dump"))
        return dump(argv);
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "run"))
        return run(argc, argv);
    fprintf(stderr, "usage: insert_lab dump EXACT_SQLITE QUERIES_TXT OUT | run OUT N [BATCH]\n");
    return 2;
}
