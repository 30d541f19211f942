/* Small pieces the leann phases share: float16, varints, candidate order,
 * visited marks and the embedding cache. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "leann.h"
#include "util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#elif defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#endif

/* Graph construction is dominated by dot products; the generic rg_dot is
 * built for the baseline ISA.  Answers never depend on this: final
 * distances use rg_dot, exactly as the exact backend does. */
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static float dot_avx2(const float *a, const float *b, size_t n)
{
    /* Four independent sums: with two, a 1024-d dot (the builtin
     * embedder's) waited on FMA latency at half the FMA throughput. */
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s0 = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    float s = _mm_cvtss_f32(h);
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}
#elif defined(__aarch64__) && defined(__ARM_NEON)
/* Without -ffast-math the compiler keeps rg_dot's four scalar sums. */
static float dot_neon(const float *a, const float *b, size_t n)
{
    float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    }
    float s = vaddvq_f32(vaddq_f32(s0, s1));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}
#endif

leann_dot_fn leann_dot_pick(const char **name)
{
#if defined(__x86_64__) || defined(__i386__)
    if (rg_cpu_has(RG_CPU_AVX2 | RG_CPU_FMA)) {
        if (name)
            *name = "avx2";
        return dot_avx2;
    }
#elif defined(__aarch64__) && defined(__ARM_NEON)
    if (rg_cpu_has(RG_CPU_NEON)) {
        if (name)
            *name = "neon";
        return dot_neon;
    }
#endif
    if (name)
        *name = "portable";
    return rg_dot;
}

/* Chosen once per process: leann_dot sits in the graph build's inner loop,
 * too hot for a getenv per call, and has no owning object to hold it. */
static leann_dot_fn dot_kernel;
static pthread_once_t dot_kernel_once = PTHREAD_ONCE_INIT;

static void dot_kernel_init(void) { dot_kernel = leann_dot_pick(NULL); }

float leann_dot(const float *a, const float *b, size_t n)
{
    pthread_once(&dot_kernel_once, dot_kernel_init);
    return dot_kernel(a, b, n);
}

/* Dots of one short vector x (d floats) with k columns of a row-major d x k
 * block: out[c] = sum_t x[t] * ct[t * k + c].  PQ lays its codebooks out
 * this way (leann_pq_prepare) so that a query table, an encode and a
 * k-means assignment are k-wide FMAs instead of k short dot products; the
 * scalar form of those was most of the PQ cost of a 256K-chunk ingest. */
#if defined(__x86_64__) || defined(__i386__)
/* Columns c .. k-1 of dots_t (the AVX-512 kernel leaves it the last few). */
__attribute__((target("avx2,fma"))) static void dots_t_avx2_from(const float *x, const float *ct, int d, int k, int c,
                                                                   float *out)
{
    for (; c + 32 <= k; c += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < d; t++) {
            __m256 xb = _mm256_broadcast_ss(x + t);
            const float *r = ct + (size_t)t * (size_t)k + c;
            a0 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(r), a0);
            a1 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(r + 8), a1);
            a2 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(r + 16), a2);
            a3 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(r + 24), a3);
        }
        _mm256_storeu_ps(out + c, a0);
        _mm256_storeu_ps(out + c + 8, a1);
        _mm256_storeu_ps(out + c + 16, a2);
        _mm256_storeu_ps(out + c + 24, a3);
    }
    for (; c + 8 <= k; c += 8) {
        __m256 a0 = _mm256_setzero_ps();
        for (int t = 0; t < d; t++)
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + t), _mm256_loadu_ps(ct + (size_t)t * (size_t)k + c), a0);
        _mm256_storeu_ps(out + c, a0);
    }
    for (; c < k; c++) {
        float s = 0;
        for (int t = 0; t < d; t++)
            s += x[t] * ct[(size_t)t * (size_t)k + c];
        out[c] = s;
    }
}

