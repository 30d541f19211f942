/* Benchmark driver for the leann backend (built by bench/leann/run.sh against
 * build/libragged.a).  One document = title + " " + text of a BEIR-style
 * corpus.jsonl; queries from queries.jsonl.
 *
 *   bench_leann build DIR CORPUS BACKEND BATCH
 *       embeds the corpus, creates collection "bench" in BACKEND under DIR
 *       and adds it in batches; prints embed/build seconds and peak RSS
 *   bench_leann query DIR CORPUS QUERIES NQ CACHE_MB L1,L2,...
 *       opens the exact and leann collections (fresh process: cold cache),
 *       runs NQ queries through both, prints recall@3/@10 against exact,
 *       latency p50/p95, embeddings recomputed per query, for every
 *       search_complexity L; then disk bytes by component
 *
 * Environment: RAGGED_BENCH_PROVIDER (builtin|bert), RAGGED_BENCH_MODEL, and
 * RAGGED_BENCH_RERANK / _SCAN / _PRUNED / _DEGREE / _CODE_BYTES / _CODE_BITS
 * for the leann knobs,
 * RAGGED_BENCH_PRECISION (fp32|int8) for the bert engine, RAGGED_BENCH_DOCS
 * to embed only the first N documents, RAGGED_BENCH_VECS to read the
 * document vectors from graph_lab's file instead of embedding (build). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "embedder.h"
#include "store.h"
#include "util.h"
#include "../bench_util.h"

static void die(const char *what, const rg_error *err)
{
    fprintf(stderr, "bench_leann: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static rg_config *make_cfg(const char *dir, int64_t cache_mb)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_error err;
    char *l = rg_path_join(dir, "leann"), *e = rg_path_join(dir, "exact");
    if (rg_config_set(cfg, "vectorstore.leann.persist_directory", l, RG_SRC_FLAG, &err) != RG_OK ||
        rg_config_set(cfg, "vectorstore.exact.persist_directory", e, RG_SRC_FLAG, &err) != RG_OK)
        die("config", &err);
    free(l);
    free(e);
    const char *prov = getenv("RAGGED_BENCH_PROVIDER");
    if (prov && *prov && rg_config_set(cfg, "embedding.provider", prov, RG_SRC_FLAG, &err) != RG_OK)
        die("config", &err);
    const char *model = getenv("RAGGED_BENCH_MODEL");
    if (model && *model && rg_config_set(cfg, "embedding.model", model, RG_SRC_FLAG, &err) != RG_OK)
        die("config", &err);
    const char *knobs[][2] = {{"RAGGED_BENCH_RERANK", "vectorstore.leann.rerank_candidates"},
                              {"RAGGED_BENCH_SCAN", "vectorstore.leann.scan_threshold"},
                              {"RAGGED_BENCH_PRUNED", "vectorstore.leann.pruned_degree"},
                              {"RAGGED_BENCH_DEGREE", "vectorstore.leann.graph_degree"},
                              {"RAGGED_BENCH_CODE_BYTES", "vectorstore.leann.code_bytes"},
                              {"RAGGED_BENCH_CODE_BITS", "vectorstore.leann.code_bits"},
                              {"RAGGED_BENCH_PRECISION", "embedding.precision"}};
    for (size_t i = 0; i < RG_ARRAY_LEN(knobs); i++) {
        const char *v = getenv(knobs[i][0]);
        if (v && *v && rg_config_set(cfg, knobs[i][1], v, RG_SRC_FLAG, &err) != RG_OK)
            die("config", &err);
    }
    if (cache_mb >= 0) {
        char b[32];
        snprintf(b, sizeof b, "%lld", (long long)cache_mb);
        if (rg_config_set(cfg, "vectorstore.leann.cache_mb", b, RG_SRC_FLAG, &err) != RG_OK)
            die("config", &err);
    }
    return cfg;
}

typedef struct docs {
    size_t n;
    char **ids, **texts;
} docs;

static void read_jsonl(const char *path, docs *d, bool corpus)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    char *line = NULL;
    size_t cap = 0, dcap = 0;
    memset(d, 0, sizeof *d);
    /* RAGGED_BENCH_DOCS: only the first N documents (the bert variant embeds
     * a subset so the benchmark runs in minutes). */
    const char *lim = corpus ? getenv("RAGGED_BENCH_DOCS") : NULL;
    size_t max = lim && *lim ? (size_t)atol(lim) : (size_t)-1;
    while (d->n < max && getline(&line, &cap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            continue;
        const char *id = json_string_value(json_object_get(j, "_id"));
        const char *text = json_string_value(json_object_get(j, "text"));
        const char *title = json_string_value(json_object_get(j, "title"));
        if (id && text) {
            if (d->n == dcap) {
                dcap = dcap ? dcap * 2 : 1024;
                d->ids = rg_xrealloc(d->ids, dcap * sizeof *d->ids);
                d->texts = rg_xrealloc(d->texts, dcap * sizeof *d->texts);
            }
            d->ids[d->n] = rg_xstrdup(id);
            d->texts[d->n] = corpus && title && *title ? rg_xasprintf("%s %s", title, text) : rg_xstrdup(text);
            d->n++;
        }
        json_decref(j);
    }
    free(line);
    fclose(f);
}

