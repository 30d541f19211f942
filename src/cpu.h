/* Which SIMD kernels this CPU can run, probed at run time, and the
 * RAGGED_SIMD override.  Kernels for an instruction set beyond the
 * baseline carry target attributes and are called only after rg_cpu_has()
 * says yes, so one binary runs on any CPU of its architecture; on other
 * architectures (aarch64) the x86 kernels are not compiled at all. */
#ifndef RG_CPU_H
#define RG_CPU_H

#include <stdbool.h>

enum {
    RG_CPU_AVX2 = 1u << 0,
    RG_CPU_FMA = 1u << 1,
    RG_CPU_AVX512F = 1u << 2,
    RG_CPU_AVX512BW = 1u << 3,
    RG_CPU_AVX512VNNI = 1u << 4,
    RG_CPU_NEON = 1u << 5,      /* Advanced SIMD: always there on aarch64 */
    RG_CPU_AVX512BF16 = 1u << 6,
    /* AMX tiles with int8 / bf16 products: the CPU has them and Linux
     * granted this process the tile state (asked once, on first probe). */
    RG_CPU_AMX_INT8 = 1u << 7,
    RG_CPU_AMX_BF16 = 1u << 8,
};

/* True when the CPU has every feature in `features` and RAGGED_SIMD is not
 * "portable".  RAGGED_SIMD=portable sends every kernel to its portable C
 * path (OpenBLAS for the fp32 GEMM), so x86 CI runs the code an aarch64 or
 * older x86 CPU runs.  Reads the environment on each call: callers choose a
 * kernel once per object (a weight matrix) or once per process (leann_dot). */
bool rg_cpu_has(unsigned features);

/* "portable" when RAGGED_SIMD=portable, else "auto". */
const char *rg_simd_mode(void);

#endif
