/* The leann core: graph, PQ codes, search, insert, delete repair,
 * consolidation and rebuild over in-memory state, reaching what is stored
 * only through leann_source (below).  No SQLite here: the SQLite layer
 * (leann_sqlite.h) calls the core, never the reverse.  pgvector-style split
 * by phase:
 *
 *   leann.h          this file: graph, codes, cache, collection state, source
 *   leann_build.c    bulk graph build + high-degree-preserving pruning
 *   leann_search.c   best-first beam search (PQ-steered) + exact rerank
 *   leann_insert.c   incremental insert of new nodes into the graph
 *   leann_vacuum.c   delete (tombstone + neighbour repair), consolidation,
 *                    rebuild
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
#define LEANN_CODES_INT8 1u   /* header flag: codebooks stored as int8 + scales */
#define LEANN_CODES_PACK4 2u  /* header flag: ksub <= 16, two codes a byte (low nibble first) */
#define LEANN_CODES_SPARSE 8u /* header flag: a bitmap of coded nodes, codes of those only (no tombstones) */
/* Header flag of both files: the payload's leading section (the whole graph;
 * the parameters and codebooks of a codes file) is one zstd frame; see the
 * top of leann_format.c.  Files without it (older ragged) still load. */
#define LEANN_FILE_ZSTD 4u
#define LEANN_NONE UINT32_MAX

/* RobustPrune's alpha: > 1 keeps some longer edges so the graph stays
 * navigable after pruning (DiskANN's value). */
#define LEANN_ALPHA 1.2f
/* Beam width used while building / inserting. */
#define LEANN_BUILD_L 64
/* PQ training sample cap and k-means iterations. */
#define LEANN_PQ_TRAIN_MAX 32768
#define LEANN_PQ_ITERS 10
/* Automatic code size: coarser codes up to this many vectors (the default
 * scan_threshold: collections that are scanned rather than walked). */
#define LEANN_PQ_COARSE_MAX 16384
/* Bits a PQ code of a new collection has (vectorstore.leann.code_bits 0). */
#define LEANN_PQ_DEFAULT_BITS 8
/* Rebuilds are bounded by memory, not by a record count: a full rebuild on
 * add (the collection doubled since its last build) happens only while
 * every live vector fits vectorstore.leann.build_memory_mb (64 MB: 16,384
 * vectors at 1024-d, 43,690 at 384-d); past that an ingest inserts
 * incrementally, and `compact` rebuilds in streaming fashion (a bounded
 * sample trains the codes and builds the first graph, the rest is
 * recomputed and inserted a block at a time: leann_vacuum.c).  Issue 16:
 * rebuilds at each doubling up to 65,536 records held 272 MB of vectors
 * at 1024-d, and `compact` N x dim x 4 bytes. */
#define LEANN_STREAM_BLOCK 256
/* Automatic consolidation (leann_vacuum.c), in bounded steps: every write
 * ends with one step.  A step first moves the highest-numbered live nodes
 * into the lowest tombstones (so tombstones do not pile up) and drops the
 * tombstones left at the top; then, while a pass runs, it re-links live
 * nodes in node order from the pass's cursor (exact vector recomputed, a
 * fresh neighbour search, RobustPrune, reverse edges), as a second Vamana
 * pass would.  A pass starts when the records deleted since the last full
 * build or pass start reach LEANN_CONSOLIDATE_CHANGED of the live records
 * (at least LEANN_CONSOLIDATE_MIN_CHANGED).  Incremental inserts do not
 * count: re-linking a freshly ingested SciFact (4,096 bulk-built nodes and
 * 2,829 inserted) took its walk recall from 0.954 to 0.927, while after a
 * churn cycle a pass over the repaired graph gave 0.944 against 0.931
 * without (bench/leann/RESULTS-churn.md).  A step does at most
 * max(LEANN_CONSOLIDATE_STEP, LEANN_CONSOLIDATE_WORK x the records the
 * write added or deleted) moves and re-links, so repair work stays within a
 * constant of the write's own; its state (the cursor, meta "consolidate")
 * commits with the write, so a kill resumes it at the next write. */
#define LEANN_CONSOLIDATE_CHANGED 0.2
#define LEANN_CONSOLIDATE_MIN_CHANGED 16
#define LEANN_CONSOLIDATE_STEP 256
#define LEANN_CONSOLIDATE_WORK 4

enum { LEANN_NODE_HUB = 1, LEANN_NODE_DELETED = 2 };

