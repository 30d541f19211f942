/* Query driver of the scale benchmark (built by bench/scale/run.sh against
 * build/libragged.a).  Collections are the ones `ragged ingest` wrote, found
 * through the usual configuration ($XDG_DATA_HOME, $XDG_CONFIG_HOME).
 *
 *   bench_scale COLLECTION QUERIES BACKEND[,BACKEND2]
 *       QUERIES: one query per line.  Opens the collection in each backend,
 *       times its first query separately (it includes loading whatever the
 *       backend loads lazily), then runs every query through rg_retrieve
 *       exactly as `ragged query` does (query embedding, documents and
 *       metadata included, k 10) in vector and in hybrid mode, in the same
 *       process.  With two backends, the first is the reference: recall@10 of
 *       the second is the share of the first's top 10 it returns, per mode.
 *       Prints one line per backend and mode, then peak RSS.
 *   bench_scale COLLECTION QUERIES BACKEND[,BACKEND2] MODES [WHERE]
 *       MODES: a comma list of vector, bm25, hybrid (default vector,hybrid).
 *       With hybrid, the two sides it fuses (each at the candidates depth)
 *       are also timed alone, as modes hybrid-vector-side and
 *       hybrid-bm25-side.  WHERE: a filter (JSON) applied to every query. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config.h"
#include "embedder.h"
#include "filter.h"
#include "retrieve.h"
#include "store.h"
#include "util.h"
#include "../bench_queries.h"
#include "../bench_util.h"

static void die(const char *what, const rg_error *err)
{
    fprintf(stderr, "bench_scale: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

/* Recall that counts ties as found: the share of the reference's top k
 * matched by a returned hit at most as far as the reference's k-th
 * (ann-benchmarks' distance-threshold recall with epsilon 1e-6).  Debian
 * documentation repeats passages (licences, changelog boilerplate), so
 * several records can share the k-th distance and recall by id alone
 * would count an equally near duplicate as a miss. */
