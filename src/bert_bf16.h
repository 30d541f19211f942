/* bf16 matrix products for the BERT engine on AMX tiles: y = x W^T with W
 * rounded to bf16 once at load and x converted per row on every call; the
 * sums are fp32 (TDPBF16PS).  bf16 keeps 8 bits of mantissa against int8's
 * 7 bits of a per-row range, so the scores keep their order far better
 * than int8 (bench/rerank/RESULTS.md), at about twice int8's cost.  Only CPUs with
 * AMX-BF16 (and Linux granting the tile state) have it: elsewhere
 * rg_bf16_matrix_new returns NULL and the engine runs fp32. */
#ifndef RG_BERT_BF16_H
#define RG_BERT_BF16_H

#include <stdbool.h>
#include <stdint.h>

#include "bert_int8.h"   /* rg_int8_epilogue */

typedef struct rg_bf16_matrix rg_bf16_matrix;

/* True when this CPU and process can run the bf16 kernel (cpu.h). */
bool rg_bf16_available(void);

/* Rounds w ([n, k] row-major, a torch Linear weight) to bf16 in the tile
 * layout; NULL when !rg_bf16_available(). */
rg_bf16_matrix *rg_bf16_matrix_new(const float *w, int n, int k);
void rg_bf16_matrix_free(rg_bf16_matrix *m);
/* Row stride of converted activations for this matrix, in bf16 values:
 * 2 x (k rounded up to 32), the bf16 rounding of each value then the bf16
 * rounding of what that leaves out (the products use both, so the
 * activations keep ~16 bits and only the weights round to 8). */
int rg_bf16_matrix_kpad(const rg_bf16_matrix *m);

/* Rows [r0, r1) of x ([., k], stride ldx) to bf16 high and low parts
 * (round to nearest even) into xb (stride kpad from rg_bf16_matrix_kpad,
 * zero padded). */
void rg_bf16_convert_rows(const float *x, int r0, int r1, int k, int ldx, uint16_t *xb, int kpad);

/* y[r * ldy + c] = xb[r] . W[c] for r < rows, c in [n0, n1) (y is not
 * offset by n0; n0 a multiple of 16), then epi (may be NULL) on every
 * output. */
void rg_bf16_gemm(const rg_bf16_matrix *m, const uint16_t *xb, int rows, int n0, int n1, float *y, int ldy,
                  const rg_int8_epilogue *epi);

#endif
