#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x > y ? -1 : x < y;
}

double rg_ndcg_at(const char *const *ranked, size_t n, const json_t *judged, size_t k)
{
    double dcg = 0;
    for (size_t i = 0; i < n && i < k; i++) {
        json_t *g = json_object_get(judged, ranked[i]);
        double gain = g ? json_number_value(g) : 0;
        if (gain > 0)
            dcg += gain / log2((double)i + 2.0);
    }
    size_t nj = json_object_size(judged);
    double *grades = rg_xcalloc(nj + 1, sizeof *grades);
    size_t m = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)judged, key, v)
    {
        if (json_number_value(v) > 0)
            grades[m++] = json_number_value(v);
    }
    qsort(grades, m, sizeof *grades, cmp_desc);
    double idcg = 0;
    for (size_t i = 0; i < m && i < k; i++)
        idcg += grades[i] / log2((double)i + 2.0);
    free(grades);
    return idcg > 0 ? dcg / idcg : 0;
}

double rg_recall_at(const char *const *ranked, size_t n, const json_t *judged, size_t k)
{
    size_t relevant = 0, found = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)judged, key, v)
    {
        if (json_number_value(v) > 0)
            relevant++;
    }
    for (size_t i = 0; i < n && i < k; i++) {
        json_t *g = json_object_get(judged, ranked[i]);
        if (g && json_number_value(g) > 0)
            found++;
    }
    return relevant ? (double)found / (double)relevant : 0;
}

json_t *rg_qrels_load(const char *path, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errbuf, errlen, "cannot open judgements %s", path);
        return NULL;
    }
    json_t *all = json_object();
    char line[4096];
    size_t lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char q[1024], d[1024];
        double grade;
        if (sscanf(line, "%1023s %1023s %lf", q, d, &grade) != 3) {
            if (lineno == 1 || line[0] == '\n' || line[0] == '#')
                continue; /* header ("query-id corpus-id score") or blank */
            snprintf(errbuf, errlen, "%s:%zu: expected 'query-id corpus-id score'", path, lineno);
            json_decref(all);
            fclose(f);
            return NULL;
        }
        json_t *per = json_object_get(all, q);
        if (!per) {
            per = json_object();
            json_object_set_new(all, q, per);
        }
        json_object_set_new(per, d, json_real(grade));
    }
    fclose(f);
    return all;
}
