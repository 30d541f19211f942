/* Fusion arithmetic (RRF and normalised-score fusion) and hybrid retrieval
 * through rg_retrieve on the exact backend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "retrieve.h"
#include "test.h"
#include "util.h"

static double score_of(const rg_hits *h, const char *id)
{
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->items[i].id, id))
            return 1.0 - (double)h->items[i].distance;
    return NAN;
}

static void lists(rg_hits *vec, rg_hits *lex)
{
    rg_hits_init(vec);
    rg_hits_init(lex);
    /* vector: cosine distances; lexical: -BM25 */
    rg_hits_push(vec, "a", 0.10f, NULL, NULL);
    rg_hits_push(vec, "b", 0.20f, NULL, NULL);
    rg_hits_push(vec, "c", 0.50f, NULL, NULL);
    rg_hits_push(lex, "c", -9.0f, NULL, NULL);
    rg_hits_push(lex, "d", -6.0f, NULL, NULL);
    rg_hits_push(lex, "a", -3.0f, NULL, NULL);
}

TEST(fusion_rrf)
{
    rg_hits vec, lex, out;
    lists(&vec, &lex);
    rg_hits_init(&out);
    rg_retrieve_opts o = {.mode = RG_RETRIEVE_HYBRID, .fusion = RG_FUSION_RRF, .rrf_k = 60, .vector_weight = 1,
                          .bm25_weight = 1};
    rg_fuse(&vec, &lex, &o, 10, &out);
    CHECK_EQ_INT(out.n, 4);
    CHECK(fabs(score_of(&out, "a") - (1.0 / 61 + 1.0 / 63)) < 1e-6);
    CHECK(fabs(score_of(&out, "c") - (1.0 / 63 + 1.0 / 61)) < 1e-6);
    CHECK(fabs(score_of(&out, "b") - 1.0 / 62) < 1e-6);
    CHECK(fabs(score_of(&out, "d") - 1.0 / 62) < 1e-6);
    /* a and c tie: broken by id; then b and d tie. */
    CHECK_EQ_STR(out.items[0].id, "a");
    CHECK_EQ_STR(out.items[1].id, "c");
    CHECK_EQ_STR(out.items[2].id, "b");
    CHECK_EQ_STR(out.items[3].id, "d");
    rg_hits_free(&out);
    /* Weights scale each side; k cuts. */
    o.bm25_weight = 2;
    o.rrf_k = 1;
    rg_fuse(&vec, &lex, &o, 2, &out);
    CHECK_EQ_INT(out.n, 2);
    CHECK_EQ_STR(out.items[0].id, "c"); /* 1/4 + 2/2 */
    CHECK(fabs(score_of(&out, "c") - (1.0 / 4 + 2.0 / 2)) < 1e-6);
    CHECK_EQ_STR(out.items[1].id, "a"); /* 1/2 + 2/4 = 1.0 > d: 2/3 */
    rg_hits_free(&out);
    rg_hits_free(&vec);
    rg_hits_free(&lex);
}

TEST(fusion_normalised_scores)
{
    rg_hits vec, lex, out;
    lists(&vec, &lex);
    rg_hits_init(&out);
    rg_retrieve_opts o = {.mode = RG_RETRIEVE_HYBRID, .fusion = RG_FUSION_SCORE, .vector_weight = 0.3,
                          .bm25_weight = 0.7};
    rg_fuse(&vec, &lex, &o, 10, &out);
    /* vector sims 0.9 0.8 0.5 -> 1, 0.75, 0; bm25 9 6 3 -> 1, 0.5, 0 */
    CHECK(fabs(score_of(&out, "a") - (0.3 * 1 + 0.7 * 0)) < 1e-6);
    CHECK(fabs(score_of(&out, "b") - 0.3 * 0.75) < 1e-6);
    CHECK(fabs(score_of(&out, "c") - (0.3 * 0 + 0.7 * 1)) < 1e-6);
    CHECK(fabs(score_of(&out, "d") - 0.7 * 0.5) < 1e-6);
    CHECK_EQ_STR(out.items[0].id, "c");
    CHECK_EQ_STR(out.items[1].id, "d");
    CHECK_EQ_STR(out.items[2].id, "a");
    CHECK_EQ_STR(out.items[3].id, "b");
    rg_hits_free(&out);
    /* One side empty: the other decides alone; a single hit normalises to 1. */
    rg_hits empty;
    rg_hits_init(&empty);
    rg_hits one;
    rg_hits_init(&one);
    rg_hits_push(&one, "z", -2.0f, NULL, NULL);
    rg_fuse(&empty, &one, &o, 10, &out);
    CHECK_EQ_INT(out.n, 1);
    CHECK(fabs(score_of(&out, "z") - 0.7) < 1e-6);
    rg_hits_free(&out);
    rg_hits_free(&one);
    rg_hits_free(&vec);
    rg_hits_free(&lex);
}

