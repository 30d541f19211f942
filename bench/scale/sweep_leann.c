/* Query-side settings of the leann backend at scale (issue 16, item 3b):
 * vector-mode recall@10 against the exact backend and latency for several
 * (search_complexity, rerank_candidates) pairs, on collections that
 * bench/scale/build.sh ingested (found through $XDG_DATA_HOME and
 * $XDG_CONFIG_HOME as usual).  Built against build/libragged.a:
 *
 *   bench/cc.sh bench/scale/sweep_leann.c build/sweep_leann
 *   sweep_leann COLLECTION QUERIES L:R[:W][,L:R[:W]...]
 *       L: vectorstore.leann.search_complexity (the default is 1000; past
 *          49,152 records the backend widens it with the size: the beam
 *          used is printed as "beam"),
 *       R: vectorstore.leann.rerank_candidates (0: adaptive, the default),
 *       W: vectorstore.leann.refine_beam (-1: automatic, the default; 0:
 *          no exact refinement).
 *
 * The exact answers are computed once; each setting opens the leann
 * collection afresh (cold cache), runs every query through rg_retrieve in
 * vector mode (query embedding included, k 10) and prints recall@10, p50,
 * p95 and the embeddings recomputed per query. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "embedder.h"
#include "retrieve.h"
#include "store.h"
#include "util.h"
#include "../bench_queries.h"
#include "../bench_util.h"

static void die(const char *what, const rg_error *err)
{
    fprintf(stderr, "sweep_leann: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static int64_t recomputed(rg_collection *c, char *search, size_t cap)
{
    rg_store_stats st;
    rg_error err;
    if (rg_collection_stats(c, &st, &err) != RG_OK)
        return -1;
    json_t *v = json_object_get(st.details, "recomputed_by_this_handle");
    int64_t n = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
    const char *s = json_string_value(json_object_get(st.details, "search"));
    snprintf(search, cap, "%s", s ? s : "?");
    rg_store_stats_free(&st);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: sweep_leann COLLECTION QUERIES L:R[:W][,L:R[:W]...]\n");
        return 2;
    }
    rg_error err;
    rg_config *cfg;
    if (rg_config_load(NULL, &cfg, &err) != RG_OK)
        die("config", &err);
    size_t nq;
    char **qs = bench_read_lines(argv[2], &nq);
    if (nq < 2)
        die("fewer than 2 queries", NULL);
    rg_embedder *emb;
    if (rg_embedder_open(cfg, &emb, &err) != RG_OK)
        die("embedder", &err);
    rg_retrieve_opts o;
    rg_retrieve_opts_from_config(&o, cfg);
    o.k = 10;
    o.mode = RG_RETRIEVE_VECTOR;
    o.include = RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS;
    rg_hits *ref = rg_xcalloc(nq, sizeof *ref);
    rg_store *st;
    rg_collection *c;
    if (rg_store_open(cfg, "exact", &st, &err) != RG_OK || rg_collection_open(st, argv[1], emb, false, &c, &err) != RG_OK)
        die("exact", &err);
    for (size_t i = 0; i < nq; i++) {
        rg_hits_init(&ref[i]);
        if (rg_retrieve(c, qs[i], &o, &ref[i], &err) != RG_OK)
            die("exact query", &err);
    }
    rg_collection_close(c);
    rg_store_close(st);
    double *lat = rg_xmalloc(nq * sizeof *lat);
    char *list = rg_xstrdup(argv[3]);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        char L[32] = "0", R[32] = "0", W[32] = "-1";
        if (sscanf(tok, "%31[0-9]:%31[0-9]:%31[-0-9]", L, R, W) < 2)
            die("setting is not L:R[:W]", NULL);
        if (rg_config_set(cfg, "vectorstore.leann.search_complexity", L, RG_SRC_FLAG, &err) != RG_OK ||
            rg_config_set(cfg, "vectorstore.leann.rerank_candidates", R, RG_SRC_FLAG, &err) != RG_OK ||
            rg_config_set(cfg, "vectorstore.leann.refine_beam", W, RG_SRC_FLAG, &err) != RG_OK)
            die("config", &err);
        if (rg_store_open(cfg, "leann", &st, &err) != RG_OK ||
            rg_collection_open(st, argv[1], emb, false, &c, &err) != RG_OK)
            die("leann", &err);
        double recall = 0;
        for (size_t i = 0; i < nq; i++) {
            rg_hits h;
            rg_hits_init(&h);
            double q0 = rg_now();
            if (rg_retrieve(c, qs[i], &o, &h, &err) != RG_OK)
                die("leann query", &err);
            lat[i] = (rg_now() - q0) * 1000.0;
            size_t n = RG_MIN((size_t)10, ref[i].n), hit = 0;
            for (size_t a = 0; a < n; a++)
                for (size_t b = 0; b < RG_MIN((size_t)10, h.n); b++)
                    hit += !strcmp(ref[i].items[a].id, h.items[b].id);
            recall += n ? (double)hit / (double)n : 1.0;
            rg_hits_free(&h);
        }
        char search[256];
        int64_t rec = recomputed(c, search, sizeof search);
        const char *beam = strstr(search, "beam of ");
        qsort(lat + 1, nq - 1, sizeof *lat, cmp_double);
        printf("search_complexity=%s beam=%d rerank_candidates=%s refine_beam=%s queries=%zu recall10_vs_exact=%.4f "
               "p50_ms=%.2f p95_ms=%.2f recomputed_per_query=%.1f\n",
               L, beam ? atoi(beam + 8) : -1, R, W, nq, recall / (double)nq, lat[1 + (nq - 1) / 2], lat[1 + (size_t)(0.95 * (double)(nq - 1))],
               (double)rec / (double)nq);
        fflush(stdout);
        rg_collection_close(c);
        rg_store_close(st);
    }
    return 0;
}
