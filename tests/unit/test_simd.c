/* The SIMD kernels against their portable paths (RAGGED_SIMD=portable) and
 * a float64 reference, so x86 CI checks the code aarch64 runs and the
 * aarch64 run under qemu checks the NEON kernel. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bert_bf16.h"
#include "bert_f32.h"
#include "bert_int8.h"
#include "cpu.h"
#include "leann.h"
#include "test.h"
#include "util.h"

/* gcc 12 for aarch64 stops with an internal compiler error (in
 * vect_transform_reduction) vectorising the fmax reductions of
 * simd_int8_every_kernel_matches_scalar; these are test loops, so none of
 * this file is vectorised there. */
#if defined(__aarch64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-vectorize")
#endif

static float frand(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((int)(*s >> 33) % 2001 - 1000) / 1000.0f;
}

/* A random d x k block (a transposed codebook) and a random d-vector. */
static void random_block(uint64_t *s, float *ct, int d, int k, float *x)
{
    for (int i = 0; i < d * k; i++)
        ct[i] = frand(s);
    for (int t = 0; t < d; t++)
        x[t] = frand(s);
}

/* Sets RAGGED_SIMD (NULL: unset) and gives back the previous value, so a
 * whole run under RAGGED_SIMD=portable keeps it after each test. */
static char *swap_simd(const char *v)
{
    const char *old = getenv("RAGGED_SIMD");
    char *saved = old ? rg_xstrdup(old) : NULL;
    if (v)
        setenv("RAGGED_SIMD", v, 1);
    else
        unsetenv("RAGGED_SIMD");
    return saved;
}

static void restore_simd(char *saved)
{
    if (saved)
        setenv("RAGGED_SIMD", saved, 1);
    else
        unsetenv("RAGGED_SIMD");
    free(saved);
}

TEST(simd_portable_override_disables_every_kernel)
{
    char *saved = swap_simd("portable");
    const char *name = NULL;
    leann_dot_fn f = leann_dot_pick(&name);
    bool any = rg_cpu_has(RG_CPU_AVX2) || rg_cpu_has(RG_CPU_FMA) || rg_cpu_has(RG_CPU_NEON) ||
               rg_cpu_has(RG_CPU_AVX512F);
    const char *int8 = rg_int8_kernel_name();
    float w[32 * 8] = {0};
    rg_f32_matrix *m = rg_f32_matrix_new(w, 32, 8);
    const char *mode = rg_simd_mode();
    restore_simd(saved);
    rg_f32_matrix_free(m);
    CHECK(!any);
    CHECK_EQ_STR(name, "portable");
    CHECK(f == rg_dot);
    CHECK_EQ_STR(int8, "scalar");
    CHECK(m == NULL);   /* NULL: the engine uses OpenBLAS */
    CHECK_EQ_STR(mode, "portable");
}

TEST(simd_unknown_mode_means_auto)
{
    char *saved = swap_simd("sse9");
    const char *mode = rg_simd_mode();
    const char *name = NULL;
    leann_dot_pick(&name);
    char *again = swap_simd(NULL);
    const char *auto_name = NULL;
    leann_dot_pick(&auto_name);
    free(again);
    restore_simd(saved);
    CHECK_EQ_STR(mode, "auto");
    CHECK_EQ_STR(name, auto_name);
}

