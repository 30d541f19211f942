/* The safetensors loader (memory-mapped model weights).  Properties: a
 * hostile header or truncated file is refused with a message; every tensor
 * of an accepted file lies inside the file and converts to float32 (or is
 * refused with a message) without reading outside the mapping. */
#include "fuzz.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    char *path = fuzz_write("model.safetensors", data, size);
    rg_safetensors *st = NULL;
    rg_error err = {0};
    rg_status rc = rg_safetensors_open(path, &st, &err);
    FUZZ_CHECK_ERROR(rc, err);
    if (rc == RG_OK) {
        size_t n = rg_safetensors_count(st);
        size_t hlen = 0;
        rg_safetensors_header(st, &hlen);
        FUZZ_CHECK(hlen <= size, "header longer than the file");
        for (size_t i = 0; i < n; i++) {
            const rg_st_tensor *t = rg_safetensors_at(st, i);
            FUZZ_CHECK(t && t->name, "tensor %zu has no name", i);
            FUZZ_CHECK(rg_safetensors_find(st, t->name) != NULL, "tensor %s cannot be found by name", t->name);
            FUZZ_CHECK(t->ndim >= 0 && t->ndim <= RG_ST_MAX_DIMS, "tensor %s has %d dims", t->name, t->ndim);
            FUZZ_CHECK(t->nbytes <= size, "tensor %s claims %zu bytes in a %zu-byte file", t->name, t->nbytes, size);
            int64_t any[RG_ST_MAX_DIMS];
            for (int d = 0; d < RG_ST_MAX_DIMS; d++)
                any[d] = -1;
            const float *f = NULL;
            float *owned = NULL;
            rg_error e2 = {0};
            rg_status r2 = rg_safetensors_get_f32(st, t, t->ndim, any, &f, &owned, &e2);
            FUZZ_CHECK_ERROR(r2, e2);
            if (r2 == RG_OK && t->numel > 0) {
                /* Touch the first and last element: ASan catches reads past the data. */
                volatile float x = f[0] + f[t->numel - 1];
                (void)x;
            }
            free(owned);
            char shape[256];
            rg_st_shape_str(t->ndim, t->shape, shape, sizeof shape);
        }
        rg_safetensors_free(st);
    }
    free(path);
    return 0;
}
