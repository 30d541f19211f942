/* Rerank-order lab for the leann backend: how many exact recomputes a query
 * needs for which recall, for several candidate orders, on precomputed
 * vectors (bench/leann/graph.sh's graph_lab embed writes them).  No graph,
 * no SQLite: every document is a candidate (a scan, as leann does below
 * scan_threshold), ordered by
 *   pq      the collection's PQ code (ADC), as leann_search does
 *   refined the PQ distance corrected by a second, residual code
 * and reranked with leann_rerank_exact (adaptive rule, or a fixed count).
 *
 *   rerank_lab OUT [B1 [B2]]    B1 code bytes of the first stage (0: auto),
 *                               B2 of the residual stage (default B1)
 * Prints, per order: the depth in that order of the true 10th neighbour
 * (mean, p50, p90: recomputes an oracle stopping rule would need), recall@10
 * at fixed recompute counts, and the adaptive rule's recall and recomputes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leann.h"
#include "util.h"
#include "../bench_util.h"

typedef struct vctx {
    const float *docs;
    int dim;
    size_t calls;
} vctx;

static rg_status vecs_fn(void *ctx, const uint32_t *nodes, size_t n, float *out, rg_error *err)
{
    vctx *v = ctx;
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * v->dim, v->docs + (size_t)nodes[i] * v->dim, sizeof(float) * v->dim);
    v->calls++;
    return RG_OK;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void report(const char *name, const float *docs, const float *qs, uint32_t n, uint32_t nq, int dim,
                   float **dist, int cap)
{
    int fixed[] = {10, 12, 15, 20, 30, 50};
    double rec_fixed[6] = {0}, rec_ad = 0, n_ad = 0, calls = 0;
    int *depth = rg_xmalloc(nq * sizeof *depth);
    leann_cand *cand = rg_xmalloc(n * sizeof *cand), *ex = rg_xmalloc(n * sizeof *ex);
    float *exact = rg_xmalloc(n * sizeof *exact);
    for (uint32_t qi = 0; qi < nq; qi++) {
        const float *q = qs + (size_t)qi * dim;
        for (uint32_t i = 0; i < n; i++) {
            cand[i] = (leann_cand){dist[qi][i], i};
            ex[i] = (leann_cand){1.0f - rg_dot(q, docs + (size_t)i * dim, dim), i};
        }
        qsort(cand, n, sizeof *cand, leann_cand_cmp);
        qsort(ex, n, sizeof *ex, leann_cand_cmp);
        uint8_t *truth = rg_xcalloc(n, 1);
        for (int i = 0; i < 10; i++)
            truth[ex[i].node] = 1;
        int d = 0, found = 0;
        for (uint32_t i = 0; i < n && found < 10; i++)
            if (truth[cand[i].node]) {
                found++;
                d = (int)i + 1;
            }
        depth[qi] = d;
        for (int f = 0; f < 6; f++) {
            /* top 10 by exact among the first fixed[f] */
            leann_cand tmp[64];
            int m = fixed[f];
            for (int i = 0; i < m; i++)
                tmp[i] = (leann_cand){1.0f - rg_dot(q, docs + (size_t)cand[i].node * dim, dim), cand[i].node};
            qsort(tmp, m, sizeof *tmp, leann_cand_cmp);
            int h = 0;
            for (int i = 0; i < 10; i++)
                h += truth[tmp[i].node];
            rec_fixed[f] += h / 10.0;
        }
        vctx vc = {docs, dim, 0};
        size_t scored = 0;
        rg_error err;
        size_t nc = RG_MIN((size_t)cap, (size_t)n);
        leann_rerank_rule rule = {getenv("RAGGED_BENCH_FIRST") ? atoi(getenv("RAGGED_BENCH_FIRST")) : LEANN_RERANK_MIN,
                                  getenv("RAGGED_BENCH_STEP") ? atoi(getenv("RAGGED_BENCH_STEP")) : LEANN_RERANK_STEP,
                                  getenv("RAGGED_BENCH_MISSES") ? atof(getenv("RAGGED_BENCH_MISSES"))
                                                                : LEANN_RERANK_MISSES};
        leann_rerank_exact_rule(q, dim, cand, nc, 10, &rule, vecs_fn, &vc, exact, &scored, &err);
        leann_cand tmp[1024];
        for (size_t i = 0; i < scored; i++)
            tmp[i] = (leann_cand){exact[i], cand[i].node};
        qsort(tmp, scored, sizeof *tmp, leann_cand_cmp);
        int h = 0;
        for (size_t i = 0; i < RG_MIN(scored, (size_t)10); i++)
            h += truth[tmp[i].node];
        rec_ad += h / 10.0;
        n_ad += (double)scored;
        calls += (double)vc.calls;
        free(truth);
    }
    double dm = 0;
    for (uint32_t i = 0; i < nq; i++)
        dm += depth[i];
    qsort(depth, nq, sizeof *depth, cmp_int);
    printf("| %s | %.1f | %d | %d |", name, dm / nq, depth[nq / 2], depth[(size_t)(nq * 0.9)]);
    for (int f = 0; f < 6; f++)
        printf(" %.3f |", rec_fixed[f] / nq);
    printf(" %.3f | %.1f | %.1f |\n", rec_ad / nq, n_ad / nq, calls / nq);
    free(depth);
    free(cand);
    free(ex);
    free(exact);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rerank_lab OUT [B1 [B2]]\n");
        return 2;
    }
    uint32_t n, dim, nq, qdim;
    char *p = rg_xasprintf("%s.docs", argv[1]);
    float *docs = bench_read_vecs(p, 0, &n, &dim);
    free(p);
    p = rg_xasprintf("%s.queries", argv[1]);
    float *qs = bench_read_vecs(p, 0, &nq, &qdim);
    free(p);
    int b1 = argc > 2 ? atoi(argv[2]) : 0;
    int b2 = argc > 3 ? atoi(argv[3]) : b1;
    int cap = getenv("RAGGED_BENCH_CAP") ? atoi(getenv("RAGGED_BENCH_CAP")) : 75;
    rg_error err;
    leann_pq pq1, pq2;
    if (leann_pq_train(&pq1, docs, n, (int)dim, b1, 8, 1, &err) != RG_OK)
        return 1;
    uint8_t *c1 = rg_xmalloc((size_t)n * pq1.m);
    float *res = rg_xmalloc(sizeof(float) * n * dim), *rec = rg_xmalloc(sizeof(float) * dim);
    double err1 = 0;
    for (uint32_t i = 0; i < n; i++) {
        leann_pq_encode(&pq1, docs + (size_t)i * dim, c1 + (size_t)i * pq1.m);
        leann_pq_decode(&pq1, c1 + (size_t)i * pq1.m, rec);
        for (uint32_t d = 0; d < dim; d++) {
            res[(size_t)i * dim + d] = docs[(size_t)i * dim + d] - rec[d];
            err1 += (double)res[(size_t)i * dim + d] * res[(size_t)i * dim + d];
        }
    }
    if (leann_pq_train(&pq2, res, n, (int)dim, b2 ? b2 : pq1.m, 8, 2, &err) != RG_OK)
        return 1;
    uint8_t *c2 = rg_xmalloc((size_t)n * pq2.m);
    double err2 = 0;
    for (uint32_t i = 0; i < n; i++) {
        leann_pq_encode(&pq2, res + (size_t)i * dim, c2 + (size_t)i * pq2.m);
        leann_pq_decode(&pq2, c2 + (size_t)i * pq2.m, rec);
        for (uint32_t d = 0; d < dim; d++) {
            float e = res[(size_t)i * dim + d] - rec[d];
            err2 += (double)e * e;
        }
    }
    printf("docs=%u queries=%u dim=%u stage1 m=%d (mse %.5f) residual m=%d (mse %.5f) cap=%d\n", n, nq, dim, pq1.m,
           err1 / n, pq2.m, err2 / n, cap);
    float **d1 = rg_xmalloc(nq * sizeof *d1), **d2 = rg_xmalloc(nq * sizeof *d2);
    float *t1 = rg_xmalloc(sizeof(float) * pq1.m * pq1.ksub), *t2 = rg_xmalloc(sizeof(float) * pq2.m * pq2.ksub);
    for (uint32_t qi = 0; qi < nq; qi++) {
        leann_pq_table(&pq1, qs + (size_t)qi * dim, t1);
        leann_pq_table(&pq2, qs + (size_t)qi * dim, t2);
        d1[qi] = rg_xmalloc(n * sizeof(float));
        d2[qi] = rg_xmalloc(n * sizeof(float));
        for (uint32_t i = 0; i < n; i++) {
            d1[qi][i] = leann_pq_distance(&pq1, t1, c1 + (size_t)i * pq1.m);
            /* the residual's inner product: 1 - distance */
            d2[qi][i] = d1[qi][i] - (1.0f - leann_pq_distance(&pq2, t2, c2 + (size_t)i * pq2.m));
        }
    }
    printf("| order | depth mean | p50 | p90 | r@10 fixed 10 | 12 | 15 | 20 | 30 | 50 | adaptive r@10 | recomputed | "
           "engine calls |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    report("pq", docs, qs, n, nq, (int)dim, d1, cap);
    report("refined", docs, qs, n, nq, (int)dim, d2, cap);
    return 0;
}