TEST(simd_leann_dot_kernels_agree)
{
    char *saved = swap_simd("portable");
    const char *pname = NULL, *sname = NULL;
    leann_dot_fn portable = leann_dot_pick(&pname);
    unsetenv("RAGGED_SIMD");
    leann_dot_fn simd = leann_dot_pick(&sname);
    restore_simd(saved);
    fprintf(stderr, "    leann_dot: %s against %s\n", sname, pname);
    uint64_t s = 7;
    float a[1031], b[1031];
    for (size_t i = 0; i < RG_ARRAY_LEN(a); i++) {
        a[i] = frand(&s);
        b[i] = frand(&s);
    }
    /* every tail length around the vector widths, a MiniLM row, odd sizes */
    size_t lens[] = {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 63, 100, 384, 768, 1031};
    for (size_t t = 0; t < RG_ARRAY_LEN(lens); t++) {
        size_t n = lens[t];
        double ref = 0, mag = 0;
        for (size_t i = 0; i < n; i++) {
            ref += (double)a[i] * b[i];
            mag += fabs((double)a[i] * b[i]);
        }
        /* misaligned starts too: the kernels use unaligned loads */
        const float *pa = n + 1 < RG_ARRAY_LEN(a) ? a + 1 : a;
        double ref1 = 0;
        for (size_t i = 0; i < n; i++)
            ref1 += (double)pa[i] * b[i];
        double tol = 1e-5 * (mag + 1);
        float p = portable(a, b, n), v = simd(a, b, n), v1 = simd(pa, b, n), l = leann_dot(a, b, n);
        CHECK_MSG(fabs(p - ref) <= tol, "portable n=%zu: %.9g vs %.9g", n, p, ref);
        CHECK_MSG(fabs(v - ref) <= tol, "%s n=%zu: %.9g vs %.9g", sname, n, v, ref);
        CHECK_MSG(fabs(v1 - ref1) <= tol, "%s n=%zu unaligned: %.9g vs %.9g", sname, n, v1, ref1);
        CHECK_MSG(fabs(v - p) <= tol, "%s vs portable n=%zu: %.9g vs %.9g", sname, n, v, p);
        CHECK_MSG(fabs(l - ref) <= tol, "leann_dot n=%zu: %.9g vs %.9g", n, l, ref);
    }
}

/* The PQ kernels (a short vector against the columns of a d x k block:
 * tables, encodes, k-means) against a double reference, every column count
 * around the vector widths; nearest must pick the reference's column (the
 * data has no near ties) and the first of exact ties. */
TEST(simd_leann_pq_kernels_agree)
{
    char *saved = swap_simd("portable");
    const char *pname = NULL, *sname = NULL;
    leann_t_kernels portable = leann_t_kernels_pick(&pname);
    unsetenv("RAGGED_SIMD");
    leann_t_kernels simd = leann_t_kernels_pick(&sname);
    restore_simd(saved);
    fprintf(stderr, "    leann_dots_t / leann_nearest_t: %s against %s\n", sname, pname);
    uint64_t s = 11;
    int ks[] = {1, 5, 8, 13, 16, 31, 32, 33, 100, 256};
    int ds[] = {1, 4, 8, 16};
    static float ct[16 * 256], norms[256], x[16];
    float outp[256], outs[256];
    for (size_t a = 0; a < RG_ARRAY_LEN(ks); a++)
        for (size_t b = 0; b < RG_ARRAY_LEN(ds); b++) {
            int k = ks[a], d = ds[b];
            random_block(&s, ct, d, k, x);
            double best = INFINITY;
            int bc = -1;
            for (int c = 0; c < k; c++) {
                double dot = 0, nn = 0, l2 = 0;
                for (int t = 0; t < d; t++) {
                    dot += (double)x[t] * ct[t * k + c];
                    nn += (double)ct[t * k + c] * ct[t * k + c];
                    l2 += ((double)x[t] - ct[t * k + c]) * ((double)x[t] - ct[t * k + c]);
                }
                norms[c] = (float)nn;
                outs[c] = (float)dot;   /* reference, for now */
                if (l2 < best) {
                    best = l2;
                    bc = c;
                }
            }
            memcpy(outp, outs, sizeof(float) * (size_t)k);
            float got_p[256], got_s[256];
            portable.dots(x, ct, d, k, got_p);
            simd.dots(x, ct, d, k, got_s);
            for (int c = 0; c < k; c++) {
                CHECK_MSG(fabsf(got_p[c] - outp[c]) <= 1e-5f, "portable dots d=%d k=%d c=%d", d, k, c);
                CHECK_MSG(fabsf(got_s[c] - outp[c]) <= 1e-5f, "%s dots d=%d k=%d c=%d", sname, d, k, c);
            }
            CHECK_MSG((int)portable.nearest(x, ct, norms, d, k) == bc, "portable nearest d=%d k=%d", d, k);
            CHECK_MSG((int)simd.nearest(x, ct, norms, d, k) == bc, "%s nearest d=%d k=%d", sname, d, k);
            CHECK((int)leann_nearest_t(x, ct, norms, d, k) == bc);
        }
    /* exact ties (identical columns): the first wins, in every lane */
    for (int c = 0; c < 40; c++)
        for (int t = 0; t < 4; t++)
            ct[t * 40 + c] = c < 17 ? 5.0f : (float)t * 0.25f;
    for (int c = 0; c < 40; c++)
        norms[c] = c < 17 ? 100.0f : 0.875f;
    for (int t = 0; t < 4; t++)
        x[t] = (float)t * 0.25f;
    CHECK_EQ_INT((int)portable.nearest(x, ct, norms, 4, 40), 17);
    CHECK_EQ_INT((int)simd.nearest(x, ct, norms, 4, 40), 17);
}

