/* BEIR benchmark files and the standard retrieval metrics.
 *
 *   corpus.jsonl   {"_id": "...", "title": "...", "text": "..."} per line
 *   queries.jsonl  {"_id": "...", "text": "..."} per line
 *   qrels/NAME.tsv   query-id <TAB> corpus-id <TAB> score, one header line
 *
 * Metrics follow trec_eval / pytrec_eval as BEIR uses them: nDCG@k with
 * gain = relevance grade and discount log2(rank + 1), the ideal DCG from
 * the judged grades; Recall@k = relevant (grade > 0) retrieved in the top
 * k / all relevant. */
#ifndef RG_BEIR_H
#define RG_BEIR_H

#include <jansson.h>
#include <stddef.h>
#include "error.h"

typedef struct rg_beir_doc {
    char *id;
    char *title;
    char *text;
} rg_beir_doc;

typedef struct rg_beir_docs {
    rg_beir_doc *items;
    size_t n, cap;
} rg_beir_docs;

/* Corpus (title may be empty) and queries (title empty) alike. */
rg_status rg_beir_load_jsonl(const char *path, rg_beir_docs *out, rg_error *err);
void rg_beir_docs_free(rg_beir_docs *d);

/* {query id: {doc id: grade}} (new reference); grades may be 0. */
rg_status rg_beir_load_qrels(const char *path, json_t **out, rg_error *err);

/* ranked: doc ids best first (no duplicates); rels: {doc id: grade}. */
double rg_ndcg_at(const char *const *ranked, size_t n, const json_t *rels, int k);
double rg_recall_at(const char *const *ranked, size_t n, const json_t *rels, int k);

#endif
