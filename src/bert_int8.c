/* int8 GEMM for the BERT engine.  See bert_int8.h.
 *
 * Weights: symmetric per output channel, values in [-127, 127] (never -128,
 * so the AVX2 sign trick cannot overflow), packed as
 * [n/16][k/4][16 columns][4 k] so one 64-byte load feeds 16 output columns
 * with 4 products each (the operand shape of VPDPBUSD).
 * Activations: symmetric per row, also [-127, 127], quantised per call.
 *
 * The SIMD kernels carry target attributes, so this file builds with the
 * project's plain flags; the kernel is picked at run time (cpu.h).  They
 * are x86 only: elsewhere the portable kernel runs. */
#include "bert_int8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "util.h"

#if defined(__x86_64__) || defined(__i386__)
#define RG_INT8_X86 1
#include <immintrin.h>
#endif
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define RG_INT8_AMX 1
#endif

typedef enum kernel { K_SCALAR, K_AVX2, K_VNNI, K_AMX } kernel;


struct rg_int8_matrix {
    int n, k, npad, kpad;
    int8_t *w;            /* packed, 64-byte aligned */
    float *scale;         /* [npad] */
    int32_t *colsum;      /* [npad] sum of each column's weights (VNNI's unsigned-offset correction) */
    kernel kern;
};

static kernel pick_kernel(void)
{
    const char *force = getenv("RAGGED_INT8_KERNEL");
#ifdef RG_INT8_X86
    bool vnni = rg_cpu_has(RG_CPU_AVX512VNNI | RG_CPU_AVX512BW);
    bool avx2 = rg_cpu_has(RG_CPU_AVX2);
#else
    bool vnni = false, avx2 = false;
#endif
    if (force && strcmp(force, "scalar") == 0)
        return K_SCALAR;
    if (force && strcmp(force, "avx2") == 0)
        return avx2 ? K_AVX2 : K_SCALAR;
#ifdef RG_INT8_AMX
    /* AMX runs only full 32-row blocks; the rest of the rows go to VNNI. */
    if (vnni && !(force && strcmp(force, "vnni") == 0) && rg_cpu_has(RG_CPU_AMX_INT8))
        return K_AMX;
#endif
    return vnni ? K_VNNI : avx2 ? K_AVX2 : K_SCALAR;
}

const char *rg_int8_kernel_name(void)
{
    static const char *names[] = {"scalar", "avx2", "avx512vnni", "amx"};
    return names[pick_kernel()];
}

rg_int8_matrix *rg_int8_matrix_new(const float *w, int n, int k)
{
    rg_int8_matrix *m = rg_xcalloc(1, sizeof *m);
    m->n = n;
    m->k = k;
    m->npad = (n + 15) / 16 * 16;
    m->kpad = (k + 63) / 64 * 64;
    size_t bytes = (size_t)m->npad * m->kpad;
    m->w = aligned_alloc(64, bytes);
    if (!m->w)
        abort();
    memset(m->w, 0, bytes);
    m->scale = rg_xcalloc((size_t)m->npad, sizeof *m->scale);
    m->colsum = rg_xcalloc((size_t)m->npad, sizeof *m->colsum);
    int kq = m->kpad / 4;
    for (int c = 0; c < n; c++) {
        const float *row = w + (size_t)c * k;
        float amax = 0;
        for (int i = 0; i < k; i++)
            amax = fmaxf(amax, fabsf(row[i]));
        float s = amax > 0 ? amax / 127.0f : 1.0f, inv = 1.0f / s;
        m->scale[c] = s;
        int8_t *blk = m->w + (size_t)(c / 16) * kq * 64 + (c % 16) * 4;
        int32_t sum = 0;
        for (int i = 0; i < k; i++) {
            float q = nearbyintf(row[i] * inv);
            q = fminf(127.0f, fmaxf(-127.0f, q));
            blk[(size_t)(i / 4) * 64 + i % 4] = (int8_t)q;
            sum += (int32_t)q;
        }
        m->colsum[c] = sum;
    }
    m->kern = pick_kernel();
    return m;
}

void rg_int8_matrix_free(rg_int8_matrix *m)
{
    if (!m)
        return;
    free(m->w);
    free(m->scale);
    free(m->colsum);
    free(m);
}

int rg_int8_matrix_kpad(const rg_int8_matrix *m) { return m->kpad; }

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RG_VECTOR_LOOP __attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3")))
#else
#define RG_VECTOR_LOOP
#endif

