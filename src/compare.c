#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embedder.h"
#include "ingest.h"
#include "metrics.h"
#include "util.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    double pos = p * (double)(n - 1);
    size_t lo = (size_t)pos;
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

/* Queries sampled from the collection's own passages: the first sentence
 * (or first 20 words) of evenly spaced records, deterministic. */
static rg_status sample_queries(rg_collection *c, size_t want, char ***out, size_t *n, rg_error *err)
{
    int64_t count = 0;
    rg_status rc = rg_collection_count(c, &count, err);
    *out = NULL;
    *n = 0;
    if (rc != RG_OK || count == 0)
        return rc;
    size_t step = (size_t)count > want ? (size_t)count / want : 1;
    char **q = rg_xcalloc(want, sizeof *q);
    for (size_t i = 0; i < want && i * step < (size_t)count; i++) {
        rg_record_batch b;
        rg_record_batch_init(&b, rg_collection_dim(c));
        rc = rg_collection_get(c, NULL, 0, NULL, RG_INCLUDE_DOCUMENTS, i * step, 1, &b, err);
        if (rc == RG_OK && b.n == 1 && b.items[0].document) {
            const char *d = b.items[0].document;
            size_t len = 0, words = 0;
            while (d[len] && words < 20) {
                if (d[len] == ' ')
                    words++;
                if ((d[len] == '.' || d[len] == '?') && len > 20)
                    break;
                len++;
            }
            q[(*n)++] = rg_xstrndup(d, len);
        }
        rg_record_batch_free(&b);
        if (rc != RG_OK)
            break;
    }
    *out = q;
    return rc;
}

typedef struct run {
    rg_store *store;
    rg_collection *coll;
    char **ids;                 /* nqueries * k result ids (NULL where fewer) */
} run;

/* A hit's document key for judgements: the file name without directory and
 * extension (so a corpus written as one file per document, named by its id,
 * matches BEIR-style qrels). */
