/* Query driver of the filter benchmark (bench/filter/run.sh), built against
 * build/libragged.a.  Collections are the ones `ragged ingest` wrote, found
 * through the usual configuration ($XDG_DATA_HOME, $XDG_CONFIG_HOME).
 *
 *   bench_filter COLLECTION FILTERS QUERIES BACKEND[,BACKEND2]
 *       FILTERS: lines NAME <tab> MATCHING <tab> JSON (filters.py).
 *       QUERIES: one query text a line.
 *   For every backend (opened once: open_ms includes what the first open
 *   of an older collection does) and filter, every query runs through
 *   rg_retrieve as `ragged query --where` does (vector mode, k 10, passages
 *   and metadata included).  The first query of a filter is left out of the
 *   percentiles (it pays for lazy loading).  Then the same in hybrid mode
 *   (the default of `ragged query`: the BM25 side asks the backend for the
 *   matching ids).  Every hit is checked against
 *   the filter, and the number of hits must be min(10, MATCHING) (the k
 *   guarantee); a violation is counted and printed.  With two backends the
 *   first is the reference: recall@10 of the second is the share of the
 *   first's top 10 it returns.  BENCH_REF_NQ=N runs the reference on the
 *   first N queries only (the exact backend scans every row a query; at
 *   256K chunks that is seconds), recall over those N. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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
    fprintf(stderr, "bench_filter: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_filter COLLECTION FILTERS QUERIES BACKEND[,BACKEND2]\n");
        return 2;
    }
    rg_error err;
    rg_config *cfg;
    if (rg_config_load(NULL, &cfg, &err) != RG_OK)
        die("config", &err);
    size_t nf, nq;
    char **fl = bench_read_lines(argv[2], &nf), **qs = bench_read_lines(argv[3], &nq);
    if (nq < 2 || nf < 1)
        die("filters or queries", NULL);
    char **names = rg_xcalloc(nf, sizeof *names);
    long *matching = rg_xcalloc(nf, sizeof *matching);
    rg_filter **where = rg_xcalloc(nf, sizeof *where);
    for (size_t i = 0; i < nf; i++) {
        char *t1 = strchr(fl[i], '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2)
            die("filters: a line is not NAME <tab> MATCHING <tab> JSON", NULL);
        *t1 = *t2 = '\0';
        names[i] = fl[i];
        matching[i] = strtol(t1 + 1, NULL, 10);
        if (rg_filter_parse(t2 + 1, &where[i], &err) != RG_OK)
            die(names[i], &err);
    }
    char *list = rg_xstrdup(argv[4]);
    char *backends[2] = {strtok(list, ","), strtok(NULL, ",")};
    int nb = backends[1] ? 2 : 1;
    rg_embedder *emb;
    if (rg_embedder_open(cfg, &emb, &err) != RG_OK)
        die("embedder", &err);
    static const rg_retrieve_mode modes[2] = {RG_RETRIEVE_VECTOR, RG_RETRIEVE_HYBRID};
    rg_hits *ref = rg_xcalloc(2 * nf * nq, sizeof *ref);
    double *lat = rg_xmalloc(nq * sizeof *lat);
    size_t ref_nq = getenv("BENCH_REF_NQ") ? (size_t)strtoul(getenv("BENCH_REF_NQ"), NULL, 10) : nq;
    if (ref_nq < 2 || ref_nq > nq)
        ref_nq = nq;
    for (int b = 0; b < nb; b++) {
        rg_store *st;
        rg_collection *c;
        double t0 = rg_now();
        if (rg_store_open(cfg, backends[b], &st, &err) != RG_OK)
            die("store", &err);
        if (rg_collection_open(st, argv[1], emb, false, &c, &err) != RG_OK)
            die("open", &err);
        printf("backend=%s open_ms=%.1f\n", backends[b], (rg_now() - t0) * 1000.0);
        for (size_t mf = 0; mf < 2 * nf; mf++) {
            size_t fi = mf % nf;
            int m = (int)(mf / nf);
            rg_retrieve_opts o;
            rg_retrieve_opts_from_config(&o, cfg);
            o.k = 10;
            o.mode = modes[m];
            o.include = RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS;
            o.where = where[fi];
            double recall = 0, first_ms = 0;
            size_t bad_k = 0, bad_match = 0, n = nb > 1 && b == 0 ? ref_nq : nq;
            for (size_t i = 0; i < n; i++) {
                rg_hits h;
                rg_hits_init(&h);
                double q0 = rg_now();
                if (rg_retrieve(c, qs[i], &o, &h, &err) != RG_OK)
                    die("query", &err);
                lat[i] = (rg_now() - q0) * 1000.0;
                if (i == 0)
                    first_ms = lat[i];
                bad_k += h.n != (size_t)RG_MIN(10L, matching[fi]);
                for (size_t j = 0; j < h.n; j++)
                    bad_match += !rg_filter_match(where[fi], h.items[j].metadata);
                if (b == 0) {
                    ref[mf * nq + i] = h;
                } else {
                    if (i < ref_nq)
                        recall += bench_recall_by_id(&h, &ref[mf * nq + i], 10);
                    rg_hits_free(&h);
                }
            }
            qsort(lat + 1, n - 1, sizeof *lat, cmp_double);
            printf("backend=%s mode=%s filter=%s matching=%ld queries=%zu first_query_ms=%.1f p50_ms=%.2f p95_ms=%.2f "
                   "k_violations=%zu non_matching_hits=%zu",
                   backends[b], rg_retrieve_mode_name(modes[m]), names[fi], matching[fi], n - 1, first_ms,
                   pct(lat + 1, n - 1, 0.5), pct(lat + 1, n - 1, 0.95), bad_k, bad_match);
            if (b > 0)
                printf(" recall10_vs_%s=%.4f", backends[0], recall / (double)ref_nq);
            printf("\n");
            fflush(stdout);
        }
        rg_collection_close(c);
        rg_store_close(st);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss_mb=%.1f cpu_s=%.1f\n", (double)ru.ru_maxrss / 1024.0,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec);
    for (size_t i = 0; i < 2 * nf * nq; i++)
        rg_hits_free(&ref[i]);
    free(ref);
    for (size_t i = 0; i < nf; i++) {
        rg_filter_free(where[i]);
        free(fl[i]);
    }
    for (size_t i = 0; i < nq; i++)
        free(qs[i]);
    free(fl);
    free(qs);
    free(names);
    free(matching);
    free(where);
    free(lat);
    free(list);
    rg_embedder_free(emb);
    rg_config_free(cfg);
    return 0;
}
