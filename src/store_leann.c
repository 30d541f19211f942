/* leann backend: placeholder until the LEANN issue lands.  The name is
 * accepted everywhere; opening it says clearly that it is not built yet. */
#include "store.h"

static rg_status leann_open(const struct rg_config *cfg, void **store, rg_error *err)
{
    return rg_error_set(err, RG_ERR_UNAVAILABLE,
                        "the leann backend is not available yet in this build; use --backend exact "
                        "(or set vectorstore.backend: exact)");
}

const rg_store_ops rg_store_leann_ops = {
    .abi_version = RG_STORE_ABI,
    .name = "leann",
    .open = leann_open,
};