/* ---- product quantisation (leann_pq.c) ---------------------------------- */

typedef struct leann_pq {
    int dim;          /* full vector dimension */
    int m;            /* sub-quantisers (bytes per code in memory) */
    int dsub;         /* dim / m */
    int ksub;         /* centroids per sub-quantiser (<= 256) */
    float *centroids; /* m * ksub * dsub; rounded through what is stored on
                       * disk, so what encodes is exactly what a reader loads */
    float *scales;    /* m: int8 codebook scale per sub-quantiser; NULL when
                       * the codebooks are float16 (codes files of format 1) */
    /* Derived from centroids by leann_pq_prepare (never stored): each
     * sub-quantiser's codebook transposed (m * dsub * ksub, for
     * leann_dots_t) and its centroids' squared norms (m * ksub). */
    float *ct, *norms;
} leann_pq;

/* Sub-quantiser count for n vectors of a dimension (8-bit codes):
 * 16-dimensional sub-vectors from 768 dimensions up (64 bytes at 1024-d;
 * 8-dimensional, 128 bytes, above LEANN_PQ_COARSE_MAX vectors), 2-dimensional
 * below 768 (192 bytes at 384-d). */
int leann_pq_default_m(int dim, size_t n);
/* int8 codebooks: the scale of n values, and one value's code. */
float leann_pq_int8_scale(const float *v, size_t n);
int8_t leann_pq_int8_of(float v, float scale);
/* Sub-quantisers and centroids for code_bytes bytes a node (0: automatic,
 * leann_pq_default_m) of code_bits-bit codes (4 or 8; anything else: the
 * default).  4-bit codes are packed two to a byte on disk (LEANN_CODES_PACK4),
 * so m = 2 * code_bytes; m is rounded down to a divisor of dim. */
void leann_pq_shape(int dim, size_t n, int code_bytes, int code_bits, int *m, int *ksub);
/* Trains on n vectors (a sample if n is large); shape as leann_pq_shape. */
rg_status leann_pq_train(leann_pq *pq, const float *x, size_t n, int dim, int code_bytes, int code_bits,
                         uint64_t seed, rg_error *err);
/* table[j * from->ksub + o]: the code to's sub-quantiser j gives old
 * centroid o of from's, i.e. what leann_pq_encode(to, ...) gives for
 * sub-vector j of leann_pq_decode(from, ...) (same dim and m). */
void leann_pq_translation(const leann_pq *from, const leann_pq *to, uint8_t *table);
/* Builds pq->ct and pq->norms from pq->centroids (train and the codes file
 * reader call it; table and encode need it). */
void leann_pq_prepare(leann_pq *pq);
void leann_pq_encode(const leann_pq *pq, const float *x, uint8_t *code);
void leann_pq_decode(const leann_pq *pq, const uint8_t *code, float *x);
/* table[j * ksub + c] = <q_j, centroid_jc>: inner products for ADC. */
void leann_pq_table(const leann_pq *pq, const float *q, float *table);
/* leann_pq_table, and q's code into code (what leann_pq_encode gives) from
 * the table: one pass over the codebooks instead of two. */
void leann_pq_table_encode(const leann_pq *pq, const float *q, float *table, uint8_t *code);
/* Approximate cosine distance 1 - <q, decode(code)>. */
static inline float leann_pq_distance(const leann_pq *pq, const float *table, const uint8_t *code)
{
    /* Four independent sums: one chain of dependent float adds made the
     * scan of every code (a cold query on a collection under scan_threshold)
     * wait on add latency rather than on the look-ups. */
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int j = 0, m = pq->m, ksub = pq->ksub;
    for (; j + 4 <= m; j += 4) {
        s0 += table[j * ksub + code[j]];
        s1 += table[(j + 1) * ksub + code[j + 1]];
        s2 += table[(j + 2) * ksub + code[j + 2]];
        s3 += table[(j + 3) * ksub + code[j + 3]];
    }
    for (; j < m; j++)
        s0 += table[j * ksub + code[j]];
    return 1.0f - ((s0 + s1) + (s2 + s3));
}
void leann_pq_free(leann_pq *pq);

typedef struct leann_cand {
    float dist;
    uint32_t node;
} leann_cand;

typedef struct leann_visit leann_visit;
/* Distances of nodes[0..n) from a walk's query into out[0..n): a walk
 * asks for the unvisited neighbours of the node it expands at once, so
 * that a source whose data is scattered in memory (PQ codes) can start
 * loading all of them before it needs the first. */
