/* The native BERT engine against tests/ref/bert_ref.py, an independent
 * float64 numpy implementation written from the model definition, on tiny
 * random models written by tests/ref/make_tiny_bert.py. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bert_bf16.h"
#include "bert_int8.h"
#include "cpu.h"
#include "bert_model.h"
#include "test.h"
#include "test_ref.h"
#include "util.h"

#define PY RG_TEST_PY

static const char *const TEXTS[] = {
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "Café naïve, un-able; token-izer $5 & 10%",
    "",
    "embedding model search query passage vector store local first rag the quick brown fox jumped over "
    "the lazy dogs again and again until the end of the sequence",
    "x",
    "ÉMBEDDING Models?! (quick)",
    "zzqx unknownish words 12345",
};
#define NTEXTS ((int)RG_ARRAY_LEN(TEXTS))

/* Runs the reference on TEXTS; returns n*dim floats and the token ids. */
static float *ref_embed(const char *dir, const char *const *texts, int n, int batch, const char *prefix, int dim,
                        json_t **ids_out)
{
    const char *tmp = rg_test_tmpdir();
    char *in = rg_xasprintf("%s/ref_in.json", tmp), *out = rg_xasprintf("%s/ref_out.json", tmp);
    json_t *req = json_object(), *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, json_string(texts[i]));
    json_object_set_new(req, "texts", arr);
    json_object_set_new(req, "batch_size", json_integer(batch));
    json_object_set_new(req, "prefix", json_string(prefix ? prefix : ""));
    json_dump_file(req, in, 0);
    json_decref(req);
    char *cmd = rg_xasprintf(PY " tests/ref/bert_ref.py '%s' '%s' '%s'", dir, in, out);
    int rc = system(cmd);
    free(cmd);
    float *res = NULL;
    json_t *o = rc == 0 ? json_load_file(out, 0, NULL) : NULL;
    if (o) {
        json_t *e = json_object_get(o, "embeddings");
        res = rg_xmalloc((size_t)n * dim * sizeof *res);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < dim; j++)
                res[i * dim + j] = (float)json_real_value(json_array_get(json_array_get(e, (size_t)i), (size_t)j));
        if (ids_out)
            *ids_out = json_incref(json_object_get(o, "ids"));
        json_decref(o);
    }
    free(in);
    free(out);
    return res;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* Generates a model, embeds TEXTS with ragged and the reference, compares
 * (max abs difference of the unit vectors at most tol). */
static void compare_with_reference_tol(const char *gen_args, int batch, const char *prefix, double tol)
{
    if (!rg_test_have_reference())
        return;
    char *dir = rg_path_join(rg_test_tmpdir(), "model");
    if (!rg_test_make_tiny_bert(dir, gen_args)) {
        free(dir);
        return;
    }
    rg_error err = {0};
    rg_bert_model *m;
    rg_bert_model_opts o = {.threads = 2, .precision = RG_BERT_FP32};
    CHECK_OK(rg_bert_model_open(dir, &o, &m, &err), &err);
    int dim = rg_bert_model_info(m)->hidden;
    float *got = rg_xmalloc((size_t)NTEXTS * dim * sizeof *got);
    rg_status st = rg_bert_model_embed(m, TEXTS, NTEXTS, prefix, batch, got, &err);
    json_t *ids = NULL;
    float *want = ref_embed(dir, TEXTS, NTEXTS, 3, prefix, dim, &ids);
    /* Same token ids as the reference tokenizer (with truncation). */
    int maxlen = rg_bert_model_info(m)->max_seq_length;
    bool ids_ok = ids != NULL;
    int bad_text = -1;
    for (int i = 0; ids_ok && i < NTEXTS; i++) {
        int32_t buf[512];
        rg_buf t;
        rg_buf_init(&t);
        if (prefix)
            rg_buf_puts(&t, prefix);
        rg_buf_puts(&t, TEXTS[i]);
        size_t k = rg_bert_tokenize(rg_bert_model_tokenizer(m), t.data, t.len, buf, (size_t)maxlen - 2);
        rg_buf_free(&t);
        json_t *r = json_array_get(ids, (size_t)i);
        if (json_array_size(r) != k + 2) {
            ids_ok = false;
            bad_text = i;
            break;
        }
        for (size_t j = 0; j < k; j++)
            if (json_integer_value(json_array_get(r, j + 1)) != buf[j]) {
                ids_ok = false;
                bad_text = i;
            }
    }
    double diff = want ? max_abs_diff(got, want, (size_t)NTEXTS * dim) : 1e9;
    json_decref(ids);
    free(got);
    free(want);
    rg_bert_model_free(m);
    free(dir);
    CHECK_OK(st, &err);
    fprintf(stderr, "    max abs diff vs numpy reference: %.3g\n", diff);
    CHECK_MSG(ids_ok, "token ids differ from the reference for text %d", bad_text);
    CHECK_MSG(diff <= tol, "max abs diff %.3g > %g vs the numpy reference (%s)", diff, tol, gen_args);
}

