/* XLM-RoBERTa models, the Unigram tokenizer and cross-encoders against
 * independent references: tests/ref/unigram_ref.py (the `tokenizers`
 * Unigram pipeline in Python) and tests/ref/bert_ref.py (float64 numpy), on
 * models written by tests/ref/make_tiny_bert.py. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bert_model.h"
#include "test.h"
#include "test_ref.h"
#include "tokenizer_unigram.h"
#include "util.h"

#define PY RG_TEST_PY

/* Covers: the generated Precompiled map (ﬁ, fullwidth A, ①, Ⅳ, no-break
 * space, tab, e + combining acute as one grapheme), repeated spaces,
 * characters no piece covers (CJK, emoji: unknown or byte fallback),
 * leading/trailing space, a literal "<s>", Cyrillic/Greek, empty text. */
static const char *const TEXTS[] = {
    "hello  world",
    "\xef\xac\x81ne \xef\xbc\xa1 caf\xc3\xa9  stra\xc3\x9f" "e",
    "e\xcc\x81t\xc3\xa9 \xe2\x91\xa0 \xe2\x85\xa3\tdog\xc2\xa0lazy",
    "\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 unknownish qqq",
    "",
    "  leading and trailing   ",
    "<s> literal </s>",
    "\xd0\xbc\xd0\xb8\xd1\x80 \xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xbf\xcf\x82 the quick brown fox jumps over the lazy dog",
    "TOKENIZER embedding Model-search; query's passage (vector) $5 & 10%",
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
};
#define NTEXTS ((int)RG_ARRAY_LEN(TEXTS))

static char *gen_model(const char *name, const char *args)
{
    char *dir = rg_path_join(rg_test_tmpdir(), name);
    if (!rg_test_make_tiny_bert(dir, args)) {
        free(dir);
        return NULL;
    }
    return dir;
}

/* Runs a reference script on a request; returns the parsed output. */
static json_t *run_ref(const char *script, const char *arg, json_t *req)
{
    const char *tmp = rg_test_tmpdir();
    char *in = rg_xasprintf("%s/ref_in.json", tmp), *out = rg_xasprintf("%s/ref_out.json", tmp);
    json_dump_file(req, in, 0);
    char *cmd = rg_xasprintf(PY " tests/ref/%s '%s' '%s' '%s'", script, arg, in, out);
    int rc = system(cmd);
    free(cmd);
    json_t *o = rc == 0 ? json_load_file(out, 0, NULL) : NULL;
    if (!o)
        rg_test_fail(__FILE__, __LINE__, "tests/ref/%s failed", script);
    free(in);
    free(out);
    return o;
}

static json_t *texts_json(void)
{
    json_t *req = json_object(), *arr = json_array();
    for (int i = 0; i < NTEXTS; i++)
        json_array_append_new(arr, json_string(TEXTS[i]));
    json_object_set_new(req, "texts", arr);
    return req;
}

static void unigram_matches_reference(const char *args)
{
    if (!rg_test_have_reference())
        return;
    char *dir = gen_model("xlmr_tok", args);
    if (!dir)
        return;
    char *path = rg_path_join(dir, "tokenizer.json");
    rg_error err = {0};
    rg_unigram_tokenizer *t = NULL;
    CHECK_OK(rg_unigram_load(path, &t, &err), &err);
    json_t *req = texts_json();
    json_t *ref = run_ref("unigram_ref.py", path, req);
    json_decref(req);
    for (int i = 0; ref && t && i < NTEXTS; i++) {
        size_t len = strlen(TEXTS[i]);
        char *pre = rg_unigram_pretokenize_debug(t, TEXTS[i], len);
        const char *want_pre = json_string_value(json_array_get(json_object_get(ref, "pretokens"), (size_t)i));
        CHECK_MSG(want_pre && !strcmp(pre, want_pre), "text %d: pre-tokens '%s', reference '%s'", i, pre,
                  want_pre ? want_pre : "?");
        free(pre);
        json_t *want = json_array_get(json_object_get(ref, "ids"), (size_t)i);
        size_t n = rg_unigram_tokenize(t, TEXTS[i], len, NULL, 0);
        int32_t *ids = rg_xmalloc((n + 1) * sizeof *ids);
        size_t got = rg_unigram_tokenize(t, TEXTS[i], len, ids, n + 1);
        bool same = got == n && got == json_array_size(want);
        for (size_t j = 0; same && j < got; j++)
            same = ids[j] == json_integer_value(json_array_get(want, j));
        if (!same) {
            rg_buf b;
            rg_buf_init(&b);
            for (size_t j = 0; j < got; j++)
                rg_buf_printf(&b, "%d ", ids[j]);
            char *w = json_dumps(want, JSON_COMPACT);
            rg_test_fail(__FILE__, __LINE__, "text %d (%s): ids [%s] reference %s", i, args, b.data ? b.data : "", w);
            free(w);
            rg_buf_free(&b);
        }
        /* Truncation writes a prefix of the full tokenization. */
        if (n > 2) {
            int32_t part[2];
            CHECK_EQ_INT(rg_unigram_tokenize(t, TEXTS[i], len, part, 2), 2);
            CHECK(part[0] == ids[0] && part[1] == ids[1]);
        }
        free(ids);
    }
    json_decref(ref);
    rg_unigram_free(t);
    free(path);
    free(dir);
}