RG_VECTOR_LOOP static void quantize_row(const float *restrict row, int k, int8_t *restrict q, float *scale)
{
    float amax = 0;
    for (int i = 0; i < k; i++) {
        float a = row[i] < 0 ? -row[i] : row[i];
        amax = a > amax ? a : amax;
    }
    float s = amax > 0 ? amax / 127.0f : 1.0f, inv = 1.0f / s;
    for (int i = 0; i < k; i++) {
        /* round half to even via the 1.5 * 2^23 trick: |v| <= 127 */
        float v = row[i] * inv;
        v = (v + 12582912.0f) - 12582912.0f;
        /* Clamp: NaN or infinite activations (a damaged model) would make
         * the conversion undefined behaviour. */
        v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v == v ? v : 0.0f;
        q[i] = (int8_t)(int)v;
    }
    *scale = s;
}

#ifdef RG_INT8_X86
/* The same quantisation with explicit AVX-512: the compiler leaves the
 * loop above mostly scalar (the float -> int8 conversion), and it runs on
 * every activation of every layer.  CVTPS2DQ rounds half to even like the
 * 1.5 * 2^23 trick; NaN becomes 0 as above. */
__attribute__((target("avx512f,avx512bw"))) static void quantize_row512(const float *restrict row, int k,
                                                                        int8_t *restrict q, float *scale)
{
    __m512 amax = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= k; i += 16)
        amax = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + i)), amax);   /* NaN keeps amax */
    if (i < k) {
        __mmask16 mk = (__mmask16)((1u << (k - i)) - 1);
        amax = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(mk, row + i)), amax);
    }
    float a = _mm512_reduce_max_ps(amax);
    float s = a > 0 ? a / 127.0f : 1.0f, inv = 1.0f / s;
    const __m512 vinv = _mm512_set1_ps(inv), lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
    for (i = 0; i < k; i += 16) {
        __mmask16 mk = k - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - i)) - 1);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, row + i), vinv);
        __mmask16 ok = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
        v = _mm512_maskz_mov_ps(ok, _mm512_min_ps(_mm512_max_ps(v, lo), hi));
        _mm512_mask_cvtsepi32_storeu_epi8(q + i, mk, _mm512_cvtps_epi32(v));
    }
    *scale = s;
}
#endif

void rg_int8_quantize_rows(const float *x, int r0, int r1, int k, int ldx, int8_t *xq, int kpad, float *scales)
{
#ifdef RG_INT8_X86
    bool v512 = rg_cpu_has(RG_CPU_AVX512F | RG_CPU_AVX512BW);
#endif
    for (int r = r0; r < r1; r++) {
        int8_t *q = xq + (size_t)r * kpad;
#ifdef RG_INT8_X86
        if (v512)
            quantize_row512(x + (size_t)r * ldx, k, q, &scales[r]);
        else
#endif
            quantize_row(x + (size_t)r * ldx, k, q, &scales[r]);
        memset(q + k, 0, (size_t)(kpad - k));
    }
}

/* ---- portable kernel ---- */

static void gemm_scalar(const rg_int8_matrix *m, const int8_t *xq, const float *xs, int rows, int n0, int n1,
                        float *y, int ldy)
{
    int kq = m->kpad / 4;
    for (int r = 0; r < rows; r++) {
        const int8_t *x = xq + (size_t)r * m->kpad;
        for (int c = n0; c < n1; c++) {
            const int8_t *blk = m->w + (size_t)(c / 16) * kq * 64 + (c % 16) * 4;
            int32_t acc = 0;
            for (int i = 0; i < kq; i++)
                for (int j = 0; j < 4; j++)
                    acc += (int32_t)x[4 * i + j] * blk[(size_t)i * 64 + j];
            y[(size_t)r * ldy + c] = (float)acc * xs[r] * m->scale[c];
        }
    }
}

#ifdef RG_INT8_X86
/* ---- AVX2: VPMADDUBSW on |x| and sign(w, x), then VPMADDWD to int32 ---- */

#define AVX2_ATTR __attribute__((target("avx2,fma")))

AVX2_ATTR static inline __m256i avx2_dot4(__m256i acc, __m256i xb, __m256i w, __m256i ones)
{
    __m256i ax = _mm256_sign_epi8(xb, xb);
    __m256i sw = _mm256_sign_epi8(w, xb);
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sw), ones));
}