static double overlap_by_distance(const rg_hits *got, const rg_hits *truth, size_t k)
{
    size_t n = RG_MIN(k, truth->n), hit = 0;
    if (!n)
        return 1.0;
    float kth = truth->items[n - 1].distance + 1e-6f;
    for (size_t j = 0; j < RG_MIN(k, got->n); j++)
        hit += got->items[j].distance <= kth;
    return (double)RG_MIN(hit, n) / (double)n;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: bench_scale COLLECTION QUERIES BACKEND[,BACKEND2] [MODES [WHERE]]\n");
        return 2;
    }
    rg_error err;
    rg_config *cfg;
    if (rg_config_load(NULL, &cfg, &err) != RG_OK)
        die("config", &err);
    size_t nq;
    char **qs = bench_read_lines(argv[2], &nq);
    if (nq < 2)
        die("queries", NULL);
    char *list = rg_xstrdup(argv[3]);
    char *backends[2] = {strtok(list, ","), strtok(NULL, ",")};
    int nb = backends[1] ? 2 : 1;
    rg_embedder *emb;
    if (rg_embedder_open(cfg, &emb, &err) != RG_OK)
        die("embedder", &err);
    /* modes[m] < 0: a side of hybrid alone (-1 vector, -2 BM25). */
    int modes[8], nm = 0;
    char *mlist = rg_xstrdup(argc > 4 ? argv[4] : "vector,hybrid");
    for (char *t = strtok(mlist, ","); t && nm < 6; t = strtok(NULL, ",")) {
        rg_retrieve_mode md;
        if (rg_retrieve_mode_parse(t, &md, &err) != RG_OK)
            die("modes", &err);
        modes[nm++] = (int)md;
        if (md == RG_RETRIEVE_HYBRID) {
            modes[nm++] = -1;
            modes[nm++] = -2;
        }
    }
    free(mlist);
    rg_filter *where = NULL;
    if (argc > 5 && rg_filter_parse(argv[5], &where, &err) != RG_OK)
        die("where", &err);
    rg_hits **ref = rg_xcalloc((size_t)nm, sizeof *ref);
    for (int m = 0; m < nm; m++)
        ref[m] = rg_xcalloc(nq, sizeof(rg_hits));
    double *lat = rg_xmalloc(nq * sizeof *lat);
    double *cpu = rg_xmalloc(nq * sizeof *cpu);   /* CPU ms of each query: on a shared machine wall time is mostly waiting */
    for (int b = 0; b < nb; b++) {
        rg_store *st;
        rg_collection *c;
        double t0 = rg_now();
        if (rg_store_open(cfg, backends[b], &st, &err) != RG_OK)
            die("store", &err);
        if (rg_collection_open(st, argv[1], emb, false, &c, &err) != RG_OK)
            die("open", &err);
        double open_ms = (rg_now() - t0) * 1000.0;
        for (int m = 0; m < nm; m++) {
            rg_retrieve_opts o;
            rg_retrieve_opts_from_config(&o, cfg);
            o.k = 10;
            o.mode = modes[m] < 0 ? RG_RETRIEVE_HYBRID : (rg_retrieve_mode)modes[m];
            o.include = RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS;
            o.where = where;
            int depth = o.candidates > o.k ? o.candidates : o.k;
            double recall = 0, recall_dist = 0, first_ms = 0;
            size_t short_k = 0, outside = 0;   /* with a filter: fewer than k hits; a hit it does not match */
            for (size_t i = 0; i < nq; i++) {
                rg_hits h;
                rg_hits_init(&h);
                double q0 = rg_now(), c0 = cpu_ms();
                /* The sides as rg_retrieve's hybrid asks for them: depth
                 * candidates, exact distances for the vector side's top k. */
                rg_query_opts side = {.k = depth, .where = where, .exact = o.k};
                rg_status qrc = modes[m] == -1   ? rg_collection_query_text(c, qs[i], &side, &h, &err)
                                : modes[m] == -2 ? rg_collection_query_lexical(c, qs[i], &side, &h, &err)
                                                 : rg_retrieve(c, qs[i], &o, &h, &err);
                if (qrc != RG_OK)
                    die("query", &err);
                if (where && modes[m] >= 0) {
                    short_k += h.n < (size_t)o.k;
                    for (size_t j = 0; j < h.n; j++)
                        outside += !rg_filter_match(where, h.items[j].metadata);
                }
                lat[i] = (rg_now() - q0) * 1000.0;
                cpu[i] = cpu_ms() - c0;
                if (i == 0)
                    first_ms = lat[i];
                if (b == 0) {
                    ref[m][i] = h;
                } else {
                    recall += bench_recall_by_id(&h, &ref[m][i], 10);
                    if (modes[m] == RG_RETRIEVE_VECTOR)
                        recall_dist += overlap_by_distance(&h, &ref[m][i], 10);
                    rg_hits_free(&h);
                }
            }
            /* The first query pays for lazy loading; it is reported alone
             * and left out of the percentiles. */
            qsort(lat + 1, nq - 1, sizeof *lat, cmp_double);
            qsort(cpu + 1, nq - 1, sizeof *cpu, cmp_double);
            printf("backend=%s mode=%s%s queries=%zu open_ms=%.1f first_query_ms=%.1f p50_ms=%.2f p95_ms=%.2f",
                   backends[b],
                   modes[m] == -1   ? "hybrid-vector-side"
                   : modes[m] == -2 ? "hybrid-bm25-side"
                                    : rg_retrieve_mode_name((rg_retrieve_mode)modes[m]),
                   where ? " (filtered)" : "", nq - 1, open_ms, first_ms, pct(lat + 1, nq - 1, 0.5),
                   pct(lat + 1, nq - 1, 0.95));
            printf(" cpu_p50_ms=%.2f cpu_p95_ms=%.2f", pct(cpu + 1, nq - 1, 0.5), pct(cpu + 1, nq - 1, 0.95));
            if (modes[m] < 0)
                printf(" depth=%d", depth);
            if (where && modes[m] >= 0)
                printf(" fewer_than_k=%zu hits_outside_filter=%zu", short_k, outside);
            if (b > 0)
                printf(" recall10_vs_%s=%.4f", backends[0], recall / (double)nq);
            if (b > 0 && modes[m] == RG_RETRIEVE_VECTOR)
                printf(" recall10_ties_vs_%s=%.4f", backends[0], recall_dist / (double)nq);
            printf("\n");
            fflush(stdout);
        }
        rg_collection_close(c);
        rg_store_close(st);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss_mb=%.1f\n", (double)ru.ru_maxrss / 1024.0);
    for (int m = 0; m < nm; m++) {
        for (size_t i = 0; i < nq; i++)
            rg_hits_free(&ref[m][i]);
        free(ref[m]);
    }
    free(ref);
    rg_filter_free(where);
    for (size_t i = 0; i < nq; i++)
        free(qs[i]);
    free(qs);
    free(lat);
    free(cpu);
    free(list);
    rg_embedder_free(emb);
    rg_config_free(cfg);
    return 0;
}
