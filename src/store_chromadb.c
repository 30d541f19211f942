/* chromadb backend: placeholder until the ChromaDB issue lands. */
#include "store.h"

static rg_status chromadb_open(const struct rg_config *cfg, void **store, rg_error *err)
{
    return rg_error_set(err, RG_ERR_UNAVAILABLE,
                        "the chromadb backend is not available yet in this build; use --backend exact");
}

const rg_store_ops rg_store_chromadb_ops = {
    .abi_version = RG_STORE_ABI,
    .name = "chromadb",
    .open = chromadb_open,
};