TEST(unigram_matches_reference) { unigram_matches_reference("--arch xlmr --seed 11"); }
TEST(unigram_byte_fallback_matches_reference) { unigram_matches_reference("--arch xlmr --seed 12 --byte-fallback"); }
TEST(unigram_whitespace_split_template_matches_reference)
{
    unigram_matches_reference("--arch xlmr --seed 13 --pretok ws --post template --unigram-pieces 900");
}

TEST(unigram_rejects_what_it_cannot_run)
{
    rg_error err = {0};
    rg_unigram_tokenizer *t = NULL;
    static const struct {
        const char *json, *needle;
    } cases[] = {
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}", "not a Unigram"},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", -1.0]]}}", "unk_id"},
        {"{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"a\"]]}}", "[piece, score]"},
        {"{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"a\", -1]]}, "
         "\"normalizer\": {\"type\": \"BertNormalizer\"}}", "BertNormalizer"},
        {"{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"a\", -1]]}, "
         "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}", "ByteLevel"},
        {"{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"a\", -1]]}, "
         "\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"AAAA\"}}", "character map"},
        {"{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"a\", -1]]}, "
         "\"post_processor\": {\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 9], \"cls\": [\"<s>\", 0]}}",
         "sep and cls"},
        {"{not json", "invalid JSON"},
    };
    for (size_t i = 0; i < RG_ARRAY_LEN(cases); i++) {
        rg_status st = rg_unigram_load_buffer(cases[i].json, strlen(cases[i].json), "tokenizer.json", &t, &err);
        CHECK_MSG(st != RG_OK, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, cases[i].needle) != NULL, "case %zu: '%s' lacks '%s'", i, err.msg,
                  cases[i].needle);
    }
}

