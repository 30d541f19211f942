/* fp32 matrix products for the BERT engine with weights packed once at load:
 * y = x W^T.  OpenBLAS re-packs the weight matrix on every call, which costs
 * as much as the product itself for the few-token batches of queries; a
 * packed layout [n/16][k][16 columns] lets an AVX-512 or AVX2 kernel stream it
 * directly.  Without either, the engine falls back to OpenBLAS. */
#ifndef RG_BERT_F32_H
#define RG_BERT_F32_H

#include <stdbool.h>

typedef struct rg_f32_matrix rg_f32_matrix;

/* NULL when this CPU has no kernel for it (use BLAS), or when
 * RAGGED_FP32_KERNEL=blas or RAGGED_SIMD=portable (cpu.h), and on every
 * non-x86 CPU; RAGGED_FP32_KERNEL=avx2 forces the AVX2 kernel. */
rg_f32_matrix *rg_f32_matrix_new(const float *w, int n, int k);
void rg_f32_matrix_free(rg_f32_matrix *m);
const char *rg_f32_matrix_kernel(const rg_f32_matrix *m);

/* y[r * ldy + c] = x[r * ldx + .] . W[c] for r < rows, c in [n0, n1);
 * n0 a multiple of 16.  No bias. */
void rg_f32_gemm(const rg_f32_matrix *m, const float *x, int ldx, int rows, int n0, int n1, float *y, int ldy);

#endif
