/* The leann backend's shared structs and constants (pgvector-style split by
 * phase):
 *
 *   leann.h          this file: graph, codes, cache, collection state
 *   store_leann.c    rg_store_ops entry points, SQLite schema, locking, load
 *   leann_build.c    bulk graph build + high-degree-preserving pruning
 *   leann_search.c   best-first beam search (PQ-steered) + exact rerank
 *   leann_insert.c   incremental insert of new nodes into the graph
 *   leann_vacuum.c   delete (tombstone + neighbour repair), compact/rebuild
 *   leann_pq.c       product quantisation (k-means codebooks, ADC tables)
 *   leann_format.c   on-disk graph/codes files (magic, version, CRC32C)
 *   leann_utils.c    embedding cache, node sets, varints, float16
 *
 * A collection keeps no full-precision embedding on disk: only the graph,
 * the PQ codes and the passages.  Exact vectors are recomputed through the
 * collection's embedder when a query (or a graph edit) needs them.  See
 * docs/leann.md. */
#ifndef RG_LEANN_H
#define RG_LEANN_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "embedder.h"
#include "error.h"
#include "filter.h"
#include "store.h"

#define LEANN_FORMAT_VERSION 1
#define LEANN_GRAPH_MAGIC "RGLEANNG"
#define LEANN_CODES_MAGIC "RGLEANNC"
#define LEANN_HEADER_SIZE 32
#define LEANN_NONE UINT32_MAX

/* RobustPrune's alpha: > 1 keeps some longer edges so the graph stays
 * navigable after pruning (DiskANN's value). */
#define LEANN_ALPHA 1.2f
/* Beam width used while building / inserting. */
#define LEANN_BUILD_L 64
/* PQ training sample cap and k-means iterations. */
#define LEANN_PQ_TRAIN_MAX 32768
#define LEANN_PQ_ITERS 10
/* A full rebuild happens on add when the collection has doubled since the
 * last build, until it is this big (then only `compact` rebuilds). */
#define LEANN_AUTO_REBUILD_MAX 65536

enum { LEANN_NODE_HUB = 1, LEANN_NODE_DELETED = 2 };

/* ---- product quantisation (leann_pq.c) ---------------------------------- */

typedef struct leann_pq {
    int dim;          /* full vector dimension */
    int m;            /* sub-quantisers (bytes per code) */
    int dsub;         /* dim / m */
    int ksub;         /* centroids per sub-quantiser (<= 256) */
    float *centroids; /* m * ksub * dsub; rounded through float16 so what is
                       * stored on disk is exactly what encodes */
} leann_pq;

/* Sub-quantiser count for a dimension: 4-dimensional sub-vectors when the
 * dimension allows (about dim/4 bytes a node). */
int leann_pq_default_m(int dim);
/* Trains on n vectors (a sample if n is large). */
rg_status leann_pq_train(leann_pq *pq, const float *x, size_t n, int dim, int m, uint64_t seed,
                         rg_error *err);
void leann_pq_encode(const leann_pq *pq, const float *x, uint8_t *code);
void leann_pq_decode(const leann_pq *pq, const uint8_t *code, float *x);
/* table[j * ksub + c] = <q_j, centroid_jc>: inner products for ADC. */
void leann_pq_table(const leann_pq *pq, const float *q, float *table);
/* Approximate cosine distance 1 - <q, decode(code)>. */
static inline float leann_pq_distance(const leann_pq *pq, const float *table, const uint8_t *code)
{
    float s = 0;
    for (int j = 0; j < pq->m; j++)
        s += table[j * pq->ksub + code[j]];
    return 1.0f - s;
}
void leann_pq_free(leann_pq *pq);

typedef struct leann_cand {
    float dist;
    uint32_t node;
} leann_cand;

typedef struct leann_visit leann_visit;
typedef float (*leann_dist_fn)(void *ctx, uint32_t node);

/* ---- graph (leann_build.c, leann_insert.c, leann_vacuum.c) --------------- */

/* In memory every node has max_degree neighbour slots; on disk the lists are
 * CSR with delta + varint ids (leann_format.c). */
typedef struct leann_graph {
    uint32_t n, cap;
    int max_degree;       /* graph_degree: hubs keep it */
    int pruned_degree;    /* everyone else */
    uint32_t *nbrs;       /* cap * max_degree */
    uint16_t *deg;
    uint8_t *flags;       /* LEANN_NODE_* */
    uint32_t entry;       /* LEANN_NONE when empty */
} leann_graph;

void leann_graph_init(leann_graph *g, int max_degree, int pruned_degree);
void leann_graph_reserve(leann_graph *g, uint32_t n);
/* Appends a node without edges; returns its number. */
uint32_t leann_graph_add_node(leann_graph *g);
void leann_graph_free(leann_graph *g);
static inline uint32_t *leann_graph_nbrs(const leann_graph *g, uint32_t v)
{
    return g->nbrs + (size_t)v * (size_t)g->max_degree;
}
static inline int leann_graph_bound(const leann_graph *g, uint32_t v)
{
    return (g->flags[v] & LEANN_NODE_HUB) ? g->max_degree : g->pruned_degree;
}
double leann_graph_avg_degree(const leann_graph *g);

/* Where a graph edit gets vectors: exact ones for the nodes being placed,
 * exact or PQ-reconstructed ones for neighbours being re-pruned.  The
 * pointer stays valid for the whole edit. */