__attribute__((target("avx2,fma"))) static void dots_t_avx2(const float *x, const float *ct, int d, int k,
                                                              float *out)
{
    dots_t_avx2_from(x, ct, d, k, 0, out);
}

/* argmin over columns c0 .. k-1 of norms[c] - 2 <x, column c> (the
 * nearest centroid in L2), folded into *best / *bc, the first on ties: eight
 * columns a step, lane minima and their indices kept in registers.  Columns
 * before c0 (already folded by the AVX-512 kernel) have smaller indices, so
 * a tie keeps them. */
__attribute__((target("avx2,fma"))) static void nearest_range_avx2(const float *x, const float *ct,
                                                                     const float *norms, int d, int k, int c,
                                                                     float *best_io, uint32_t *bc_io)
{
    uint32_t bc = *bc_io;
    float best = *best_io;
    if (k - c >= 8) {
        __m256 bv = _mm256_set1_ps(INFINITY), two = _mm256_set1_ps(2.0f);
        __m256i bi = _mm256_setzero_si256(), idx = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                                    _mm256_set1_epi32(c));
        __m256i eight = _mm256_set1_epi32(8);
#define NEAREST_STEP(A, OFF)                                                                              \
    do {                                                                                                  \
        __m256 e = _mm256_fnmadd_ps(two, (A), _mm256_loadu_ps(norms + c + (OFF)));                       \
        __m256 lt = _mm256_cmp_ps(e, bv, _CMP_LT_OQ);                                                     \
        bv = _mm256_blendv_ps(bv, e, lt);                                                                 \
        bi = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(bi), _mm256_castsi256_ps(idx), lt)); \
        idx = _mm256_add_epi32(idx, eight);                                                               \
    } while (0)
        /* Four independent sums a step: one chain of dependent FMAs would
         * wait on their latency. */
        for (; c + 32 <= k; c += 32) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int t = 0; t < d; t++) {
                __m256 xb = _mm256_broadcast_ss(x + t);
                const float *r = ct + (size_t)t * (size_t)k + c;
                a0 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(r), a0);
                a1 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(r + 8), a1);
                a2 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(r + 16), a2);
                a3 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(r + 24), a3);
            }
            NEAREST_STEP(a0, 0);
            NEAREST_STEP(a1, 8);
            NEAREST_STEP(a2, 16);
            NEAREST_STEP(a3, 24);
        }
        for (; c + 8 <= k; c += 8) {
            __m256 a = _mm256_setzero_ps();
            for (int t = 0; t < d; t++)
                a = _mm256_fmadd_ps(_mm256_broadcast_ss(x + t), _mm256_loadu_ps(ct + (size_t)t * (size_t)k + c), a);
            NEAREST_STEP(a, 0);
        }
#undef NEAREST_STEP
        float lv[8];
        uint32_t li[8];
        _mm256_storeu_ps(lv, bv);
        _mm256_storeu_si256((__m256i *)li, bi);
        for (int l = 0; l < 8; l++)
            if (lv[l] < best || (lv[l] == best && li[l] < bc)) {
                best = lv[l];
                bc = li[l];
            }
    }
    for (; c < k; c++) {
        float s = 0;
        for (int t = 0; t < d; t++)
            s += x[t] * ct[(size_t)t * (size_t)k + c];
        float e = norms[c] - 2.0f * s;
        if (e < best) {
            best = e;
            bc = (uint32_t)c;
        }
    }
    *best_io = best;
    *bc_io = bc;
}

__attribute__((target("avx2,fma"))) static uint32_t nearest_t_avx2(const float *x, const float *ct,
                                                                     const float *norms, int d, int k)
{
    float best = INFINITY;
    uint32_t bc = 0;
    nearest_range_avx2(x, ct, norms, d, k, 0, &best, &bc);
    return bc;
}

