/* bf16 GEMM on AMX tiles for the BERT engine.  See bert_bf16.h.
 *
 * Weights are packed as B tiles: per 16-column block and 32-wide step of
 * k, 16 rows of (16 columns x a pair of k values), so one 1 KB tile load
 * feeds TDPBF16PS.  Activations are plain bf16 rows (stride kpad), loaded
 * as A tiles of 16 rows x 32 values.  A 32 x 32 output block is 2 x 2
 * accumulator tiles, as in bert_int8.c's AMX kernel. */
#include "bert_bf16.h"

#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "util.h"

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define RG_BF16_AMX 1
#include <immintrin.h>
#endif

struct rg_bf16_matrix {
    int n, k, npad, kpad;   /* kpad: k rounded up to 32 */
    uint16_t *w;          /* [npad/16][kpad/32][16 pairs][16 columns][2], 64-byte aligned */
};

bool rg_bf16_available(void)
{
#ifdef RG_BF16_AMX
    return rg_cpu_has(RG_CPU_AMX_BF16 | RG_CPU_AVX512BF16 | RG_CPU_AVX512F | RG_CPU_AVX512BW);
#else
    return false;
#endif
}

/* fp32 -> bf16, round to nearest even (the weights are finite). */
static uint16_t to_bf16(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    b += 0x7fffu + ((b >> 16) & 1u);
    return (uint16_t)(b >> 16);
}

rg_bf16_matrix *rg_bf16_matrix_new(const float *w, int n, int k)
{
    if (!rg_bf16_available())
        return NULL;
    rg_bf16_matrix *m = rg_xcalloc(1, sizeof *m);
    m->n = n;
    m->k = k;
    m->npad = (n + 31) / 32 * 32;
    m->kpad = (k + 31) / 32 * 32;
    size_t count = (size_t)m->npad * m->kpad;
    m->w = aligned_alloc(64, count * sizeof *m->w);
    if (!m->w)
        abort();
    memset(m->w, 0, count * sizeof *m->w);
    int ks = m->kpad / 32;
    for (int c = 0; c < n; c++)
        for (int i = 0; i < k; i++) {
            size_t tile = (size_t)(c / 16) * ks + (size_t)(i / 32);
            m->w[tile * 512 + (size_t)(i % 32) / 2 * 32 + (size_t)(c % 16) * 2 + (size_t)(i % 2)] =
                to_bf16(w[(size_t)c * k + i]);
        }
    return m;
}

void rg_bf16_matrix_free(rg_bf16_matrix *m)
{
    if (!m)
        return;
    free(m->w);
    free(m);
}

int rg_bf16_matrix_kpad(const rg_bf16_matrix *m) { return 2 * m->kpad; }

#ifdef RG_BF16_AMX
#define BF16_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

/* One row: the bf16 rounding of x in q[0, kpad), the bf16 rounding of
 * what that leaves out in q[kpad, 2 kpad). */
BF16_ATTR static void convert512(const float *x, int k, uint16_t *q, int kpad)
{
    for (int i = 0; i < kpad; i += 16) {
        __mmask16 mk = i >= k ? 0 : k - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(mk, x + i);
        __m256bh hi = _mm512_cvtneps_pbh(v);
        __m256bh lo = _mm512_cvtneps_pbh(_mm512_sub_ps(v, _mm512_cvtpbh_ps(hi)));
        _mm256_storeu_si256((__m256i *)(q + i), (__m256i)hi);
        _mm256_storeu_si256((__m256i *)(q + kpad + i), (__m256i)lo);
    }
}

typedef struct tilecfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg;

