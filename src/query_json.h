/* The JSON document of `ragged query --format json`, built in one place so
 * that the CLI and `ragged serve` (POST /v1/query) answer byte for byte the
 * same thing for the same hits. */
#ifndef RG_QUERY_JSON_H
#define RG_QUERY_JSON_H

#include <jansson.h>
#include "store.h"

/* {"query", "collection", "backend", "mode", "k", "seconds", "results": [
 *   {"rank", "id", "score", "distance", document_path/title/page_number/
 *    chunk_position/total_chunks lifted from the metadata, "text",
 *    "metadata"}, ...]}.  With a reranker (name not NULL) each result also
 * has "rerank_score" and "retrieval_score" (first_scores[i], the
 * first-stage score) and the document "reranker".  New reference; never
 * NULL. */
json_t *rg_query_json(const char *query, const char *collection, const char *backend, const char *mode, int k,
                      double seconds, const rg_hits *hits, const char *reranker, const float *first_scores);

/* {"collections": [{"name", "backend", "records", "embedder", "damaged"}]}:
 * `ragged collections list --format json`, also GET /v1/collections. */
json_t *rg_collections_json(const char *backend, const rg_collection_info *infos, size_t n);

#endif