/* The AVX-512 forms of dots_t and nearest_t: sixteen columns a register and
 * eight registers a step (128 columns, a 256-centroid codebook in two), so
 * that the FMA units are not left waiting on the latency of the four chains
 * of the AVX2 kernel, and compare masks instead of blends.  Each column is
 * still one chain of FMAs over t in order, and norms - 2 * dot one fused
 * step, so both give bit for bit the AVX2 kernels' results (codes, tables,
 * k-means: the same graph); columns past the last multiple of 16 are left
 * to the AVX2 code. */
__attribute__((target("avx512f,avx2,fma"))) static void dots_t_avx512(const float *x, const float *ct, int d, int k,
                                                                        float *out)
{
    int c = 0;
    for (; c + 64 <= k; c += 64) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < d; t++) {
            __m512 xb = _mm512_set1_ps(x[t]);
            const float *r = ct + (size_t)t * (size_t)k + c;
            a0 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r), a0);
            a1 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r + 16), a1);
            a2 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r + 32), a2);
            a3 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r + 48), a3);
        }
        _mm512_storeu_ps(out + c, a0);
        _mm512_storeu_ps(out + c + 16, a1);
        _mm512_storeu_ps(out + c + 32, a2);
        _mm512_storeu_ps(out + c + 48, a3);
    }
    for (; c + 16 <= k; c += 16) {
        __m512 a = _mm512_setzero_ps();
        for (int t = 0; t < d; t++)
            a = _mm512_fmadd_ps(_mm512_set1_ps(x[t]), _mm512_loadu_ps(ct + (size_t)t * (size_t)k + c), a);
        _mm512_storeu_ps(out + c, a);
    }
    if (c < k)
        dots_t_avx2_from(x, ct, d, k, c, out);
}

__attribute__((target("avx512f,avx2,fma"))) static uint32_t nearest_t_avx512(const float *x, const float *ct,
                                                                               const float *norms, int d, int k)
{
    /* Two passes over at most 256 columns at a time: first every
     * norms - 2 * dot into e[], eight independent FMA chains a step; then
     * the least of them (min is exact, so its order does not matter) and
     * the first column holding it.  A running (value, index) minimum per
     * lane, as the AVX2 kernel keeps, is one chain of compares and blends
     * through all the columns, and it, not the FMAs, bounded that kernel. */
    const __m512 two = _mm512_set1_ps(2.0f);
    float e[256];
    uint32_t bc = 0;
    float best = INFINITY;
    int c0 = 0;
    while (c0 + 16 <= k) {
        int kk = k - c0 < 256 ? (k - c0) & ~15 : 256;   /* columns of this chunk, a multiple of 16 */
        int c = 0;
        const float *base = ct + c0;
        for (; c + 128 <= kk; c += 128) {
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int t = 0; t < d; t++) {
                __m512 xb = _mm512_set1_ps(x[t]);
                const float *r = base + (size_t)t * (size_t)k + c;
                a0 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r), a0);
                a1 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r + 16), a1);
                a2 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r + 32), a2);
                a3 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r + 48), a3);
                a4 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r + 64), a4);
                a5 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r + 80), a5);
                a6 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r + 96), a6);
                a7 = _mm512_fmadd_ps(xb, _mm512_loadu_ps(r + 112), a7);
            }
            const float *nr = norms + c0 + c;
            _mm512_storeu_ps(e + c, _mm512_fnmadd_ps(two, a0, _mm512_loadu_ps(nr)));
            _mm512_storeu_ps(e + c + 16, _mm512_fnmadd_ps(two, a1, _mm512_loadu_ps(nr + 16)));
            _mm512_storeu_ps(e + c + 32, _mm512_fnmadd_ps(two, a2, _mm512_loadu_ps(nr + 32)));
            _mm512_storeu_ps(e + c + 48, _mm512_fnmadd_ps(two, a3, _mm512_loadu_ps(nr + 48)));
            _mm512_storeu_ps(e + c + 64, _mm512_fnmadd_ps(two, a4, _mm512_loadu_ps(nr + 64)));
            _mm512_storeu_ps(e + c + 80, _mm512_fnmadd_ps(two, a5, _mm512_loadu_ps(nr + 80)));
            _mm512_storeu_ps(e + c + 96, _mm512_fnmadd_ps(two, a6, _mm512_loadu_ps(nr + 96)));
            _mm512_storeu_ps(e + c + 112, _mm512_fnmadd_ps(two, a7, _mm512_loadu_ps(nr + 112)));
        }
        for (; c + 16 <= kk; c += 16) {
            __m512 a = _mm512_setzero_ps();
            for (int t = 0; t < d; t++)
                a = _mm512_fmadd_ps(_mm512_set1_ps(x[t]), _mm512_loadu_ps(base + (size_t)t * (size_t)k + c), a);
            _mm512_storeu_ps(e + c, _mm512_fnmadd_ps(two, a, _mm512_loadu_ps(norms + c0 + c)));
        }
        /* min(e, m) gives m when e is NaN: a NaN is never the least, as
         * with the AVX2 kernel's ordered compares. */
        __m512 m = _mm512_set1_ps(INFINITY);
        for (c = 0; c < kk; c += 16)
            m = _mm512_min_ps(_mm512_loadu_ps(e + c), m);
        float lo = _mm512_reduce_min_ps(m);
        if (lo < best) {
            __m512 lov = _mm512_set1_ps(lo);
            for (c = 0; c < kk; c += 16) {
                __mmask16 eq = _mm512_cmp_ps_mask(_mm512_loadu_ps(e + c), lov, _CMP_EQ_OQ);
                if (eq) {
                    best = lo;
                    bc = (uint32_t)(c0 + c + __builtin_ctz((unsigned)eq));
                    break;
                }
            }
        }
        c0 += kk;
    }
    if (c0 < k)
        nearest_range_avx2(x, ct, norms, d, k, c0, &best, &bc);
    return bc;
}

