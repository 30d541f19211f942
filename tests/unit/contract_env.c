#include "contract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "util.h"

bool contract_env_open(contract_env *env, const char *name, int dim)
{
    memset(env, 0, sizeof *env);
    env->backend = name;
    env->cfg = rg_config_new_defaults();
    rg_error err;
    const char *tmp = rg_test_tmpdir();
    char *leann = rg_path_join(tmp, "leann"), *exact = rg_path_join(tmp, "exact");
    char dims[16];
    snprintf(dims, sizeof dims, "%d", dim);
    rg_config_set(env->cfg, "vectorstore.leann.persist_directory", leann, RG_SRC_FLAG, &err);
    rg_config_set(env->cfg, "vectorstore.exact.persist_directory", exact, RG_SRC_FLAG, &err);
    rg_config_set(env->cfg, "embedding.dimension", dims, RG_SRC_FLAG, &err);
    free(leann);
    free(exact);
    if (!strcmp(name, "chromadb")) {
        const char *url = getenv("RAGGED_TEST_CHROMADB_URL");
        if (!url || !*url) {
            fprintf(stderr, "    (chromadb: no test server; RAGGED_TEST_CHROMADB_URL unset)\n");
            contract_env_close(env);
            return false;
        }
        rg_config_set(env->cfg, "vectorstore.chromadb.url", url, RG_SRC_FLAG, &err);
        const char *path = getenv("RAGGED_TEST_CHROMADB_PATH");
        if (path)
            rg_config_set(env->cfg, "vectorstore.chromadb.persist_directory", path, RG_SRC_FLAG, &err);
    }
    if (rg_embedder_open(env->cfg, &env->emb, &err) != RG_OK) {
        fprintf(stderr, "    (%s: embedder: %s)\n", name, err.msg);
        contract_env_close(env);
        return false;
    }
    rg_status rc = rg_store_open(env->cfg, name, &env->store, &err);
    if (rc != RG_OK) {
        fprintf(stderr, "    (%s not available here: %s)\n", name, err.msg);
        contract_env_close(env);
        return false;
    }
    return true;
}

void contract_env_close(contract_env *env)
{
    rg_store_close(env->store);
    rg_embedder_free(env->emb);
    rg_config_free(env->cfg);
    memset(env, 0, sizeof *env);
}

void contract_collection_name(char *buf, size_t n, const char *stem)
{
    static unsigned counter;
    snprintf(buf, n, "t-%s-%ld-%u", stem, (long)getpid(), counter++);
}

float *contract_embed(contract_env *env, const char *const *docs, size_t n)
{
    int dim = env->emb->identity.dim;
    float *v = rg_xmalloc((n ? n : 1) * (size_t)dim * sizeof *v);
    rg_error err;
    if (rg_embedder_embed(env->emb, docs, n, RG_EMBED_DOCUMENT, v, &err) != RG_OK) {
        fprintf(stderr, "embed failed: %s\n", err.msg);
        abort();
    }
    return v;
}
