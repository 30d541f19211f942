/* Ollama / OpenAI-compatible embedders: placeholder until the
 * embedding-engine issue lands. */
#include "embedder.h"

rg_status rg_embedder_remote_open(const struct rg_config *cfg, rg_embedder **out, rg_error *err)
{
    return rg_error_set(err, RG_ERR_UNAVAILABLE,
                        "embedding providers 'ollama' and 'openai' are not available yet in this build; "
                        "use embedding.provider: builtin");
}