/* nearest_t's choice from dots already computed by dots_t of the same
 * kernels (whose dots are nearest_t's, chain for chain): norms - 2 * dot
 * is the same value fused or not (2 * dot is exact), so the column is the
 * one nearest_t picks.  Two passes: the least value (min is exact; a NaN
 * is never the least), then the first column holding it. */
__attribute__((target("avx2,fma"))) static uint32_t nearest_dots_fma(const float *dots, const float *norms, int k)
{
    const __m256 two = _mm256_set1_ps(2.0f);
    int k8 = k & ~7;
    __m256 m = _mm256_set1_ps(INFINITY);
    for (int c = 0; c < k8; c += 8)
        m = _mm256_min_ps(_mm256_fnmadd_ps(two, _mm256_loadu_ps(dots + c), _mm256_loadu_ps(norms + c)), m);
    float lanes[8];
    _mm256_storeu_ps(lanes, m);
    float lo = INFINITY;
    for (int l = 0; l < 8; l++)
        lo = lanes[l] < lo ? lanes[l] : lo;
    for (int c = k8; c < k; c++) {
        float e = norms[c] - 2.0f * dots[c];
        lo = e < lo ? e : lo;
    }
    if (!(lo < INFINITY))
        return 0;
    __m256 lov = _mm256_set1_ps(lo);
    for (int c = 0; c < k8; c += 8) {
        __m256 e = _mm256_fnmadd_ps(two, _mm256_loadu_ps(dots + c), _mm256_loadu_ps(norms + c));
        int eq = _mm256_movemask_ps(_mm256_cmp_ps(e, lov, _CMP_EQ_OQ));
        if (eq)
            return (uint32_t)(c + __builtin_ctz((unsigned)eq));
    }
    for (int c = k8; c < k; c++)
        if (norms[c] - 2.0f * dots[c] == lo)
            return (uint32_t)c;
    return 0;
}
#endif

