/* Product quantisation for the leann backend: each vector is cut into m
 * sub-vectors and each sub-vector is replaced by the index of its nearest
 * centroid (one byte in memory; 4-bit codes of 16 centroids are packed two
 * a byte on disk).  The codebooks are trained with k-means on the
 * collection itself.  A query builds an m x ksub table of inner products
 * once; the approximate distance to any node is then m table look-ups (ADC),
 * which is what steers the graph traversal before exact recompute. */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "leann.h"
#include "util.h"

int leann_pq_default_m(int dim, size_t n)
{
    /* Measured on scifact (bench/leann/RESULTS-codes*.md, cold queries,
     * adaptive rerank).  At 1024 dimensions (the builtin embedder)
     * 16-dimensional sub-vectors (64 bytes a node) keep recall@3/@10
     * against exact search at 0.970/0.962 for 58 recomputed candidates a
     * k = 10 query, where 8-dimensional ones (128 bytes, the previous
     * default) gave 0.968/0.977 for 37; 4-bit codes of the same size lose
     * far more (64 bytes: 0.908/0.917).  Below 768 dimensions (MiniLM-shaped,
     * 384) a recompute is a bert forward pass (~90 ms of CPU for a 256-token
     * passage), so the codes are finer still: 2-dimensional sub-vectors
     * (192 bytes at 384-d).  The PQ order then puts the true 10th neighbour
     * at depth 13.9 on average instead of 33.7, and the adaptive rerank of a
     * k = 10 query recomputes 17.9 passages instead of 43.8 (recall@10
     * 0.991 / 0.977; 2,000 scifact documents, bench/leann/RESULTS-rerank-lab.md).
     * Above LEANN_PQ_COARSE_MAX
     * vectors a collection is walked, not scanned, and the codes steer the
     * walk as well; 64-byte codes were not measured there (the walk is
     * already the weak spot at 256K chunks, docs/leann.md Limits), so those
     * keep 8-dimensional sub-vectors (128 bytes). */
    int first = dim < 768 ? 2 : n > LEANN_PQ_COARSE_MAX ? 8 : 16;
    for (int dsub = first; dsub >= 1; dsub--)
        if (dim % dsub == 0)
            return dim / dsub;
    return dim;
}

/* The largest divisor of dim that is at most want (at least 1). */
static int divisor_at_most(int dim, int want)
{
    if (want > dim)
        want = dim;
    for (int m = want; m > 1; m--)
        if (dim % m == 0)
            return m;
    return 1;
}

void leann_pq_shape(int dim, size_t n, int code_bytes, int code_bits, int *m, int *ksub)
{
    if (code_bits != 4 && code_bits != 8)
        code_bits = LEANN_PQ_DEFAULT_BITS;
    if (code_bytes <= 0) {
        *m = leann_pq_default_m(dim, n);
        *ksub = code_bits == 4 ? 16 : 256;
        return;
    }
    /* 4-bit codes pack two sub-quantisers into a byte on disk. */
    int want = code_bits == 4 ? 2 * code_bytes : code_bytes;
    *m = divisor_at_most(dim, want);
    *ksub = code_bits == 4 ? 16 : 256;
}

/* splitmix64: a tiny deterministic generator so builds are reproducible. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct kmeans_job {
    const float *x;       /* n * dim (full vectors) */
    size_t n;
    int dim, dsub, ksub;
    int j0, j1;           /* sub-quantisers this thread trains */
    float *centroids;     /* m * ksub * dsub */
    uint64_t seed;
} kmeans_job;

/* One codebook (k centroids of d floats) as the d x k block leann_dots_t
 * reads, and the centroids' squared norms. */
static void transpose_block(const float *cent, int k, int d, float *ct, float *norms)
{
    for (int c = 0; c < k; c++) {
        float s = 0;
        for (int t = 0; t < d; t++) {
            float v = cent[(size_t)c * d + t];
            ct[(size_t)t * k + c] = v;
            s += v * v;
        }
        norms[c] = s;
    }
}

