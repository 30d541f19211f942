/* Run-time CPU feature probes for the SIMD kernels.  See cpu.h. */
#include "cpu.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define RG_CPU_AMX_PROBE 1
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

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

#ifdef RG_CPU_AMX_PROBE
/* AMX tiles (Sapphire Rapids and later) hold 16 x 64-byte rows.  Linux
 * hands the 8 KB tile state to a process only after it asks (arch_prctl
 * ARCH_REQ_XCOMP_PERM), once; the answer is process state, kept in a
 * pthread_once like the warning above. */
#define RG_ARCH_REQ_XCOMP_PERM 0x1023
#define RG_XFEATURE_XTILEDATA 18
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;
static unsigned amx_features;

static void amx_request(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)))
        return;   /* no AMX-TILE */
    if (syscall(SYS_arch_prctl, RG_ARCH_REQ_XCOMP_PERM, RG_XFEATURE_XTILEDATA) != 0)
        return;
    amx_features = (d & (1u << 25) ? RG_CPU_AMX_INT8 : 0) | (d & (1u << 22) ? RG_CPU_AMX_BF16 : 0);
}
#endif

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
#ifdef RG_CPU_AMX_PROBE
    f |= __builtin_cpu_supports("avx512bf16") ? RG_CPU_AVX512BF16 : 0;
    pthread_once(&amx_once, amx_request);
    f |= amx_features;
#endif
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
