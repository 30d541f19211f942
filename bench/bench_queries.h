/* What the query drivers over ingested collections share (bench_scale,
 * sweep_leann, bench_filter): reading a file of one query (or filter) per
 * line, and recall@k by record id against a reference answer. */
#ifndef RG_BENCH_QUERIES_H
#define RG_BENCH_QUERIES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "util.h"

/* The non-empty lines of path (line ends stripped); exits on an unreadable file. */
static inline char **bench_read_lines(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    char **out = NULL, *line = NULL;
    size_t cap = 0, lcap = 0;
    ssize_t len;
    *n = 0;
    while ((len = getline(&line, &lcap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!len)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            out = rg_xrealloc(out, cap * sizeof *out);
        }
        out[(*n)++] = rg_xstrdup(line);
    }
    free(line);
    fclose(f);
    return out;
}

/* The share of truth's top k (by id) that got's top k returns; 1 when truth is empty. */
static inline double bench_recall_by_id(const rg_hits *got, const rg_hits *truth, size_t k)
{
    size_t n = RG_MIN(k, truth->n), hit = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < RG_MIN(k, got->n); j++)
            if (!strcmp(truth->items[i].id, got->items[j].id))
                hit++;
    return n ? (double)hit / (double)n : 1.0;
}

#endif
