/* BEIR loaders and metrics.  See beir.h. */
#include "beir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void rg_beir_docs_free(rg_beir_docs *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].id);
        free(d->items[i].title);
        free(d->items[i].text);
    }
    free(d->items);
    memset(d, 0, sizeof *d);
}

static char *id_text(json_t *v)
{
    if (json_is_string(v))
        return rg_xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return rg_xasprintf("%lld", (long long)json_integer_value(v));
    return NULL;
}

rg_status rg_beir_load_jsonl(const char *path, rg_beir_docs *out, rg_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f)
        return rg_error_set(err, RG_ERR_NOTFOUND, "cannot open %s: %m", path);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    rg_status rc = RG_OK;
    while (rc == RG_OK && (len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)len)
            continue;
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)len, 0, &je);
        char *id = j ? id_text(json_object_get(j, "_id")) : NULL;
        json_t *text = json_object_get(j, "text");
        if (!id || !json_is_string(text)) {
            rc = rg_error_set(err, RG_ERR_INVALID, "%s:%zu: not a BEIR record (%s); expected {\"_id\": ..., \"text\": ...}",
                              path, lineno, j ? "no _id or text" : je.text);
            free(id);
        } else {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 1024;
                out->items = rg_xrealloc(out->items, out->cap * sizeof *out->items);
            }
            json_t *title = json_object_get(j, "title");
            out->items[out->n++] = (rg_beir_doc){id, rg_xstrdup(json_is_string(title) ? json_string_value(title) : ""),
                                                 rg_xstrdup(json_string_value(text))};
        }
        json_decref(j);
    }
    free(line);
    fclose(f);
    if (rc != RG_OK)
        rg_beir_docs_free(out);
    return rc;
}

rg_status rg_beir_load_qrels(const char *path, json_t **out, rg_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return rg_error_set(err, RG_ERR_NOTFOUND, "cannot open %s: %m", path);
    json_t *q = json_object();
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    rg_status rc = RG_OK;
    while (rc == RG_OK && (len = getline(&line, &cap, f)) > 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        char *qid = line, *tab1 = strchr(line, '\t');
        char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (!tab1 || !tab2) {
            rc = rg_error_set(err, RG_ERR_INVALID, "%s:%zu: expected query-id<TAB>corpus-id<TAB>score", path, lineno);
            break;
        }
        *tab1 = *tab2 = '\0';
        char *end;
        long grade = strtol(tab2 + 1, &end, 10);
        if (end == tab2 + 1 || *end) {
            if (lineno == 1)
                continue; /* the header line */
            rc = rg_error_set(err, RG_ERR_INVALID, "%s:%zu: score '%s' is not an integer", path, lineno, tab2 + 1);
            break;
        }
        json_t *m = json_object_get(q, qid);
        if (!m) {
            m = json_object();
            json_object_set_new(q, qid, m);
        }
        json_object_set_new(m, tab1 + 1, json_integer(grade));
    }
    free(line);
    fclose(f);
    if (rc != RG_OK) {
        json_decref(q);
        return rc;
    }
    *out = q;
    return RG_OK;
}

static double grade_of(const json_t *rels, const char *id)
{
    json_t *g = json_object_get(rels, id);
    return g ? (double)json_integer_value(g) : 0.0;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

double rg_ndcg_at(const char *const *ranked, size_t n, const json_t *rels, int k)
{
    double dcg = 0, idcg = 0;
    for (size_t i = 0; i < n && (int)i < k; i++) {
        double g = grade_of(rels, ranked[i]);
        if (g > 0)
            dcg += g / log2((double)i + 2.0);
    }
    size_t nr = json_object_size(rels), m = 0;
    double *grades = rg_xmalloc((nr ? nr : 1) * sizeof *grades);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)rels, key, v)
    {
        if (json_integer_value(v) > 0)
            grades[m++] = (double)json_integer_value(v);
    }
    qsort(grades, m, sizeof *grades, cmp_desc);
    for (size_t i = 0; i < m && (int)i < k; i++)
        idcg += grades[i] / log2((double)i + 2.0);
    free(grades);
    return idcg > 0 ? dcg / idcg : 0.0;
}

double rg_recall_at(const char *const *ranked, size_t n, const json_t *rels, int k)
{
    size_t relevant = 0, found = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)rels, key, v)
    {
        if (json_integer_value(v) > 0)
            relevant++;
    }
    for (size_t i = 0; i < n && (int)i < k; i++)
        if (grade_of(rels, ranked[i]) > 0)
            found++;
    return relevant ? (double)found / (double)relevant : 0.0;
}
