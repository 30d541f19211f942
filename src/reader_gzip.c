/* gzip-compressed files ("x.txt.gz", "changelog.Debian.gz", man pages):
 * inflated with zlib, then read by the reader of the inner name
 * (rg_reader_inner_find), so "x.md.gz" is Markdown and "ls.1.gz" a man
 * page.  The decompressed size is bounded by doc->max_expanded (the same
 * ingest.max_file_mb an uncompressed file gets): a gzip bomb is refused
 * with a message, never inflated into memory.  One level only: "x.gz.gz"
 * is refused, so work stays proportional to the bound. */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "reader.h"
#include "reader_priv.h"

static const char *const gzip_extensions[] = {"gz", NULL};

/* Window bits for inflateInit2: 15-bit window, gzip wrapper only. */
#define GZIP_WBITS (15 + 16)

size_t rg_gunzip_head(const unsigned char *data, size_t len, unsigned char *out, size_t cap)
{
    if (len < 18 || data[0] != 0x1f || data[1] != 0x8b)
        return 0;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, GZIP_WBITS) != Z_OK)
        return 0;
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)RG_MIN(len, (size_t)UINT32_MAX);
    zs.next_out = out;
    zs.avail_out = (uInt)RG_MIN(cap, (size_t)UINT32_MAX);
    /* Z_SYNC_FLUSH: give out whatever the input so far decodes to, even if
     * the stream is cut short (the caller passes only the file's head). */
    (void)inflate(&zs, Z_SYNC_FLUSH);
    size_t got = cap - zs.avail_out;
    inflateEnd(&zs);
    return got;
}

rg_status rg_gunzip(const char *path, const char *data, size_t len, size_t max_out, rg_buf *out, rg_error *err)
{
    const unsigned char *p = (const unsigned char *)data;
    if (len < 18 || p[0] != 0x1f || p[1] != 0x8b)
        return rg_error_set(err, RG_ERR_INVALID, "%s is named .gz but is not a gzip file (no gzip header)", path);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, GZIP_WBITS) != Z_OK)
        return rg_error_set(err, RG_ERR_NOMEM, "%s: cannot start zlib's decompressor", path);
    size_t pos = 0;
    rg_status st = RG_OK;
    /* Chunked so a bomb is stopped one byte past the bound, not after
     * allocating its full size; the buffer grows only as output arrives. */
    const size_t step = 256 * 1024;
    for (;;) {
        size_t room = RG_MIN(step, max_out + 1 - out->len);
        rg_buf_reserve(out, room);
        zs.next_in = (Bytef *)p + pos;
        zs.avail_in = (uInt)RG_MIN(len - pos, (size_t)UINT32_MAX);
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = (uInt)room;
        size_t before_in = zs.avail_in;
        int zr = inflate(&zs, Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        pos += before_in - zs.avail_in;
        if (out->len > max_out) {
            st = rg_error_set(err, RG_ERR_INVALID,
                              "%s decompresses to more than %.1f MB (ingest.max_file_mb); skipped as a possible gzip "
                              "bomb (raise the limit to read it)",
                              path, (double)max_out / 1048576.0);
            break;
        }
        if (zr == Z_STREAM_END) {
            /* Concatenated members (cat a.gz b.gz > c.gz) are one file;
             * other bytes after the last member are padding some tools
             * add, ignored as gzip -d does. */
            if (len - pos >= 18 && p[pos] == 0x1f && p[pos + 1] == 0x8b) {
                inflateReset(&zs);
                continue;
            }
            break;
        }
        if (zr == Z_OK)
            continue;
        if (zr == Z_BUF_ERROR && pos >= len)
            st = rg_error_set(err, RG_ERR_INVALID, "%s: the gzip data ends early (truncated file)", path);
        else
            st = rg_error_set(err, RG_ERR_INVALID, "%s: damaged gzip data (%s)", path,
                              zs.msg ? zs.msg : (zr == Z_MEM_ERROR ? "out of memory" : "inflate failed"));
        break;
    }
    inflateEnd(&zs);
    rg_buf_reserve(out, 0);
    out->data[out->len] = '\0';
    return st;
}

static rg_status gzip_read(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    size_t max = doc->max_expanded ? doc->max_expanded : RG_READ_EXPANDED_DEFAULT;
    rg_buf plain;
    rg_buf_init(&plain);
    rg_status st = rg_gunzip(path, data, len, max, &plain, err);
    if (st != RG_OK) {
        rg_buf_free(&plain);
        return st;
    }
    const rg_reader_ops *inner =
        rg_reader_inner_find(path, (const unsigned char *)plain.data, RG_MIN(plain.len, (size_t)8192));
    if (!inner && plain.len == 0)
        inner = &rg_reader_text; /* an empty file: "no text", not "unsupported" */
    if (!inner) {
        st = rg_error_set(err, RG_ERR_INVALID,
                          "%s: the compressed file is not a kind ragged reads (binary or unsupported type); "
                          "ragged reads %s",
                          path, RG_READER_KINDS);
        rg_buf_free(&plain);
        return st;
    }
    st = inner->read(path, plain.data, plain.len, doc, err);
    rg_buf_free(&plain);
    if (st == RG_OK && !doc->format)
        doc->format = inner->name;
    return st;
}

const rg_reader_ops rg_reader_gzip = {
    .name = "gzip",
    .extensions = gzip_extensions,
    .read = gzip_read,
};