typedef void (*leann_dist_fn)(void *ctx, const uint32_t *nodes, int n, float *out);
/* PQ distances (ADC) of stored codes from a query table: the walks of
 * queries and inserts. */
typedef struct leann_pq_query {
    const leann_pq *pq;
    const float *table;    /* leann_pq_table of the query */
    const uint8_t *codes;  /* m bytes a node */
} leann_pq_query;
void leann_pq_dists(void *pq_query, const uint32_t *nodes, int n, float *out);

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
    /* May be NULL.  Called by an edit made of independent steps (the
     * reconnection of one stranded node after another) between steps, when
     * it holds no pointer vec returned: the space may give back what it
     * materialised.  Without it a reconnection that walks for many
     * stranded nodes kept a vector of every node any walk visited (a
     * streaming compact at 291K: +239 MB in its last seconds). */
    void (*release)(void *ctx);
} leann_space;

/* Bulk build over n vectors (row i = node i): batched parallel Vamana (one
 * pass, alpha LEANN_ALPHA, RobustPrune at max_degree), then
 * high-degree-preserving pruning.  Uses up to rg_cpu_count() threads. */
void leann_graph_build(leann_graph *g, const float *vecs, uint32_t n, int dim, double hub_fraction,
                       uint64_t seed);
/* The same, calling progress(ctx, done, n) on this thread after each batch
 * of nodes is linked (progress may be NULL). */
void leann_graph_build_progress(leann_graph *g, const float *vecs, uint32_t n, int dim, double hub_fraction,
                                uint64_t seed, void (*progress)(void *ctx, uint32_t done, uint32_t n), void *ctx);
/* High-degree-preserving pruning (the LEANN paper's Algorithm 3): the
 * hub_fraction best-connected nodes (by in-degree) choose max_degree
 * neighbours, everybody else pruned_degree (diverse ones, RobustPrune);
 * every chosen edge is then made bidirectional, lists shrunk only past
 * max_degree, so a non-hub's list can be longer than pruned_degree. */
void leann_graph_prune_hubs(leann_graph *g, const leann_space *sp, double hub_fraction);
/* Makes every live node reachable from the entry again, as after a bulk
 * build: a stranded node gets an in-edge from its nearest reachable
 * out-neighbour, else from the nearest node a walk for its vector (sp; may
 * be NULL) finds, else from any reachable node with room; that node becomes
 * a hub if its pruned list is full.  Pruning, the re-prunes of an insert and
 * the repairs of a delete can all strand a node.  Changed nodes are marked
 * in dirty (graph.n bytes; may be NULL). */
void leann_graph_reconnect(leann_graph *g, const leann_space *sp, uint8_t *dirty);
/* Live nodes no walk from the entry can reach (0 in a healthy graph; the
 * tests check it after every kind of write, stats report it). */
uint32_t leann_graph_unreachable(const leann_graph *g);
/* RobustPrune: picks at most bound neighbours of p from cand (sorted by
 * distance to p, dist given) so that each kept one is not much closer to an
 * already kept one than to p.  Returns the count written to out. */
int leann_robust_prune(const leann_space *sp, uint32_t p, const uint32_t *cand, const float *dist,
                       int ncand, int bound, float alpha, uint32_t *out);
/* The same choice, cheaper: clean (may be NULL) marks the candidates that
 * together were the whole output of an earlier RobustPrune of the same
 * node with the same alpha; they are not compared with each other again.
 * out_dist (may be NULL) receives the kept ones' distances. */
int leann_robust_prune_clean(const leann_space *sp, const uint32_t *cand, const float *dist, const uint8_t *clean,
                             int ncand, int bound, float alpha, uint32_t *out, float *out_dist);
/* Sets p's list to the RobustPrune choice (bound) among cand (any order,
 * duplicates, p itself and deleted nodes are dropped). */
void leann_graph_set_pruned(leann_graph *g, const leann_space *sp, uint32_t p, uint32_t *cand,
                            int ncand, int bound);
/* Adds the edge v -> c (a reverse edge): appended while v's list is
 * shorter than max_degree, else the list plus c is re-pruned to
 * max_degree (Algorithm 3's bidirectional edges, as after a bulk build). */
void leann_graph_add_edge(leann_graph *g, const leann_space *sp, uint32_t v, uint32_t c);
/* Gives node v its neighbours from cand (exact distances through sp,
 * RobustPrune to bound) and adds the reverse edges, re-pruning neighbours
 * that overflow their own bound. */
