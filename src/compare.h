/* `ragged backend compare`: the same content in every available backend,
 * measured side by side (disk, ingest time, latency, recall against the
 * exact oracle, overlap between backends, and quality when judgements are
 * given). */
#ifndef RG_COMPARE_H
#define RG_COMPARE_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "error.h"
#include "store.h"

typedef struct rg_compare_opts {
    const char *const *paths;         /* content to ingest into each backend */
    size_t npaths;
    const char *const *queries;       /* query texts; NULL: sampled from the passages */
    size_t nqueries;
    size_t sample_queries;            /* how many to sample when queries is NULL (default 50) */
    const char *const *query_ids;     /* ids of the queries (for judgements), or NULL */
    const json_t *qrels;              /* {"query-id": {"doc-key": grade}}: adds nDCG@10 and Recall@100;
                                       * a hit's doc-key is its file name without extension */
    int k;                            /* default 10 */
    const char *const *backends;      /* NULL: every known backend */
    size_t nbackends;
    bool keep;                        /* keep the temporary collections */
    volatile sig_atomic_t *interrupted;
    void (*on_phase)(void *ctx, const char *backend, const char *phase);
    void *ctx;
} rg_compare_opts;

typedef struct rg_compare_row {
    char backend[32];
    bool available;
    char error[RG_ERROR_MSG_MAX];     /* why not available / what failed */
    char collection[RG_COLLECTION_NAME_MAX + 1];
    int64_t records;
    int64_t bytes;                    /* -1: unknown (remote server) */
    double ingest_seconds;
    double query_p50_ms, query_p95_ms, query_mean_ms;
    double recall_at_k;               /* mean |top-k ∩ exact top-k| / k */
    double ndcg_at_10, recall_at_100; /* NAN without judgements */
    json_t *stats;                    /* bytes by component etc. */
} rg_compare_row;

typedef struct rg_compare_result {
    rg_compare_row *rows;
    size_t nrows;
    int k;
    size_t nqueries;
    /* overlap[i * nrows + j]: mean top-k overlap between rows i and j */
    double *overlap;
} rg_compare_result;

rg_status rg_compare_run(const rg_config *cfg, const rg_compare_opts *opts, rg_compare_result *out, rg_error *err);
void rg_compare_result_free(rg_compare_result *r);
json_t *rg_compare_result_json(const rg_compare_result *r);
/* A self-contained SVG with bar charts of disk, latency and recall. */
char *rg_compare_result_svg(const rg_compare_result *r);

#endif