/* A code from a query table (leann_pq_table_encode) must be the code
 * leann_pq_encode gives: nearest_dots on dots' output picks nearest's
 * column for every kernel set, also where norms - 2 * dot nearly ties
 * (norms 2 * dot plus 0 to 2 units of 1e-7: a dot off by an ulp would
 * move the choice) and the first of exact ties. */
TEST(simd_leann_nearest_of_dots_matches_nearest)
{
    const char *names[] = {"portable", "avx2", "avx512"};
    int ks[] = {1, 5, 8, 13, 16, 31, 33, 100, 256};
    int ds[] = {1, 2, 8, 16};
    static float ct[16 * 256], norms[256], x[16], dots[256];
    int tried = 0;
    for (size_t kn = 0; kn < RG_ARRAY_LEN(names); kn++) {
        leann_t_kernels kk;
        if (!leann_t_kernels_get(names[kn], &kk))
            continue;
        tried++;
        uint64_t s = 29;
        for (size_t a = 0; a < RG_ARRAY_LEN(ks); a++)
            for (size_t b = 0; b < RG_ARRAY_LEN(ds); b++)
                for (int rep = 0; rep < 20; rep++) {
                    int k = ks[a], d = ds[b];
                    random_block(&s, ct, d, k, x);
                    kk.dots(x, ct, d, k, dots);
                    for (int c = 0; c < k; c++)
                        norms[c] = rep % 2 ? 2.0f * dots[c] + (float)(c % 3) * 1e-7f : frand(&s) + 4.0f;
                    CHECK_MSG(kk.nearest_dots(dots, norms, k) == kk.nearest(x, ct, norms, d, k), "%s d=%d k=%d rep=%d",
                              names[kn], d, k, rep);
                }
        for (int c = 0; c < 40; c++) {
            dots[c] = c < 17 ? 1.0f : 0.5f;
            norms[c] = c < 17 ? 100.0f : 0.875f;
        }
        CHECK_EQ_INT((int)kk.nearest_dots(dots, norms, 40), 17);
    }
    CHECK(tried >= 1);
}

/* Squared norms of the k columns of a d x k transposed codebook. */
static void column_norms(const float *ct, int d, int k, float *norms)
{
    for (int c = 0; c < k; c++) {
        float nn = 0;
        for (int t = 0; t < d; t++)
            nn += ct[t * k + c] * ct[t * k + c];
        norms[c] = nn;
    }
}

/* Every wider kernel gives bit for bit the AVX2 kernel's results (each
 * column one chain of FMAs over t in order), so codes, tables and k-means,
 * and with them the graph, do not depend on which of them ran: the shapes
 * the defaults use (d 2, 8, 16 at k 256; 4-bit codes, k 16), tails past a
 * multiple of 16, and exact ties across both parts. */
