/* embedding.provider: bert through the generic embedder interface. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "embedder.h"
#include "test.h"
#include "test_ref.h"
#include "util.h"

static char *tiny_model(const char *name, const char *args)
{
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        rg_test_skip("/usr/bin/python3 with numpy is not available (scripts/install-deps.sh installs python3-numpy)");
        return NULL;
    }
    char *dir = rg_path_join(rg_test_tmpdir(), name);
    if (!rg_test_make_tiny_bert(dir, args)) {
        free(dir);
        return NULL;
    }
    return dir;
}

static rg_embedder *open_bert(const char *dir, const char *qp, const char *dp, const char *precision)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_error err = {0};
    rg_config_set(cfg, "embedding.provider", "bert", RG_SRC_FLAG, &err);
    rg_config_set(cfg, "embedding.model", dir, RG_SRC_FLAG, &err);
    rg_config_set(cfg, "embedding.query_prefix", qp, RG_SRC_FLAG, &err);
    rg_config_set(cfg, "embedding.document_prefix", dp, RG_SRC_FLAG, &err);
    rg_config_set(cfg, "embedding.precision", precision, RG_SRC_FLAG, &err);
    rg_config_set(cfg, "embedding.batch_size", "3", RG_SRC_FLAG, &err);
    rg_embedder *e = NULL;
    if (rg_embedder_open(cfg, &e, &err) != RG_OK)
        rg_test_fail(__FILE__, __LINE__, "rg_embedder_open: %s", err.msg);
    rg_config_free(cfg);
    return e;
}

TEST(bert_embedder_identity_roles_and_tokens)
{
    char *dir = tiny_model("m", "--seed 21");
    if (!dir)
        return;
    rg_embedder *plain = open_bert(dir, "", "", "fp32");
    rg_embedder *pref = open_bert(dir, "query: ", "passage: ", "fp32");
    rg_embedder *q8 = open_bert(dir, "", "", "int8");
    free(dir);
    CHECK(plain && pref && q8);
    CHECK_EQ_STR(plain->identity.kind, "bert");
    CHECK_EQ_STR(plain->identity.model, "m");
    CHECK_EQ_INT(plain->identity.dim, 32);
    CHECK_EQ_INT(plain->max_tokens, 24);
    CHECK_EQ_INT(plain->batch_size, 3);
    CHECK(strcmp(plain->identity.fingerprint, pref->identity.fingerprint) != 0);
    CHECK(strcmp(plain->identity.fingerprint, q8->identity.fingerprint) != 0);
    /* "passage" and ":" are both in the tiny vocabulary: the prefix costs 2 tokens */
    CHECK_EQ_INT(pref->max_tokens, 24 - 2);
    /* count_tokens is the WordPiece count and is additive over words */
    const char *t = "the quick brown fox jumps";
    CHECK_EQ_INT(rg_embedder_count_tokens(plain, t, strlen(t)), 6);
    CHECK_EQ_INT(rg_embedder_count_tokens(plain, "jumps", 5), 2);

    const char *texts[5] = {"hello world", "the lazy dog", "", "a b c d e f g h i j k l m n o p q r s t u v w x y z",
                            "hello world"};
    float d[5 * 32], q[5 * 32], pd[5 * 32], pq[5 * 32];
    rg_error err = {0};
    CHECK_OK(rg_embedder_embed(plain, texts, 5, RG_EMBED_DOCUMENT, d, &err), &err);
    CHECK_OK(rg_embedder_embed(plain, texts, 5, RG_EMBED_QUERY, q, &err), &err);
    CHECK_OK(rg_embedder_embed(pref, texts, 5, RG_EMBED_DOCUMENT, pd, &err), &err);
    CHECK_OK(rg_embedder_embed(pref, texts, 5, RG_EMBED_QUERY, pq, &err), &err);
    /* no prefixes: roles agree; equal texts give equal rows whatever their
     * place in the batch (to rounding: OpenBLAS, the fallback GEMM, may sum
     * an edge tile's rows in another order; seen on an AVX-512 EPYC) */
    CHECK(memcmp(d, q, sizeof d) == 0);
    for (int k = 0; k < 32; k++)
        CHECK_MSG(fabsf(d[k] - d[4 * 32 + k]) <= 1e-6f, "component %d: %g vs %g", k, (double)d[k],
                  (double)d[4 * 32 + k]);
    /* prefixes change vectors, differently per role */
    CHECK(memcmp(pd, pq, sizeof pd) != 0);
    CHECK(memcmp(pd, d, sizeof pd) != 0);
    for (int i = 0; i < 5; i++) {
        double n = 0;
        for (int k = 0; k < 32; k++)
            n += (double)d[i * 32 + k] * d[i * 32 + k];
        CHECK_MSG(fabs(sqrt(n) - 1) < 1e-5, "row %d norm %g", i, sqrt(n));
    }
    rg_embedder_free(plain);
    rg_embedder_free(pref);
    rg_embedder_free(q8);
}

TEST(bert_embedder_config_errors)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_error err = {0};
    rg_config_set(cfg, "embedding.provider", "bert", RG_SRC_FLAG, &err);
    rg_embedder *e = NULL;
    CHECK(rg_embedder_open(cfg, &e, &err) == RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "embedding.model"), "%s", err.msg);
    char *missing = rg_path_join(rg_test_tmpdir(), "nowhere");
    rg_config_set(cfg, "embedding.model", missing, RG_SRC_FLAG, &err);
    CHECK(rg_embedder_open(cfg, &e, &err) == RG_ERR_NOTFOUND);
    CHECK_MSG(strstr(err.msg, missing), "%s", err.msg);
    free(missing);
    rg_config_free(cfg);
}
