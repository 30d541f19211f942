/* Shared fixture for tests that run against every storage backend: a
 * config pointing all persistent state into the test's temp directory, the
 * builtin embedder at a small dimension, and the list of backends that can
 * be opened here (chromadb only when tests/run.sh started a server and
 * exported RAGGED_TEST_CHROMADB_URL). */
#ifndef RG_TEST_CONTRACT_H
#define RG_TEST_CONTRACT_H

#include "config.h"
#include "embedder.h"
#include "store.h"

typedef struct contract_env {
    const char *backend;
    rg_config *cfg;
    rg_embedder *emb;
    rg_store *store;
} contract_env;

/* Opens backend `name` in a fresh temp dir; false (with a printed reason) if
 * it is not available here. */
bool contract_env_open(contract_env *env, const char *name, int dim);
void contract_env_close(contract_env *env);
/* A unique collection name for this test run (chromadb persists across tests). */
void contract_collection_name(char *buf, size_t n, const char *stem);
/* Embeds documents with env->emb into a fresh array of n*dim floats. */
float *contract_embed(contract_env *env, const char *const *docs, size_t n);

#endif
