/* gzip and zip files written by the tests themselves (zlib), so the
 * compressed-format readers need no fixture files. */
#ifndef RG_TEST_ARCHIVE_UTIL_H
#define RG_TEST_ARCHIVE_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util.h"

/* data compressed with windowBits wbits (31: gzip, -15: raw deflate) into
 * out; returns the compressed length. */
static inline size_t ta_deflate(const void *data, size_t n, int wbits, rg_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&zs, (uLong)n) + 32;
    size_t start = out->len;
    rg_buf_reserve(out, cap);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)out->data + start;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    out->len = start + zs.total_out;
    deflateEnd(&zs);
    return zs.total_out;
}

static inline void ta_gzip(const void *data, size_t n, rg_buf *out)
{
    ta_deflate(data, n, 31, out);
}

/* A zip archive built member by member (deflated unless stored). */
typedef struct ta_zip {
    rg_buf body, central;
    unsigned count;
} ta_zip;

static inline void ta_le16(rg_buf *b, unsigned v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    rg_buf_append(b, x, 2);
}

static inline void ta_le32(rg_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    rg_buf_append(b, x, 4);
}

static inline void ta_zip_add(ta_zip *z, const char *name, const void *data, size_t n, bool stored)
{
    rg_buf packed;
    rg_buf_init(&packed);
    if (stored)
        rg_buf_append(&packed, data, n);
    else
        ta_deflate(data, n, -15, &packed);
    uint32_t crc = (uint32_t)crc32(0, (const Bytef *)data, (uInt)n);
    size_t off = z->body.len, nl = strlen(name);
    unsigned method = stored ? 0 : 8;
    ta_le32(&z->body, 0x04034b50);
    ta_le16(&z->body, 20), ta_le16(&z->body, 0), ta_le16(&z->body, method), ta_le16(&z->body, 0),
        ta_le16(&z->body, 0x21);
    ta_le32(&z->body, crc), ta_le32(&z->body, (uint32_t)packed.len), ta_le32(&z->body, (uint32_t)n);
    ta_le16(&z->body, (unsigned)nl), ta_le16(&z->body, 0);
    rg_buf_append(&z->body, name, nl);
    rg_buf_append(&z->body, packed.data, packed.len);
    ta_le32(&z->central, 0x02014b50);
    ta_le16(&z->central, 20), ta_le16(&z->central, 20), ta_le16(&z->central, 0), ta_le16(&z->central, method);
    ta_le16(&z->central, 0), ta_le16(&z->central, 0x21);
    ta_le32(&z->central, crc), ta_le32(&z->central, (uint32_t)packed.len), ta_le32(&z->central, (uint32_t)n);
    ta_le16(&z->central, (unsigned)nl), ta_le16(&z->central, 0), ta_le16(&z->central, 0);
    ta_le16(&z->central, 0), ta_le16(&z->central, 0), ta_le32(&z->central, 0), ta_le32(&z->central, (uint32_t)off);
    rg_buf_append(&z->central, name, nl);
    z->count++;
    rg_buf_free(&packed);
}

static inline void ta_zip_add_str(ta_zip *z, const char *name, const char *s)
{
    ta_zip_add(z, name, s, strlen(s), false);
}

/* Appends the central directory; the archive is z->body. */
static inline void ta_zip_finish(ta_zip *z)
{
    size_t cd = z->body.len;
    rg_buf_append(&z->body, z->central.data, z->central.len);
    ta_le32(&z->body, 0x06054b50);
    ta_le16(&z->body, 0), ta_le16(&z->body, 0), ta_le16(&z->body, z->count), ta_le16(&z->body, z->count);
    ta_le32(&z->body, (uint32_t)z->central.len), ta_le32(&z->body, (uint32_t)cd), ta_le16(&z->body, 0);
    rg_buf_free(&z->central);
}

#endif
