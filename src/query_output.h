/* What `ragged query` finds and how it is shown: retrieval with the filters
 * a backend cannot apply (passage text, and substring matches where the
 * backend has none) checked on the results, identical passages collapsed
 * into one result that lists the other sources, the k guarantee kept by
 * fetching more when those steps remove results; then the JSON document
 * (`ragged query --format json`, reusable by any other front end) and the
 * text view (excerpt centred on the query's words, highlighted on a colour
 * terminal, outside text escaped). */
#ifndef RG_QUERY_OUTPUT_H
#define RG_QUERY_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include "error.h"
#include "retrieve.h"
#include "store.h"

typedef struct rg_query_result {
    rg_hits hits;          /* distinct passages, best first, at most k */
    json_t **duplicates;   /* per hit: array of {id, score, document_path, ...} of identical passages, or NULL */
    float *first_scores;   /* with a reranker: per hit, its first-stage (retrieval) score; else NULL */
    const char *reranker;  /* the reranker's name (borrowed from the options), or NULL */
    size_t fetched;        /* passages retrieved in the last round (>= hits.n) */
    int rounds;            /* retrieval rounds it took */
} rg_query_result;

void rg_query_result_init(rg_query_result *r);
void rg_query_result_free(rg_query_result *r);

/* Runs the query: o->where may hold any condition of filter.h; documents
 * and metadata are always included.  When conditions are checked here or
 * duplicates are collapsed, more passages are fetched (4x a round, up to
 * the whole collection) until k distinct matching passages are found or the
 * collection has no more: the same k as a plain query whenever that many
 * exist. */
rg_status rg_query_run(rg_collection *c, const char *text, const rg_retrieve_opts *o, rg_query_result *out,
                       rg_error *err);

/* The JSON document of `ragged query --format json`:
 *   {"query", "collection", "backend", "mode", "k", "seconds",
 *    "results": [{"rank", "id", "score", "distance", "document_path", "title",
 *                 "page_number", "chunk_position", "total_chunks", "text",
 *                 "metadata", "duplicates": [...] (only when there are),
 *                 "rerank_score", "retrieval_score" (with a reranker)}],
 *    "reranker" (with a reranker)}
 * Field names are stable; new ones are only ever added.  New reference. */
json_t *rg_query_result_to_json(const rg_query_result *r, const char *query, const char *collection,
                                const char *backend, const char *mode, int k, double seconds);

/* Text view options. */
typedef struct rg_query_text_opts {
    bool show_text;        /* whole passages instead of excerpts */
    bool color;            /* ANSI bold for matched words, dim for scores */
    const char *contains;  /* --contains text, highlighted too (may be NULL) */
    size_t excerpt_chars;  /* 0: 240 */
} rg_query_text_opts;

void rg_query_result_print_text(const rg_query_result *r, const char *query, const rg_query_text_opts *o,
                                FILE *out);

/* The excerpt of text around the query's words (for tests and other
 * front ends): at most max_chars characters of text on one line,
 * whitespace collapsed, "..." where cut, control characters escaped, and
 * with color the matched words between ESC[1m and ESC[22m.  New string. */
char *rg_query_excerpt(const char *text, const char *query, const char *contains, size_t max_chars, bool full,
                       bool color);

#endif
