/* The request bodies of ragged serve (POST /v1/query, /v1/answer,
 * /v1/ingest) and MCP tool arguments.  Properties:
 * - parsing never crashes; a refusal is RG_ERR_INVALID with a message and
 *   leaves nothing allocated in the request;
 * - an accepted request is within the documented bounds (non-empty query
 *   without NUL, valid collection name, k and complexity in range, known
 *   mode and backend; 1..4096 non-empty paths). */
#include "fuzz.h"
#include "retrieve.h"
#include "service.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20))
        return 0;
    rg_error err = {0};
    rg_query_req q;
    rg_status st = rg_query_req_parse((const char *)data, size, &q, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK) {
        FUZZ_CHECK(q.query && *q.query, "accepted an empty query");
        FUZZ_CHECK(!q.collection || rg_collection_name_check(q.collection, &err) == RG_OK,
                   "bad collection name accepted: %s", q.collection);
        FUZZ_CHECK(q.k >= 0 && q.k <= 100000 && q.complexity >= 0 && q.complexity <= 100000, "k out of range");
        rg_retrieve_mode m;
        FUZZ_CHECK(!q.mode || rg_retrieve_mode_parse(q.mode, &m, &err) == RG_OK, "bad mode accepted");
        FUZZ_CHECK(!q.backend || rg_store_backend_find(q.backend), "bad backend accepted");
        FUZZ_CHECK(q.rerank >= -1 && q.rerank <= 1, "rerank %d", q.rerank);
        rg_query_req_free(&q);
    } else {
        FUZZ_CHECK(st == RG_ERR_INVALID, "query request refused with %s", rg_status_name(st));
        FUZZ_CHECK(!q.query && !q.collection && !q.where, "a refused request kept allocations");
    }
    rg_ingest_req in;
    memset(&err, 0, sizeof err);
    st = rg_ingest_req_parse((const char *)data, size, &in, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK) {
        FUZZ_CHECK(!in.collection || rg_collection_name_check(in.collection, &err) == RG_OK, "bad collection");
        FUZZ_CHECK(in.npaths >= 1 && in.npaths <= 4096, "path count out of range");
        for (size_t i = 0; i < in.npaths; i++)
            FUZZ_CHECK(in.paths[i] && *in.paths[i], "empty path accepted");
        rg_ingest_req_free(&in);
    } else {
        FUZZ_CHECK(!in.paths && !in.collection, "a refused ingest request kept allocations");
    }
    return 0;
}