/* Embeddings (bi-encoder) or scores (cross-encoder) vs bert_ref.py. */
static void model_matches_reference(const char *args, bool cross, rg_bert_precision prec, double tol)
{
    if (!rg_test_have_reference())
        return;
    char *dir = gen_model("xmodel", args);
    if (!dir)
        return;
    rg_error err = {0};
    rg_bert_model *m = NULL;
    rg_bert_model_opts o = {.threads = 2, .precision = prec};
    CHECK_OK(rg_bert_model_open(dir, &o, &m, &err), &err);
    if (!m) {
        free(dir);
        return;
    }
    const rg_bert_info *in = rg_bert_model_info(m);
    CHECK_EQ_INT(in->kind, cross ? RG_BERT_CROSS_ENCODER : RG_BERT_BI_ENCODER);
    json_t *req = json_object();
    int n = NTEXTS, dim = in->hidden;
    float *got = NULL;
    if (cross) {
        /* Every text as a passage for two queries, one short, one long
         * enough to make the longest-first truncation cut both sides. */
        json_t *pairs = json_array();
        const char *queries[2] = {"quick fox query", TEXTS[7]};
        got = rg_xmalloc(2 * (size_t)n * sizeof *got);
        for (int q = 0; q < 2; q++) {
            for (int i = 0; i < n; i++)
                json_array_append_new(pairs, json_pack("[s, s]", queries[q], TEXTS[i]));
            CHECK_OK(rg_bert_model_score(m, queries[q], TEXTS, (size_t)n, 3, got + q * n, &err), &err);
        }
        json_object_set_new(req, "pairs", pairs);
        n *= 2;
        dim = 1;
    } else {
        json_decref(req);
        req = texts_json();
        got = rg_xmalloc((size_t)n * dim * sizeof *got);
        CHECK_OK(rg_bert_model_embed(m, TEXTS, (size_t)n, NULL, 4, got, &err), &err);
    }
    json_object_set_new(req, "batch_size", json_integer(3));
    json_t *ref = run_ref("bert_ref.py", dir, req);
    json_decref(req);
    json_t *want = json_object_get(ref, cross ? "scores" : "embeddings");
    double diff = 0;
    for (int i = 0; want && i < n; i++)
        for (int j = 0; j < dim; j++) {
            json_t *v = cross ? json_array_get(want, (size_t)i) : json_array_get(json_array_get(want, (size_t)i), (size_t)j);
            diff = fmax(diff, fabs(json_real_value(v) - got[i * dim + j]));
        }
    /* Same token ids as the reference. */
    json_t *ids = json_object_get(ref, "ids");
    int maxlen = in->max_seq_length;
    int32_t *row = rg_xmalloc((size_t)maxlen * sizeof *row);
    uint8_t *types = rg_xmalloc((size_t)maxlen);
    for (int i = 0; ids && i < n; i++) {
        int k = cross ? rg_bert_model_pair_ids(m, i < NTEXTS ? "quick fox query" : TEXTS[7], TEXTS[i % NTEXTS], row,
                                               types)
                      : rg_bert_model_text_ids(m, TEXTS[i], row);
        json_t *w = json_array_get(ids, (size_t)i);
        bool same = (size_t)k == json_array_size(w);
        for (int j = 0; same && j < k; j++)
            same = row[j] == json_integer_value(json_array_get(w, (size_t)j));
        CHECK_MSG(same, "ids of input %d differ from the reference (%s)", i, args);
    }
    free(row);
    free(types);
    fprintf(stderr, "    max abs diff vs numpy reference: %.3g\n", diff);
    CHECK_MSG(want != NULL, "reference gave no output");
    CHECK_MSG(diff <= tol, "max abs diff %.3g > %.3g (%s)", diff, tol, args);
    json_decref(ref);
    free(got);
    rg_bert_model_free(m);
    free(dir);
}

TEST(xlmr_bi_encoder_matches_reference)
{
    model_matches_reference("--arch xlmr --seed 21 --max-seq-length 20", false, RG_BERT_FP32, 1e-4);
}
TEST(xlmr_cross_encoder_matches_reference)
{
    model_matches_reference("--arch xlmr --cross-encoder --seed 22 --byte-fallback", true, RG_BERT_FP32, 1e-4);
}
TEST(bert_cross_encoder_matches_reference)
{
    model_matches_reference("--cross-encoder --seed 23 --max-seq-length 20", true, RG_BERT_FP32, 1e-4);
}
TEST(bert_cross_encoder_labels_match_reference)
{
    model_matches_reference("--cross-encoder --num-labels 3 --seed 24", true, RG_BERT_FP32, 1e-4);
}

/* int8 keeps the order of a cross-encoder's scores: Kendall's tau between
 * the int8 and fp32 rankings of 50 passages. */
