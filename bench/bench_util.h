/* Process CPU time and peak RSS for the benchmark drivers in bench/ (one
 * copy for all of them: a wall time on a shared machine needs its CPU time
 * beside it). */
#ifndef RG_BENCH_UTIL_H
#define RG_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "util.h"

/* user + sys seconds of every thread of this process so far */
static inline double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

static inline long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* qsort comparator for doubles, and the p-quantile (0..1) of a sorted array */
static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static inline double pct(const double *sorted, size_t n, double p)
{
    size_t i = (size_t)(p * (double)n);
    return sorted[i < n ? i : n - 1];
}

/* process CPU time in milliseconds (every thread) */
static inline double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Vector files of the lab drivers (graph_lab, rerank_lab, insert_lab): u32 n,
 * u32 dim, then n * dim float32.  Both exit on an I/O error; read keeps at
 * most max vectors (0: all). */
static inline void bench_write_vecs(const char *path, const float *v, uint32_t n, uint32_t dim)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(&n, 4, 1, f) != 1 || fwrite(&dim, 4, 1, f) != 1 ||
        (n && fwrite(v, sizeof(float) * dim, n, f) != n) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static inline float *bench_read_vecs(const char *path, uint32_t max, uint32_t *n, uint32_t *dim)
{
    FILE *f = fopen(path, "rb");
    if (!f || fread(n, 4, 1, f) != 1 || fread(dim, 4, 1, f) != 1) {
        perror(path);
        exit(1);
    }
    if (max && *n > max)
        *n = max;
    float *v = rg_xmalloc(sizeof(float) * ((size_t)*n * *dim ? (size_t)*n * *dim : 1));
    if (fread(v, sizeof(float) * *dim, *n, f) != *n) {
        perror(path);
        exit(1);
    }
    fclose(f);
    return v;
}

#endif
