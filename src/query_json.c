/* The JSON result of a query (see query_json.h). */
#include "query_json.h"

#include "embedder.h"
#include "util.h"

json_t *rg_query_json(const char *query, const char *collection, const char *backend, const char *mode, int k,
                      double seconds, const rg_hits *hits, const char *reranker, const float *first_scores)
{
    json_t *results = json_array();
    for (size_t i = 0; i < hits->n; i++) {
        const rg_hit *h = &hits->items[i];
        json_t *r = json_pack("{s:I, s:s, s:f, s:f}", "rank", (json_int_t)(i + 1), "id", h->id, "score",
                              1.0 - h->distance, "distance", (double)h->distance);
        if (reranker) {
            json_object_set_new(r, "rerank_score", json_real(1.0 - h->distance));
            json_object_set_new(r, "retrieval_score", json_real(first_scores ? first_scores[i] : 0.0));
        }
        json_t *m = h->metadata;
        static const char *const lift[] = {"document_path", "title", "page_number", "chunk_position",
                                           "total_chunks"};
        for (size_t f = 0; m && f < RG_ARRAY_LEN(lift); f++)
            if (json_object_get(m, lift[f]))
                json_object_set(r, lift[f], json_object_get(m, lift[f]));
        if (h->document)
            json_object_set_new(r, "text", json_string(h->document));
        if (m)
            json_object_set(r, "metadata", m);
        json_array_append_new(results, r);
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:o}", "query", query, "collection", collection, "backend",
                          backend, "mode", mode, "k", k, "seconds", seconds, "results", results);
    if (reranker)
        json_object_set_new(j, "reranker", json_string(reranker));
    return j;
}

json_t *rg_collections_json(const char *backend, const rg_collection_info *infos, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:o, s:b}", "name", infos[i].name, "backend", backend,
                                             "records", (json_int_t)infos[i].count, "embedder",
                                             rg_embedder_identity_to_json(&infos[i].identity), "damaged",
                                             infos[i].damaged));
    return json_pack("{s:o}", "collections", arr);
}