AVX2_ATTR static void gemm_avx2(const rg_int8_matrix *m, const int8_t *xq, const float *xs, int rows, int n0, int n1,
                                float *y, int ldy)
{
    int kq = m->kpad / 4;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int c = n0; c < n1; c += 16) {
        const int8_t *blk = m->w + (size_t)(c / 16) * kq * 64;
        int r = 0;
        for (; r + 2 <= rows; r += 2) {
            const int8_t *x0 = xq + (size_t)r * m->kpad, *x1 = x0 + m->kpad;
            __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00;
            for (int i = 0; i < kq; i++) {
                __m256i w0 = _mm256_load_si256((const __m256i *)(blk + (size_t)i * 64));
                __m256i w1 = _mm256_load_si256((const __m256i *)(blk + (size_t)i * 64 + 32));
                int32_t v0, v1;
                memcpy(&v0, x0 + 4 * i, 4);
                memcpy(&v1, x1 + 4 * i, 4);
                __m256i b0 = _mm256_set1_epi32(v0), b1 = _mm256_set1_epi32(v1);
                a00 = avx2_dot4(a00, b0, w0, ones);
                a01 = avx2_dot4(a01, b0, w1, ones);
                a10 = avx2_dot4(a10, b1, w0, ones);
                a11 = avx2_dot4(a11, b1, w1, ones);
            }
            __m256 s0 = _mm256_loadu_ps(m->scale + c), s1 = _mm256_loadu_ps(m->scale + c + 8);
            float out[4][8];
            _mm256_storeu_ps(out[0], _mm256_mul_ps(_mm256_cvtepi32_ps(a00), _mm256_mul_ps(s0, _mm256_set1_ps(xs[r]))));
            _mm256_storeu_ps(out[1], _mm256_mul_ps(_mm256_cvtepi32_ps(a01), _mm256_mul_ps(s1, _mm256_set1_ps(xs[r]))));
            _mm256_storeu_ps(out[2],
                             _mm256_mul_ps(_mm256_cvtepi32_ps(a10), _mm256_mul_ps(s0, _mm256_set1_ps(xs[r + 1]))));
            _mm256_storeu_ps(out[3],
                             _mm256_mul_ps(_mm256_cvtepi32_ps(a11), _mm256_mul_ps(s1, _mm256_set1_ps(xs[r + 1]))));
            int cn = RG_MIN(16, n1 - c);
            for (int j = 0; j < cn; j++) {
                y[(size_t)r * ldy + c + j] = j < 8 ? out[0][j] : out[1][j - 8];
                y[(size_t)(r + 1) * ldy + c + j] = j < 8 ? out[2][j] : out[3][j - 8];
            }
        }
        for (; r < rows; r++) {
            const int8_t *x0 = xq + (size_t)r * m->kpad;
            __m256i a00 = _mm256_setzero_si256(), a01 = a00;
            for (int i = 0; i < kq; i++) {
                __m256i w0 = _mm256_load_si256((const __m256i *)(blk + (size_t)i * 64));
                __m256i w1 = _mm256_load_si256((const __m256i *)(blk + (size_t)i * 64 + 32));
                int32_t v0;
                memcpy(&v0, x0 + 4 * i, 4);
                __m256i b0 = _mm256_set1_epi32(v0);
                a00 = avx2_dot4(a00, b0, w0, ones);
                a01 = avx2_dot4(a01, b0, w1, ones);
            }
            __m256 s0 = _mm256_loadu_ps(m->scale + c), s1 = _mm256_loadu_ps(m->scale + c + 8);
            float out[2][8];
            _mm256_storeu_ps(out[0], _mm256_mul_ps(_mm256_cvtepi32_ps(a00), _mm256_mul_ps(s0, _mm256_set1_ps(xs[r]))));
            _mm256_storeu_ps(out[1], _mm256_mul_ps(_mm256_cvtepi32_ps(a01), _mm256_mul_ps(s1, _mm256_set1_ps(xs[r]))));
            int cn = RG_MIN(16, n1 - c);
            for (int j = 0; j < cn; j++)
                y[(size_t)r * ldy + c + j] = j < 8 ? out[0][j] : out[1][j - 8];
        }
    }
}

/* ---- AVX-512 VNNI: VPDPBUSD on (x + 128) as unsigned and w signed; the
 * +128 is taken back out with 128 * column sum ---- */

#define VNNI_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/* R rows x CB 16-column blocks; R and CB are constants at every call so the
 * accumulators live in registers. */