static void compare_with_reference(const char *gen_args, int batch, const char *prefix)
{
    compare_with_reference_tol(gen_args, batch, prefix, 1e-4);
}

TEST(bert_fp32_mean_matches_reference) { compare_with_reference("--pooling mean --seed 1", 3, NULL); }
TEST(bert_fp32_cls_matches_reference) { compare_with_reference("--pooling cls --seed 2", 4, NULL); }
TEST(bert_fp32_max_matches_reference) { compare_with_reference("--pooling max --seed 3", 2, NULL); }
TEST(bert_fp32_f16_weights_match_reference) { compare_with_reference("--dtype F16 --seed 4", 8, NULL); }
TEST(bert_fp32_bf16_weights_match_reference) { compare_with_reference("--dtype BF16 --seed 5", 1, NULL); }
/* Head sizes 32, 48 and 64 take the AVX-512 attention (1, 3 and 4
 * registers of V per row); the default head size 8 takes OpenBLAS. */
TEST(bert_fp32_attention_head_sizes_match_reference)
{
    compare_with_reference("--seed 11 --hidden 64 --heads 2 --intermediate 96 --max-seq-length 40 --max-position 48",
                           8, NULL);
    compare_with_reference("--seed 12 --hidden 96 --heads 2 --intermediate 64 --max-seq-length 40 --max-position 48",
                           3, NULL);
    compare_with_reference("--seed 13 --hidden 128 --heads 2 --intermediate 64 --std 0.1", 2, NULL);
}

/* The AMX bf16 attention (int8 precision's default on AMX CPUs), forced
 * into an fp32 model so only it differs from the reference: head sizes 32
 * and 64 (one and two tiles of the reduced dimension), sequence lengths
 * that are not multiples of 16 or 32, batches of several sequences.  bf16
 * keeps 8 bits of mantissa; the products sum in fp32. */
TEST(bert_amx_bf16_attention_matches_reference)
{
    if (!rg_cpu_has(RG_CPU_AMX_BF16 | RG_CPU_AVX512BF16 | RG_CPU_AVX512F | RG_CPU_AVX512BW)) {
        fprintf(stderr, "    no AMX-BF16 on this CPU: nothing to compare\n");
        return;
    }
    const char *old = getenv("RAGGED_ATTENTION");
    char *saved = old ? rg_xstrdup(old) : NULL;
    setenv("RAGGED_ATTENTION", "bf16", 1);
    compare_with_reference_tol("--seed 31 --hidden 64 --heads 2 --intermediate 96 --max-seq-length 40 "
                               "--max-position 48", 8, NULL, 5e-3);
    compare_with_reference_tol("--seed 32 --hidden 128 --heads 2 --intermediate 64 --std 0.1", 3, NULL, 5e-3);
    compare_with_reference_tol("--seed 33 --hidden 96 --heads 3 --intermediate 64 --layers 2", 5, "query: ", 5e-3);
    if (saved)
        setenv("RAGGED_ATTENTION", saved, 1);
    else
        unsetenv("RAGGED_ATTENTION");
    free(saved);
}

