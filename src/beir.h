/* BEIR benchmark files:
 *   corpus.jsonl   {"_id": "...", "title": "...", "text": "..."} per line
 *   queries.jsonl  {"_id": "...", "text": "..."} per line
 * (judgements and the metrics: metrics.h). */
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

#endif
