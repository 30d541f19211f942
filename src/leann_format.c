/* On-disk files of a leann collection.  Both share a 32-byte header:
 *
 *   0  magic[8]        "RGLEANNG" (graph) or "RGLEANNC" (codes)
 *   8  u32 version     LEANN_FORMAT_VERSION
 *  12  u32 flags       LEANN_FILE_ZSTD, for codes also LEANN_CODES_INT8 and
 *                      LEANN_CODES_PACK4
 *  16  u64 payload     stored payload length in bytes
 *  24  u32 crc         CRC32C of the stored payload
 *  28  u32 hcrc        CRC32C of bytes 0..27
 *
 * All integers little-endian.  Logical graph payload: u32 n, u32 entry, u16
 * max_degree, u16 pruned_degree, n flag bytes, then per node a varint
 * degree and the neighbour ids sorted ascending as varint deltas (CSR with
 * delta + varint: about two bytes an edge, e.g. 1.9 on scifact).  Logical
 * codes payload: u32 n, u32 dim, u32 m, u32 ksub, the codebooks, then n*m
 * code bytes.  Codebooks (m*ksub*dsub values, sub-quantiser by
 * sub-quantiser) are float16, or with flag LEANN_CODES_INT8 m float32
 * scales followed by the values as int8 (value = int8 * scale of its
 * sub-quantiser), half the bytes; they are written in the form they were
 * trained for, so encoding always matches what a reader decodes.  With
 * flag LEANN_CODES_PACK4 (ksub <= 16) the codes are n*ceil(m/2) bytes, two
 * a byte, sub-quantiser 2i in the low nibble; without it one a byte (every
 * file written before 4-bit codes existed, whatever its ksub).  In memory
 * codes are always one byte a sub-quantiser (ADC indexes by byte).
 *
 * Stored payload.  With flag LEANN_FILE_ZSTD (every file written since it
 * exists) it is u64 raw, u64 zlen, a zstd frame of zlen bytes (declaring
 * its content size) holding the first raw bytes of the logical payload,
 * then the rest of the logical payload as is; without it (older files) the
 * logical payload itself.  A graph is compressed whole (163 KB -> 131 KB on
 * scifact); of a codes file only the parameters and codebooks (262 KB ->
 * 152 KB): the codes are near-random bytes zstd cannot shrink, and at 256K
 * nodes compressing 32 MB of them would slow every checkpoint for nothing.
 * An older ragged refuses these files as "unknown flags (written by another
 * ragged version)", so the flag needs no new format version.  The CRC
 * covers the stored bytes: damage is caught before zstd sees it.
 *
 * Reading checks everything (lengths, ids in range, codes < ksub) so a
 * damaged, truncated or foreign file is RG_ERR_CORRUPT naming the file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "leann.h"
#include "util.h"

static void buf_put16(rg_buf *b, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    rg_buf_append(b, t, 2);
}

static void buf_putvar(rg_buf *b, uint64_t v)
{
    uint8_t t[10];
    rg_buf_append(b, t, leann_varint_put(t, v));
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

void leann_nbrs_encode(const uint32_t *nbrs, int deg, rg_buf *out)
{
    uint32_t s[256];
    memcpy(s, nbrs, sizeof(uint32_t) * (size_t)deg);
    qsort(s, (size_t)deg, sizeof(uint32_t), cmp_u32);
    buf_putvar(out, (uint64_t)deg);
    uint32_t prev = 0;
    for (int i = 0; i < deg; i++) {
        buf_putvar(out, (uint64_t)(s[i] - prev));
        prev = s[i];
    }
}

/* Decodes one list; returns bytes used or 0 when malformed. */
static size_t nbrs_decode(const uint8_t *p, size_t n, uint32_t *out, int max, int *deg_out)
{
    uint64_t deg, v;
    size_t off = leann_varint_get(p, n, &deg);
    if (!off || deg > (uint64_t)max)
        return 0;
    uint64_t prev = 0;
    for (uint64_t i = 0; i < deg; i++) {
        size_t k = leann_varint_get(p + off, n - off, &v);
        /* Truncated, a duplicate neighbour, or a delta so large that prev
         * would wrap around to an id already listed (the writer sorts, so
         * a duplicate read here would be written as a delta of 0). */
        if (!k || (i > 0 && v == 0) || v >= LEANN_NONE)
            return 0;
        off += k;
        prev += v;
        if (prev >= LEANN_NONE)
            return 0;
        out[i] = (uint32_t)prev;
    }
    *deg_out = (int)deg;
    return off;
}