static void rank_agreement(rg_bert_precision prec)
{
    if (!rg_test_have_reference())
        return;
    char *dir = gen_model("xint8", "--cross-encoder --seed 25 --hidden 128 --heads 4 --intermediate 512 --std 0.08 "
                                   "--max-seq-length 64 --max-position 64");
    if (!dir)
        return;
    rg_error err = {0};
    rg_bert_model *m32 = NULL, *m8 = NULL;
    rg_bert_model_opts o32 = {.threads = 2, .precision = RG_BERT_FP32}, o8 = {.threads = 2, .precision = prec};
    CHECK_OK(rg_bert_model_open(dir, &o32, &m32, &err), &err);
    CHECK_OK(rg_bert_model_open(dir, &o8, &m8, &err), &err);
    enum { N = 50 };
    static const char *const words[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "hello",
                                        "world", "search", "query", "passage", "vector", "store", "local", "rag"};
    char *texts[N];
    uint64_t r = 12345;
    for (int i = 0; i < N; i++) {
        rg_buf b;
        rg_buf_init(&b);
        int nw = 5 + i % 20;
        for (int w = 0; w < nw; w++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            rg_buf_printf(&b, "%s%s", w ? " " : "", words[(r >> 33) % RG_ARRAY_LEN(words)]);
        }
        texts[i] = rg_buf_steal(&b);
    }
    float a[N], b[N];
    if (m32 && m8) {
        CHECK_OK(rg_bert_model_score(m32, "quick fox search", (const char *const *)texts, N, 16, a, &err), &err);
        CHECK_OK(rg_bert_model_score(m8, "quick fox search", (const char *const *)texts, N, 16, b, &err), &err);
        int concordant = 0, discordant = 0;
        for (int i = 0; i < N; i++)
            for (int j = i + 1; j < N; j++) {
                double s = (double)(a[i] - a[j]) * (double)(b[i] - b[j]);
                concordant += s > 0;
                discordant += s < 0;
            }
        double tau = (double)(concordant - discordant) / (N * (N - 1) / 2);
        /* top-10 overlap */
        int ia[N], ib[N];
        for (int i = 0; i < N; i++)
            ia[i] = ib[i] = i;
        for (int i = 0; i < N; i++)
            for (int j = i + 1; j < N; j++) {
                if (a[ia[j]] > a[ia[i]]) { int t = ia[i]; ia[i] = ia[j]; ia[j] = t; }
                if (b[ib[j]] > b[ib[i]]) { int t = ib[i]; ib[i] = ib[j]; ib[j] = t; }
            }
        int overlap = 0;
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < 10; j++)
                overlap += ia[i] == ib[j];
        const char *pn = rg_bert_precision_name(prec);
        fprintf(stderr, "    %s vs fp32 cross-encoder: Kendall tau %.4f, top-10 overlap %d/10\n", pn, tau, overlap);
        CHECK_MSG(tau >= 0.95, "%s rank agreement tau %.4f < 0.95", pn, tau);
        CHECK_MSG(overlap >= 9, "%s top-10 overlap %d < 9", pn, overlap);
    }
    for (int i = 0; i < N; i++)
        free(texts[i]);
    rg_bert_model_free(m32);
    rg_bert_model_free(m8);
    free(dir);
}

TEST(cross_encoder_int8_rank_agreement) { rank_agreement(RG_BERT_INT8); }
/* bf16 on AMX (elsewhere the model runs fp32 and agrees fully) */
TEST(cross_encoder_bf16_rank_agreement) { rank_agreement(RG_BERT_BF16); }

TEST(cross_encoder_refuses_to_embed_and_bi_encoder_to_score)
{
    if (!rg_test_have_reference())
        return;
    char *dc = gen_model("xc", "--cross-encoder --seed 26");
    char *db = gen_model("xb", "--seed 27");
    if (!dc || !db) {
        free(dc);
        free(db);
        return;
    }
    rg_error err = {0};
    rg_bert_model *c = NULL, *b = NULL;
    rg_bert_model_opts o = {.threads = 1};
    CHECK_OK(rg_bert_model_open(dc, &o, &c, &err), &err);
    CHECK_OK(rg_bert_model_open(db, &o, &b, &err), &err);
    const char *t = "hello";
    float v[64];
    if (c && b) {
        CHECK(rg_bert_model_embed(c, &t, 1, NULL, 1, v, &err) == RG_ERR_INVALID);
        CHECK(strstr(err.msg, "cross-encoder") != NULL);
        CHECK(rg_bert_model_score(b, "q", &t, 1, 1, v, &err) == RG_ERR_INVALID);
        CHECK(strstr(err.msg, "bi-encoder") != NULL);
    }
    rg_bert_model_free(c);
    rg_bert_model_free(b);
    free(dc);
    free(db);
}
