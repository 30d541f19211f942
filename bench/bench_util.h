/* Process CPU time and peak RSS for the benchmark drivers in bench/ (one
 * copy for all of them: a wall time on a shared machine needs its CPU time
 * beside it). */
#ifndef RG_BENCH_UTIL_H
#define RG_BENCH_UTIL_H

#include <sys/resource.h>

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

#endif