int leann_nbrs_decode(const uint8_t *p, size_t n, uint32_t *out, int max)
{
    int deg = 0;
    size_t used = nbrs_decode(p, n, out, max, &deg);
    return used == n ? deg : -1;
}

/* zstd level 1 for both files: neither has much for match finding (the
 * int8 codebooks are near their order-0 entropy, 149 KB of 262 KB at
 * 1024-d; the graph is varint deltas of scattered ids), so the gain is the
 * entropy coding, which level 1 gets as well as any.  Measured on scifact:
 * codebooks 152.2 KB in 1 ms at level 1, 161 KB at levels 3 to 15 (whose
 * short matches cost more than they save), 152.2 KB at 19 in 76 ms; graph
 * 131.5 KB in 0.2 ms at 1, 131.3 KB in 1.7 ms at 6.  A synthetic 7.7 MB
 * graph (256K nodes, rewritten at every checkpoint) takes ~10 ms at 1
 * against 40 ms at 6 and 2.7 s at 19. */
#define ZSTD_LEVEL 1

/* Writes header + payload, the first zprefix bytes of the payload as one
 * zstd frame (see the top of the file). */
static rg_status write_with_header(const char *path, const char *magic, uint32_t flags, const rg_buf *payload,
                                   size_t zprefix, int64_t *bytes, rg_error *err)
{
    rg_buf all;
    rg_buf_init(&all);
    size_t bound = ZSTD_compressBound(zprefix);
    rg_buf_reserve(&all, LEANN_HEADER_SIZE + 16 + bound + (payload->len - zprefix));
    all.len = LEANN_HEADER_SIZE + 16;
    size_t z = ZSTD_compress(all.data + all.len, bound, payload->data, zprefix, ZSTD_LEVEL);
    if (ZSTD_isError(z)) {
        rg_buf_free(&all);
        return rg_error_set(err, RG_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(z));
    }
    all.len += z;
    rg_buf_append(&all, payload->data + zprefix, payload->len - zprefix);
    uint8_t *h = (uint8_t *)all.data;
    size_t plen = all.len - LEANN_HEADER_SIZE;
    rg_le64_put(h + LEANN_HEADER_SIZE, zprefix);
    rg_le64_put(h + LEANN_HEADER_SIZE + 8, z);
    memcpy(h, magic, 8);
    rg_le32_put(h + 8, LEANN_FORMAT_VERSION);
    rg_le32_put(h + 12, flags | LEANN_FILE_ZSTD);
    rg_le64_put(h + 16, plen);
    rg_le32_put(h + 24, rg_crc32c(0, h + LEANN_HEADER_SIZE, plen));
    rg_le32_put(h + 28, rg_crc32c(0, h, 28));
    rg_status st = rg_write_file_atomic(path, all.data, all.len, err);
    if (bytes)
        *bytes = (int64_t)all.len;
    rg_buf_free(&all);
    return st;
}

static rg_status corrupt(rg_error *err, const char *path, const char *why)
{
    return rg_error_set(err, RG_ERR_CORRUPT,
                        "leann file %s is damaged or not a ragged leann file (%s); restore the "
                        "collection from a backup or delete it and ingest again",
                        path, why);
}

/* The logical payload of a file as two pieces, head then tail: a
 * decompressed section and the bytes stored after its frame, or (a file
 * without LEANN_FILE_ZSTD) the whole payload in head, tail empty. */
typedef struct {
    char *file;
    uint8_t *section;
    const uint8_t *head, *tail;
    size_t hlen, tlen;
} payload;

/* Byte off of the logical payload (off < hlen + tlen). */
static const uint8_t *payload_at(const payload *pl, size_t off)
{
    return off < pl->hlen ? pl->head + off : pl->tail + (off - pl->hlen);
}

static void payload_free(payload *pl)
{
    free(pl->file);
    free(pl->section);
    memset(pl, 0, sizeof *pl);
}

/* Decompresses the frame at the start of a stored payload; returns why it
 * is bad, or NULL.  The declared length is trusted only up to 4 times the
 * frame plus 64 KB (real files compress 1.2 to 1.7 times): one call into a
 * buffer of that size.  Beyond, the buffer grows with what zstd actually
 * produces, so a few crafted bytes cannot make a reader allocate gigabytes
 * (a frame header can claim any size). */