static void kmeans_one(const kmeans_job *jb, int j, float *sub, uint32_t *assign, double *sum,
                       uint32_t *cnt, float *ct, float *norms)
{
    size_t n = jb->n;
    int dsub = jb->dsub, ksub = jb->ksub;
    float *cent = jb->centroids + (size_t)j * ksub * dsub;
    for (size_t i = 0; i < n; i++)
        memcpy(sub + i * dsub, jb->x + i * jb->dim + (size_t)j * dsub, sizeof(float) * dsub);
    uint64_t rs = jb->seed ^ ((uint64_t)j * 0x100000001b3ull);
    /* Initial centroids: distinct random rows (Forgy). */
    for (int c = 0; c < ksub; c++) {
        size_t r = (size_t)(rng_next(&rs) % n);
        if ((size_t)ksub >= n)
            r = (size_t)c % n;
        memcpy(cent + (size_t)c * dsub, sub + r * dsub, sizeof(float) * dsub);
    }
    for (int it = 0; it < LEANN_PQ_ITERS; it++) {
        /* Nearest centroid = argmin |c|^2 - 2 <x, c>: one leann_dots_t of
         * the sub-vector against the transposed codebook. */
        transpose_block(cent, ksub, dsub, ct, norms);
        for (size_t i = 0; i < n; i++)
            assign[i] = leann_nearest_t(sub + i * dsub, ct, norms, dsub, ksub);
        memset(sum, 0, sizeof(double) * (size_t)ksub * dsub);
        memset(cnt, 0, sizeof(uint32_t) * ksub);
        for (size_t i = 0; i < n; i++) {
            cnt[assign[i]]++;
            for (int t = 0; t < dsub; t++)
                sum[(size_t)assign[i] * dsub + t] += sub[i * dsub + t];
        }
        for (int c = 0; c < ksub; c++) {
            if (cnt[c] == 0) {
                /* Empty cluster: restart it on a random point so no code is
                 * wasted. */
                size_t r = (size_t)(rng_next(&rs) % n);
                memcpy(cent + (size_t)c * dsub, sub + r * dsub, sizeof(float) * dsub);
                continue;
            }
            for (int t = 0; t < dsub; t++)
                cent[(size_t)c * dsub + t] = (float)(sum[(size_t)c * dsub + t] / cnt[c]);
        }
    }
}

float leann_pq_int8_scale(const float *v, size_t n)
{
    float mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = fabsf(v[i]) > mx ? fabsf(v[i]) : mx;
    return mx / 127.0f;
}