TEST(simd_leann_pq_kernels_wider_identical)
{
    leann_t_kernels base, wide;
    if (!leann_t_kernels_get("avx2", &base) || !leann_t_kernels_get("avx512", &wide)) {
        rg_test_skip("no AVX-512 and AVX2 PQ kernels on this CPU (or RAGGED_SIMD=portable)");
        return;
    }
    uint64_t s = 5;
    int ks[] = {16, 17, 24, 40, 100, 128, 129, 200, 256};
    int ds[] = {1, 2, 8, 16};
    static float ct[16 * 256], norms[256], x[16];
    float ob[256], ow[256];
    for (size_t a = 0; a < RG_ARRAY_LEN(ks); a++)
        for (size_t b = 0; b < RG_ARRAY_LEN(ds); b++)
            for (int rep = 0; rep < 20; rep++) {
                int k = ks[a], d = ds[b];
                random_block(&s, ct, d, k, x);
                column_norms(ct, d, k, norms);
                base.dots(x, ct, d, k, ob);
                wide.dots(x, ct, d, k, ow);
                CHECK_MSG(memcmp(ob, ow, sizeof(float) * (size_t)k) == 0, "avx512 dots differ d=%d k=%d", d, k);
                CHECK_MSG(base.nearest(x, ct, norms, d, k) == wide.nearest(x, ct, norms, d, k),
                          "avx512 nearest differs d=%d k=%d", d, k);
            }
    /* Ties: identical best columns at 3, 21 and 130 (in the 128-column
     * step, a 16-column step and the AVX2 tail of k 137): the first wins. */
    int k = 137, d = 4;
    for (int c = 0; c < k; c++)
        for (int t = 0; t < d; t++)
            ct[t * k + c] = (c == 3 || c == 21 || c == 130) ? (float)t * 0.25f : 5.0f + (float)c;
    column_norms(ct, d, k, norms);
    for (int t = 0; t < d; t++)
        x[t] = (float)t * 0.25f;
    CHECK_EQ_INT((int)wide.nearest(x, ct, norms, d, k), 3);
    CHECK_EQ_INT((int)base.nearest(x, ct, norms, d, k), 3);
    for (int t = 0; t < d; t++)
        ct[t * k + 3] = 9.0f;
    norms[3] = 4 * 81.0f;
    CHECK_EQ_INT((int)wide.nearest(x, ct, norms, d, k), 21);
    for (int t = 0; t < d; t++)
        ct[t * k + 21] = 9.0f;
    norms[21] = 4 * 81.0f;
    CHECK_EQ_INT((int)wide.nearest(x, ct, norms, d, k), 130);
}

/* int8 GEMM: the default kernel against the portable one, exactly the
 * same integer sums, so only the order of two float multiplications may
 * differ. */
TEST(simd_int8_gemm_portable_matches_default)
{
    int n = 70, k = 130, rows = 5;
    uint64_t s = 99;
    float *w = rg_xmalloc((size_t)n * k * sizeof *w), *x = rg_xmalloc((size_t)rows * k * sizeof *x);
    for (int i = 0; i < n * k; i++)
        w[i] = frand(&s);
    for (int i = 0; i < rows * k; i++)
        x[i] = 3 * frand(&s);
    float *ys[2];
    const char *names[2];
    for (int v = 0; v < 2; v++) {
        char *saved = swap_simd(v == 0 ? "portable" : NULL);
        rg_int8_matrix *q = rg_int8_matrix_new(w, n, k);
        names[v] = rg_int8_kernel_name();
        restore_simd(saved);
        int kpad = rg_int8_matrix_kpad(q);
        int8_t *xq = rg_xcalloc((size_t)rows * kpad, 1);
        float xs[8];
        rg_int8_quantize_rows(x, 0, rows, k, k, xq, kpad, xs);
        ys[v] = rg_xcalloc((size_t)rows * n, sizeof(float));
        rg_int8_gemm(q, xq, xs, rows, 0, 64, ys[v], n);
        rg_int8_gemm(q, xq, xs, rows, 64, n, ys[v], n);
        free(xq);
        rg_int8_matrix_free(q);
    }
    fprintf(stderr, "    int8 gemm: %s against %s\n", names[1], names[0]);
    double worst = 0, worst_ref = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < n; c++) {
            double a = ys[0][r * n + c], b = ys[1][r * n + c], ref = 0;
            for (int i = 0; i < k; i++)
                ref += (double)x[r * k + i] * w[c * k + i];
            worst = fmax(worst, fabs(a - b) / (fabs(a) + 1e-3));
            worst_ref = fmax(worst_ref, fabs(a - ref));
        }
    free(w);
    free(x);
    free(ys[0]);
    free(ys[1]);
    CHECK_EQ_STR(names[0], "scalar");
    CHECK_MSG(worst < 1e-5, "int8 %s vs scalar: relative difference %g", names[1], worst);
    /* quantisation error of a 130-long product of values in [-3, 3] x [-1, 1] */
    CHECK_MSG(worst_ref < 0.5, "int8 scalar vs float64: %g", worst_ref);
}

/* Every int8 kernel this CPU has, on a shape that reaches all their paths
 * (AMX's 32-row blocks plus a VNNI row tail, a 16-column tail, k past one
 * 64-byte tile row), must give the scalar kernel's integer sums; the AVX-512
 * activation quantiser must give the portable one's bytes. */