static const char *unzstd(payload *pl, const uint8_t *p, size_t len)
{
    if (len < 16)
        return "compressed section header truncated";
    uint64_t raw = rg_le64(p), zlen = rg_le64(p + 8);
    p += 16;
    len -= 16;
    if (zlen > len)
        return "compressed section truncated";
    if (raw > (uint64_t)1 << 34)
        return "compressed section length absurd";
    if (ZSTD_getFrameContentSize(p, zlen) != raw)
        return "compressed section length mismatch";
    if (ZSTD_findFrameCompressedSize(p, zlen) != zlen)
        return "compressed section malformed or followed by garbage";
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    if (!dc)
        return "out of memory for zstd";
    size_t cap = raw < 4 * zlen + 65536 ? raw : 4 * zlen + 65536;
    pl->section = rg_xmalloc(cap + 1);
    ZSTD_inBuffer in = {p, zlen, 0};
    ZSTD_outBuffer out = {pl->section, cap, 0};
    const char *why = NULL;
    if (cap == raw) {   /* the usual case: one call, no window buffer to copy through */
        size_t r = ZSTD_decompressDCtx(dc, pl->section, cap, p, zlen);
        if (ZSTD_isError(r))
            why = "compressed section does not decompress";
        in.pos = zlen;
        out.pos = ZSTD_isError(r) ? 0 : r;
    } else {
        for (;;) {
            size_t r = ZSTD_decompressStream(dc, &out, &in);
            if (ZSTD_isError(r)) {
                why = "compressed section does not decompress";
                break;
            }
            if (r == 0)
                break;   /* frame complete */
            if (out.pos < out.size && in.pos == in.size) {
                why = "compressed section truncated";
                break;
            }
            if (out.pos == out.size) {
                if (cap == raw) {
                    why = "compressed section longer than declared";
                    break;
                }
                cap = raw / 2 < cap ? raw : 2 * cap;
                pl->section = rg_xrealloc(pl->section, cap + 1);
                out.dst = pl->section;
                out.size = cap;
            }
        }
    }
    ZSTD_freeDCtx(dc);
    if (!why && (in.pos != zlen || out.pos != raw))
        why = "compressed section length mismatch";
    if (why)
        return why;
    pl->head = pl->section;
    pl->hlen = (size_t)raw;
    pl->tail = p + zlen;
    pl->tlen = len - zlen;
    return NULL;
}

/* Reads a file, checks the header and returns the logical payload. */
static rg_status read_with_header(const char *path, const char *magic, uint32_t flags_allowed, uint32_t *flags,
                                  payload *pl, rg_error *err)
{
    size_t len = 0;
    memset(pl, 0, sizeof *pl);
    rg_status st = rg_read_file(path, (size_t)1 << 34, &pl->file, &len, err);
    if (st != RG_OK)
        return st;
    const uint8_t *h = (const uint8_t *)pl->file;
    const char *why = NULL;
    if (len < LEANN_HEADER_SIZE)
        why = "shorter than its header";
    else if (memcmp(h, magic, 8) != 0)
        why = "wrong magic";
    else if (rg_le32(h + 28) != rg_crc32c(0, h, 28))
        why = "header checksum mismatch";
    else if (rg_le32(h + 8) != LEANN_FORMAT_VERSION)
        why = "unsupported format version (written by another ragged version)";
    else if ((rg_le32(h + 12) & ~flags_allowed) != 0)
        why = "unknown flags (written by another ragged version)";
    else if (rg_le64(h + 16) != len - LEANN_HEADER_SIZE)
        why = "truncated or has trailing bytes";
    else if (rg_le32(h + 24) != rg_crc32c(0, h + LEANN_HEADER_SIZE, len - LEANN_HEADER_SIZE))
        why = "checksum mismatch";
    else if (rg_le32(h + 12) & LEANN_FILE_ZSTD)
        why = unzstd(pl, h + LEANN_HEADER_SIZE, len - LEANN_HEADER_SIZE);
    else {
        pl->head = h + LEANN_HEADER_SIZE;
        pl->hlen = len - LEANN_HEADER_SIZE;
        pl->tail = pl->head + pl->hlen;
    }
    if (why) {
        payload_free(pl);
        return corrupt(err, path, why);
    }
    if (flags)
        *flags = rg_le32(h + 12);
    return RG_OK;
}

rg_status leann_graph_write(const leann_graph *g, const char *path, int64_t *bytes, rg_error *err)
{
    rg_buf b;
    rg_buf_init(&b);
    rg_buf_put_le32(&b, g->n);
    rg_buf_put_le32(&b, g->entry);
    buf_put16(&b, (uint16_t)g->max_degree);
    buf_put16(&b, (uint16_t)g->pruned_degree);
    if (g->n)
        rg_buf_append(&b, g->flags, g->n);
    for (uint32_t v = 0; v < g->n; v++)
        leann_nbrs_encode(leann_graph_nbrs(g, v), g->deg[v], &b);
    rg_status st = write_with_header(path, LEANN_GRAPH_MAGIC, 0, &b, b.len, bytes, err);
    rg_buf_free(&b);
    return st;
}