static uint32_t nearest_t_portable(const float *x, const float *ct, const float *norms, int d, int k)
{
    float dots[256];
    uint32_t bc = 0;
    float best = INFINITY;
    for (int c0 = 0; c0 < k; c0 += 256) {
        int kk = k - c0 < 256 ? k - c0 : 256;
        for (int c = 0; c < kk; c++)
            dots[c] = 0;
        for (int t = 0; t < d; t++) {
            const float *r = ct + (size_t)t * (size_t)k + c0;
            float xt = x[t];
            for (int c = 0; c < kk; c++)
                dots[c] += xt * r[c];
        }
        for (int c = 0; c < kk; c++) {
            float e = norms[c0 + c] - 2.0f * dots[c];
            if (e < best) {
                best = e;
                bc = (uint32_t)(c0 + c);
            }
        }
    }
    return bc;
}

static uint32_t nearest_dots_portable(const float *dots, const float *norms, int k)
{
    uint32_t bc = 0;
    float best = INFINITY;
    for (int c = 0; c < k; c++) {
        float e = norms[c] - 2.0f * dots[c];   /* as nearest_t_portable */
        if (e < best) {
            best = e;
            bc = (uint32_t)c;
        }
    }
    return bc;
}

static void dots_t_portable(const float *x, const float *ct, int d, int k, float *out)
{
    /* Column-wise: the inner loop runs over contiguous columns, which the
     * compiler can vectorise for the baseline ISA (NEON, SSE2). */
    for (int c = 0; c < k; c++)
        out[c] = 0;
    for (int t = 0; t < d; t++) {
        const float *r = ct + (size_t)t * (size_t)k;
        float xt = x[t];
        for (int c = 0; c < k; c++)
            out[c] += xt * r[c];
    }
}

bool leann_t_kernels_get(const char *name, leann_t_kernels *out)
{
    if (strcmp(name, "portable") == 0) {
        *out = (leann_t_kernels){dots_t_portable, nearest_t_portable, nearest_dots_portable};
        return true;
    }
#if defined(__x86_64__) || defined(__i386__)
    if (strcmp(name, "avx2") == 0 && rg_cpu_has(RG_CPU_AVX2 | RG_CPU_FMA)) {
        *out = (leann_t_kernels){dots_t_avx2, nearest_t_avx2, nearest_dots_fma};
        return true;
    }
    if (strcmp(name, "avx512") == 0 && rg_cpu_has(RG_CPU_AVX512F | RG_CPU_AVX2 | RG_CPU_FMA)) {
        *out = (leann_t_kernels){dots_t_avx512, nearest_t_avx512, nearest_dots_fma};
        return true;
    }
#endif
    return false;
}

leann_t_kernels leann_t_kernels_pick(const char **name)
{
    static const char *const order[] = {"avx512", "avx2", "portable"};
    leann_t_kernels k = {dots_t_portable, nearest_t_portable, nearest_dots_portable};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (leann_t_kernels_get(order[i], &k)) {
            if (name)
                *name = order[i];
            break;
        }
    return k;
}

static leann_t_kernels t_kernels;
static pthread_once_t t_kernels_once = PTHREAD_ONCE_INIT;

static void t_kernels_init(void) { t_kernels = leann_t_kernels_pick(NULL); }

void leann_dots_t(const float *x, const float *ct, int d, int k, float *out)
{
    pthread_once(&t_kernels_once, t_kernels_init);
    t_kernels.dots(x, ct, d, k, out);
}

uint32_t leann_nearest_t(const float *x, const float *ct, const float *norms, int d, int k)
{
    pthread_once(&t_kernels_once, t_kernels_init);
    return t_kernels.nearest(x, ct, norms, d, k);
}

uint32_t leann_nearest_of_dots(const float *dots, const float *norms, int k)
{
    pthread_once(&t_kernels_once, t_kernels_init);
    return t_kernels.nearest_dots(dots, norms, k);
}