TEST(simd_int8_every_kernel_matches_scalar)
{
    int n = 100, k = 200, rows = 77;
    uint64_t s = 7;
    float *w = rg_xmalloc((size_t)n * k * sizeof *w), *x = rg_xmalloc((size_t)rows * k * sizeof *x);
    for (int i = 0; i < n * k; i++)
        w[i] = frand(&s);
    for (int i = 0; i < rows * k; i++)
        x[i] = 2 * frand(&s);
    static const char *const forced[] = {"scalar", "avx2", "vnni", NULL};
    float *ref = NULL;
    int8_t *xq_ref = NULL;
    for (int v = 0; v < 4; v++) {
        const char *old = getenv("RAGGED_INT8_KERNEL");
        char *saved_k = old ? rg_xstrdup(old) : NULL;
        char *saved = swap_simd(v == 0 ? "portable" : NULL);
        if (forced[v])
            setenv("RAGGED_INT8_KERNEL", forced[v], 1);
        else
            unsetenv("RAGGED_INT8_KERNEL");
        rg_int8_matrix *q = rg_int8_matrix_new(w, n, k);
        const char *name = rg_int8_kernel_name();
        int kpad = rg_int8_matrix_kpad(q);
        int8_t *xq = rg_xcalloc((size_t)rows * kpad, 1);
        float xs[80];
        rg_int8_quantize_rows(x, 0, rows, k, k, xq, kpad, xs);
        restore_simd(saved);
        if (saved_k)
            setenv("RAGGED_INT8_KERNEL", saved_k, 1);
        else
            unsetenv("RAGGED_INT8_KERNEL");
        free(saved_k);
        float *y = rg_xcalloc((size_t)rows * n, sizeof *y);
        rg_int8_gemm(q, xq, xs, rows, 0, 32, y, n);
        rg_int8_gemm(q, xq, xs, rows, 32, n, y, n);
        rg_int8_matrix_free(q);
        fprintf(stderr, "    int8 kernel %s\n", name);
        if (v == 0) {
            CHECK_EQ_STR(name, "scalar");
            ref = y;
            xq_ref = xq;
            continue;
        }
        CHECK_MSG(memcmp(xq, xq_ref, (size_t)rows * kpad) == 0, "%s: quantised activations differ", name);
        double worst = 0;
        for (int i = 0; i < rows * n; i++)
            worst = fmax(worst, fabs(ref[i] - y[i]) / (fabs(ref[i]) + 1e-3));
        CHECK_MSG(worst < 1e-5, "int8 %s vs scalar: relative difference %g", name, worst);
        if (v == 3) {   /* and the sums approximate the float product */
            double far = 0;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < n; c++) {
                    double d = 0;
                    for (int i = 0; i < k; i++)
                        d += (double)x[r * k + i] * w[c * k + i];
                    far = fmax(far, fabs(d - y[r * n + c]));
                }
            CHECK_MSG(far < 0.5, "int8 product too far from float: %.3g", far);
        }
        free(xq);
        free(y);
    }
    free(ref);
    free(xq_ref);
    free(w);
    free(x);
}

/* fp32 GEMM: the packed kernel (when this CPU has one) against float64;
 * the portable path is OpenBLAS, checked by the BERT reference tests. */
TEST(simd_f32_gemm_matches_reference)
{
    int n = 45, k = 37, rows = 6;
    uint64_t s = 5;
    float *w = rg_xmalloc((size_t)n * k * sizeof *w), *x = rg_xmalloc((size_t)rows * k * sizeof *x);
    float *y = rg_xcalloc((size_t)rows * n, sizeof *y);
    for (int i = 0; i < n * k; i++)
        w[i] = frand(&s);
    for (int i = 0; i < rows * k; i++)
        x[i] = frand(&s);
    rg_f32_matrix *m = rg_f32_matrix_new(w, n, k);
    fprintf(stderr, "    fp32 gemm: %s\n", rg_f32_matrix_kernel(m));
    double worst = 0;
    if (m) {
        rg_f32_gemm(m, x, k, rows, 0, 32, y, n);
        rg_f32_gemm(m, x, k, rows, 32, n, y, n);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < n; c++) {
                double ref = 0;
                for (int i = 0; i < k; i++)
                    ref += (double)x[r * k + i] * w[c * k + i];
                worst = fmax(worst, fabs(ref - y[r * n + c]));
            }
    }
    bool want_packed = rg_cpu_has(RG_CPU_AVX2 | RG_CPU_FMA) && !getenv("RAGGED_FP32_KERNEL"), packed = m != NULL;
    rg_f32_matrix_free(m);
    free(w);
    free(x);
    free(y);
    CHECK_MSG(!want_packed || packed, "this CPU has AVX2+FMA but no packed fp32 kernel was chosen");
    CHECK_MSG(worst < 1e-4, "fp32 packed kernel vs float64: %g", worst);
}

