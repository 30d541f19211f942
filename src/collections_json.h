/* The JSON document of `ragged collections list --format json`, built in
 * one place so that the CLI and `ragged serve` (GET /v1/collections) answer
 * the same thing.  (The query document is query_output.h's.) */
#ifndef RG_COLLECTIONS_JSON_H
#define RG_COLLECTIONS_JSON_H

#include <jansson.h>
#include "store.h"

/* {"collections": [{"name", "backend", "records", "embedder", "damaged"}]}.
 * New reference. */
json_t *rg_collections_json(const char *backend, const rg_collection_info *infos, size_t n);

#endif