TEST(retrieve_modes_exact)
{
    contract_env env;
    if (!contract_env_open(&env, "exact", 64)) {
        rg_test_skip("exact backend unavailable");
        return;
    }
    rg_error err;
    rg_collection *c = NULL;
    CHECK_OK(rg_collection_open(env.store, "retrieve-modes", env.emb, true, &c, &err), &err);
    const char *texts[] = {"Backups run nightly with pg_dump and are kept offsite.",
                           "Tomatoes need full sun and regular watering.",
                           "The zygomorphic flower of the orchid attracts bees."};
    const char *ids[] = {"backup", "tomato", "orchid"};
    float v[3][64];
    rg_record r[3];
    for (int i = 0; i < 3; i++) {
        CHECK_OK(rg_embedder_embed(env.emb, &texts[i], 1, RG_EMBED_DOCUMENT, v[i], &err), &err);
        json_t *m = json_pack("{s:i}", "n", i);
        r[i] = (rg_record){(char *)ids[i], (char *)texts[i], m, v[i], false};
    }
    CHECK_OK(rg_collection_add(c, r, 3, &err), &err);
    for (int i = 0; i < 3; i++)
        json_decref(r[i].metadata);
    rg_retrieve_opts o;
    rg_retrieve_opts_from_config(&o, env.cfg);
    o.k = 2;
    o.include = RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS;
    for (int m = 0; m < 3; m++) {
        o.mode = (rg_retrieve_mode)m;
        rg_hits h;
        rg_hits_init(&h);
        CHECK_OK(rg_retrieve(c, "zygomorphic orchid flowers", &o, &h, &err), &err);
        CHECK(h.n >= 1 && h.n <= 2);
        CHECK_MSG(!strcmp(h.items[0].id, "orchid"), "mode %s ranked %s first", rg_retrieve_mode_name(o.mode),
                  h.items[0].id);
        CHECK(h.items[0].document && strstr(h.items[0].document, "orchid"));
        CHECK(json_object_get(h.items[0].metadata, "n"));
        for (size_t i = 1; i < h.n; i++)
            CHECK(h.items[i - 1].distance <= h.items[i].distance);
        rg_hits_free(&h);
    }
    /* Filters reach both sides of hybrid. */
    rg_filter *f;
    CHECK_OK(rg_filter_parse("{\"n\": {\"$ne\": 2}}", &f, &err), &err);
    o.where = f;
    o.mode = RG_RETRIEVE_HYBRID;
    rg_hits h;
    rg_hits_init(&h);
    CHECK_OK(rg_retrieve(c, "zygomorphic orchid flowers", &o, &h, &err), &err);
    for (size_t i = 0; i < h.n; i++)
        CHECK(strcmp(h.items[i].id, "orchid") != 0);
    rg_hits_free(&h);
    rg_filter_free(f);
    rg_retrieve_mode mode;
    CHECK(rg_retrieve_mode_parse("semantic", &mode, &err) == RG_ERR_INVALID);
    CHECK(strstr(err.msg, "hybrid"));
    rg_collection_close(c);
    contract_env_close(&env);
}