/* Adds 1 to every output it is given and counts them: the epilogue must
 * see each output exactly once. */
typedef struct count_epi {
    int seen;
} count_epi;

static void count_and_add(void *ctx, const float *src, int lds, float *dst, int ldd, int rows, int c0, int n)
{
    count_epi *c = ctx;
    (void)c0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < n; j++)
            dst[(size_t)i * ldd + j] = src[(size_t)i * lds + j] + 1.0f;
    c->seen += rows * n;
}

/* bf16 GEMM on AMX (where the CPU has it): a 32-row block plus a tail of
 * rows, a 16-column tail, k past one 32-wide step; against float64 within
 * bf16's rounding of the weights, and its epilogue against no epilogue. */
TEST(simd_bf16_gemm_matches_reference)
{
    if (!rg_bf16_available()) {
        CHECK(rg_bf16_matrix_new((const float[]){1}, 1, 1) == NULL);
        fprintf(stderr, "    no AMX-BF16 here: rg_bf16_matrix_new gives NULL (fp32 runs)\n");
        return;
    }
    int n = 100, k = 200, rows = 77;
    uint64_t s = 5;
    float *w = rg_xmalloc((size_t)n * k * sizeof *w), *x = rg_xmalloc((size_t)rows * k * sizeof *x);
    for (int i = 0; i < n * k; i++)
        w[i] = frand(&s);
    for (int i = 0; i < rows * k; i++)
        x[i] = 2 * frand(&s);
    rg_bf16_matrix *m = rg_bf16_matrix_new(w, n, k);
    CHECK(m != NULL);
    int kpad = rg_bf16_matrix_kpad(m);
    uint16_t *xb = rg_xcalloc((size_t)rows * kpad, sizeof *xb);
    rg_bf16_convert_rows(x, 0, rows, k, k, xb, kpad);
    float *y = rg_xcalloc((size_t)rows * n, sizeof *y), *ye = rg_xcalloc((size_t)rows * n, sizeof *ye);
    rg_bf16_gemm(m, xb, rows, 0, 32, y, n, NULL);
    rg_bf16_gemm(m, xb, rows, 32, n, y, n, NULL);
    count_epi ce = {0};
    rg_int8_epilogue epi = {count_and_add, &ce};
    rg_bf16_gemm(m, xb, rows, 0, 48, ye, n, &epi);
    rg_bf16_gemm(m, xb, rows, 48, n, ye, n, &epi);
    double worst = 0, worst_epi = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < n; c++) {
            double ref = 0, mag = 0;
            for (int i = 0; i < k; i++) {
                ref += (double)x[r * k + i] * w[c * k + i];
                mag += fabs((double)x[r * k + i] * w[c * k + i]);
            }
            /* the weights round by at most 2^-9 relative; the
             * activations (high + low bf16 parts) by about 2^-17 */
            worst = fmax(worst, fabs(y[r * n + c] - ref) / (mag * 0x1p-9));
            worst_epi = fmax(worst_epi, fabs(ye[r * n + c] - (y[r * n + c] + 1.0f)));
        }
    fprintf(stderr, "    bf16 gemm: worst error %.3g of the bf16 bound, epilogue %.3g\n", worst, worst_epi);
    CHECK_MSG(worst <= 1.0, "bf16 gemm off the float64 product by %.3g of the rounding bound", worst);
    CHECK_EQ_INT(ce.seen, rows * n);
    CHECK_MSG(worst_epi == 0, "bf16 gemm with an epilogue differs by %g", worst_epi);
    free(w);
    free(x);
    free(xb);
    free(y);
    free(ye);
    rg_bf16_matrix_free(m);
}