rg_status leann_graph_read(leann_graph *g, const char *path, rg_error *err)
{
    payload pl;
    rg_status st = read_with_header(path, LEANN_GRAPH_MAGIC, LEANN_FILE_ZSTD, NULL, &pl, err);
    if (st != RG_OK)
        return st;
    const uint8_t *p = pl.head;
    size_t len = pl.hlen;
    if (pl.tlen) {   /* the writer compresses a graph whole */
        payload_free(&pl);
        return corrupt(err, path, "bytes after the compressed graph");
    }
    if (len < 12) {
        payload_free(&pl);
        return corrupt(err, path, "graph header too short");
    }
    uint32_t n = rg_le32(p), entry = rg_le32(p + 4);
    int maxd = p[8] | p[9] << 8, prd = p[10] | p[11] << 8;
    size_t off = 12;
    if (maxd < 1 || maxd > 256 || prd < 1 || prd > maxd || len - off < n ||
        (entry != LEANN_NONE && entry >= n) || (n > 0 && entry == LEANN_NONE)) {
        payload_free(&pl);
        return corrupt(err, path, "bad graph parameters");
    }
    leann_graph_init(g, maxd, prd);
    leann_graph_reserve(g, n);
    g->n = n;
    g->entry = entry;
    if (n)
        memcpy(g->flags, p + off, n);
    off += n;
    for (uint32_t v = 0; v < n; v++) {
        int deg = 0;
        size_t k = nbrs_decode(p + off, len - off, leann_graph_nbrs(g, v), maxd, &deg);
        bool bad = k == 0;
        for (int i = 0; !bad && i < deg; i++)
            bad = leann_graph_nbrs(g, v)[i] >= n;
        if (bad || g->flags[v] > (LEANN_NODE_HUB | LEANN_NODE_DELETED)) {
            payload_free(&pl);
            leann_graph_free(g);
            return corrupt(err, path, "bad adjacency list");
        }
        g->deg[v] = (uint16_t)deg;
        off += k;
    }
    payload_free(&pl);
    if (off != len) {
        leann_graph_free(g);
        return corrupt(err, path, "trailing bytes after the adjacency lists");
    }
    return RG_OK;
}

rg_status leann_codes_write(const leann_pq *pq, const uint8_t *codes, uint32_t n, const char *path,
                            int64_t *bytes, rg_error *err)
{
    rg_buf b;
    rg_buf_init(&b);
    rg_buf_put_le32(&b, n);
    rg_buf_put_le32(&b, (uint32_t)pq->dim);
    rg_buf_put_le32(&b, (uint32_t)pq->m);
    rg_buf_put_le32(&b, (uint32_t)pq->ksub);
    size_t nc = (size_t)pq->m * pq->ksub * pq->dsub, per = (size_t)pq->ksub * pq->dsub;
    if (pq->scales) {
        for (int j = 0; j < pq->m; j++) {
            uint32_t u;
            memcpy(&u, &pq->scales[j], 4);
            rg_buf_put_le32(&b, u);
        }
        for (size_t i = 0; i < nc; i++) {
            uint8_t q = (uint8_t)leann_pq_int8_of(pq->centroids[i], pq->scales[i / per]);
            rg_buf_append(&b, &q, 1);
        }
    } else {
        for (size_t i = 0; i < nc; i++)
            buf_put16(&b, leann_f32_to_f16(pq->centroids[i]));
    }
    bool pack = pq->ksub <= 16;
    if (n && !pack)
        rg_buf_append(&b, codes, (size_t)n * pq->m);
    for (uint32_t v = 0; pack && v < n; v++) {
        const uint8_t *c = codes + (size_t)v * pq->m;
        for (int j = 0; j < pq->m; j += 2) {
            uint8_t two = (uint8_t)((c[j] & 15) | (j + 1 < pq->m ? (c[j + 1] & 15) << 4 : 0));
            rg_buf_append(&b, &two, 1);
        }
    }
    uint32_t flags = (pq->scales ? LEANN_CODES_INT8 : 0) | (pack ? LEANN_CODES_PACK4 : 0);
    size_t head = b.len - (size_t)n * (pack ? (size_t)(pq->m + 1) / 2 : (size_t)pq->m);
    rg_status st = write_with_header(path, LEANN_CODES_MAGIC, flags, &b, head, bytes, err);
    rg_buf_free(&b);
    return st;
}