void leann_graph_connect(leann_graph *g, const leann_space *sp, uint32_t v, const uint32_t *cand,
                         int ncand, int bound);

/* ---- search (leann_search.c) ---------------------------------------------- */


/* The beam a walk uses (asked > 0: a query's own search_complexity) and
 * the exact refinement's beam (0: none), as the collection's size and
 * embedder set them (docs/leann.md, Search). */
typedef struct leann_coll leann_coll;
int leann_walk_beam(const leann_coll *c, int asked);
int leann_refine_beam(const leann_coll *c);

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
/* The same from several entry points (the beam starts with the best L). */
void leann_beam_search_from(const leann_graph *g, leann_dist_fn dist, void *ctx, int L, const uint32_t *entries,
                            int nentries, leann_visit *vs, leann_cand **seen, size_t *nseen);
/* leann_beam_search_from giving the final beam, sorted (*best, *nbest: the
 * best L seen, except that a candidate tying the beam's worst distance
 * when the beam was full was left out), and *seen not sorted (caller frees
 * both).  An insert needs only the best few: sorting everything it saw
 * was 1.4% of a 291K-chunk ingest. */
void leann_beam_search_top(const leann_graph *g, leann_dist_fn dist, void *ctx, int L, const uint32_t *entries,
                           int nentries, leann_visit *vs, leann_cand **best, int *nbest, leann_cand **seen,
                           size_t *nseen);
/* The same search on binary heaps, which leann_beam_search_from uses for
 * beams over 512 (exposed for the test that both agree). */
void leann_beam_search_heap(const leann_graph *g, leann_dist_fn dist, void *ctx, int L, const uint32_t *entries,
                            int nentries, leann_visit *vs, leann_cand **seen, size_t *nseen);

/* Adaptive exact rerank (rerank_candidates 0): candidates are recomputed in
 * PQ order, first max(k + 2, LEANN_RERANK_MIN) of them, then
 * LEANN_RERANK_STEP at a time, until the unscored ones are expected to hold
 * fewer than LEANN_RERANK_MISSES of the exact top k.  Set on scifact
 * (bench/leann/RESULTS.md). */
#define LEANN_RERANK_MIN 8
#define LEANN_RERANK_STEP 4
#define LEANN_RERANK_MISSES 0.1
/* Exact vectors of n nodes into out (n * dim). */
typedef rg_status (*leann_vecs_fn)(void *ctx, const uint32_t *nodes, size_t n, float *out, rg_error *err);
/* Expected number of the exact top k among the unscored cand[done..ncand)
 * (cand sorted by PQ distance, exact[i] the exact distance of cand[i] for
 * i < done), from the PQ error observed on the scored ones. */
double leann_rerank_expected_misses(const leann_cand *cand, size_t ncand, const float *exact, size_t done, int k);
/* Exact distances (1 - <q, v>) of cand[0..*scored), recomputed in PQ order:
 * all ncand when !adaptive, else until the rule above stops. */
rg_status leann_rerank_exact(const float *q, size_t dim, const leann_cand *cand, size_t ncand, int k, bool adaptive,
                             leann_vecs_fn vecs, void *ctx, float *exact, size_t *scored, rg_error *err);

/* The adaptive rule's knobs (leann_rerank_exact uses the LEANN_RERANK_*
 * ones); bench/leann/rerank_lab.c varies them. */
typedef struct leann_rerank_rule {
    int first;      /* candidates of the first batch (at least k + 2) */
    int step;       /* candidates of every later batch */
    double misses;  /* stop when fewer of the top k are expected unscored */
} leann_rerank_rule;
/* leann_rerank_exact with an explicit rule (NULL: score all ncand). */
rg_status leann_rerank_exact_rule(const float *q, size_t dim, const leann_cand *cand, size_t ncand, int k,
                                  const leann_rerank_rule *rule, leann_vecs_fn vecs, void *ctx, float *exact,
                                  size_t *scored, rg_error *err);

/* Live (not deleted, not self) nodes of a sorted seen list, at most max. */
int leann_candidates_from_seen(const leann_graph *g, const leann_cand *seen, size_t nseen,
                               uint32_t self, uint32_t *out, int max);

/* ---- utilities (leann_utils.c) -------------------------------------------- */

/* Fast dot product for graph construction: AVX2+FMA or NEON when the CPU
 * has it and RAGGED_SIMD is not "portable" (kernel chosen once per process). */