TEST(bert_fp32_prefix_and_wider_model)
{
    compare_with_reference("--seed 6 --hidden 48 --heads 3 --intermediate 80 --layers 3 --max-seq-length 16", 5,
                           "query: ");
}

static double cosine(const float *a, const float *b, int n)
{
    double d = 0, na = 0, nb = 0;
    for (int i = 0; i < n; i++) {
        d += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    return d / sqrt(na * nb);
}

static void lowp_vs_fp32(rg_bert_precision prec, const char *gen_args, int dim, double min_cos)
{
    if (!rg_test_have_reference())
        return;
    char *dir = rg_path_join(rg_test_tmpdir(), "model");
    if (!rg_test_make_tiny_bert(dir, gen_args)) {
        free(dir);
        return;
    }
    rg_error err = {0};
    rg_bert_model *m32, *m8;
    rg_bert_model_opts o32 = {.threads = 2, .precision = RG_BERT_FP32}, o8 = {.threads = 2, .precision = prec};
    CHECK_OK(rg_bert_model_open(dir, &o32, &m32, &err), &err);
    CHECK_OK(rg_bert_model_open(dir, &o8, &m8, &err), &err);
    float *a = rg_xmalloc((size_t)NTEXTS * dim * sizeof *a), *b = rg_xmalloc((size_t)NTEXTS * dim * sizeof *b);
    CHECK_OK(rg_bert_model_embed(m32, TEXTS, NTEXTS, NULL, 3, a, &err), &err);
    CHECK_OK(rg_bert_model_embed(m8, TEXTS, NTEXTS, NULL, 3, b, &err), &err);
    double worst = 1;
    for (int i = 0; i < NTEXTS; i++)
        worst = fmin(worst, cosine(a + i * dim, b + i * dim, dim));
    bool fp_differs = strcmp(rg_bert_model_info(m32)->fingerprint, rg_bert_model_info(m8)->fingerprint) != 0;
    free(a);
    free(b);
    rg_bert_model_free(m32);
    rg_bert_model_free(m8);
    free(dir);
    const char *pn = rg_bert_precision_name(prec);
    fprintf(stderr, "    %s (int8 kernel %s, bf16 %s): worst cosine to fp32 %.6f\n", pn, rg_int8_kernel_name(),
            rg_bf16_available() ? "amx" : "absent: fp32", worst);
    CHECK_MSG(worst >= min_cos, "%s cosine %.6f < %.4f (%s)", pn, worst, min_cos, gen_args);
    CHECK_MSG(fp_differs, "fp32 and %s must have different fingerprints", pn);
}

static void int8_vs_fp32(const char *gen_args, int dim, double min_cos)
{
    lowp_vs_fp32(RG_BERT_INT8, gen_args, dim, min_cos);
}

TEST(bert_int8_close_to_fp32)
{
    int8_vs_fp32("--seed 7 --hidden 128 --heads 4 --intermediate 512 --layers 2 --std 0.08", 128, 0.999);
}

/* Widths that are not multiples of the kernels' blocks (k padded to 64,
 * n to 16). */
/* bf16 on AMX; on other CPUs the same model runs fp32 (cosine 1). */
TEST(bert_bf16_close_to_fp32)
{
    lowp_vs_fp32(RG_BERT_BF16, "--seed 7 --hidden 128 --heads 4 --intermediate 512 --layers 2 --std 0.08", 128, 0.9999);
    lowp_vs_fp32(RG_BERT_BF16, "--seed 8 --hidden 48 --heads 3 --intermediate 80 --layers 2 --std 0.08", 48, 0.9999);
}

TEST(bert_int8_ragged_widths)
{
    int8_vs_fp32("--seed 8 --hidden 48 --heads 3 --intermediate 80 --layers 2 --std 0.08", 48, 0.999);
}

/* A batch of many tokens splits every dense layer by rows (quantise,
 * multiply, bias/GELU per block of 128 tokens); one short sequence splits
 * by columns.  Both must give the same vectors, in fp32 and int8 (the same
 * per-token quantisation and integer sums: only float rounding may
 * differ). */
static void row_split_matches_column_split(rg_bert_precision prec)
{
    if (!rg_test_have_reference())
        return;
    char *dir = rg_path_join(rg_test_tmpdir(), prec == RG_BERT_FP32 ? "rows32" : "rows8");
    if (!rg_test_make_tiny_bert(dir, "--seed 21 --hidden 64 --heads 4 --intermediate 160 --layers 2 "
                                     "--max-seq-length 128 --max-position 128")) {
        free(dir);
        return;
    }
    rg_error err = {0};
    rg_bert_model *m;
    rg_bert_model_opts o = {.threads = 2, .precision = prec};
    CHECK_OK(rg_bert_model_open(dir, &o, &m, &err), &err);
    int H = rg_bert_model_info(m)->hidden, V = rg_bert_model_info(m)->vocab_size;
    enum { N = 7, L = 111 };   /* 777 tokens: three row blocks of 128 per thread, and a tail of 9 */
    int32_t *ids[N];
    int lens[N];
    uint64_t s = 3;
    for (int i = 0; i < N; i++) {
        lens[i] = L - 3 * i;
        ids[i] = rg_xmalloc(L * sizeof **ids);
        for (int t = 0; t < lens[i]; t++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            ids[i][t] = (int32_t)((s >> 33) % (uint64_t)V);
        }
    }
    float *all = rg_xmalloc((size_t)N * H * sizeof *all), *one = rg_xmalloc((size_t)H * sizeof *one);
    CHECK_OK(rg_bert_model_encode_ids(m, (const int32_t *const *)ids, lens, N, all, &err), &err);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        CHECK_OK(rg_bert_model_encode_ids(m, (const int32_t *const *)&ids[i], &lens[i], 1, one, &err), &err);
        worst = fmax(worst, max_abs_diff(all + (size_t)i * H, one, (size_t)H));
        free(ids[i]);
    }
    free(all);
    free(one);
    rg_bert_model_free(m);
    free(dir);
    fprintf(stderr, "    %s: rows vs columns max abs diff %.3g\n", rg_bert_precision_name(prec), worst);
    CHECK_MSG(worst <= 1e-5, "row-split batch differs from one sequence by %.3g", worst);
}

