/* Process CPU time and peak RSS for the benchmark drivers in bench/ (one
 * copy for all of them: a wall time on a shared machine needs its CPU time
 * beside it). */
#ifndef RG_BENCH_UTIL_H
#define RG_BENCH_UTIL_H

#include <stddef.h>
#include <sys/resource.h>
#include <time.h>

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

#endif