float leann_dot(const float *a, const float *b, size_t n);
typedef float (*leann_dot_fn)(const float *a, const float *b, size_t n);
/* The kernel leann_dot would choose now (*name: "avx2", "neon" or
 * "portable"); for tests that compare kernels. */
leann_dot_fn leann_dot_pick(const char **name);
/* out[c] = sum_t x[t] * ct[t * k + c] for c < k (one short vector against
 * the columns of a d x k block: PQ tables, encodes, k-means); AVX-512 or
 * AVX2+FMA when the CPU has it and RAGGED_SIMD is not "portable". */
void leann_dots_t(const float *x, const float *ct, int d, int k, float *out);
/* The column c minimising norms[c] - 2 <x, column c> (the first on ties):
 * the nearest centroid of a transposed codebook with squared norms. */
uint32_t leann_nearest_t(const float *x, const float *ct, const float *norms, int d, int k);
/* What leann_nearest_t(x, ct, norms, d, k) gives, from dots =
 * leann_dots_t(x, ct, d, k): a query table gives the code for free. */
uint32_t leann_nearest_of_dots(const float *dots, const float *norms, int k);
typedef struct leann_t_kernels {
    void (*dots)(const float *x, const float *ct, int d, int k, float *out);
    uint32_t (*nearest)(const float *x, const float *ct, const float *norms, int d, int k);
    uint32_t (*nearest_dots)(const float *dots, const float *norms, int k);
} leann_t_kernels;
/* The kernels leann_dots_t / leann_nearest_t would choose now (*name:
 * "avx512", "avx2" or "portable"); for tests that compare them. */
leann_t_kernels leann_t_kernels_pick(const char **name);
/* The kernels of that name into *out, when this CPU has them (and
 * RAGGED_SIMD is not "portable", except for "portable" itself). */
bool leann_t_kernels_get(const char *name, leann_t_kernels *out);
uint16_t leann_f32_to_f16(float f);
float leann_f16_to_f32(uint16_t h);
size_t leann_varint_put(uint8_t *p, uint64_t v);
/* Returns bytes read, 0 if the input ends first or the varint is too long. */
size_t leann_varint_get(const uint8_t *p, size_t avail, uint64_t *v);
/* Distance, then node: the order of every candidate list (qsort form:
 * leann_cand_cmp).  Inline for the walks' sorted inserts, where a call
 * a comparison was 1.5% of an insert's CPU. */
static inline int leann_cand_order(const leann_cand *x, const leann_cand *y)
{
    if (x->dist < y->dist)
        return -1;
    if (x->dist > y->dist)
        return 1;
    return (x->node > y->node) - (x->node < y->node);
}
int leann_cand_cmp(const void *a, const void *b);
/* Sorts by leann_cand_cmp's order (distance, then node; -0 before +0),
 * without qsort's indirect comparisons. */
void leann_cand_sort(leann_cand *a, size_t n);

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
/* Forgets node's vector; gives from's vector the number to (to's own, if
 * any, is forgotten): for nodes moved to another number. */
void leann_cache_forget(leann_cache *c, uint32_t node);
void leann_cache_rename(leann_cache *c, uint32_t from, uint32_t to);
void leann_cache_free(leann_cache *c);

/* ---- on-disk files (leann_format.c) --------------------------------------- */

rg_status leann_graph_write(const leann_graph *g, const char *path, int64_t *bytes, rg_error *err);
rg_status leann_graph_read(leann_graph *g, const char *path, rg_error *err);
rg_status leann_codes_write(const leann_pq *pq, const uint8_t *codes, uint32_t n, const char *path,
                            int64_t *bytes, rg_error *err);
/* The same without the codes of nodes node_flags marks LEANN_NODE_DELETED
 * (LEANN_CODES_SPARSE: a bitmap, then the others' codes). */
rg_status leann_codes_write_live(const leann_pq *pq, const uint8_t *codes, uint32_t n, const uint8_t *node_flags,
                                 const char *path, int64_t *bytes, rg_error *err);
/* *codes receives n * pq->m bytes (zeros for a node the file has no code
 * of). */
rg_status leann_codes_read(leann_pq *pq, uint8_t **codes, uint32_t *n, const char *path,
                           rg_error *err);
/* The same; *present (n bytes, 1: the file holds the node's code; may be
 * NULL) lets the caller check that every live node has one. */
rg_status leann_codes_read_present(leann_pq *pq, uint8_t **codes, uint32_t *n, uint8_t **present,
                                   const char *path, rg_error *err);