static int build(int argc, char **argv)
{
    if (argc < 6)
        return 2;
    const char *dir = argv[2], *corpus = argv[3];
    char *backends = rg_xstrdup(argv[4]);
    size_t batch = (size_t)atol(argv[5]);
    rg_config *cfg = make_cfg(dir, -1);
    rg_error err;
    rg_embedder *emb;
    if (rg_embedder_open(cfg, &emb, &err) != RG_OK)
        die("embedder", &err);
    docs d;
    read_jsonl(corpus, &d, true);
    int dim = emb->identity.dim;
    float *vecs = rg_xmalloc(d.n * (size_t)dim * sizeof(float));
    double t0 = rg_now();
    /* RAGGED_BENCH_VECS: the document vectors graph_lab embed wrote for the
     * same corpus and embedder (u32 n, u32 dim, n * dim float32; the first
     * d.n rows are used), so a bert run need not embed the corpus again. */
    const char *vf = getenv("RAGGED_BENCH_VECS");
    FILE *f = vf && *vf ? fopen(vf, "rb") : NULL;
    uint32_t fn = 0, fdim = 0;
    if (f && fread(&fn, 4, 1, f) == 1 && fread(&fdim, 4, 1, f) == 1 && fdim == (uint32_t)dim && fn >= d.n &&
        fread(vecs, sizeof(float) * (size_t)dim, d.n, f) == d.n) {
        fprintf(stderr, "bench_leann: document vectors from %s\n", vf);
    } else {
        if (vf && *vf)
            fprintf(stderr, "bench_leann: %s does not hold %zu vectors of %d dimensions: embedding\n", vf, d.n, dim);
        if (rg_embedder_embed(emb, (const char *const *)d.texts, d.n, RG_EMBED_DOCUMENT, vecs, &err) != RG_OK)
            die("embed", &err);
    }
    if (f)
        fclose(f);
    double t_embed = rg_now() - t0;
    /* One embedding pass for every backend listed (a bert model takes
     * minutes to embed the corpus). */
    for (char *backend = strtok(backends, ","); backend; backend = strtok(NULL, ",")) {
        long rss_before = peak_rss_kb();
        rg_store *st;
        if (rg_store_open(cfg, backend, &st, &err) != RG_OK)
            die("store", &err);
        rg_store_delete_collection(st, "bench", NULL);
        rg_collection *c;
        if (rg_collection_open(st, "bench", emb, true, &c, &err) != RG_OK)
            die("open", &err);
        rg_record *recs = rg_xcalloc(d.n, sizeof *recs);
        for (size_t i = 0; i < d.n; i++)
            recs[i] = (rg_record){d.ids[i], d.texts[i], NULL, vecs + i * (size_t)dim, true};
        t0 = rg_now();
        double cpu0 = cpu_seconds();
        for (size_t i = 0; i < d.n; i += batch) {
            size_t m = RG_MIN(batch, d.n - i);
            if (rg_collection_add(c, recs + i, m, &err) != RG_OK)
                die("add", &err);
        }
        double t_build = rg_now() - t0, cpu_build = cpu_seconds() - cpu0;
        printf("backend=%s records=%zu dim=%d batch=%zu embed_s=%.2f build_wall_s=%.2f build_cpu_s=%.2f "
               "peak_rss_mb=%.1f rss_before_build_mb=%.1f\n",
               backend, d.n, dim, batch, t_embed, t_build, cpu_build, peak_rss_kb() / 1024.0, rss_before / 1024.0);
        fflush(stdout);
        free(recs);
        rg_collection_close(c);
        rg_store_close(st);
    }
    free(backends);
    rg_embedder_free(emb);
    rg_config_free(cfg);
    return 0;
}

