/* The chromadb backend's ops table for builds without libcurl
 * (`make WITHOUT_CHROMADB=1` leaves src/store_chromadb.c out). */
#ifdef RG_WITHOUT_CHROMADB
#include "store.h"

static rg_status chromadb_absent_open(const struct rg_config *cfg, void **store, rg_error *err)
{
    return rg_error_set(err, RG_ERR_UNAVAILABLE,
                        "the chromadb backend was not compiled in (this ragged was built with "
                        "WITHOUT_CHROMADB=1); rebuild with libcurl (scripts/install-deps.sh, then make) "
                        "or use --backend leann or --backend exact");
}

const rg_store_ops rg_store_chromadb_ops = {
    .abi_version = RG_STORE_ABI,
    .name = "chromadb",
    .open = chromadb_absent_open,
};
#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int rg_store_chromadb_absent_unused;
#endif