BF16_ATTR static void gemm_amx(const rg_bf16_matrix *m, const uint16_t *xb, int rows, int n0, int n1, float *y,
                               int ldy, const rg_int8_epilogue *epi)
{
    int ks = m->kpad / 32;
    /* kpad: the row stride of xb, high parts then low parts */
    size_t kpad = 2 * (size_t)m->kpad, lo = (size_t)m->kpad, bstride = (size_t)ks * 512;
    /* A last block of fewer than 32 rows is copied into zeroed rows, so
     * every tile load reads 32 rows that exist. */
    int full = rows / 32 * 32;
    uint16_t *tail = NULL;
    if (full < rows) {
        tail = aligned_alloc(64, 32 * kpad * sizeof *tail);
        if (!tail)
            abort();
        memset(tail, 0, 32 * kpad * sizeof *tail);
        memcpy(tail, xb + (size_t)full * kpad, (size_t)(rows - full) * kpad * sizeof *tail);
    }
    tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
    _Alignas(64) float blk[32][32];
    for (int c = n0; c < n1; c += 32) {
        int cn = RG_MIN(32, n1 - c);
        /* a last block of 16 columns repeats its tile (results unused) */
        const uint16_t *b0 = m->w + (size_t)(c / 16) * bstride, *b1 = cn > 16 ? b0 + bstride : b0;
        for (int r = 0; r < rows; r += 32) {
            const uint16_t *a0 = r < full ? xb + (size_t)r * kpad : tail, *a1 = a0 + 16 * kpad;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (int k = 0; k < ks; k++) {
                _tile_loadd(4, a0 + (size_t)k * 32, kpad * 2);
                _tile_loadd(5, a1 + (size_t)k * 32, kpad * 2);
                _tile_loadd(6, b0 + (size_t)k * 512, 64);
                _tile_loadd(7, b1 + (size_t)k * 512, 64);
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(1, 4, 7);
                _tile_dpbf16ps(2, 5, 6);
                _tile_dpbf16ps(3, 5, 7);
                _tile_loadd(4, a0 + lo + (size_t)k * 32, kpad * 2);
                _tile_loadd(5, a1 + lo + (size_t)k * 32, kpad * 2);
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(1, 4, 7);
                _tile_dpbf16ps(2, 5, 6);
                _tile_dpbf16ps(3, 5, 7);
            }
            _tile_stored(0, &blk[0][0], 128);
            _tile_stored(1, &blk[0][16], 128);
            _tile_stored(2, &blk[16][0], 128);
            _tile_stored(3, &blk[16][16], 128);
            int nr = RG_MIN(32, rows - r);
            float *dst = y + (size_t)r * ldy + c;
            if (epi) {
                epi->fn(epi->ctx, &blk[0][0], 32, dst, ldy, nr, c, cn);
            } else {
                for (int i = 0; i < nr; i++)
                    memcpy(dst + (size_t)i * ldy, blk[i], (size_t)cn * sizeof(float));
            }
        }
    }
    _tile_release();
    free(tail);
}
#endif

void rg_bf16_convert_rows(const float *x, int r0, int r1, int k, int ldx, uint16_t *xb, int kpad)
{
#ifdef RG_BF16_AMX
    for (int r = r0; r < r1; r++)
        convert512(x + (size_t)r * ldx, k, xb + (size_t)r * kpad, kpad / 2);
#else
    /* the same layout in C (no kernel reads it where this compiles) */
    int half = kpad / 2;
    for (int r = r0; r < r1; r++) {
        uint16_t *q = xb + (size_t)r * kpad;
        memset(q, 0, (size_t)kpad * sizeof *q);
        for (int i = 0; i < k; i++) {
            float f = x[(size_t)r * ldx + i], hf;
            uint32_t hb = (uint32_t)to_bf16(f) << 16;
            memcpy(&hf, &hb, sizeof hf);
            q[i] = (uint16_t)(hb >> 16);
            q[half + i] = to_bf16(f - hf);
        }
    }
#endif
}

void rg_bf16_gemm(const rg_bf16_matrix *m, const uint16_t *xb, int rows, int n0, int n1, float *y, int ldy,
                  const rg_int8_epilogue *epi)
{
#ifdef RG_BF16_AMX
    if (rows > 0 && n0 < n1)
        gemm_amx(m, xb, rows, n0, n1, y, ldy, epi);
#else
    (void)m, (void)xb, (void)rows, (void)n0, (void)n1, (void)y, (void)ldy, (void)epi;
    abort();   /* no matrix is ever made without the AMX kernel */
#endif
}