uint16_t leann_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t mant = x & 0x7fffffu;
    if (((x >> 23) & 0xff) == 0xff)                 /* inf / nan */
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    if (exp >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) {                                  /* subnormal or zero */
        if (exp < -10)
            return (uint16_t)sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t h = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1)))
            h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)exp << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++;                                         /* may carry into the exponent: still right */
    return (uint16_t)(sign | h);
}

float leann_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ffu;
    uint32_t x;
    if (exp == 0) {
        if (mant == 0) {
            x = sign;
        } else {
            float f = ldexpf((float)mant, -24);
            memcpy(&x, &f, 4);
            x |= sign;
        }
    } else if (exp == 31) {
        x = sign | 0x7f800000u | (mant << 13);
    } else {
        x = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

size_t leann_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t leann_varint_get(const uint8_t *p, size_t avail, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < avail && i < 10; i++) {
        r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

int leann_cand_cmp(const void *a, const void *b)
{
    return leann_cand_order(a, b);
}

/* A float's bits as an unsigned key of the same order (negatives below
 * positives, -0 just below +0), and back. */
static inline uint32_t float_key(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

static inline float key_float(uint32_t k)
{
    uint32_t u = (k & 0x80000000u) ? k & 0x7fffffffu : ~k;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void leann_cand_sort(leann_cand *a, size_t n)
{
    if (n < 48) {   /* insertion sort */
        for (size_t i = 1; i < n; i++) {
            leann_cand x = a[i];
            size_t j = i;
            while (j > 0 && leann_cand_order(&a[j - 1], &x) > 0) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
        return;
    }
    /* LSD radix sort of (distance key << 32 | node), a byte a pass; passes
     * whose byte is the same in every key are skipped (the high bytes of
     * node numbers, mostly).  The candidate lists of wide walks hold over
     * 100,000 entries, and qsort's indirect comparisons were about 4% of a
     * 291K-chunk ingest's CPU. */
    uint64_t *k = rg_xmalloc(n * sizeof *k), *t = rg_xmalloc(n * sizeof *t);
    for (size_t i = 0; i < n; i++)
        k[i] = (uint64_t)float_key(a[i].dist) << 32 | a[i].node;
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++)
            count[(k[i] >> shift) & 0xff]++;
        if (count[(k[0] >> shift) & 0xff] == n)
            continue;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            t[count[(k[i] >> shift) & 0xff]++] = k[i];
        uint64_t *x = k;
        k = t;
        t = x;
    }
    for (size_t i = 0; i < n; i++)
        a[i] = (leann_cand){key_float((uint32_t)(k[i] >> 32)), (uint32_t)k[i]};
    free(k);
    free(t);
}

void leann_visit_begin(leann_visit *vs, uint32_t n)
{
    if (n > vs->cap) {
        free(vs->stamp);
        vs->cap = n + n / 2 + 16;
        vs->stamp = rg_xcalloc(vs->cap, sizeof(uint32_t));
        vs->cur = 0;
    }
    if (++vs->cur == 0) {       /* wrapped: old stamps could collide */
        memset(vs->stamp, 0, sizeof(uint32_t) * vs->cap);
        vs->cur = 1;
    }
}

void leann_visit_free(leann_visit *vs)
{
    free(vs->stamp);
    memset(vs, 0, sizeof *vs);
}

/* ---- embedding cache ---------------------------------------------------- */

void leann_cache_init(leann_cache *c, int dim, size_t bytes)
{
    memset(c, 0, sizeof *c);
    c->dim = dim;
    size_t per = sizeof(float) * (size_t)dim + sizeof(uint32_t) * 3 + 1;
    c->slots = dim > 0 ? bytes / per : 0;
    if (c->slots == 0)
        return;
    c->vecs = rg_xmalloc(sizeof(float) * c->slots * dim);
    c->node = rg_xmalloc(sizeof(uint32_t) * c->slots);
    c->ref = rg_xcalloc(c->slots, 1);
    c->tcap = 16;
    while (c->tcap < c->slots * 2)
        c->tcap *= 2;
    c->table = rg_xcalloc(c->tcap, sizeof(uint32_t));
}

static size_t cache_hash(const leann_cache *c, uint32_t node)
{
    return (size_t)((node * 0x9e3779b1u) & (c->tcap - 1));
}

static size_t cache_find(const leann_cache *c, uint32_t node)
{
    for (size_t h = cache_hash(c, node);; h = (h + 1) & (c->tcap - 1)) {
        uint32_t s = c->table[h];
        if (s == 0 || c->node[s - 1] == node)
            return h;
    }
}

/* Removes table position h, re-inserting the probe chain behind it so
 * lookups never stop early (linear probing deletion). */
static void cache_table_delete(leann_cache *c, size_t h)
{
    c->table[h] = 0;
    for (size_t i = (h + 1) & (c->tcap - 1); c->table[i]; i = (i + 1) & (c->tcap - 1)) {
        uint32_t s = c->table[i];
        c->table[i] = 0;
        c->table[cache_find(c, c->node[s - 1])] = s;
    }
}

const float *leann_cache_get(leann_cache *c, uint32_t node)
{
    if (c->slots == 0)
        return NULL;
    size_t h = cache_find(c, node);
    uint32_t s = c->table[h];
    if (!s) {
        c->misses++;
        return NULL;
    }
    c->hits++;
    if (c->ref[s - 1] < 1)
        c->ref[s - 1] = 1;
    return c->vecs + (size_t)(s - 1) * c->dim;
}

void leann_cache_put(leann_cache *c, uint32_t node, const float *v, bool hub)
{
    if (c->slots == 0)
        return;
    size_t h = cache_find(c, node);
    if (c->table[h]) {
        memcpy(c->vecs + (size_t)(c->table[h] - 1) * c->dim, v, sizeof(float) * c->dim);
        return;
    }
    size_t slot;
    if (c->used < c->slots) {
        slot = c->used++;
    } else {
        /* CLOCK: a slot is evicted when its reference count reaches zero;
         * hubs start with two lives, so they survive a sweep that evicts
         * the recently recomputed passages. */
        for (;;) {
            slot = c->hand;
            c->hand = (c->hand + 1) % c->slots;
            if (c->ref[slot] == 0)
                break;
            c->ref[slot]--;
        }
        cache_table_delete(c, cache_find(c, c->node[slot]));
        h = cache_find(c, node);
    }
    c->node[slot] = node;
    c->ref[slot] = hub ? 2 : 0;
    memcpy(c->vecs + slot * c->dim, v, sizeof(float) * c->dim);
    c->table[h] = (uint32_t)slot + 1;
}

void leann_cache_clear(leann_cache *c)
{
    if (c->slots == 0)
        return;
    c->used = 0;
    c->hand = 0;
    memset(c->table, 0, sizeof(uint32_t) * c->tcap);
}

void leann_cache_forget(leann_cache *c, uint32_t node)
{
    if (c->slots == 0)
        return;
    size_t h = cache_find(c, node);
    uint32_t s = c->table[h];
    if (!s)
        return;
    cache_table_delete(c, h);
    /* The slot stays in the CLOCK ring, holding a node number nothing
     * finds: the next sweep evicts it (cache_table_delete of a number not
     * in the table is a no-op, see leann_cache_put). */
    c->node[s - 1] = LEANN_NONE;
    c->ref[s - 1] = 0;
}

void leann_cache_rename(leann_cache *c, uint32_t from, uint32_t to)
{
    if (c->slots == 0)
        return;
    leann_cache_forget(c, to);
    size_t h = cache_find(c, from);
    uint32_t s = c->table[h];
    if (!s)
        return;
    cache_table_delete(c, h);
    c->node[s - 1] = to;
    c->table[cache_find(c, to)] = s;
}

void leann_cache_free(leann_cache *c)
{
    free(c->vecs);
    free(c->node);
    free(c->ref);
    free(c->table);
    memset(c, 0, sizeof *c);
}