VNNI_ATTR static inline __attribute__((always_inline)) void
vnni_tile(const rg_int8_matrix *m, const int8_t *xq, const float *xs, int r, int c, int R, int CB, int n1, float *y,
          int ldy, const rg_int8_epilogue *epi)
{
    int kq = m->kpad / 4;
    const int8_t *blk = m->w + (size_t)(c / 16) * kq * 64;
    size_t bstride = (size_t)kq * 64;
    const __m512i flip = _mm512_set1_epi32((int)0x80808080u);
    __m512i acc[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int b = 0; b < CB; b++)
            acc[i][b] = _mm512_setzero_si512();
    for (int kk = 0; kk < kq; kk++) {
        __m512i w[4];
#pragma GCC unroll 4
        for (int b = 0; b < CB; b++)
            w[b] = _mm512_load_si512((const void *)(blk + b * bstride + (size_t)kk * 64));
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            int32_t v;
            memcpy(&v, xq + (size_t)(r + i) * m->kpad + 4 * kk, 4);
            __m512i xb = _mm512_xor_si512(_mm512_set1_epi32(v), flip);
#pragma GCC unroll 4
            for (int b = 0; b < CB; b++)
                acc[i][b] = _mm512_dpbusd_epi32(acc[i][b], xb, w[b]);
        }
    }
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++) {
        int cc = c + 16 * b;
        if (cc >= n1)
            break;
        __mmask16 mask = n1 - cc >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n1 - cc)) - 1);
        __m512i corr = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(m->colsum + cc)), 7);
        __m512 sc = _mm512_loadu_ps(m->scale + cc);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][b], corr));
            v = _mm512_mul_ps(v, _mm512_mul_ps(sc, _mm512_set1_ps(xs[r + i])));
            _mm512_mask_storeu_ps(y + (size_t)(r + i) * ldy + cc, mask, v);
        }
    }
    if (epi && c < n1) {
        float *out = y + (size_t)r * ldy + c;
        epi->fn(epi->ctx, out, ldy, out, ldy, R, c, RG_MIN(n1, c + 16 * CB) - c);
    }
}

VNNI_ATTR static void gemm_vnni(const rg_int8_matrix *m, const int8_t *xq, const float *xs, int rows, int n0, int n1,
                                float *y, int ldy, const rg_int8_epilogue *epi)
{
    int c = n0;
    for (; c + 64 <= n1 || (c < n1 && n1 - c > 48); c += 64) {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
            vnni_tile(m, xq, xs, r, c, 4, 4, n1, y, ldy, epi);
        for (; r < rows; r++)
            vnni_tile(m, xq, xs, r, c, 1, 4, n1, y, ldy, epi);
    }
    for (; c < n1; c += 16) {
        int r = 0;
        for (; r + 4 <= rows; r += 4)
            vnni_tile(m, xq, xs, r, c, 4, 1, n1, y, ldy, epi);
        for (; r < rows; r++)
            vnni_tile(m, xq, xs, r, c, 1, 1, n1, y, ldy, epi);
    }
}

#ifdef RG_INT8_AMX
/* ---- AMX: TDPBSSD (signed x signed, so no +128 offset) on 16-row tiles.
 * The packed weight layout is already the B-tile layout: 16 k-quads of a
 * 16-column block are 16 consecutive 64-byte rows.  A 32 x 32 output block
 * is 4 accumulator tiles fed by 2 activation and 2 weight tiles.  Rows go
 * in chunks that stay in L2 while every column block of the task passes
 * over them.  Rows beyond the last full 32 go to the VNNI kernel. ---- */

#define AMX_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,amx-tile,amx-int8")))

typedef struct amx_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;

/* 16 rows x 16 columns of int32 sums -> scaled floats, into y (stride
 * ldy) at column c - c0 (y is a local block when there is an epilogue:
 * masked stores to memory then masked loads of the same lines stalled). */
AMX_ATTR static void amx_store(const int32_t *acc, const rg_int8_matrix *m, const float *xs, int r, int c, int n1,
                               float *y, int ldy)
{
    __mmask16 mask = n1 - c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n1 - c)) - 1);
    __m512 sc = _mm512_maskz_loadu_ps(mask, m->scale + c);
    for (int i = 0; i < 16; i++) {
        __m512 v = _mm512_cvtepi32_ps(_mm512_load_si512((const void *)(acc + 16 * i)));
        _mm512_mask_storeu_ps(y + (size_t)i * ldy, mask, _mm512_mul_ps(v, _mm512_mul_ps(sc, _mm512_set1_ps(xs[r + i]))));
    }
}