int8_t leann_pq_int8_of(float v, float scale)
{
    if (scale <= 0)
        return 0;
    long q = lrintf(v / scale);
    return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

static void *kmeans_thread(void *arg)
{
    const kmeans_job *jb = arg;
    float *sub = rg_xmalloc(sizeof(float) * jb->n * jb->dsub);
    uint32_t *assign = rg_xmalloc(sizeof(uint32_t) * jb->n);
    double *sum = rg_xmalloc(sizeof(double) * (size_t)jb->ksub * jb->dsub);
    uint32_t *cnt = rg_xmalloc(sizeof(uint32_t) * jb->ksub);
    float *ct = rg_xmalloc(sizeof(float) * (size_t)jb->ksub * jb->dsub);
    float *norms = rg_xmalloc(sizeof(float) * (size_t)jb->ksub);
    for (int j = jb->j0; j < jb->j1; j++)
        kmeans_one(jb, j, sub, assign, sum, cnt, ct, norms);
    free(ct);
    free(norms);
    free(sub);
    free(assign);
    free(sum);
    free(cnt);
    return NULL;
}

rg_status leann_pq_train(leann_pq *pq, const float *x, size_t n, int dim, int code_bytes, int code_bits,
                         uint64_t seed, rg_error *err)
{
    memset(pq, 0, sizeof *pq);
    int m = 0, ksub = 0;
    if (dim > 0)
        leann_pq_shape(dim, n, code_bytes, code_bits, &m, &ksub);
    if (n == 0 || dim <= 0 || m <= 0 || dim % m != 0)
        return rg_error_set(err, RG_ERR_INTERNAL, "leann: cannot train PQ (n=%zu dim=%d m=%d)", n, dim, m);
    pq->dim = dim;
    pq->m = m;
    pq->dsub = dim / m;
    pq->ksub = n < (size_t)ksub ? (int)n : ksub;
    pq->centroids = rg_xcalloc((size_t)m * pq->ksub * pq->dsub, sizeof(float));

    /* Sample without replacement (partial Fisher-Yates on an index). */
    const float *train = x;
    float *sample = NULL;
    size_t ntrain = n;
    if (n > LEANN_PQ_TRAIN_MAX) {
        uint32_t *idx = rg_xmalloc(sizeof(uint32_t) * n);
        for (size_t i = 0; i < n; i++)
            idx[i] = (uint32_t)i;
        uint64_t rs = seed;
        ntrain = LEANN_PQ_TRAIN_MAX;
        sample = rg_xmalloc(sizeof(float) * ntrain * dim);
        for (size_t i = 0; i < ntrain; i++) {
            size_t r = i + (size_t)(rng_next(&rs) % (n - i));
            uint32_t t = idx[i];
            idx[i] = idx[r];
            idx[r] = t;
            memcpy(sample + i * dim, x + (size_t)idx[i] * dim, sizeof(float) * dim);
        }
        free(idx);
        train = sample;
    }

    int nth = rg_cpu_count();
    if (nth > m)
        nth = m;
    if (nth > 8)
        nth = 8;
    kmeans_job jobs[8];
    pthread_t th[8];
    for (int t = 0; t < nth; t++) {
        jobs[t] = (kmeans_job){train, ntrain, dim, pq->dsub, pq->ksub, m * t / nth, m * (t + 1) / nth,
                               pq->centroids, seed};
    }
    int started = 0;
    for (int t = 1; t < nth; t++) {
        if (pthread_create(&th[t], NULL, kmeans_thread, &jobs[t]) != 0)
            break;
        started = t;
    }
    kmeans_thread(&jobs[0]);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
    for (int t = started + 1; t < nth; t++)   /* threads that could not start */
        kmeans_thread(&jobs[t]);
    free(sample);
    /* The codebooks go to disk as int8 with one scale per sub-quantiser
     * (half of float16; codebooks are 256 x dim values, 256 KB at 1024-d).
     * Round now so encoding uses exactly the centroids a reader will see. */
    size_t per = (size_t)pq->ksub * pq->dsub;
    pq->scales = rg_xmalloc(sizeof(float) * (size_t)m);
    for (int j = 0; j < m; j++) {
        float *cent = pq->centroids + (size_t)j * per;
        pq->scales[j] = leann_pq_int8_scale(cent, per);
        for (size_t t = 0; t < per; t++)
            cent[t] = (float)leann_pq_int8_of(cent[t], pq->scales[j]) * pq->scales[j];
    }
    leann_pq_prepare(pq);
    return RG_OK;
}

void leann_pq_prepare(leann_pq *pq)
{
    size_t per = (size_t)pq->ksub * pq->dsub;
    free(pq->ct);
    free(pq->norms);
    pq->ct = rg_xmalloc(sizeof(float) * (size_t)pq->m * per + 1);
    pq->norms = rg_xmalloc(sizeof(float) * (size_t)pq->m * pq->ksub + 1);
    for (int j = 0; j < pq->m; j++)
        transpose_block(pq->centroids + (size_t)j * per, pq->ksub, pq->dsub, pq->ct + (size_t)j * per,
                        pq->norms + (size_t)j * pq->ksub);
}

void leann_pq_encode(const leann_pq *pq, const float *x, uint8_t *code)
{
    size_t per = (size_t)pq->ksub * pq->dsub;
    for (int j = 0; j < pq->m; j++)
        code[j] = (uint8_t)leann_nearest_t(x + (size_t)j * pq->dsub, pq->ct + (size_t)j * per,
                                           pq->norms + (size_t)j * pq->ksub, pq->dsub, pq->ksub);
}

void leann_pq_translation(const leann_pq *from, const leann_pq *to, uint8_t *table)
{
    size_t per = (size_t)to->ksub * to->dsub;
    for (int j = 0; j < from->m; j++)
        for (int o = 0; o < from->ksub; o++)
            table[(size_t)j * from->ksub + o] = (uint8_t)leann_nearest_t(
                from->centroids + ((size_t)j * from->ksub + o) * from->dsub, to->ct + (size_t)j * per,
                to->norms + (size_t)j * to->ksub, to->dsub, to->ksub);
}

/* Sub-vectors of dsub floats, in a copy the compiler makes a move or two
 * when dsub is a constant (always inlined into leann_pq_decode's cases). */
static inline __attribute__((always_inline)) void decode_sub(const leann_pq *pq, const uint8_t *code, float *x,
                                                             size_t dsub)
{
    for (size_t j = 0; j < (size_t)pq->m; j++)
        memcpy(x + j * dsub, pq->centroids + (j * (size_t)pq->ksub + code[j]) * dsub, dsub * sizeof(float));
}

void leann_pq_decode(const leann_pq *pq, const uint8_t *code, float *x)
{
    /* The sub-vector sizes the defaults give (leann_pq_default_m) with a
     * constant size: a call to memcpy for each 32-byte sub-vector was most
     * of the decode of the reconstructions an insert's re-prunes read. */
    switch (pq->dsub) {
    case 2:
        decode_sub(pq, code, x, 2);
        break;
    case 8:
        decode_sub(pq, code, x, 8);
        break;
    case 16:
        decode_sub(pq, code, x, 16);
        break;
    default:
        decode_sub(pq, code, x, (size_t)pq->dsub);
    }
}

void leann_pq_table(const leann_pq *pq, const float *q, float *table)
{
    size_t per = (size_t)pq->ksub * pq->dsub;
    for (int j = 0; j < pq->m; j++)
        leann_dots_t(q + (size_t)j * pq->dsub, pq->ct + (size_t)j * per, pq->dsub, pq->ksub,
                     table + (size_t)j * pq->ksub);
}

void leann_pq_table_encode(const leann_pq *pq, const float *q, float *table, uint8_t *code)
{
    leann_pq_table(pq, q, table);
    for (int j = 0; j < pq->m; j++)
        code[j] = (uint8_t)leann_nearest_of_dots(table + (size_t)j * pq->ksub, pq->norms + (size_t)j * pq->ksub,
                                                 pq->ksub);
}

void leann_pq_dists(void *pq_query, const uint32_t *nodes, int n, float *out)
{
    const leann_pq_query *q = pq_query;
    size_t m = (size_t)q->pq->m;
    /* A walk's codes are scattered over the whole codes array (128 MB at
     * 1M nodes): loading a list's worth together instead of one after the
     * other halved the time of these look-ups on 2.4M random codes of 128
     * bytes (Xeon, 2 cores). */
    for (int i = 0; i < n; i++) {
        const uint8_t *code = q->codes + (size_t)nodes[i] * m;
        for (size_t off = 0; off < m; off += 64)
            __builtin_prefetch(code + off);
        __builtin_prefetch(code + m - 1);
    }
    for (int i = 0; i < n; i++)
        out[i] = leann_pq_distance(q->pq, q->table, q->codes + (size_t)nodes[i] * m);
}

void leann_pq_free(leann_pq *pq)
{
    free(pq->centroids);
    free(pq->scales);
    free(pq->ct);
    free(pq->norms);
    memset(pq, 0, sizeof *pq);
}
