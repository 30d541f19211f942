/* Graph-only benchmark for the leann backend: build cost and walk recall on
 * precomputed vectors, without SQLite or recompute in the way (built by
 * bench/leann/graph.sh against build/libragged.a).
 *
 *   graph_lab embed CORPUS QUERIES NDOCS NQ OUT
 *       embeds the first NDOCS documents (title + " " + text) and NQ queries
 *       with the configured embedder (RAGGED_BENCH_PROVIDER / _MODEL) and
 *       writes OUT.docs / OUT.queries (u32 n, u32 dim, n*dim float32)
 *   graph_lab eval OUT L1,L2,...
 *       builds the graph over OUT.docs (CPU seconds, peak RSS), trains PQ,
 *       then for every beam width L walks the graph for every query twice:
 *       on exact distances (graph quality alone) and on PQ distances followed
 *       by the exact rerank of the best R = max(k + 20, L / 40) live nodes
 *       seen (what leann_query does; RAGGED_BENCH_R fixes R).  recall@3 and
 *       recall@10 are against brute force; "PQ dist/query" is distance
 *       computations per walk (the walk's cost: ADC look-ups, no recompute).
 *
 * Environment: RAGGED_BENCH_DEGREE / _PRUNED (graph_degree / pruned_degree,
 * default 32 / 12), RAGGED_BENCH_HUBS (hub fraction, default 0.02),
 * RAGGED_BENCH_SEEDS (also start the walk from the best N hubs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>

#include "config.h"
#include "embedder.h"
#include "leann.h"
#include "util.h"
#include "../bench_util.h"

static void die(const char *what, const rg_error *err)
{
    fprintf(stderr, "graph_lab: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static char **read_texts(const char *path, size_t max, bool corpus, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    char **t = rg_xmalloc(max * sizeof *t), *line = NULL;
    size_t cap = 0;
    *n = 0;
    while (*n < max && getline(&line, &cap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        const char *text = j ? json_string_value(json_object_get(j, "text")) : NULL;
        const char *title = j ? json_string_value(json_object_get(j, "title")) : NULL;
        if (text)
            t[(*n)++] = corpus && title && *title ? rg_xasprintf("%s %s", title, text) : rg_xstrdup(text);
        json_decref(j);
    }
    free(line);
    fclose(f);
    return t;
}

static int embed(char **argv)
{
    size_t nd, nq;
    char **docs = read_texts(argv[2], (size_t)atol(argv[4]), true, &nd);
    char **qs = read_texts(argv[3], (size_t)atol(argv[5]), false, &nq);
    rg_config *cfg = rg_config_new_defaults();
    rg_error err;
    const char *prov = getenv("RAGGED_BENCH_PROVIDER"), *model = getenv("RAGGED_BENCH_MODEL");
    if (prov && *prov && rg_config_set(cfg, "embedding.provider", prov, RG_SRC_FLAG, &err) != RG_OK)
        die("config", &err);
    if (model && *model && rg_config_set(cfg, "embedding.model", model, RG_SRC_FLAG, &err) != RG_OK)
        die("config", &err);
    const char *prec = getenv("RAGGED_BENCH_PRECISION");
    if (prec && *prec && rg_config_set(cfg, "embedding.precision", prec, RG_SRC_FLAG, &err) != RG_OK)
        die("config", &err);
    rg_embedder *emb;
    if (rg_embedder_open(cfg, &emb, &err) != RG_OK)
        die("embedder", &err);
    int dim = emb->identity.dim;
    float *dv = rg_xmalloc(sizeof(float) * nd * (size_t)dim), *qv = rg_xmalloc(sizeof(float) * nq * (size_t)dim);
    double t0 = rg_now();
    if (rg_embedder_embed(emb, (const char *const *)docs, nd, RG_EMBED_DOCUMENT, dv, &err) != RG_OK ||
        rg_embedder_embed(emb, (const char *const *)qs, nq, RG_EMBED_QUERY, qv, &err) != RG_OK)
        die("embed", &err);
    char *p = rg_xasprintf("%s.docs", argv[6]);
    bench_write_vecs(p, dv, (uint32_t)nd, (uint32_t)dim);
    free(p);
    p = rg_xasprintf("%s.queries", argv[6]);
    bench_write_vecs(p, qv, (uint32_t)nq, (uint32_t)dim);
    free(p);
    printf("embedded docs=%zu queries=%zu dim=%d in %.1f s (%s %s)\n", nd, nq, dim, rg_now() - t0, emb->identity.kind,
           emb->identity.model);
    return 0;
}

typedef struct dctx {
    const float *v, *q;
    int dim;
    const leann_pq *pq;
    const float *table;
    const uint8_t *codes;
    uint64_t calls;
} dctx;

static void exact_d(void *c, const uint32_t *nodes, int n, float *out)
{
    dctx *x = c;
    x->calls += (uint64_t)n;
    for (int i = 0; i < n; i++)
        out[i] = 1.0f - leann_dot(x->q, x->v + (size_t)nodes[i] * x->dim, (size_t)x->dim);
}

static void pq_d(void *c, const uint32_t *nodes, int n, float *out)
{
    dctx *x = c;
    x->calls += (uint64_t)n;
    for (int i = 0; i < n; i++)
        out[i] = leann_pq_distance(x->pq, x->table, x->codes + (size_t)nodes[i] * x->pq->m);
}

static int cmp_cand(const void *a, const void *b) { return leann_cand_cmp(a, b); }

static void brute(const float *v, uint32_t n, int dim, const float *q, int k, uint32_t *out)
{
    leann_cand *all = rg_xmalloc(sizeof(leann_cand) * n);
    for (uint32_t i = 0; i < n; i++)
        all[i] = (leann_cand){1.0f - leann_dot(q, v + (size_t)i * dim, (size_t)dim), i};
    qsort(all, n, sizeof *all, cmp_cand);
    for (int i = 0; i < k; i++)
        out[i] = all[i].node;
    free(all);
}

static double overlap(const uint32_t *got, int ngot, const uint32_t *truth, int k)
{
    int hit = 0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < ngot && j < k; j++)
            hit += got[j] == truth[i];
    return (double)hit / k;
}

/* Exact top-k among cand. */
static int rerank(const float *v, int dim, const float *q, const uint32_t *cand, int n, int k, uint32_t *out)
{
    leann_cand *cs = rg_xmalloc(sizeof(leann_cand) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        cs[i] = (leann_cand){1.0f - leann_dot(q, v + (size_t)cand[i] * dim, (size_t)dim), cand[i]};
    qsort(cs, (size_t)n, sizeof *cs, cmp_cand);
    int m = n < k ? n : k;
    for (int i = 0; i < m; i++)
        out[i] = cs[i].node;
    free(cs);
    return m;
}

/* The entry plus the best nseeds hubs by dist. */
static int pick_seeds(const leann_graph *g, leann_dist_fn dist, void *ctx, const uint32_t *hub, uint32_t nh,
                      leann_cand *hc, int nseeds, uint32_t *seeds)
{
    int ns = 0;
    seeds[ns++] = g->entry;
    if (nseeds <= 0)
        return ns;
    for (uint32_t i = 0; i < nh; i++) {
        dist(ctx, &hub[i], 1, &hc[i].dist);
        hc[i].node = hub[i];
    }
    qsort(hc, nh, sizeof *hc, cmp_cand);
    for (uint32_t i = 0; i < nh && ns < nseeds + 1; i++)
        if (hc[i].node != g->entry)
            seeds[ns++] = hc[i].node;
    return ns;
}

static int eval(char **argv)
{
    uint32_t n, dim, nq, qdim;
    char *p = rg_xasprintf("%s.docs", argv[2]);
    float *v = bench_read_vecs(p, 0, &n, &dim);
    free(p);
    p = rg_xasprintf("%s.queries", argv[2]);
    float *q = bench_read_vecs(p, 0, &nq, &qdim);
    free(p);
    if (qdim != dim)
        die("dimensions differ", NULL);
    int degree = getenv("RAGGED_BENCH_DEGREE") ? atoi(getenv("RAGGED_BENCH_DEGREE")) : 32;
    int pruned = getenv("RAGGED_BENCH_PRUNED") ? atoi(getenv("RAGGED_BENCH_PRUNED")) : 12;
    double hubs = getenv("RAGGED_BENCH_HUBS") ? atof(getenv("RAGGED_BENCH_HUBS")) : 0.02;
    leann_graph g;
    leann_graph_init(&g, degree, pruned);
    double c0 = cpu_seconds(), w0 = rg_now();
    leann_graph_build(&g, v, n, (int)dim, hubs, 0x1ea22);
    double build_cpu = cpu_seconds() - c0, build_wall = rg_now() - w0;
    uint32_t nhub = 0;
    for (uint32_t i = 0; i < n; i++)
        nhub += (g.flags[i] & LEANN_NODE_HUB) != 0;
    /* Bytes of the graph file as ragged writes it (what storage compares). */
    int64_t gbytes = -1;
    {
        rg_error gerr;
        char *gp = rg_xasprintf("%s.graph-lab.bin", argv[2]);
        if (leann_graph_write(&g, gp, &gbytes, &gerr) != RG_OK)
            gbytes = -1;
        remove(gp);
        free(gp);
    }
    printf("docs=%u queries=%u dim=%u graph_degree=%d pruned_degree=%d hubs=%u avg_degree=%.2f graph_file_bytes=%lld "
           "build_cpu_s=%.2f build_wall_s=%.2f peak_rss_mb=%.1f\n",
           n, nq, dim, degree, pruned, nhub, leann_graph_avg_degree(&g), (long long)gbytes, build_cpu, build_wall,
           peak_rss_kb() / 1024.0);
    fflush(stdout);
    leann_pq pq;
    rg_error err;
    if (leann_pq_train(&pq, v, n, (int)dim, 0, 0, 0xc0de5, &err) != RG_OK)
        die("pq", &err);
    uint8_t *codes = rg_xmalloc((size_t)n * pq.m);
    for (uint32_t i = 0; i < n; i++)
        leann_pq_encode(&pq, v + (size_t)i * dim, codes + (size_t)i * pq.m);
    uint32_t (*truth)[10] = rg_xmalloc(sizeof *truth * nq);
    for (uint32_t i = 0; i < nq; i++)
        brute(v, n, (int)dim, q + (size_t)i * dim, 10, truth[i]);
    float *table = rg_xmalloc(sizeof(float) * (size_t)pq.m * pq.ksub);
    leann_visit vs = {0};
    int fixed_r = getenv("RAGGED_BENCH_R") ? atoi(getenv("RAGGED_BENCH_R")) : 0;
    int nseeds = getenv("RAGGED_BENCH_SEEDS") ? atoi(getenv("RAGGED_BENCH_SEEDS")) : 0;
    uint32_t *hub = rg_xmalloc(sizeof(uint32_t) * n), nh = 0;
    for (uint32_t i = 0; i < n; i++)
        if (g.flags[i] & LEANN_NODE_HUB)
            hub[nh++] = i;
    leann_cand *hc = rg_xmalloc(sizeof(leann_cand) * (nh + 1));
    uint32_t *seeds = rg_xmalloc(sizeof(uint32_t) * (size_t)(nseeds + 1));
    printf("| L | exact walk r@10 | PQ walk+rerank r@3 | PQ walk+rerank r@10 | rerank R (k=10) | PQ dist/query |"
           " PQ scan+rerank r@10 |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    char *Ls = rg_xstrdup(argv[3]);
    for (char *tok = strtok(Ls, ","); tok; tok = strtok(NULL, ",")) {
        int L = atoi(tok);
        int R = L / 40 > 30 ? L / 40 : 30, R3 = L / 40 > 23 ? L / 40 : 23;   /* leann_query's default */
        if (fixed_r)
            R = R3 = fixed_r;
        double ex10 = 0, pq3 = 0, pq10 = 0, scan10 = 0;
        uint64_t pqcalls = 0;
        uint32_t *cand = rg_xmalloc(sizeof(uint32_t) * (size_t)(R > n ? R : n)), got[10];
        for (uint32_t i = 0; i < nq; i++) {
            const float *qi = q + (size_t)i * dim;
            dctx x = {v, qi, (int)dim, &pq, table, codes, 0};
            leann_cand *seen;
            size_t nseen;
            int ns = pick_seeds(&g, exact_d, &x, hub, nh, hc, nseeds, seeds);
            leann_beam_search_from(&g, exact_d, &x, L, seeds, ns, &vs, &seen, &nseen);
            for (int t = 0; t < 10 && t < (int)nseen; t++)
                got[t] = seen[t].node;
            ex10 += overlap(got, nseen < 10 ? (int)nseen : 10, truth[i], 10);
            free(seen);
            leann_pq_table(&pq, qi, table);
            x.calls = 0;
            ns = pick_seeds(&g, pq_d, &x, hub, nh, hc, nseeds, seeds);
            leann_beam_search_from(&g, pq_d, &x, L, seeds, ns, &vs, &seen, &nseen);
            pqcalls += x.calls;
            int nc = 0;
            for (size_t t = 0; t < nseen && nc < R; t++)
                cand[nc++] = seen[t].node;
            int m = rerank(v, (int)dim, qi, cand, nc, 10, got);
            pq10 += overlap(got, m, truth[i], 10);
            m = rerank(v, (int)dim, qi, cand, nc < R3 ? nc : R3, 3, got);
            pq3 += overlap(got, m, truth[i], 3);
            free(seen);
            /* Baseline: the best R codes of the whole collection. */
            leann_cand *all = rg_xmalloc(sizeof(leann_cand) * n);
            for (uint32_t t = 0; t < n; t++) {
                pq_d(&x, &t, 1, &all[t].dist);
                all[t].node = t;
            }
            qsort(all, n, sizeof *all, cmp_cand);
            for (int t = 0; t < R; t++)
                cand[t] = all[t].node;
            free(all);
            m = rerank(v, (int)dim, qi, cand, R, 10, got);
            scan10 += overlap(got, m, truth[i], 10);
        }
        printf("| %d | %.3f | %.3f | %.3f | %d | %.0f | %.3f |\n", L, ex10 / nq, pq3 / nq, pq10 / nq, R,
               (double)pqcalls / nq, scan10 / nq);
        fflush(stdout);
        free(cand);
    }
    free(Ls);
    free(table);
    free(truth);
    free(codes);
    leann_pq_free(&pq);
    leann_visit_free(&vs);
    leann_graph_free(&g);
    free(v);
    free(q);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 7 && !strcmp(argv[1], "embed"))
        return embed(argv);
    if (argc == 4 && !strcmp(argv[1], "eval"))
        return eval(argv);
    fprintf(stderr, "usage: see the comment at the top of graph_lab.c\n");
    return 2;
}