static char *doc_key(const rg_hit *h)
{
    const char *path = json_string_value(json_object_get(h->metadata, "document_path"));
    if (!path)
        return rg_xstrdup(h->id);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return rg_xstrndup(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

static void phase(const rg_compare_opts *o, const char *backend, const char *what)
{
    if (o->on_phase)
        o->on_phase(o->ctx, backend, what);
}

rg_status rg_compare_run(const rg_config *cfg, const rg_compare_opts *o, rg_compare_result *out, rg_error *err)
{
    memset(out, 0, sizeof *out);
    int k = o->k > 0 ? o->k : 10;
    out->k = k;
    const char *const *names = o->backends ? o->backends : rg_store_backend_names();
    size_t nb = 0;
    if (o->backends)
        nb = o->nbackends;
    else
        while (names[nb])
            nb++;
    /* The exact backend is the oracle: always measured, first. */
    const char **order = rg_xcalloc(nb + 1, sizeof *order);
    size_t norder = 0;
    order[norder++] = "exact";
    for (size_t i = 0; i < nb; i++)
        if (strcmp(names[i], "exact") != 0)
            order[norder++] = names[i];
    out->rows = rg_xcalloc(norder, sizeof *out->rows);
    out->nrows = norder;
    run *runs = rg_xcalloc(norder, sizeof *runs);

    rg_embedder *emb = NULL;
    rg_status rc = rg_embedder_open(cfg, &emb, err);
    char **queries = NULL;
    size_t nq = 0;
    bool own_queries = false;

    for (size_t i = 0; rc == RG_OK && i < norder; i++) {
        rg_compare_row *row = &out->rows[i];
        snprintf(row->backend, sizeof row->backend, "%s", order[i]);
        snprintf(row->collection, sizeof row->collection, "ragged-compare-%ld-%s", (long)getpid(), order[i]);
        row->bytes = -1;
        row->ndcg_at_10 = row->recall_at_100 = NAN;
        rg_error berr;
        if (rg_store_open(cfg, order[i], &runs[i].store, &berr) != RG_OK) {
            snprintf(row->error, sizeof row->error, "%s", berr.msg);
            if (i == 0) /* without the oracle nothing can be compared */
                rc = rg_error_set(err, berr.code, "the exact backend (the comparison's reference) failed: %s",
                                  berr.msg);
            continue;
        }
        /* A leftover from an interrupted run of the same pid is impossible;
         * but make sure the name is free. */
        rg_store_delete_collection(runs[i].store, row->collection, NULL);
        if (rg_collection_open(runs[i].store, row->collection, emb, true, &runs[i].coll, &berr) != RG_OK) {
            snprintf(row->error, sizeof row->error, "%s", berr.msg);
            if (i == 0)
                rc = rg_error_set(err, berr.code, "%s", berr.msg);
            continue;
        }
        phase(o, order[i], "ingest");
        rg_ingest_report rep;
        rg_ingest_report_init(&rep);
        rg_ingest_opts io = {.interrupted = o->interrupted};
        double t0 = rg_now();
        rg_status st = rg_ingest_paths(runs[i].coll, cfg, o->paths, o->npaths, &io, &rep, &berr);
        row->ingest_seconds = rg_now() - t0;
        rg_ingest_report_free(&rep);
        if (st != RG_OK) {
            snprintf(row->error, sizeof row->error, "ingest failed: %s", berr.msg);
            if (st == RG_ERR_INTERRUPTED || i == 0)
                rc = rg_error_set(err, st, "%s", berr.msg);
            continue;
        }
        row->available = true;
        rg_store_stats stats;
        if (rg_collection_stats(runs[i].coll, &stats, &berr) == RG_OK) {
            row->records = stats.records;
            row->bytes = stats.bytes_total;
            json_t *comp = json_object();
            for (size_t c = 0; c < stats.ncomponents; c++)
                json_object_set_new(comp, stats.components[c].name, json_integer(stats.components[c].bytes));
            row->stats = json_pack("{s:o, s:I}", "bytes_by_component", comp, "tombstones", (json_int_t)stats.tombstones);
            if (stats.details)
                json_object_set(row->stats, "details", stats.details);
            rg_store_stats_free(&stats);
        }
    }
    if (rc == RG_OK) {
        if (o->queries) {
            queries = (char **)o->queries;
            nq = o->nqueries;
        } else {
            rc = sample_queries(runs[0].coll, o->sample_queries ? o->sample_queries : 50, &queries, &nq, err);
            own_queries = true;
        }
    }
    out->nqueries = nq;
    for (size_t i = 0; rc == RG_OK && i < norder; i++) {
        rg_compare_row *row = &out->rows[i];
        if (!row->available)
            continue;
        phase(o, row->backend, "query");
        runs[i].ids = rg_xcalloc(nq * (size_t)k + 1, sizeof *runs[i].ids);
        double *lat = rg_xcalloc(nq + 1, sizeof *lat);
        double sum = 0, ndcg = 0, rec100 = 0;
        size_t judged = 0;
        int kq = o->qrels ? RG_MAX(k, 100) : k;
        for (size_t q = 0; q < nq; q++) {
            if (o->interrupted && *o->interrupted) {
                rc = rg_error_set(err, RG_ERR_INTERRUPTED, "interrupted");
                break;
            }
            rg_hits h;
            rg_hits_init(&h);
            rg_query_opts qo = {.k = kq, .include = o->qrels ? RG_INCLUDE_METADATAS : 0};
            rg_error qerr;
            double t0 = rg_now();
            rg_status st = rg_collection_query_text(runs[i].coll, queries[q], &qo, &h, &qerr);
            lat[q] = (rg_now() - t0) * 1000.0;
            sum += lat[q];
            if (st != RG_OK) {
                snprintf(row->error, sizeof row->error, "query failed: %s", qerr.msg);
                row->available = false;
                rg_hits_free(&h);
                break;
            }
            for (size_t j = 0; j < h.n && j < (size_t)k; j++)
                runs[i].ids[q * (size_t)k + j] = rg_xstrdup(h.items[j].id);
            const json_t *jq = o->qrels && o->query_ids ? json_object_get(o->qrels, o->query_ids[q]) : NULL;
            if (jq) {
                /* Document ranking: first (best) chunk of each document. */
                char **keys = rg_xcalloc(h.n + 1, sizeof *keys);
                size_t nk = 0;
                for (size_t j = 0; j < h.n; j++) {
                    char *key = doc_key(&h.items[j]);
                    bool dup = false;
                    for (size_t x = 0; x < nk && !dup; x++)
                        dup = !strcmp(keys[x], key);
                    if (dup)
                        free(key);
                    else
                        keys[nk++] = key;
                }
                ndcg += rg_ndcg_at((const char *const *)keys, nk, jq, 10);
                rec100 += rg_recall_at((const char *const *)keys, nk, jq, 100);
                judged++;
                for (size_t x = 0; x < nk; x++)
                    free(keys[x]);
                free(keys);
            }
            rg_hits_free(&h);
        }
        row->query_mean_ms = nq ? sum / (double)nq : 0;
        row->ndcg_at_10 = judged ? ndcg / (double)judged : NAN;
        row->recall_at_100 = judged ? rec100 / (double)judged : NAN;
        row->query_p50_ms = percentile(lat, nq, 0.50);
        row->query_p95_ms = percentile(lat, nq, 0.95);
        free(lat);
    }
    /* Overlap of every pair; recall is the overlap with exact (row 0). */
    out->overlap = rg_xcalloc(norder * norder, sizeof *out->overlap);
    for (size_t a = 0; a < norder; a++)
        for (size_t b = 0; b < norder; b++) {
            if (!out->rows[a].available || !out->rows[b].available || !runs[a].ids || !runs[b].ids || !nq) {
                out->overlap[a * norder + b] = NAN;
                continue;
            }
            double total = 0;
            for (size_t q = 0; q < nq; q++) {
                size_t common = 0, denom = 0;
                for (size_t x = 0; x < (size_t)k; x++) {
                    const char *ida = runs[a].ids[q * (size_t)k + x];
                    if (!ida)
                        continue;
                    denom++;
                    for (size_t y = 0; y < (size_t)k; y++) {
                        const char *idb = runs[b].ids[q * (size_t)k + y];
                        if (idb && !strcmp(ida, idb)) {
                            common++;
                            break;
                        }
                    }
                }
                total += denom ? (double)common / (double)denom : 1.0;
            }
            out->overlap[a * norder + b] = total / (double)nq;
        }
    for (size_t i = 0; i < norder; i++)
        out->rows[i].recall_at_k = out->overlap[i * norder + 0];

    for (size_t i = 0; i < norder; i++) {
        if (runs[i].ids) {
            for (size_t j = 0; j < nq * (size_t)k; j++)
                free(runs[i].ids[j]);
            free(runs[i].ids);
        }
        rg_collection_close(runs[i].coll);
        if (runs[i].store && !o->keep)
            rg_store_delete_collection(runs[i].store, out->rows[i].collection, NULL);
        rg_store_close(runs[i].store);
    }
    if (own_queries) {
        for (size_t q = 0; q < nq; q++)
            free(queries[q]);
        free(queries);
    }
    free(runs);
    free(order);
    rg_embedder_free(emb);
    return rc;
}

void rg_compare_result_free(rg_compare_result *r)
{
    for (size_t i = 0; i < r->nrows; i++)
        json_decref(r->rows[i].stats);
    free(r->rows);
    free(r->overlap);
    memset(r, 0, sizeof *r);
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *rg_compare_result_json(const rg_compare_result *r)
{
    json_t *rows = json_array();
    const rg_compare_row *exact = &r->rows[0];
    for (size_t i = 0; i < r->nrows; i++) {
        const rg_compare_row *w = &r->rows[i];
        json_t *o = json_pack("{s:s, s:b}", "backend", w->backend, "available", w->available);
        if (w->error[0])
            json_object_set_new(o, "error", json_string(w->error));
        if (w->available) {
            json_object_set_new(o, "records", json_integer(w->records));
            json_object_set_new(o, "bytes", w->bytes >= 0 ? json_integer(w->bytes) : json_null());
            json_object_set_new(o, "bytes_ratio_to_exact",
                                w->bytes >= 0 && exact->bytes > 0 ? json_real((double)w->bytes / (double)exact->bytes)
                                                                  : json_null());
            json_object_set_new(o, "ingest_seconds", json_real(w->ingest_seconds));
            json_object_set_new(o, "query_p50_ms", json_real(w->query_p50_ms));
            json_object_set_new(o, "query_p95_ms", json_real(w->query_p95_ms));
            json_object_set_new(o, "recall_at_k", num_or_null(w->recall_at_k));
            json_object_set_new(o, "ndcg_at_10", num_or_null(w->ndcg_at_10));
            json_object_set_new(o, "recall_at_100", num_or_null(w->recall_at_100));
            json_t *ov = json_object();
            for (size_t j = 0; j < r->nrows; j++)
                if (r->rows[j].available)
                    json_object_set_new(ov, r->rows[j].backend, num_or_null(r->overlap[i * r->nrows + j]));
            json_object_set_new(o, "overlap", ov);
            if (w->stats)
                json_object_set(o, "stats", w->stats);
        }
        json_array_append_new(rows, o);
    }
    return json_pack("{s:i, s:I, s:o}", "k", r->k, "queries", (json_int_t)r->nqueries, "backends", rows);
}

/* ---- SVG ---- */

static void svg_bars(rg_buf *s, const rg_compare_result *r, int x0, int y0, const char *title, const char *unit,
                     double (*value)(const rg_compare_row *))
{
    double max = 0;
    for (size_t i = 0; i < r->nrows; i++)
        if (r->rows[i].available && isfinite(value(&r->rows[i])))
            max = RG_MAX(max, value(&r->rows[i]));
    rg_buf_printf(s, "<text x='%d' y='%d' font-weight='bold'>%s</text>\n", x0, y0, title);
    static const char *const colors[] = {"#888888", "#2b7bb9", "#e07b39", "#4a9c5d"};
    for (size_t i = 0; i < r->nrows; i++) {
        const rg_compare_row *w = &r->rows[i];
        int y = y0 + 14 + (int)i * 26;
        rg_buf_printf(s, "<text x='%d' y='%d'>%s</text>\n", x0, y + 15, w->backend);
        double v = w->available ? value(w) : NAN;
        if (!isfinite(v) || v < 0) {
            rg_buf_printf(s, "<text x='%d' y='%d' fill='#999'>%s</text>\n", x0 + 80, y + 15,
                          w->available ? "unknown" : "not available");
            continue;
        }
        int width = max > 0 ? (int)(260.0 * v / max) : 0;
        rg_buf_printf(s, "<rect x='%d' y='%d' width='%d' height='20' fill='%s'/>\n", x0 + 80, y, RG_MAX(width, 1),
                      colors[i % 4]);
        rg_buf_printf(s, "<text x='%d' y='%d'>%.4g %s</text>\n", x0 + 86 + width, y + 15, v, unit);
    }
}

static double v_disk(const rg_compare_row *w)
{
    return w->bytes >= 0 ? (double)w->bytes / 1048576.0 : NAN;
}
static double v_p50(const rg_compare_row *w)
{
    return w->query_p50_ms;
}
static double v_recall(const rg_compare_row *w)
{
    return w->recall_at_k;
}
static double v_ingest(const rg_compare_row *w)
{
    return w->ingest_seconds;
}

char *rg_compare_result_svg(const rg_compare_result *r)
{
    rg_buf s;
    rg_buf_init(&s);
    int block = 30 + (int)r->nrows * 26;
    rg_buf_printf(&s,
                  "<svg xmlns='http://www.w3.org/2000/svg' width='960' height='%d' font-family='sans-serif' "
                  "font-size='13'>\n<rect width='100%%' height='100%%' fill='white'/>\n",
                  2 * block + 40);
    char recall_title[64];
    snprintf(recall_title, sizeof recall_title, "Recall@%d vs exact", r->k);
    svg_bars(&s, r, 10, 20, "Disk (MiB)", "MiB", v_disk);
    svg_bars(&s, r, 490, 20, "Query latency p50 (ms)", "ms", v_p50);
    svg_bars(&s, r, 10, 20 + block, recall_title, "", v_recall);
    svg_bars(&s, r, 490, 20 + block, "Ingest time (s)", "s", v_ingest);
    rg_buf_puts(&s, "</svg>\n");
    return rg_buf_steal(&s);
}
