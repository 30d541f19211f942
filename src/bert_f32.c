/* Packed fp32 GEMM kernels.  See bert_f32.h. */
#include "bert_f32.h"

#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "util.h"

/* The packed kernels are x86 only; elsewhere rg_f32_matrix_new returns NULL
 * and the engine uses OpenBLAS (which has its own NEON kernels on aarch64). */
#if defined(__x86_64__) || defined(__i386__)
#define RG_F32_X86 1
#include <immintrin.h>
#endif

typedef enum f32_kernel { F_AVX2, F_AVX512 } f32_kernel;

struct rg_f32_matrix {
    int n, k, npad;
    float *w;             /* [npad/16][k][16], 64-byte aligned */
    f32_kernel kern;
};

rg_f32_matrix *rg_f32_matrix_new(const float *w, int n, int k)
{
#ifndef RG_F32_X86
    return NULL;
#endif
    const char *force = getenv("RAGGED_FP32_KERNEL");
    bool avx512 = rg_cpu_has(RG_CPU_AVX512F | RG_CPU_FMA);
    bool avx2 = rg_cpu_has(RG_CPU_AVX2 | RG_CPU_FMA);
    if ((force && strcmp(force, "blas") == 0) || (!avx512 && !avx2))
        return NULL;
    rg_f32_matrix *m = rg_xcalloc(1, sizeof *m);
    m->kern = avx512 && !(force && strcmp(force, "avx2") == 0) ? F_AVX512 : F_AVX2;
    if (m->kern == F_AVX2 && !avx2) {
        free(m);
        return NULL;
    }
    m->n = n;
    m->k = k;
    m->npad = (n + 15) / 16 * 16;
    size_t count = (size_t)m->npad * k;
    m->w = aligned_alloc(64, count * sizeof(float));
    if (!m->w)
        abort();
    memset(m->w, 0, count * sizeof(float));
    for (int c = 0; c < n; c++) {
        float *blk = m->w + (size_t)(c / 16) * k * 16 + c % 16;
        const float *row = w + (size_t)c * k;
        for (int i = 0; i < k; i++)
            blk[(size_t)i * 16] = row[i];
    }
    return m;
}

void rg_f32_matrix_free(rg_f32_matrix *m)
{
    if (!m)
        return;
    free(m->w);
    free(m);
}

const char *rg_f32_matrix_kernel(const rg_f32_matrix *m)
{
    return !m ? "openblas" : m->kern == F_AVX512 ? "avx512" : "avx2";
}

#ifdef RG_F32_X86
#define AVX512_ATTR __attribute__((target("avx512f,fma")))
#define AVX2_ATTR __attribute__((target("avx2,fma")))

/* R rows x CB 16-column blocks, constants at every call site so the
 * accumulators stay in registers. */
AVX512_ATTR static inline __attribute__((always_inline)) void
tile512(const rg_f32_matrix *m, const float *x, int ldx, int r, int c, int R, int CB, int n1, float *y, int ldy)
{
    int k = m->k;
    const float *blk = m->w + (size_t)(c / 16) * k * 16;
    size_t bstride = (size_t)k * 16;
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int b = 0; b < CB; b++)
            acc[i][b] = _mm512_setzero_ps();
    for (int kk = 0; kk < k; kk++) {
        __m512 w[4];
#pragma GCC unroll 4
        for (int b = 0; b < CB; b++)
            w[b] = _mm512_load_ps(blk + b * bstride + (size_t)kk * 16);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            __m512 xb = _mm512_set1_ps(x[(size_t)(r + i) * ldx + kk]);
#pragma GCC unroll 4
            for (int b = 0; b < CB; b++)
                acc[i][b] = _mm512_fmadd_ps(xb, w[b], acc[i][b]);
        }
    }
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++) {
        int cc = c + 16 * b;
        if (cc >= n1)
            break;
        __mmask16 mask = n1 - cc >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n1 - cc)) - 1);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++)
            _mm512_mask_storeu_ps(y + (size_t)(r + i) * ldy + cc, mask, acc[i][b]);
    }
}

AVX512_ATTR static void gemm512(const rg_f32_matrix *m, const float *x, int ldx, int rows, int n0, int n1, float *y,
                                int ldy)
{
    int c = n0;
    for (; c + 64 <= n1 || (c < n1 && n1 - c > 48); c += 64) {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
            tile512(m, x, ldx, r, c, 4, 4, n1, y, ldy);
        for (; r < rows; r++)
            tile512(m, x, ldx, r, c, 1, 4, n1, y, ldy);
    }
    for (; c < n1; c += 16) {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
            tile512(m, x, ldx, r, c, 4, 1, n1, y, ldy);
        for (; r < rows; r++)
            tile512(m, x, ldx, r, c, 1, 1, n1, y, ldy);
    }
}

/* AVX2: a 16-column block is two 8-float registers; 4 rows x 1 block x 2
 * halves = 8 accumulators plus the two weight registers. */
AVX2_ATTR static inline __attribute__((always_inline)) void
tile256(const rg_f32_matrix *m, const float *x, int ldx, int r, int c, int R, int n1, float *y, int ldy)
{
    int k = m->k;
    const float *blk = m->w + (size_t)(c / 16) * k * 16;
    __m256 acc[4][2];
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int kk = 0; kk < k; kk++) {
        __m256 w0 = _mm256_load_ps(blk + (size_t)kk * 16), w1 = _mm256_load_ps(blk + (size_t)kk * 16 + 8);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            __m256 xb = _mm256_broadcast_ss(x + (size_t)(r + i) * ldx + kk);
            acc[i][0] = _mm256_fmadd_ps(xb, w0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(xb, w1, acc[i][1]);
        }
    }
    int cn = RG_MIN(16, n1 - c);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++) {
        float out[16];
        _mm256_storeu_ps(out, acc[i][0]);
        _mm256_storeu_ps(out + 8, acc[i][1]);
        memcpy(y + (size_t)(r + i) * ldy + c, out, (size_t)cn * sizeof(float));
    }
}

AVX2_ATTR static void gemm256(const rg_f32_matrix *m, const float *x, int ldx, int rows, int n0, int n1, float *y,
                              int ldy)
{
    for (int c = n0; c < n1; c += 16) {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
            tile256(m, x, ldx, r, c, 4, n1, y, ldy);
        for (; r < rows; r++)
            tile256(m, x, ldx, r, c, 1, n1, y, ldy);
    }
}

#endif /* RG_F32_X86 */

void rg_f32_gemm(const rg_f32_matrix *m, const float *x, int ldx, int rows, int n0, int n1, float *y, int ldy)
{
#ifdef RG_F32_X86
    if (m->kern == F_AVX512)
        gemm512(m, x, ldx, rows, n0, n1, y, ldy);
    else
        gemm256(m, x, ldx, rows, n0, n1, y, ldy);
#else
    abort();   /* no matrix is ever made without the x86 kernels */
#endif
}
