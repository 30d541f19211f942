/* int8 matrix products for the BERT engine: y = x W^T with W quantised per
 * output channel once at load and x quantised per row on every call.
 * Kernels: AMX (tiles, where Linux grants them), AVX-512 VNNI, AVX2,
 * portable C; chosen at run time from the CPU. */
#ifndef RG_BERT_INT8_H
#define RG_BERT_INT8_H

#include <stddef.h>
#include <stdint.h>

typedef struct rg_int8_matrix rg_int8_matrix;

/* Quantises w ([n, k] row-major, the layout of a torch Linear weight). */
rg_int8_matrix *rg_int8_matrix_new(const float *w, int n, int k);
void rg_int8_matrix_free(rg_int8_matrix *m);
/* Row length of quantised activations for this matrix (k rounded up). */
int rg_int8_matrix_kpad(const rg_int8_matrix *m);

/* Quantises rows [r0, r1) of x ([m, k], row stride ldx) into xq (row stride
 * kpad, zero padded) with one scale per row. */
void rg_int8_quantize_rows(const float *x, int r0, int r1, int k, int ldx, int8_t *xq, int kpad, float *scales);

/* y[r * ldy + c] for c in [n0, n1) (y is not offset by n0): xscale[r] * wscale[n] * (xq[r] . wq[n]) for r < rows;
 * n0 and n1 multiples of 16 or n1 == n.  No bias. */
void rg_int8_gemm(const rg_int8_matrix *w, const int8_t *xq, const float *xscale, int rows, int n0, int n1, float *y,
                  int ldy);

/* Finishes a block of outputs while it is still in L1 (bias, GELU):
 * fn(ctx, src, lds, dst, ldd, rows, c0, n) reads src[i * lds + j] (the
 * product for row i, column c0 + j, j < n) and writes dst[i * ldd + j];
 * src may equal dst.  Every output passes through it exactly once. */
typedef struct rg_int8_epilogue {
    void (*fn)(void *ctx, const float *src, int lds, float *dst, int ldd, int rows, int c0, int n);
    void *ctx;
} rg_int8_epilogue;

/* rg_int8_gemm, then epi (may be NULL) on every output. */
void rg_int8_gemm_epi(const rg_int8_matrix *w, const int8_t *xq, const float *xscale, int rows, int n0, int n1,
                      float *y, int ldy, const rg_int8_epilogue *epi);

/* "amx", "avx512vnni", "avx2" or "scalar"; RAGGED_INT8_KERNEL=scalar|avx2|vnni
 * forces a slower kernel (tests compare them), RAGGED_SIMD=portable the scalar one. */
const char *rg_int8_kernel_name(void);

#endif
