/* Read-only safetensors files, memory-mapped.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
 * then the tensor bytes (offsets relative to the end of the header). */
#ifndef RG_SAFETENSORS_H
#define RG_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define RG_ST_MAX_DIMS 8

typedef enum rg_st_dtype { RG_ST_F32, RG_ST_F16, RG_ST_BF16, RG_ST_OTHER } rg_st_dtype;

typedef struct rg_st_tensor {
    const char *name;
    rg_st_dtype dtype;
    const char *dtype_name;    /* as written in the file, e.g. "F16", "I64" */
    int ndim;
    int64_t shape[RG_ST_MAX_DIMS];
    int64_t numel;
    const void *data;          /* inside the mapping */
    size_t nbytes;
} rg_st_tensor;

typedef struct rg_safetensors rg_safetensors;

rg_status rg_safetensors_open(const char *path, rg_safetensors **out, rg_error *err);
void rg_safetensors_free(rg_safetensors *st);

const char *rg_safetensors_path(const rg_safetensors *st);
size_t rg_safetensors_count(const rg_safetensors *st);
const rg_st_tensor *rg_safetensors_at(const rg_safetensors *st, size_t i);
/* NULL when absent. */
const rg_st_tensor *rg_safetensors_find(const rg_safetensors *st, const char *name);
uint64_t rg_safetensors_file_size(const rg_safetensors *st);
/* The raw JSON header (for fingerprints). */
const char *rg_safetensors_header(const rg_safetensors *st, size_t *len);

/* Converts a tensor to float32 after checking its shape (ndim dims; a
 * negative expected dim accepts any size).  When the tensor is already
 * aligned F32 the result points into the mapping and *owned is NULL;
 * otherwise *owned is the malloc'd copy the caller frees.  Errors name the
 * file, the tensor, and the expected and actual shape/dtype. */
rg_status rg_safetensors_get_f32(const rg_safetensors *st, const rg_st_tensor *t, int ndim, const int64_t *shape,
                                 const float **data, float **owned, rg_error *err);

/* Shape as "[384, 1536]" into buf. */
void rg_st_shape_str(int ndim, const int64_t *shape, char *buf, size_t n);

float rg_f16_to_f32(uint16_t h);
float rg_bf16_to_f32(uint16_t h);
uint16_t rg_f32_to_f16(float f);

#endif