TEST(bert_fp32_row_split_matches_column_split) { row_split_matches_column_split(RG_BERT_FP32); }
TEST(bert_int8_row_split_matches_column_split) { row_split_matches_column_split(RG_BERT_INT8); }
TEST(bert_bf16_row_split_matches_column_split) { row_split_matches_column_split(RG_BERT_BF16); }

TEST(bert_errors_name_the_problem)
{
    if (!rg_test_have_reference())
        return;
    rg_error err = {0};
    rg_bert_model *m = NULL;
    rg_bert_model_opts o = {.threads = 1};
    char *dir = rg_path_join(rg_test_tmpdir(), "m");
    CHECK(rg_bert_model_open(dir, &o, &m, &err) == RG_ERR_NOTFOUND);
    CHECK(strstr(err.msg, "does not exist"));
    if (!rg_test_make_tiny_bert(dir, "--seed 9"))
        return;
    /* wrong shape: config says a different FFN width */
    char *cfgp = rg_path_join(dir, "config.json");
    char *txt;
    size_t len;
    CHECK_OK(rg_read_file(cfgp, 1 << 20, &txt, &len, &err), &err);
    char *p = strstr(txt, "\"intermediate_size\": 64");
    CHECK(p);
    memcpy(p, "\"intermediate_size\": 96", 23);
    CHECK_OK(rg_write_file_atomic(cfgp, txt, len, &err), &err);
    CHECK(rg_bert_model_open(dir, &o, &m, &err) == RG_ERR_MISMATCH);
    CHECK_MSG(strstr(err.msg, "encoder.layer.0.intermediate.dense.weight") && strstr(err.msg, "[64, 32]") &&
                  strstr(err.msg, "[96, 32]"), "message: %s", err.msg);
    memcpy(p, "\"intermediate_size\": 64", 23);
    p = strstr(txt, "\"model_type\": \"bert\"");
    CHECK(p);
    memcpy(p, "\"model_type\": \"gpt2\"", 20);
    CHECK_OK(rg_write_file_atomic(cfgp, txt, len, &err), &err);
    CHECK(rg_bert_model_open(dir, &o, &m, &err) == RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "gpt2"), "message: %s", err.msg);
    free(txt);
    free(cfgp);
    /* unsupported dtype */
    char *dir2 = rg_path_join(rg_test_tmpdir(), "m64");
    if (!rg_test_make_tiny_bert(dir2, "--dtype F64"))
        return;
    CHECK(rg_bert_model_open(dir2, &o, &m, &err) == RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "F64") && strstr(err.msg, "embeddings.word_embeddings.weight"), "message: %s", err.msg);
    /* missing weights */
    char *w = rg_path_join(dir2, "model.safetensors");
    unlink(w);
    CHECK(rg_bert_model_open(dir2, &o, &m, &err) == RG_ERR_NOTFOUND);
    CHECK_MSG(strstr(err.msg, "model.safetensors"), "message: %s", err.msg);
    /* truncated weights */
    CHECK(rg_test_make_tiny_bert(dir2, "--seed 10"));
    CHECK(truncate(w, 4000) == 0);
    CHECK(rg_bert_model_open(dir2, &o, &m, &err) == RG_ERR_CORRUPT);
    CHECK_MSG(strstr(err.msg, "truncated"), "message: %s", err.msg);
    free(w);
    free(dir2);
    free(dir);
}