static int64_t recomputed(rg_collection *c)
{
    rg_store_stats s;
    rg_error err;
    if (rg_collection_stats(c, &s, &err) != RG_OK)
        die("stats", &err);
    int64_t r = json_integer_value(json_object_get(s.details, "recomputed_by_this_handle"));
    rg_store_stats_free(&s);
    return r;
}

typedef struct run_result {
    double recall3, recall10, p50_ms, p95_ms, recomputed10, recomputed3, mean_ms, cpu_p50_ms, cpu_mean_ms;
} run_result;

static double overlap(const rg_hits *a, const rg_hits *b, size_t k)
{
    size_t n = RG_MIN(k, b->n), hit = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < RG_MIN(k, a->n); j++)
            if (!strcmp(b->items[i].id, a->items[j].id))
                hit++;
    return n ? (double)hit / (double)n : 1.0;
}

/* The k=10 pass is timed; a second pass at k=3 gives recall@3.  The passes
 * are separate so each reports its own recomputes per query (with cache_mb
 * 0 every query starts cold anyway). */
static run_result run_queries(rg_collection *lc, rg_hits *truth3, rg_hits *truth10, const float *q, size_t nq,
                              int dim, int L)
{
    run_result r = {0};
    double *lat = rg_xmalloc(nq * sizeof *lat), *cpu = rg_xmalloc(nq * sizeof *cpu);
    rg_error err;
    int64_t before = recomputed(lc);
    for (size_t i = 0; i < nq; i++) {
        rg_hits h10;
        rg_hits_init(&h10);
        rg_query_opts o10 = {.k = 10, .search_complexity = L};
        double t0 = rg_now(), c0 = cpu_seconds();
        if (rg_collection_query(lc, q + i * (size_t)dim, &o10, &h10, &err) != RG_OK)
            die("query", &err);
        lat[i] = (rg_now() - t0) * 1000.0;
        /* user+sys of the whole process (the embedder's threads too): less
         * sensitive than wall time to the other jobs on a shared machine. */
        cpu[i] = (cpu_seconds() - c0) * 1000.0;
        r.cpu_mean_ms += cpu[i];
        r.recall10 += overlap(&h10, &truth10[i], 10);
        r.mean_ms += lat[i];
        rg_hits_free(&h10);
    }
    int64_t mid = recomputed(lc);
    r.recomputed10 = (double)(mid - before) / (double)nq;
    for (size_t i = 0; i < nq; i++) {
        rg_hits h3;
        rg_hits_init(&h3);
        rg_query_opts o3 = {.k = 3, .search_complexity = L};
        if (rg_collection_query(lc, q + i * (size_t)dim, &o3, &h3, &err) != RG_OK)
            die("query", &err);
        r.recall3 += overlap(&h3, &truth3[i], 3);
        rg_hits_free(&h3);
    }
    r.recomputed3 = (double)(recomputed(lc) - mid) / (double)nq;
    qsort(lat, nq, sizeof *lat, cmp_double);
    r.p50_ms = lat[nq / 2];
    r.p95_ms = lat[(size_t)((double)nq * 0.95)];
    qsort(cpu, nq, sizeof *cpu, cmp_double);
    r.cpu_p50_ms = cpu[nq / 2];
    r.cpu_mean_ms /= (double)nq;
    r.recall3 /= (double)nq;
    r.recall10 /= (double)nq;
    r.mean_ms /= (double)nq;
    free(lat);
    free(cpu);
    return r;
}

