/* Shared by the leann file fuzz targets (fuzz_leann_graph, fuzz_leann_codes). */
#ifndef RG_FUZZ_LEANN_H
#define RG_FUZZ_LEANN_H

#include "fuzz.h"
#include "leann.h"

/* Input: a mode byte, then either the whole file (mode bit 0 set) or the
 * payload only, to which a valid header with correct CRCs is added so the
 * mutations reach the payload parser instead of dying at the checksum;
 * mode bits 1 to 3 are then the header's flags (LEANN_CODES_INT8 1,
 * LEANN_CODES_PACK4 2, LEANN_FILE_ZSTD 4: a stored payload that starts
 * with its zstd section). */
static char *fuzz_write_leann_file(const char *name, const char *magic, uint32_t allowed, const uint8_t *data,
                              size_t size)
{
    if (size < 1)
        return fuzz_write(name, "", 0);
    if (data[0] & 1)
        return fuzz_write(name, data + 1, size - 1);
    const uint8_t *pl = data + 1;
    size_t n = size - 1;
    uint8_t *f = rg_xmalloc(LEANN_HEADER_SIZE + n);
    memcpy(f, magic, 8);
    uint32_t v[2] = {LEANN_FORMAT_VERSION, (uint32_t)(data[0] >> 1) & allowed};
    for (int i = 0; i < 4; i++) {
        f[8 + i] = (uint8_t)(v[0] >> (8 * i));
        f[12 + i] = (uint8_t)(v[1] >> (8 * i));
    }
    for (int i = 0; i < 8; i++)
        f[16 + i] = (uint8_t)((uint64_t)n >> (8 * i));
    uint32_t crc = rg_crc32c(0, pl, n);
    for (int i = 0; i < 4; i++)
        f[24 + i] = (uint8_t)(crc >> (8 * i));
    uint32_t hcrc = rg_crc32c(0, f, 28);
    for (int i = 0; i < 4; i++)
        f[28 + i] = (uint8_t)(hcrc >> (8 * i));
    memcpy(f + LEANN_HEADER_SIZE, pl, n);
    char *path = fuzz_write(name, f, LEANN_HEADER_SIZE + n);
    free(f);
    return path;
}

#endif
