/* The leann PQ codes file loader (codes.bin: header, centroids, one code of
 * m bytes per node).  Properties: refusal with a message, or codebooks and
 * codes a query can use without reading outside them: every code decodes
 * (ASan checks the centroid lookups) and the ADC distance is finite. */
#include <math.h>

#include "fuzz_leann.h"

/* Input: see fuzz_write_leann_file (fuzz_leann.h). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    char *path = fuzz_write_leann_file("codes.bin", LEANN_CODES_MAGIC, LEANN_CODES_INT8 | LEANN_CODES_PACK4 | LEANN_FILE_ZSTD,
                                  data, size);
    leann_pq pq;
    memset(&pq, 0, sizeof pq);
    uint8_t *codes = NULL;
    uint32_t n = 0;
    rg_error err = {0};
    rg_status st = leann_codes_read(&pq, &codes, &n, path, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK) {
        FUZZ_CHECK(pq.m > 0 && pq.dim > 0 && pq.dsub * pq.m == pq.dim && pq.ksub > 0 && pq.ksub <= 256,
                   "accepted dim %d, m %d, dsub %d, ksub %d", pq.dim, pq.m, pq.dsub, pq.ksub);
        FUZZ_CHECK((size_t)n * (size_t)pq.m <= size, "%u codes of %d bytes from a %zu-byte file", n, pq.m, size);
        float *x = rg_xmalloc((size_t)pq.dim * sizeof *x);
        float *q = rg_xcalloc((size_t)pq.dim, sizeof *q);
        q[0] = 1.0f;
        float *table = rg_xmalloc((size_t)pq.m * (size_t)pq.ksub * sizeof *table);
        leann_pq_table(&pq, q, table);
        for (uint32_t i = 0; i < n && i < 4096; i++) {
            const uint8_t *c = codes + (size_t)i * (size_t)pq.m;
            for (int j = 0; j < pq.m; j++)
                FUZZ_CHECK(c[j] < pq.ksub, "code %u byte %d is %u, only %d centroids", i, j, c[j], pq.ksub);
            leann_pq_decode(&pq, c, x);
            (void)leann_pq_distance(&pq, table, c);
        }
        free(x);
        free(q);
        free(table);
    }
    free(codes);
    leann_pq_free(&pq);
    free(path);
    return 0;
}