static int query(int argc, char **argv)
{
    if (argc < 8)
        return 2;
    const char *dir = argv[2], *corpus = argv[3], *queries = argv[4];
    size_t nq = (size_t)atol(argv[5]);
    int64_t cache_mb = atol(argv[6]);
    char *Ls = rg_xstrdup(argv[7]);
    rg_config *cfg = make_cfg(dir, cache_mb);
    rg_error err;
    rg_embedder *emb;
    if (rg_embedder_open(cfg, &emb, &err) != RG_OK)
        die("embedder", &err);
    docs d, qs;
    read_jsonl(corpus, &d, true);
    read_jsonl(queries, &qs, false);
    if (nq > qs.n)
        nq = qs.n;
    int dim = emb->identity.dim;
    float *q = rg_xmalloc(nq * (size_t)dim * sizeof(float));
    double t0 = rg_now();
    if (rg_embedder_embed(emb, (const char *const *)qs.texts, nq, RG_EMBED_QUERY, q, &err) != RG_OK)
        die("embed", &err);
    double q_embed_ms = (rg_now() - t0) * 1000.0 / (double)nq;
    rg_store *ls, *es;
    rg_collection *lc, *ec;
    if (rg_store_open(cfg, "leann", &ls, &err) != RG_OK || rg_store_open(cfg, "exact", &es, &err) != RG_OK)
        die("store", &err);
    t0 = rg_now();
    if (rg_collection_open(ls, "bench", emb, false, &lc, &err) != RG_OK)
        die("open leann", &err);
    double open_ms = (rg_now() - t0) * 1000.0;
    if (rg_collection_open(es, "bench", emb, false, &ec, &err) != RG_OK)
        die("open exact", &err);
    rg_hits *t3 = rg_xcalloc(nq, sizeof *t3), *t10 = rg_xcalloc(nq, sizeof *t10);
    double *elat = rg_xmalloc(nq * sizeof *elat);
    for (size_t i = 0; i < nq; i++) {
        rg_query_opts o10 = {.k = 10}, o3 = {.k = 3};
        rg_hits_init(&t3[i]);
        rg_hits_init(&t10[i]);
        double e0 = rg_now();
        if (rg_collection_query(ec, q + i * (size_t)dim, &o10, &t10[i], &err) != RG_OK ||
            rg_collection_query(ec, q + i * (size_t)dim, &o3, &t3[i], &err) != RG_OK)
            die("exact query", &err);
        elat[i] = (rg_now() - e0) * 1000.0 / 2.0;
    }
    qsort(elat, nq, sizeof *elat, cmp_double);
    printf("queries=%zu query_embed_ms=%.2f leann_open_ms=%.1f exact_p50_ms=%.2f cache_mb=%lld\n", nq, q_embed_ms,
           open_ms, elat[nq / 2], (long long)cache_mb);
    printf("| search_complexity | recall@3 | recall@10 | p50 ms | p95 ms | mean ms | CPU p50 ms | CPU mean ms | "
           "recomputed k=10 | recomputed k=3 |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (char *tok = strtok(Ls, ","); tok; tok = strtok(NULL, ",")) {
        int L = atoi(tok);
        run_result r = run_queries(lc, t3, t10, q, nq, dim, L);
        printf("| %d | %.3f | %.3f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f |\n", L, r.recall3, r.recall10,
               r.p50_ms, r.p95_ms, r.mean_ms, r.cpu_p50_ms, r.cpu_mean_ms, r.recomputed10, r.recomputed3);
        fflush(stdout);
    }
    rg_store_stats s;
    if (rg_collection_stats(lc, &s, &err) != RG_OK)
        die("stats", &err);
    int64_t text = 0;
    for (size_t i = 0; i < d.n; i++)
        text += (int64_t)strlen(d.texts[i]);
    int64_t raw = (int64_t)d.n * dim * 4 + text;
    printf("disk leann_total=%lld bytes_per_record=%.1f raw_vectors_plus_text=%lld ratio=%.4f records=%lld "
           "tombstones=%lld\n",
           (long long)s.bytes_total, (double)s.bytes_total / (double)s.records, (long long)raw,
           (double)s.bytes_total / (double)raw, (long long)s.records, (long long)s.tombstones);
    for (size_t i = 0; i < s.ncomponents; i++)
        printf("component %s %lld\n", s.components[i].name, (long long)s.components[i].bytes);
    char *det = json_dumps(s.details, JSON_COMPACT | JSON_SORT_KEYS);
    printf("details %s\n", det);
    free(det);
    rg_store_stats_free(&s);
    rg_store_stats es_st;
    if (rg_collection_stats(ec, &es_st, &err) == RG_OK)
        printf("disk exact_total=%lld\n", (long long)es_st.bytes_total);
    rg_store_stats_free(&es_st);
    for (size_t i = 0; i < nq; i++) {
        rg_hits_free(&t3[i]);
        rg_hits_free(&t10[i]);
    }
    free(t3);
    free(t10);
    free(elat);
    free(q);
    free(Ls);
    rg_collection_close(lc);
    rg_collection_close(ec);
    rg_store_close(ls);
    rg_store_close(es);
    rg_embedder_free(emb);
    rg_config_free(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "build"))
        return build(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "query"))
        return query(argc, argv);
    fprintf(stderr, "usage: see the comment at the top of bench_leann.c\n");
    return 2;
}
