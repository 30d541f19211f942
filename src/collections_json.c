/* The JSON list of collections (see collections_json.h). */
#include "collections_json.h"

#include "embedder.h"
#include "util.h"

json_t *rg_collections_json(const char *backend, const rg_collection_info *infos, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:o, s:b}", "name", infos[i].name, "backend", backend,
                                             "records", (json_int_t)infos[i].count, "embedder",
                                             rg_embedder_identity_to_json(&infos[i].identity), "damaged",
                                             infos[i].damaged));
    return json_pack("{s:o}", "collections", arr);
}
