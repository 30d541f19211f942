/* Run-time CPU feature probes for the SIMD kernels.  See cpu.h. */
#include "cpu.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void warn_bad_simd(void)
{
    fprintf(stderr, "ragged: RAGGED_SIMD=%s is not understood (use \"portable\" or \"auto\"); using auto\n",
            getenv("RAGGED_SIMD"));
}

const char *rg_simd_mode(void)
{
    const char *v = getenv("RAGGED_SIMD");
    if (v && strcmp(v, "portable") == 0)
        return "portable";
    if (v && v[0] && strcmp(v, "auto") != 0) {
        /* The one piece of process state here: a bad value is reported
         * once, not once per weight matrix. */
        static pthread_once_t warned = PTHREAD_ONCE_INIT;
        pthread_once(&warned, warn_bad_simd);
    }
    return "auto";
}

static unsigned probe(void)
{
    unsigned f = 0;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    f |= __builtin_cpu_supports("avx2") ? RG_CPU_AVX2 : 0;
    f |= __builtin_cpu_supports("fma") ? RG_CPU_FMA : 0;
    f |= __builtin_cpu_supports("avx512f") ? RG_CPU_AVX512F : 0;
    f |= __builtin_cpu_supports("avx512bw") ? RG_CPU_AVX512BW : 0;
    f |= __builtin_cpu_supports("avx512vnni") ? RG_CPU_AVX512VNNI : 0;
#elif defined(__aarch64__) && defined(__ARM_NEON)
    f |= RG_CPU_NEON;
#endif
    return f;
}

bool rg_cpu_has(unsigned features)
{
    if (strcmp(rg_simd_mode(), "portable") == 0)
        return false;
    return (probe() & features) == features;
}
