/* leann at scale without a model (issue 16, item 3c): a synthetic
 * "embedder" whose vectors have the structure of a trained model's and are
 * regenerated from the record id, so leann's recompute works with no model
 * and no stored vectors.  Built by bench/leann/synth.sh against
 * build/libragged.a.
 *
 *   synth build DIR N BATCH    adds records 0..N-1 (id "sNNN", passage
 *                              "synth:NNN", vectors supplied) to collection
 *                              "synth" in a leann store under DIR, BATCH at a
 *                              time; prints build wall/CPU seconds, peak RSS
 *   synth query DIR N NQ       opens it (fresh handle: cold cache, default
 *                              settings), runs NQ queries at k = 10 and
 *                              compares with the exact top 10 by brute force
 *                              over the same N generated vectors, in the same
 *                              run: recall@10, p50/p95 wall, CPU p50,
 *                              embeddings recomputed a query, walk or scan
 *
 * The generator (fixed seed; every vector a function of its id alone):
 * 384 dimensions; a shared mean direction (trained sentence models are
 * anisotropic: two unrelated passages have cosine ~0.2-0.3, not 0); 2,048
 * clusters ("topics") of Zipf-like sizes, each a centre plus a private
 * 24-dimensional subspace with a decaying spectrum (0.45 * 0.85^j), plus
 * isotropic noise of 0.2 in every dimension; then L2-normalised.  Queries are
 * drawn from the same mixture (ids from 2^40 on) with 1.5x the noise, as
 * short queries sit farther from any passage than passages from each other.
 * It is a stand-in, not a trained model: recall on it says how leann's
 * graph and codes behave on clustered, anisotropic data of low intrinsic
 * dimension, nothing about any real model's answers.
 *
 * Environment: RAGGED_BENCH_* knobs as bench_leann.c (RERANK, SCAN, PRUNED,
 * DEGREE, CODE_BYTES, CODE_BITS), RAGGED_BENCH_L (search_complexity). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "embedder.h"
#include "store.h"
#include "util.h"
#include "../bench_util.h"

#define DIM 384
#define NCLUST 2048
#define RANK 24
#define SEED 0x5eed2026ULL
#define QUERY_BASE (1ULL << 40)

static void die(const char *what, const rg_error *err)
{
    fprintf(stderr, "synth: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s)
{
    return ((double)(splitmix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double gauss(uint64_t *s)
{
    return sqrt(-2.0 * log(unif(s))) * cos(6.283185307179586 * unif(s));
}

/* The mixture's parameters, derived from SEED. */
typedef struct gen {
    float mean[DIM];
    float *centre;   /* NCLUST * DIM */
    float *basis;    /* NCLUST * RANK * DIM */
    double *cum;     /* NCLUST cumulative cluster weights */
    float scale[RANK];
} gen;

static void gen_init(gen *g)
{
    uint64_t s = SEED;
    double n = 0;
    for (int d = 0; d < DIM; d++) {
        g->mean[d] = (float)gauss(&s);
        n += (double)g->mean[d] * g->mean[d];
    }
    for (int d = 0; d < DIM; d++)
        g->mean[d] = (float)(0.5 * g->mean[d] / sqrt(n));
    g->centre = rg_xmalloc(sizeof(float) * NCLUST * DIM);
    g->basis = rg_xmalloc(sizeof(float) * NCLUST * RANK * DIM);
    g->cum = rg_xmalloc(sizeof(double) * NCLUST);
    for (int c = 0; c < NCLUST; c++) {
        float *ce = g->centre + (size_t)c * DIM;
        n = 0;
        for (int d = 0; d < DIM; d++) {
            ce[d] = (float)gauss(&s);
            n += (double)ce[d] * ce[d];
        }
        for (int d = 0; d < DIM; d++)
            ce[d] = (float)(0.6 * ce[d] / sqrt(n));
        for (int j = 0; j < RANK * DIM; j++)
            g->basis[(size_t)c * RANK * DIM + j] = (float)(gauss(&s) / sqrt((double)DIM));
    }
    double tot = 0;
    for (int c = 0; c < NCLUST; c++) {
        tot += pow(c + 10.0, -0.8);
        g->cum[c] = tot;
    }
    for (int c = 0; c < NCLUST; c++)
        g->cum[c] /= tot;
    for (int j = 0; j < RANK; j++)
        g->scale[j] = (float)(0.45 * pow(0.85, j));
}