/* Adjacency list as delta + varint bytes (also used for the SQLite overlay). */
void leann_nbrs_encode(const uint32_t *nbrs, int deg, rg_buf *out);
/* Returns the degree, or -1 when malformed / longer than max. */
int leann_nbrs_decode(const uint8_t *p, size_t n, uint32_t *out, int max);

/* ---- a collection (store_leann.c and the phase files) ------------------- */

typedef struct leann_edit_space leann_edit_space;

typedef struct leann_params {
    int graph_degree, pruned_degree, search_complexity, rerank_candidates;
    int refine_beam;             /* -1: automatic (leann_refine_beam) */
    int code_bytes, code_bits;   /* PQ shape of the next build (leann_pq_shape) */
    int64_t scan_threshold;
    double hub_fraction;
    int64_t cache_mb;
    int64_t build_memory_mb;   /* vectors a full rebuild may hold (leann_rebuild_max_nodes) */
} leann_params;

/* What is stored for a graph node: its text, or for a record whose vector
 * cannot be recomputed (no text, caller-supplied vector) that vector. */
typedef struct leann_passage {
    char *text;   /* NUL-terminated, or NULL */
    float *vec;   /* dim floats, or NULL */
} leann_passage;
void leann_passages_free(leann_passage *p, size_t n);

/* Everything the leann core (graph, PQ, search, insert, delete repair,
 * consolidation, rebuild) reads of the stored data and writes back goes
 * through these callbacks, the way an access method of pgvector reaches its
 * table only through the heap API: leann_sqlite.c gives SQLite-backed ones
 * (leann_sql_source), the unit tests in-memory ones, so the core runs and is
 * tested without SQLite and never calls the store (issue 16, item 8).  The
 * store calls the core inside a write it has opened (a transaction), and the
 * write callbacks persist the core's edits inside it; when the store rolls
 * back, it drops the core's in-memory state too. */
typedef struct leann_source {
    /* The passages of nodes[0..n) into out[0..n) (malloc'd; the core frees
     * them with leann_passages_free); on error nothing is left to free. */
    rg_status (*passages)(void *ctx, const uint32_t *nodes, size_t n, leann_passage *out, rg_error *err);
    /* Live nodes matching where (ascending, malloc'd); where NULL: every
     * live node. */
    rg_status (*filter_set)(void *ctx, const rg_filter *where, uint32_t **nodes, size_t *n, rg_error *err);
    /* Insertion order of nodes[0..n) (ties are broken by it, as the exact
     * backend breaks them). */
    rg_status (*order)(void *ctx, const uint32_t *nodes, size_t n, int64_t *out, rg_error *err);

    /* ---- writes (NULL in a read-only source) ---- */
    /* A full rebuild begins: every live node in insertion order, with its
     * order key (both malloc'd; the rebuild's new numbering). */
    rg_status (*live)(void *ctx, uint32_t **nodes, int64_t **order, size_t *n, rg_error *err);
    /* Live nodes from[i] took the numbers of tombstones to[i] (from[i] are
     * tombstones now): what is stored of them follows. */
    rg_status (*moved)(void *ctx, const uint32_t *from, const uint32_t *to, size_t n, rg_error *err);
    /* The tombstones numbered n and up were dropped (no node has those
     * numbers now; new nodes will). */
    rg_status (*truncated)(void *ctx, uint32_t n, rg_error *err);
    /* Persist the edited graph: when dirty is not NULL (graph.n bytes), the
     * lists and flags of nodes marked there (bit 1) and the codes of nodes
     * >= new_from and of those marked LEANN_DIRTY_CODE (a tombstone keeps
     * no code); always the collection's counters (leann_coll's graph entry,
     * consolidation state).  May checkpoint (leann_drop_top_tombstones, then
     * the whole graph as the store's new base). */
    rg_status (*save)(void *ctx, const uint8_t *dirty, uint32_t new_from, rg_error *err);
    /* A full rebuild, its vectors in hand, numbers the live nodes afresh:
     * old[i] (order key order[i], as live gave them) becomes node i, and
     * nothing stored of the old graph stays (tombstones, lists, codes).
     * The store may refresh what it keeps of every record here
     * (leann_sqlite.c retrains its compression dictionaries). */
    rg_status (*renumber)(void *ctx, const uint32_t *old, const int64_t *order, size_t n, rg_error *err);
    /* The rebuild's graph and codes are complete: persist them whole (the
     * store's new base) with the counters. */
    rg_status (*rebuilt)(void *ctx, rg_error *err);
    void *ctx;
} leann_source;