AMX_ATTR static void gemm_amx(const rg_int8_matrix *m, const int8_t *xq, const float *xs, int rows, int n0, int n1,
                              float *y, int ldy, const rg_int8_epilogue *epi)
{
    int full = rows / 32 * 32, kc = m->kpad / 64;
    size_t kpad = (size_t)m->kpad, bstride = (size_t)m->kpad / 4 * 64;
    if (full > 0) {
        amx_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.palette = 1;
        for (int t = 0; t < 8; t++) {
            cfg.colsb[t] = 64;
            cfg.rows[t] = 16;
        }
        _tile_loadconfig(&cfg);
        _Alignas(64) int32_t acc[4][256];
        _Alignas(64) float blk[32][32];
        int chunk = (int)RG_MAX(32, (size_t)(256 * 1024) / kpad / 32 * 32);
        for (int r0 = 0; r0 < full; r0 += chunk) {
            int r1 = RG_MIN(full, r0 + chunk);
            for (int c = n0; c < n1; c += 32) {
                const int8_t *b0 = m->w + (size_t)(c / 16) * bstride, *b1 = b0 + bstride;
                bool two = n1 - c > 16;
                for (int r = r0; r < r1; r += 32) {
                    const int8_t *a0 = xq + (size_t)r * kpad, *a1 = a0 + 16 * kpad;
                    _tile_zero(0);
                    _tile_zero(1);
                    _tile_zero(2);
                    _tile_zero(3);
                    if (two) {
                        for (int k = 0; k < kc; k++) {
                            _tile_loadd(4, a0 + (size_t)k * 64, kpad);
                            _tile_loadd(5, a1 + (size_t)k * 64, kpad);
                            _tile_loadd(6, b0 + (size_t)k * 1024, 64);
                            _tile_loadd(7, b1 + (size_t)k * 1024, 64);
                            _tile_dpbssd(0, 4, 6);
                            _tile_dpbssd(1, 4, 7);
                            _tile_dpbssd(2, 5, 6);
                            _tile_dpbssd(3, 5, 7);
                        }
                    } else {
                        for (int k = 0; k < kc; k++) {
                            _tile_loadd(4, a0 + (size_t)k * 64, kpad);
                            _tile_loadd(5, a1 + (size_t)k * 64, kpad);
                            _tile_loadd(6, b0 + (size_t)k * 1024, 64);
                            _tile_dpbssd(0, 4, 6);
                            _tile_dpbssd(2, 5, 6);
                        }
                    }
                    _tile_stored(0, acc[0], 64);
                    _tile_stored(2, acc[2], 64);
                    if (two) {
                        _tile_stored(1, acc[1], 64);
                        _tile_stored(3, acc[3], 64);
                    }
                    int cn = RG_MIN(32, n1 - c);
                    float *dst = epi ? &blk[0][0] : y + (size_t)r * ldy + c;
                    int ldd = epi ? 32 : ldy;
                    amx_store(acc[0], m, xs, r, c, n1, dst, ldd);
                    amx_store(acc[2], m, xs, r + 16, c, n1, dst + (size_t)16 * ldd, ldd);
                    if (two) {
                        amx_store(acc[1], m, xs, r, c + 16, n1, dst + 16, ldd);
                        amx_store(acc[3], m, xs, r + 16, c + 16, n1, dst + (size_t)16 * ldd + 16, ldd);
                    }
                    if (epi)
                        epi->fn(epi->ctx, &blk[0][0], 32, y + (size_t)r * ldy + c, ldy, 32, c, cn);
                }
            }
        }
        /* Gives the tile state back so a context switch need not save it. */
        _tile_release();
    }
    if (full < rows)
        gemm_vnni(m, xq + (size_t)full * kpad, xs + full, rows - full, n0, n1, y + (size_t)full * ldy, ldy, epi);
}
#endif /* RG_INT8_AMX */

#endif /* RG_INT8_X86 */

void rg_int8_gemm_epi(const rg_int8_matrix *m, const int8_t *xq, const float *xscale, int rows, int n0, int n1,
                      float *y, int ldy, const rg_int8_epilogue *epi)
{
    switch (m->kern) {
#ifdef RG_INT8_X86
#ifdef RG_INT8_AMX
    case K_AMX:
        gemm_amx(m, xq, xscale, rows, n0, n1, y, ldy, epi);
        return;
#endif
    case K_VNNI:
        gemm_vnni(m, xq, xscale, rows, n0, n1, y, ldy, epi);
        return;
    case K_AVX2:
        gemm_avx2(m, xq, xscale, rows, n0, n1, y, ldy);
        break;
#endif
    default:
        gemm_scalar(m, xq, xscale, rows, n0, n1, y, ldy);
        break;
    }
    /* the kernels without their own epilogue: one pass at the end */
    if (epi && rows > 0 && n0 < n1)
        epi->fn(epi->ctx, y + n0, ldy, y + n0, ldy, rows, n0, n1 - n0);
}

void rg_int8_gemm(const rg_int8_matrix *m, const int8_t *xq, const float *xscale, int rows, int n0, int n1, float *y,
                  int ldy)
{
    rg_int8_gemm_epi(m, xq, xscale, rows, n0, n1, y, ldy, NULL);
}
