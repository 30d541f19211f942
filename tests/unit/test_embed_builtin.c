#include <math.h>
#include <string.h>

#include "config.h"
#include "embedder.h"
#include "test.h"
#include "util.h"

TEST(builtin_embedder_is_deterministic_normalised_and_meaningful)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_embedder *e = NULL;
    rg_error err;
    CHECK_OK(rg_embedder_open(cfg, &e, &err), &err);
    int dim = e->identity.dim;
    CHECK_EQ_INT(dim, rg_config_int(cfg, "embedding.dimension"));
    CHECK(dim >= 384);
    const char *texts[] = {"How do I back up the PostgreSQL database every night?",
                           "Nightly backups of the Postgres database are made with pg_dump.",
                           "Tomatoes need plenty of sun and regular watering in summer.",
                           "How do I back up the PostgreSQL database every night?", "", "Ünïcödé café naïve",
                           "unicode cafe naive"};
    static float v[7 * 8192];
    CHECK_OK(rg_embedder_embed(e, texts, 7, RG_EMBED_DOCUMENT, v, &err), &err);
    for (int i = 0; i < 7; i++) {
        if (i == 4)
            continue;
        float n = rg_dot(v + i * dim, v + i * dim, (size_t)dim);
        CHECK(fabsf(n - 1.0f) < 1e-4f);
    }
    /* empty text gives the zero vector rather than NaN */
    for (int d = 0; d < dim; d++)
        CHECK(v[4 * dim + d] == 0.0f);
    CHECK(memcmp(v, v + 3 * dim, (size_t)dim * sizeof(float)) == 0);
    float related = rg_dot(v, v + dim, (size_t)dim), unrelated = rg_dot(v, v + 2 * dim, (size_t)dim);
    CHECK_MSG(related > unrelated + 0.1f, "related %f unrelated %f", related, unrelated);
    /* case and accents do not matter */
    CHECK(rg_dot(v + 5 * dim, v + 6 * dim, (size_t)dim) > 0.999f);
    /* The identity changes with anything that changes vectors. */
    rg_embedder *e2 = NULL;
    rg_config_set(cfg, "embedding.query_prefix", "query: ", RG_SRC_FLAG, &err);
    CHECK_OK(rg_embedder_open(cfg, &e2, &err), &err);
    CHECK(strcmp(e->identity.fingerprint, e2->identity.fingerprint) != 0);
    CHECK_EQ_INT(rg_embedder_identity_check(&e->identity, &e2->identity, "c", &err), RG_ERR_MISMATCH);
    rg_embedder_free(e2);
    rg_embedder_free(e);
    rg_config_free(cfg);
}