TEST(bert_fingerprint_tracks_weights_and_pooling)
{
    if (!rg_test_have_reference())
        return;
    char *d1 = rg_path_join(rg_test_tmpdir(), "a"), *d2 = rg_path_join(rg_test_tmpdir(), "b");
    char *d3 = rg_path_join(rg_test_tmpdir(), "c"), *d4 = rg_path_join(rg_test_tmpdir(), "d");
    CHECK(rg_test_make_tiny_bert(d1, "--seed 1") && rg_test_make_tiny_bert(d2, "--seed 1") && rg_test_make_tiny_bert(d3, "--seed 2") &&
          rg_test_make_tiny_bert(d4, "--seed 1 --pooling cls"));
    rg_bert_info i1, i2, i3, i4;
    rg_error err = {0};
    CHECK_OK(rg_bert_model_inspect(d1, &i1, &err), &err);
    CHECK_OK(rg_bert_model_inspect(d2, &i2, &err), &err);
    CHECK_OK(rg_bert_model_inspect(d3, &i3, &err), &err);
    CHECK_OK(rg_bert_model_inspect(d4, &i4, &err), &err);
    CHECK_EQ_STR(i1.fingerprint, i2.fingerprint);
    CHECK(strcmp(i1.fingerprint, i3.fingerprint) != 0);
    CHECK(strcmp(i1.fingerprint, i4.fingerprint) != 0);
    CHECK_EQ_INT(i1.hidden, 32);
    CHECK_EQ_INT(i1.layers, 2);
    CHECK_EQ_INT(i1.max_seq_length, 24);
    CHECK(i4.pooling == RG_BERT_POOL_CLS);
    free(d1);
    free(d2);
    free(d3);
    free(d4);
}

/* The other fp32 kernels this CPU can run (the default is the best one). */
TEST(bert_fp32_blas_fallback_matches_reference)
{
    setenv("RAGGED_FP32_KERNEL", "blas", 1);
    compare_with_reference("--pooling mean --seed 11", 3, NULL);
    unsetenv("RAGGED_FP32_KERNEL");
}

TEST(bert_fp32_avx2_kernel_matches_reference)
{
    setenv("RAGGED_FP32_KERNEL", "avx2", 1);
    compare_with_reference("--pooling max --seed 12 --hidden 40 --heads 5 --intermediate 72", 3, NULL);
    unsetenv("RAGGED_FP32_KERNEL");
}