static void gen_vec(const gen *g, uint64_t id, float *out)
{
    uint64_t s = SEED ^ (id * 0xd1342543de82ef95ULL + 1);
    double u = unif(&s);
    int lo = 0, hi = NCLUST - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (g->cum[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    double noise = id >= QUERY_BASE ? 0.3 : 0.2;
    const float *ce = g->centre + (size_t)lo * DIM, *B = g->basis + (size_t)lo * RANK * DIM;
    for (int d = 0; d < DIM; d++)
        out[d] = g->mean[d] + ce[d] + (float)(noise * gauss(&s) / sqrt((double)DIM));
    for (int j = 0; j < RANK; j++) {
        float z = (float)gauss(&s) * g->scale[j];
        for (int d = 0; d < DIM; d++)
            out[d] += z * B[(size_t)j * DIM + d];
    }
    double n = 0;
    for (int d = 0; d < DIM; d++)
        n += (double)out[d] * out[d];
    float inv = (float)(1.0 / sqrt(n));
    for (int d = 0; d < DIM; d++)
        out[d] *= inv;
}

/* The embedder: passage "synth:ID" -> the generator's vector of ID. */
static rg_status synth_embed(void *impl, const char *const *texts, size_t n, rg_embed_role role, float *out,
                             rg_error *err)
{
    const gen *g = impl;
    for (size_t i = 0; i < n; i++) {
        const char *t = texts[i];
        char *end = NULL;
        if (!t || strncmp(t, "synth:", 6) != 0)
            return rg_error_set(err, RG_ERR_INVALID, "synth embedder: passage is not 'synth:ID'");
        unsigned long long id = strtoull(t + 6, &end, 10);
        if (end == t + 6 || *end)
            return rg_error_set(err, RG_ERR_INVALID, "synth embedder: bad id in '%s'", t);
        gen_vec(g, id, out + i * DIM);
    }
    return RG_OK;
}

static void synth_free(void *impl) { (void)impl; }

static const rg_embedder_ops synth_ops = {
    .abi_version = RG_EMBEDDER_ABI, .name = "synth", .embed = synth_embed, .free = synth_free};

static rg_embedder *synth_embedder(gen *g)
{
    rg_embedder *e = rg_embedder_new(&synth_ops, g);
    snprintf(e->identity.kind, sizeof e->identity.kind, "synth");
    snprintf(e->identity.model, sizeof e->identity.model, "aniso-clusters-v1");
    e->identity.dim = DIM;
    char fp[128];
    snprintf(fp, sizeof fp, "synth dim=%d clusters=%d rank=%d seed=%llx", DIM, NCLUST, RANK,
             (unsigned long long)SEED);
    rg_sha256_hex(fp, strlen(fp), e->identity.fingerprint);
    return e;
}

static rg_config *make_cfg(const char *dir)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_error err;
    char *l = rg_path_join(dir, "leann");
    if (rg_config_set(cfg, "vectorstore.leann.persist_directory", l, RG_SRC_FLAG, &err) != RG_OK)
        die("config", &err);
    free(l);
    const char *knobs[][2] = {{"RAGGED_BENCH_RERANK", "vectorstore.leann.rerank_candidates"},
                              {"RAGGED_BENCH_SCAN", "vectorstore.leann.scan_threshold"},
                              {"RAGGED_BENCH_PRUNED", "vectorstore.leann.pruned_degree"},
                              {"RAGGED_BENCH_DEGREE", "vectorstore.leann.graph_degree"},
                              {"RAGGED_BENCH_CODE_BYTES", "vectorstore.leann.code_bytes"},
                              {"RAGGED_BENCH_CODE_BITS", "vectorstore.leann.code_bits"},
                              {"RAGGED_BENCH_L", "vectorstore.leann.search_complexity"}};
    for (size_t i = 0; i < RG_ARRAY_LEN(knobs); i++) {
        const char *v = getenv(knobs[i][0]);
        if (v && *v && rg_config_set(cfg, knobs[i][1], v, RG_SRC_FLAG, &err) != RG_OK)
            die("config", &err);
    }
    return cfg;
}

static void progress(void *ctx, const char *stage, int64_t done, int64_t total)
{
    static double last;
    double now = rg_now();
    if (now - last > 30 || done == total) {
        fprintf(stderr, "synth: %s %lld/%lld (%.0f s CPU)\n", stage, (long long)done, (long long)total,
                cpu_seconds());
        last = now;
    }
}

static int build(char **argv)
{
    const char *dir = argv[2];
    size_t n = (size_t)atoll(argv[3]), batch = (size_t)atoll(argv[4]);
    gen g;
    gen_init(&g);
    rg_embedder *emb = synth_embedder(&g);
    rg_config *cfg = make_cfg(dir);
    rg_error err;
    rg_store *st;
    if (rg_store_open(cfg, "leann", &st, &err) != RG_OK)
        die("store", &err);
    rg_store_delete_collection(st, "synth", NULL);
    rg_collection *c;
    if (rg_collection_open(st, "synth", emb, true, &c, &err) != RG_OK)
        die("open", &err);
    rg_collection_set_progress(c, progress, NULL);
    float *vecs = rg_xmalloc(sizeof(float) * batch * DIM);
    rg_record *recs = rg_xcalloc(batch, sizeof *recs);
    char **ids = rg_xcalloc(batch, sizeof *ids), **texts = rg_xcalloc(batch, sizeof *texts);
    double t0 = rg_now(), c0 = cpu_seconds(), gen_s = 0;
    for (size_t i = 0; i < n; i += batch) {
        size_t m = RG_MIN(batch, n - i);
        double g0 = cpu_seconds();
        for (size_t j = 0; j < m; j++) {
            free(ids[j]);
            free(texts[j]);
            ids[j] = rg_xasprintf("s%zu", i + j);
            texts[j] = rg_xasprintf("synth:%zu", i + j);
            gen_vec(&g, i + j, vecs + j * DIM);
            recs[j] = (rg_record){ids[j], texts[j], NULL, vecs + j * DIM, true};
        }
        gen_s += cpu_seconds() - g0;
        if (rg_collection_add(c, recs, m, &err) != RG_OK)
            die("add", &err);
    }
    printf("build records=%zu batch=%zu wall_s=%.1f cpu_s=%.1f (generator %.1f s of it) peak_rss_mb=%.0f\n", n,
           batch, rg_now() - t0, cpu_seconds() - c0, gen_s, peak_rss_kb() / 1024.0);
    rg_store_stats s;
    if (rg_collection_stats(c, &s, &err) == RG_OK) {
        printf("disk bytes=%lld per_record=%.1f", (long long)s.bytes_total, (double)s.bytes_total / (double)n);
        for (size_t i = 0; i < s.ncomponents; i++)
            printf(" %s=%lld", s.components[i].name, (long long)s.components[i].bytes);
        printf("\n");
        rg_store_stats_free(&s);
    }
    for (size_t j = 0; j < batch; j++) {
        free(ids[j]);
        free(texts[j]);
    }
    free(ids);
    free(texts);
    free(recs);
    free(vecs);
    rg_collection_close(c);
    rg_store_close(st);
    rg_embedder_free(emb);
    rg_config_free(cfg);
    return 0;
}

typedef struct top {
    float d[10];
    uint64_t id[10];
    int n;
} top;

static void top_add(top *t, float d, uint64_t id)
{
    if (t->n == 10 && d >= t->d[9])
        return;
    int p = t->n < 10 ? t->n++ : 9;
    while (p > 0 && t->d[p - 1] > d) {
        t->d[p] = t->d[p - 1];
        t->id[p] = t->id[p - 1];
        p--;
    }
    t->d[p] = d;
    t->id[p] = id;
}

static int query(char **argv)
{
    const char *dir = argv[2];
    size_t n = (size_t)atoll(argv[3]), nq = (size_t)atoll(argv[4]);
    gen g;
    gen_init(&g);
    float *q = rg_xmalloc(sizeof(float) * nq * DIM);
    for (size_t i = 0; i < nq; i++)
        gen_vec(&g, QUERY_BASE + i, q + i * DIM);
    /* The exact oracle: brute force over the same generated vectors. */
    double o0 = rg_now();
    top *truth = rg_xcalloc(nq, sizeof *truth);
    enum { BLK = 4096 };
    float *blk = rg_xmalloc(sizeof(float) * BLK * DIM);
    for (size_t b = 0; b < n; b += BLK) {
        size_t m = RG_MIN((size_t)BLK, n - b);
        for (size_t j = 0; j < m; j++)
            gen_vec(&g, b + j, blk + j * DIM);
        for (size_t i = 0; i < nq; i++)
            for (size_t j = 0; j < m; j++) {
                const float *x = blk + j * DIM, *y = q + i * DIM;
                float s = 0;
                for (int d = 0; d < DIM; d++)
                    s += x[d] * y[d];
                top_add(&truth[i], 1.0f - s, b + j);
            }
    }
    double oracle_s = rg_now() - o0;
    free(blk);

    rg_embedder *emb = synth_embedder(&g);
    rg_config *cfg = make_cfg(dir);
    rg_error err;
    rg_store *st;
    rg_collection *c;
    if (rg_store_open(cfg, "leann", &st, &err) != RG_OK)
        die("store", &err);
    double t0 = rg_now();
    if (rg_collection_open(st, "synth", emb, false, &c, &err) != RG_OK)
        die("open", &err);
    double open_ms = (rg_now() - t0) * 1000;
    double *lat = rg_xmalloc(nq * sizeof *lat), *cpu = rg_xmalloc(nq * sizeof *cpu), recall = 0;
    double *rec = rg_xmalloc(nq * sizeof *rec);
    int64_t recomputed_before = 0;
    const char *path = "";
    for (size_t i = 0; i < nq; i++) {
        rg_hits h;
        rg_hits_init(&h);
        rg_query_opts o = {.k = 10};
        double w0 = rg_now(), c0 = cpu_seconds();
        if (rg_collection_query(c, q + i * DIM, &o, &h, &err) != RG_OK)
            die("query", &err);
        lat[i] = (rg_now() - w0) * 1000;
        cpu[i] = (cpu_seconds() - c0) * 1000;
        size_t hit = 0;
        for (size_t a = 0; a < h.n; a++)
            for (int b = 0; b < truth[i].n; b++) {
                char idb[32];
                snprintf(idb, sizeof idb, "s%llu", (unsigned long long)truth[i].id[b]);
                if (!strcmp(h.items[a].id, idb))
                    hit++;
            }
        recall += (double)hit / 10.0;
        rg_hits_free(&h);
        rg_store_stats s;
        if (rg_collection_stats(c, &s, &err) != RG_OK)
            die("stats", &err);
        int64_t r = json_integer_value(json_object_get(s.details, "recomputed_by_this_handle"));
        rec[i] = (double)(r - recomputed_before);
        recomputed_before = r;
        const char *p = json_string_value(json_object_get(s.details, "last_query"));
        if (i == 0 && p)
            path = strcpy(rg_xmalloc(strlen(p) + 1), p);
        rg_store_stats_free(&s);
    }
    double rmean = 0;
    for (size_t i = 0; i < nq; i++)
        rmean += rec[i];
    qsort(lat, nq, sizeof *lat, cmp_double);
    qsort(cpu, nq, sizeof *cpu, cmp_double);
    printf("| %zu | %zu | %.3f | %.1f | %.1f | %.1f | %.1f | %s | %.1f | %.0f |\n", n, nq, recall / (double)nq,
           lat[nq / 2], lat[(size_t)(nq * 0.95)], cpu[nq / 2], rmean / (double)nq, path, open_ms, oracle_s);
    free(lat);
    free(cpu);
    free(rec);
    free(truth);
    free(q);
    rg_collection_close(c);
    rg_store_close(st);
    rg_embedder_free(emb);
    rg_config_free(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "build"))
        return build(argv);
    if (argc == 5 && !strcmp(argv[1], "query"))
        return query(argv);
    fprintf(stderr, "usage: see the comment at the top of bench/leann/synth.c\n");
    return 2;
}