typedef struct leann_space {
    const float *(*vec)(void *ctx, uint32_t node);
    void *ctx;
    int dim;
} leann_space;

/* Bulk build over n vectors (row i = node i): Vamana-style insertion with
 * RobustPrune at max_degree, then high-degree-preserving pruning. */
void leann_graph_build(leann_graph *g, const float *vecs, uint32_t n, int dim, double hub_fraction,
                       uint64_t seed);
/* Keeps the hub_fraction best-connected nodes (by in-degree) at max_degree,
 * prunes everybody else to pruned_degree, choosing diverse neighbours. */
void leann_graph_prune_hubs(leann_graph *g, const leann_space *sp, double hub_fraction);
/* RobustPrune: picks at most bound neighbours of p from cand (sorted by
 * distance to p, dist given) so that each kept one is not much closer to an
 * already kept one than to p.  Returns the count written to out. */
int leann_robust_prune(const leann_space *sp, uint32_t p, const uint32_t *cand, const float *dist,
                       int ncand, int bound, float alpha, uint32_t *out);
/* Re-prunes node v's list after adding candidate c (used for reverse edges). */
void leann_graph_add_edge(leann_graph *g, const leann_space *sp, uint32_t v, uint32_t c);
/* Gives node v its neighbours from cand (exact distances through sp,
 * RobustPrune to bound) and adds the reverse edges, re-pruning neighbours
 * that overflow their own bound. */
void leann_graph_connect(leann_graph *g, const leann_space *sp, uint32_t v, const uint32_t *cand,
                         int ncand, int bound);
/* Inserts node v (already added with leann_graph_add_node) searching the
 * graph with exact distances from sp. */
void leann_graph_insert_exact(leann_graph *g, const leann_space *sp, uint32_t v, int bound,
                              struct leann_visit *vs);

/* ---- search (leann_search.c) ---------------------------------------------- */


/* Reusable visited marks: stamp[v] == cur means visited in this search. */
struct leann_visit {
    uint32_t *stamp;
    uint32_t cap;
    uint32_t cur;
};
void leann_visit_begin(leann_visit *vs, uint32_t n);
static inline bool leann_visit_test_set(leann_visit *vs, uint32_t v)
{
    if (vs->stamp[v] == vs->cur)
        return true;
    vs->stamp[v] = vs->cur;
    return false;
}
void leann_visit_free(leann_visit *vs);

/* Best-first beam search of width L from the entry point.  Every node whose
 * distance was computed goes to *seen (sorted ascending, caller frees).
 * Deleted nodes are walked through but are the caller's to drop. */
void leann_beam_search(const leann_graph *g, leann_dist_fn dist, void *ctx, int L,
                       leann_visit *vs, leann_cand **seen, size_t *nseen);

/* Live (not deleted, not self) nodes of a sorted seen list, at most max. */
int leann_candidates_from_seen(const leann_graph *g, const leann_cand *seen, size_t nseen,
                               uint32_t self, uint32_t *out, int max);

/* ---- utilities (leann_utils.c) -------------------------------------------- */

uint16_t leann_f32_to_f16(float f);
float leann_f16_to_f32(uint16_t h);
size_t leann_varint_put(uint8_t *p, uint64_t v);
/* Returns bytes read, 0 if the input ends first or the varint is too long. */
size_t leann_varint_get(const uint8_t *p, size_t avail, uint64_t *v);
int leann_cand_cmp(const void *a, const void *b);

/* Embedding cache: node -> exact vector, bounded by bytes.  Hubs are kept in
 * preference (CLOCK eviction gives them a second life). */
typedef struct leann_cache {
    int dim;
    size_t slots, used;
    float *vecs;          /* slots * dim */
    uint32_t *node;       /* slot -> node */
    uint8_t *ref;         /* CLOCK reference bits */
    uint32_t *table;      /* open addressing: node -> slot + 1 (0 empty) */
    size_t tcap;
    size_t hand;
    uint64_t hits, misses;
} leann_cache;

void leann_cache_init(leann_cache *c, int dim, size_t bytes);
const float *leann_cache_get(leann_cache *c, uint32_t node);
void leann_cache_put(leann_cache *c, uint32_t node, const float *v, bool hub);
void leann_cache_clear(leann_cache *c);
void leann_cache_free(leann_cache *c);

/* ---- on-disk files (leann_format.c) --------------------------------------- */

rg_status leann_graph_write(const leann_graph *g, const char *path, int64_t *bytes, rg_error *err);
rg_status leann_graph_read(leann_graph *g, const char *path, rg_error *err);
rg_status leann_codes_write(const leann_pq *pq, const uint8_t *codes, uint32_t n, const char *path,
                            int64_t *bytes, rg_error *err);
/* *codes receives n * pq->m bytes. */
rg_status leann_codes_read(leann_pq *pq, uint8_t **codes, uint32_t *n, const char *path,
                           rg_error *err);
/* Adjacency list as delta + varint bytes (also used for the SQLite overlay). */
void leann_nbrs_encode(const uint32_t *nbrs, int deg, rg_buf *out);
/* Returns the degree, or -1 when malformed / longer than max. */
int leann_nbrs_decode(const uint8_t *p, size_t n, uint32_t *out, int max);

#endif