rg_status leann_codes_read(leann_pq *pq, uint8_t **codes, uint32_t *n_out, const char *path,
                           rg_error *err)
{
    payload pl;
    memset(pq, 0, sizeof *pq);
    *codes = NULL;
    uint32_t flags = 0;
    rg_status st = read_with_header(path, LEANN_CODES_MAGIC, LEANN_CODES_INT8 | LEANN_CODES_PACK4 | LEANN_FILE_ZSTD,
                                    &flags, &pl, err);
    if (st != RG_OK)
        return st;
    const uint8_t *p = pl.head;
    if (pl.hlen < 16) {
        payload_free(&pl);
        return corrupt(err, path, "codes header too short");
    }
    uint32_t n = rg_le32(p), dim = rg_le32(p + 4), m = rg_le32(p + 8), ksub = rg_le32(p + 12);
    if (dim == 0 || dim > 65536 || m == 0 || m > dim || dim % m != 0 || ksub == 0 || ksub > 256) {
        payload_free(&pl);
        return corrupt(err, path, "bad codebook parameters");
    }
    bool int8 = flags & LEANN_CODES_INT8, pack = flags & LEANN_CODES_PACK4;
    if (pack && ksub > 16) {
        payload_free(&pl);
        return corrupt(err, path, "packed 4-bit codes with more than 16 centroids");
    }
    size_t nc = (size_t)ksub * dim, per = nc / m;
    size_t cbytes = int8 ? (size_t)m * 4 + nc : nc * 2;
    size_t stride = pack ? (m + 1) / 2 : m;
    /* A compressed section is exactly the parameters and codebooks. */
    if (pl.hlen + pl.tlen != 16 + cbytes + (size_t)n * stride || (pl.section && pl.hlen != 16 + cbytes)) {
        payload_free(&pl);
        return corrupt(err, path, "size does not match its parameters");
    }
    pq->dim = (int)dim;
    pq->m = (int)m;
    pq->dsub = (int)(dim / m);
    pq->ksub = (int)ksub;
    pq->centroids = rg_xmalloc(sizeof(float) * nc);
    if (int8) {
        pq->scales = rg_xmalloc(sizeof(float) * m);
        for (uint32_t j = 0; j < m; j++) {
            uint32_t u = rg_le32(p + 16 + 4 * (size_t)j);
            memcpy(&pq->scales[j], &u, 4);
            if (!isfinite(pq->scales[j]) || pq->scales[j] < 0) {
                payload_free(&pl);
                leann_pq_free(pq);
                return corrupt(err, path, "bad codebook scale");
            }
        }
        const int8_t *q = (const int8_t *)(p + 16 + (size_t)m * 4);
        for (size_t i = 0; i < nc; i++)
            pq->centroids[i] = (float)q[i] * pq->scales[i / per];
    } else {
        for (size_t i = 0; i < nc; i++)
            pq->centroids[i] = leann_f16_to_f32((uint16_t)(p[16 + 2 * i] | p[17 + 2 * i] << 8));
    }
    const uint8_t *c0 = payload_at(&pl, 16 + cbytes), *cp = c0;
    *codes = rg_xmalloc((size_t)n * m + 1);
    if (pack) {
        uint8_t *out = *codes;
        for (uint32_t v = 0; v < n; v++, cp += stride, out += m)
            for (uint32_t j = 0; j < m; j++)
                out[j] = (uint8_t)(j & 1 ? cp[j / 2] >> 4 : cp[j / 2] & 15);
        if (m & 1)
            for (uint32_t v = 0; v < n; v++)   /* the unused high nibble of a node's last byte */
                if (c0[(size_t)v * stride + stride - 1] >> 4) {
                    payload_free(&pl);
                    free(*codes);
                    *codes = NULL;
                    leann_pq_free(pq);
                    return corrupt(err, path, "code out of range");
                }
    } else {
        memcpy(*codes, cp, (size_t)n * m);
    }
    /* With 256 centroids every byte is a valid code (16 with 4-bit codes):
     * the check would cost a few instructions per byte of every open for
     * nothing. */
    bool all_valid = ksub == 256 || (pack && ksub == 16);
    for (size_t i = 0; !all_valid && i < (size_t)n * m; i++) {
        if ((*codes)[i] >= ksub) {
            payload_free(&pl);
            free(*codes);
            *codes = NULL;
            leann_pq_free(pq);
            return corrupt(err, path, "code out of range");
        }
    }
    leann_pq_prepare(pq);
    *n_out = n;
    payload_free(&pl);
    return RG_OK;
}