/* A collection as the core sees it: in-memory state plus the source of
 * what is stored.  The SQLite layer's handle (leann_sql, leann_sqlite.h)
 * begins with one and adds the database, files, lock and compression. */
typedef struct leann_coll {
    char *name;           /* for messages */
    leann_source src;     /* stored data, for the core */
    rg_embedder *embedder;
    int dim;
    leann_params params;

    uint32_t base_n;      /* nodes in the store's base (its generation
                           * files): tombstones below it are dropped only
                           * when the store checkpoints (src.save) */
    uint32_t built_n;     /* live nodes at the last full build */
    uint32_t codes_n;     /* live nodes when the codebooks were last trained
                           * (a full build or leann_retrain_codes) */
    bool codebook_changed; /* codebooks retrained since the last save: the
                            * store must write a new generation (every code
                            * changed), not overlay rows */
    /* Consolidation (leann_vacuum.c; meta "consolidate", "changed",
     * "passes", "renumber"): the next node of the running pass (-1: none),
     * records deleted since the last build or pass start, passes completed, and a counter bumped whenever node
     * numbers are reused (moves, dropped tombstones), so other handles drop
     * their caches. */
    int64_t consolidate_next, changed, passes, renumber;
    leann_graph graph;
    leann_pq pq;          /* pq.m == 0: no codes yet */
    uint8_t *codes;       /* graph.cap * pq.m */
    size_t codes_cap;     /* nodes the codes array holds */
    int64_t live;

    leann_cache cache;
    leann_visit visit;
    uint64_t recomputed;  /* embeddings recomputed by this handle */
    uint64_t last_query_recomputed;
    uint64_t last_query_refined;   /* of those, by the exact refinement */
    rg_store_progress_fn progress; /* rg_collection_set_progress; NULL: none */
    void *progress_ctx;
    /* How this handle's last query found its candidates ("scan", "walk",
     * "filtered scan", "filtered walk", "walk, then scan"; NULL: none yet),
     * for backend stats. */
    const char *last_query_path;
} leann_coll;

/* Reports a step of a long write to the caller (store.h), if it asked. */
static inline void leann_progress(const leann_coll *c, const char *stage, int64_t done, int64_t total)
{
    if (c->progress)
        c->progress(c->progress_ctx, stage, done, total);
}

/* ---- the core's writes (leann_insert.c, leann_vacuum.c) --------------------
 *
 * Called by the store inside a write it opened; each persists its edit
 * through c->src (save, moved, truncated, live, rebuilt). */

void leann_codes_reserve(leann_coll *c, uint32_t n);
/* Adds recs[0..n) (their embeddings) as nodes first_new.. (the store has
 * numbered them: first_new == graph.n) and tombstones old[0..nold) (the
 * replaced versions of upserted records): linked into the graph, every
 * stranded node reconnected, or a full rebuild (leann_rebuild) when there
 * are no codes yet or leann_should_rebuild(c, live_after) says so. */
rg_status leann_insert(leann_coll *c, const rg_record *recs, size_t n, const uint32_t *old, size_t nold,
                       int64_t live_after, rg_error *err);
/* Tombstones nodes[0..n) (whose records the store deleted), repairs the
 * graph around them and saves. */
rg_status leann_remove(leann_coll *c, const uint32_t *nodes, size_t n, rg_error *err);
/* Tombstones the nodes in memory and repairs their in-neighbours; marks
 * every changed node in dirty (graph.n bytes). */
void leann_graph_remove(leann_coll *c, const uint32_t *nodes, size_t n, uint8_t *dirty);
/* Full rebuild over the live nodes (c->src.live; known: nodes whose exact
 * vectors the caller has, e.g. the batch being added; the rest come from
 * the cache or are recomputed): renumbers nodes in insertion order
 * (c->src.renumber), rebuilds graph + codes, then c->src.rebuilt persists
 * them. */
rg_status leann_rebuild(leann_coll *c, const uint32_t *known, const float *known_vecs, size_t nknown,
                        rg_error *err);
/* Whether an add leaving `live` live records should be a full rebuild: a
 * collection that doubled since its last build and whose vectors all fit
 * leann_rebuild_max_nodes (PQ and dictionaries retrained on what they
 * encode). */
