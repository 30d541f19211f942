/* Retrieval: one entry point for vector search, lexical BM25 and the two
 * fused (hybrid), used by `ragged query` and answer generation.
 *
 * Hybrid mode takes the best `candidates` passages of each side and fuses
 * them:
 *   rrf    score = sum over sides of weight / (rrf_k + rank), rank from 1
 *          (Cormack et al. 2009); only ranks matter;
 *   score  each side's scores min-max normalised over its candidates to
 *          [0, 1] (a passage a side did not return gets 0), then
 *          vector_weight * v + bm25_weight * b.
 * Filters apply to both sides before fusion. */
#ifndef RG_RETRIEVE_H
#define RG_RETRIEVE_H

#include "config.h"
#include "error.h"
#include "store.h"

typedef enum rg_retrieve_mode { RG_RETRIEVE_VECTOR, RG_RETRIEVE_BM25, RG_RETRIEVE_HYBRID } rg_retrieve_mode;
typedef enum rg_fusion { RG_FUSION_RRF, RG_FUSION_SCORE } rg_fusion;

typedef struct rg_retrieve_opts {
    int k;
    const rg_filter *where;      /* NULL: no filter */
    unsigned include;            /* RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS */
    int search_complexity;       /* 0: backend default */
    rg_retrieve_mode mode;
    rg_fusion fusion;
    int rrf_k;
    double vector_weight, bm25_weight;
    int candidates;              /* per side in hybrid mode; raised to k */
    /* Second stage (rerank.h): the best max(k, reranker->top_n) passages of
     * the mode above are rescored and the k best returned, with distance =
     * 1 - rerank score.  NULL: none. */
    struct rg_reranker *reranker;
    float *first_scores;         /* optional out with a reranker: k first-stage scores of the returned hits */
} rg_retrieve_opts;

/* Defaults from the retrieval.* configuration keys (k, mode, fusion,
 * rrf_k, weights, candidates); where/include/search_complexity zeroed. */
void rg_retrieve_opts_from_config(rg_retrieve_opts *o, const rg_config *cfg);
rg_status rg_retrieve_mode_parse(const char *s, rg_retrieve_mode *out, rg_error *err);
const char *rg_retrieve_mode_name(rg_retrieve_mode m);
rg_status rg_fusion_parse(const char *s, rg_fusion *out, rg_error *err);
const char *rg_fusion_name(rg_fusion f);

/* The k best passages for text, best first, with documents/metadata as
 * include asks.  distance = 1 - score, where score is the cosine similarity
 * (vector), the BM25 score (bm25) or the fused score (hybrid): higher is
 * better in every mode, but scores of different modes are not comparable. */
rg_status rg_retrieve(rg_collection *c, const char *text, const rg_retrieve_opts *o, rg_hits *out, rg_error *err);

/* Reranks the first `top` of hits (any first stage) in place, fetching the
 * documents they lack; the rest keep their order behind them (the
 * evaluation's with/without comparison).  first_scores as in
 * rg_reranker_rerank. */
struct rg_reranker;
rg_status rg_retrieve_rerank(rg_collection *c, const char *text, struct rg_reranker *r, size_t top, rg_hits *hits,
                             float *first_scores, rg_error *err);

/* The two sides of a hybrid query, for callers that fuse many ways (the
 * evaluation's parameter sweeps).  vec: cosine distances; lex: distance =
 * -BM25 score (as rg_collection_query_lexical returns them). */
rg_status rg_retrieve_sides(rg_collection *c, const char *text, const rg_retrieve_opts *o, int depth,
                            rg_hits *vec, rg_hits *lex, rg_error *err);
/* Fuses two best-first lists into out (ids only, distance = 1 - fused
 * score, best first, ties by id), keeping at most k. */
void rg_fuse(const rg_hits *vec, const rg_hits *lex, const rg_retrieve_opts *o, int k, rg_hits *out);

#endif
