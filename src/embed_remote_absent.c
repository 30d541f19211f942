/* The ollama/openai embedders for builds without libcurl
 * (`make WITHOUT_CHROMADB=1` leaves src/embed_remote.c out). */
#ifdef RG_WITHOUT_CHROMADB
#include "embedder.h"

rg_status rg_embedder_remote_open(const struct rg_config *cfg, rg_embedder **out, rg_error *err)
{
    return rg_error_set(err, RG_ERR_UNAVAILABLE,
                        "embedding providers 'ollama' and 'openai' were not compiled in (this ragged was built "
                        "with WITHOUT_CHROMADB=1, without libcurl); rebuild with libcurl (scripts/install-deps.sh, "
                        "then make) or use embedding.provider: bert or builtin");
}
#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int rg_embed_remote_absent_unused;
#endif