bool leann_should_rebuild(const leann_coll *c, int64_t live);
/* Vectors a rebuild may hold at once (build_memory_mb / (dim x 4), at
 * least LEANN_STREAM_BLOCK): above it leann_rebuild streams. */
uint32_t leann_rebuild_max_nodes(const leann_coll *c);
/* Whether an add leaving `live` live records should first retrain the PQ
 * codebooks (leann_retrain_codes): a collection past the rebuilds' memory
 * bound that doubled since its codebooks were trained (codes_n). */
bool leann_should_retrain_codes(const leann_coll *c, int64_t live);
/* New PQ codebooks (same code size) trained on a sample of at most
 * leann_rebuild_max_nodes vectors spread evenly over the live nodes in node
 * order and then batch[0..nbatch) (the records being added, not yet nodes:
 * their embeddings; the nodes' vectors come from the cache or are
 * recomputed); every live node re-encoded (the sample's and the cached
 * ones from their exact vectors, the others from their old codes'
 * reconstructions); sets codes_n to live and codebook_changed, so the next
 * save writes a whole new generation. */
rg_status leann_retrain_codes(leann_coll *c, int64_t live, const rg_record *batch, size_t nbatch, rg_error *err);
/* The consolidation step every write ends with: see LEANN_CONSOLIDATE_*.
 * live: live records once the write commits; work: records the write added
 * or deleted (the step's budget). */
rg_status leann_consolidate_step(leann_coll *c, int64_t live, size_t work, rg_error *err);
/* Drops the tombstones at the top of the node numbers, down to floor at
 * most (c->src.truncated drops what is stored of them). */
rg_status leann_drop_top_tombstones(leann_coll *c, uint32_t floor, rg_error *err);
/* Links node v (exact vector in es) into the graph: a beam search for its
 * vector, its current list as candidates too, RobustPrune (keeping the
 * list's length), reverse edges.  Used by insert (v new; candidates'
 * vectors from cache or PQ) and by consolidation (v re-linked;
 * exact_pool: candidates the cache lacks are recomputed and cached).
 * code: where v's code goes (a new node: encoded from the search's query
 * table), or NULL to leave it. */
rg_status leann_link_node(leann_coll *c, leann_edit_space *es, uint32_t v, bool exact_pool, uint8_t *code,
                          uint8_t *dirty, rg_error *err);
#define LEANN_DIRTY_CODE 2   /* dirty[] bit: the node's code changed (bit 1: its list) */

/* ---- search (leann_search.c) ---------------------------------------------- */

/* Exact vectors of nodes: cache, else recomputed from their passages
 * (c->src.passages) in one batch through the embedder, or the stored
 * vector of a record that has no text.  out: n * dim. */
rg_status leann_fetch_vectors(leann_coll *c, const uint32_t *nodes, size_t n, float *out, rg_error *err);
/* The best opts->k nodes for query q (unit length) with their distances,
 * best first: the first min(k, opts->exact or k) exact, ties by insertion
 * order; *out malloc'd.  Honours opts->where through c->src.filter_set. */
rg_status leann_search(leann_coll *c, const float *q, const rg_query_opts *opts, leann_cand **out, size_t *n,
                       rg_error *err);
/* Space for graph edits: exact vectors put by the caller (the batch being
 * added, recomputed candidates), else the cache, else PQ reconstruction
 * (approximate: good enough to choose diverse neighbours when re-pruning).
 * Pointers stay valid until leann_edit_space_free. */
typedef struct leann_edit_space {
    leann_coll *c;
    float **vec;           /* per node, owned; NULL: not materialised */
    uint32_t nvec;
    uint32_t keep_lo, keep_hi;   /* leann_edit_space_release keeps nodes in [keep_lo, keep_hi) (the
                                  * batch being inserted, whose exact vectors were put) */
} leann_edit_space;
void leann_edit_space_init(leann_edit_space *es, leann_coll *c);
void leann_edit_space_put(leann_edit_space *es, uint32_t node, const float *v);
void leann_edit_space_free(leann_edit_space *es);
/* Frees every vector held for a node outside [lo, hi) (between edits: it
 * invalidates their pointers), so a long run of edits holds a bounded
 * number of reconstructions. */
void leann_edit_space_trim(leann_edit_space *es, uint32_t lo, uint32_t hi);
const float *leann_edit_space_vec(void *ctx, uint32_t node);
/* leann_space.release for an edit space: leann_edit_space_trim to the
 * kept range. */
void leann_edit_space_release(void *ctx);

#endif
