/* Retrieval quality metrics with BEIR's definitions (trec_eval): nDCG@k with
 * graded gains (gain = grade, discount log2(rank + 1), ideal from the
 * judged documents) and Recall@k (judged-relevant documents found in the top
 * k over all judged-relevant, grade > 0). */
#ifndef RG_METRICS_H
#define RG_METRICS_H

#include <jansson.h>
#include <stddef.h>

/* ranked: document keys in rank order (duplicates already removed);
 * judged: {"doc": grade, ...} for one query. */
double rg_ndcg_at(const char *const *ranked, size_t n, const json_t *judged, size_t k);
double rg_recall_at(const char *const *ranked, size_t n, const json_t *judged, size_t k);

/* Loads a BEIR qrels TSV (query-id, corpus-id, score; header optional) into
 * {"query-id": {"corpus-id": grade}}; NULL with a message on error. */
json_t *rg_qrels_load(const char *path, char *errbuf, size_t errlen);

#endif
