/* BM25 segment files: building, encoding, opening, checking and decoding.
 * See bm25.h for the model and docs/bm25.md for the byte layout.
 *
 * A segment is written once (rg_write_file_atomic: temp file, fsync,
 * rename) and never changed; lexical.c names it in its manifest only after
 * it is on disk.  Everything but the head is read lazily through mmap and
 * checked against per-64-KiB CRC32C values kept in the head, so opening a
 * large segment costs one page, a query reads (and checks once) only what
 * it touches, and a flipped bit anywhere is an RG_ERR_CORRUPT error when
 * the byte is read, never a changed answer. */
#include "bm25.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define SEG_MAGIC "RGBM25SG"
#define SEG_TRAILER "RGBM25EN"
#define SEG_VERSION 2   /* the format docs/bm25.md describes (1: uncompressed dictionary; rebuilt) */
#define IDS_PER_BLOCK 256
#define RESTART 1024               /* dictionary entries per compressed dictionary block */
#define CHUNK_SHIFT 16             /* 64 KiB checksum chunks */
#define HEAD_FIXED 144
#define NO_TF 7                    /* Rice parameter byte: no tf codes, every tf is 1 */
/* ids and dictionary: written once per segment, read a block at a time.
 * Level 19 squeezes the most out of a small collection, where they are a
 * large share of the index (SciFact's 6,925 chunks: the disk goal); in a
 * large one every record is rewritten by O(log n) merges and level 19
 * became most of the build's CPU (256K chunks: 38 s, more than FTS5's 35),
 * while postings dominate its bytes.  Segments above ZSTD_SMALL_DOCS
 * documents take ZSTD_LEVEL_LARGE. */
#define ZSTD_LEVEL_SMALL 19
#define ZSTD_LEVEL_LARGE 9
#define ZSTD_SMALL_DOCS 8192
/* A dictionary entry is at most 2 + RG_BM25_TERM_MAX bytes and three varints. */
#define DICT_BLOCK_MAX ((uint64_t)RESTART * (2 + RG_BM25_TERM_MAX + 30))

enum { R_DL, R_IDX, R_IDS, R_DIDX, R_DICT, R_POST, NREGIONS };

/* ---- little-endian and variable-length integers ---- */

static bool get_varint32(const uint8_t **p, const uint8_t *end, uint32_t *out)
{
    uint64_t v;
    if (!rg_varint_get(p, end, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static unsigned bits_for(uint32_t max)
{
    unsigned b = 0;
    while (b < 32 && (max >> b))
        b++;
    return b;
}

/* n values of `bits` bits each, least significant bit first. */
static void pack(rg_buf *out, const uint32_t *v, size_t n, unsigned bits)
{
    if (!bits)
        return;
    uint64_t acc = 0;
    unsigned nb = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint64_t)v[i] << nb;
        nb += bits;
        while (nb >= 8) {
            rg_buf_putc(out, (char)(acc & 0xff));
            acc >>= 8;
            nb -= 8;
        }
    }
    if (nb)
        rg_buf_putc(out, (char)acc);
}

static size_t packed_bytes(size_t n, unsigned bits)
{
    return (n * bits + 7) / 8;
}

static uint32_t unpack_one(const uint8_t *p, uint64_t i, unsigned bits)
{
    if (!bits)
        return 0;
    uint64_t bit = i * bits, acc = 0;
    const uint8_t *q = p + (bit >> 3);
    unsigned need = (unsigned)(bit & 7) + bits, have = 0;
    while (have < need) {
        acc |= (uint64_t)*q++ << have;
        have += 8;
    }
    acc >>= bit & 7;
    return (uint32_t)(acc & (bits == 32 ? 0xffffffffu : ((1u << bits) - 1)));
}

/* ---- the builder ---- */

typedef struct bterm {
    uint32_t name, len;            /* in b->names */
    uint32_t *post;                /* doc, tf pairs */
    uint32_t n, cap;               /* pairs */
} bterm;

struct rg_bm25_builder {
    rg_buf names;                  /* term bytes */
    bterm *terms;
    uint32_t nterms, cap;
    uint32_t *slots;               /* hash table of term index + 1 (0: empty) */
    uint32_t nslots;
    rg_buf ids;                    /* NUL-terminated ids */
    uint32_t *dls;
    uint32_t ndocs, dcap;
    uint64_t total_dl;
};

rg_bm25_builder *rg_bm25_builder_new(void)
{
    rg_bm25_builder *b = rg_xcalloc(1, sizeof *b);
    b->nslots = 1024;
    b->slots = rg_xcalloc(b->nslots, sizeof *b->slots);
    rg_buf_init(&b->names);
    rg_buf_init(&b->ids);
    return b;
}

void rg_bm25_builder_free(rg_bm25_builder *b)
{
    if (!b)
        return;
    for (uint32_t i = 0; i < b->nterms; i++)
        free(b->terms[i].post);
    free(b->terms);
    free(b->slots);
    free(b->dls);
    rg_buf_free(&b->names);
    rg_buf_free(&b->ids);
    free(b);
}

size_t rg_bm25_builder_ndocs(const rg_bm25_builder *b)
{
    return b->ndocs;
}

static void grow_slots(rg_bm25_builder *b)
{
    uint32_t n = b->nslots * 2;
    uint32_t *s = rg_xcalloc(n, sizeof *s);
    for (uint32_t i = 0; i < b->nterms; i++) {
        uint64_t h = rg_hash64(b->names.data + b->terms[i].name, b->terms[i].len, 0);
        uint32_t at = (uint32_t)h & (n - 1);
        while (s[at])
            at = (at + 1) & (n - 1);
        s[at] = i + 1;
    }
    free(b->slots);
    b->slots = s;
    b->nslots = n;
}

static bterm *term_of(rg_bm25_builder *b, const char *t, size_t len)
{
    uint64_t h = rg_hash64(t, len, 0);
    uint32_t at = (uint32_t)h & (b->nslots - 1);
    while (b->slots[at]) {
        bterm *x = &b->terms[b->slots[at] - 1];
        if (x->len == len && !memcmp(b->names.data + x->name, t, len))
            return x;
        at = (at + 1) & (b->nslots - 1);
    }
    if (b->nterms == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->terms = rg_xrealloc(b->terms, b->cap * sizeof *b->terms);
    }
    bterm *x = &b->terms[b->nterms++];
    *x = (bterm){.name = (uint32_t)b->names.len, .len = (uint32_t)len};
    rg_buf_append(&b->names, t, len);
    b->slots[at] = b->nterms;
    if (b->nterms * 2 > b->nslots)
        grow_slots(b);
    return &b->terms[b->nterms - 1];
}

static void post_add(bterm *x, uint32_t doc, uint32_t tf)
{
    if (x->n && x->post[2 * (x->n - 1)] == doc) {
        x->post[2 * (x->n - 1) + 1] += tf;
        return;
    }
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 2;
        x->post = rg_xrealloc(x->post, 2 * (size_t)x->cap * sizeof *x->post);
    }
    x->post[2 * x->n] = doc;
    x->post[2 * x->n + 1] = tf;
    x->n++;
}

static uint32_t add_doc(rg_bm25_builder *b, const char *id, uint32_t dl)
{
    if (b->ndocs == b->dcap) {
        b->dcap = b->dcap ? b->dcap * 2 : 256;
        b->dls = rg_xrealloc(b->dls, b->dcap * sizeof *b->dls);
    }
    rg_buf_append(&b->ids, id, strlen(id) + 1);
    b->dls[b->ndocs] = dl;
    b->total_dl += dl;
    return b->ndocs++;
}

uint32_t rg_bm25_builder_add(rg_bm25_builder *b, const char *id, const char *terms, size_t len)
{
    uint32_t dl = 0;
    uint32_t doc = add_doc(b, id, 0);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && terms[j] != ' ')
            j++;
        if (j > i && j - i <= RG_BM25_TERM_MAX) {
            post_add(term_of(b, terms + i, j - i), doc, 1);
            dl++;
        }
        i = j + 1;
    }
    b->dls[doc] = dl;
    b->total_dl += dl;
    return doc;
}

static int cmp_term(const void *x, const void *y, void *ctx)
{
    const rg_bm25_builder *b = ctx;
    const bterm *a = &b->terms[*(const uint32_t *)x], *c = &b->terms[*(const uint32_t *)y];
    size_t n = a->len < c->len ? a->len : c->len;
    int r = memcmp(b->names.data + a->name, b->names.data + c->name, n);
    return r ? r : (a->len > c->len) - (a->len < c->len);
}

/* Rice codes, least significant bit first: v >> k in unary (that many
 * ones, then a zero), then the k low bits of v. */
typedef struct bitw {
    rg_buf *out;
    uint64_t acc;
    unsigned nb;
} bitw;

static void bits_put(bitw *w, uint64_t v, unsigned n)
{
    while (n) {
        unsigned take = n < 32 ? n : 32;
        w->acc |= (v & ((1ull << take) - 1)) << w->nb;
        w->nb += take;
        v >>= take;
        n -= take;
        while (w->nb >= 8) {
            rg_buf_putc(w->out, (char)(w->acc & 0xff));
            w->acc >>= 8;
            w->nb -= 8;
        }
    }
}

static void rice_put(bitw *w, uint32_t v, unsigned k)
{
    for (uint32_t q = v >> k; q;) {
        unsigned run = q < 32 ? q : 32;
        bits_put(w, (1ull << run) - 1, run);
        q -= run;
    }
    bits_put(w, 0, 1);
    bits_put(w, v, k);
}

static void bits_flush(bitw *w)
{
    if (w->nb)
        rg_buf_putc(w->out, (char)(w->acc & 0xff));
    w->acc = 0;
    w->nb = 0;
}

/* The Rice parameter (at most max_k) that codes v[0..n) in fewest bits. */
static unsigned rice_k(const uint32_t *v, size_t n, unsigned max_k, uint64_t *bits)
{
    unsigned best = 0;
    uint64_t best_bits = UINT64_MAX;
    for (unsigned k = 0; k <= max_k; k++) {
        uint64_t t = 0;
        for (size_t i = 0; i < n; i++)
            t += (v[i] >> k) + 1 + k;
        if (t < best_bits) {
            best_bits = t;
            best = k;
        }
    }
    *bits = best_bits;
    return best;
}

/* Blocks of up to 128 documents; the count of each follows from the
 * term's document frequency.  Header: (last document - (previous block's
 * last + 1)) << 1 | (largest tf > 1) (varint), the largest tf (varint)
 * only if it is > 1; with more than one document also the smallest
 * document length (varint; a one-document block takes it from the lengths
 * region), the payload length (varint), a byte kd << 3 | kt, and the
 * payload: the gaps - 1 Rice-coded with kd, then tf - 1 with kt,
 * byte-aligned (kt = NO_TF: every tf is 1, no tf codes).  The last block
 * of a term, when it holds more than one document, is only the byte and
 * the payload, which ends the term's postings: the reader decodes it at
 * once and takes its last document, largest tf and (from the lengths
 * region) smallest length from what it decoded. */
static void encode_postings(const bterm *x, rg_buf *out, const uint32_t *dls)
{
    uint32_t prev_last = UINT32_MAX;   /* -1 */
    uint32_t d[RG_BM25_BLOCK], f[RG_BM25_BLOCK];
    rg_buf pay;
    rg_buf_init(&pay);
    for (uint32_t at = 0; at < x->n; at += RG_BM25_BLOCK) {
        uint32_t n = x->n - at < RG_BM25_BLOCK ? x->n - at : RG_BM25_BLOCK;
        uint32_t max_tf = 0, min_dl = UINT32_MAX, prev = prev_last;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t doc = x->post[2 * (at + i)], tf = x->post[2 * (at + i) + 1];
            d[i] = doc - prev - 1;
            f[i] = tf - 1;
            prev = doc;
            if (tf > max_tf)
                max_tf = tf;
            if (dls[doc] < min_dl)
                min_dl = dls[doc];
        }
        bool tail = n > 1 && at + n == x->n;
        if (!tail) {
            rg_buf_put_varint(out, (uint64_t)(prev - (prev_last + 1)) << 1 | (max_tf > 1));
            if (max_tf > 1)
                rg_buf_put_varint(out, max_tf);
            if (n > 1)
                rg_buf_put_varint(out, min_dl);
        }
        if (n > 1) {
            uint64_t bd, bf;
            unsigned kd = rice_k(d, n, 31, &bd), kt = rice_k(f, n, 6, &bf);
            pay.len = 0;
            bitw w = {&pay, 0, 0};
            for (uint32_t i = 0; i < n; i++)
                rice_put(&w, d[i], kd);
            for (uint32_t i = 0; max_tf > 1 && i < n; i++)   /* largest tf 1: every tf is 1 */
                rice_put(&w, f[i], kt);
            bits_flush(&w);
            if (!tail)
                rg_buf_put_varint(out, pay.len);   /* a tail block's payload ends the list */
            rg_buf_putc(out, (char)(kd << 3 | (max_tf > 1 ? kt : NO_TF)));
            rg_buf_append(out, pay.data, pay.len);
        }
        prev_last = prev;
    }
    rg_buf_free(&pay);
}

/* Appends a zstd frame of the block's entries to the dictionary region
 * (after the block's first term, which the index search reads raw). */
static void zappend(ZSTD_CCtx *cctx, int level, rg_buf *out, const void *src, size_t n)
{
    size_t bound = ZSTD_compressBound(n);
    rg_buf_reserve(out, bound);
    size_t z = ZSTD_compressCCtx(cctx, out->data + out->len, bound, src, n, level);
    if (ZSTD_isError(z)) { /* cannot happen with a bound-sized buffer */
        fprintf(stderr, "ragged: zstd: %s\n", ZSTD_getErrorName(z));
        abort();
    }
    out->len += z;
}

static void dict_flush(ZSTD_CCtx *cctx, int level, rg_buf *raw, rg_buf *dict)
{
    if (!raw->len)
        return;
    rg_buf z;
    rg_buf_init(&z);
    zappend(cctx, level, &z, raw->data, raw->len);
    rg_buf_put_varint(dict, z.len);
    rg_buf_append(dict, z.data, z.len);
    rg_buf_free(&z);
    raw->len = 0;
}

void rg_bm25_builder_encode(rg_bm25_builder *b, rg_buf *out)
{
    rg_buf reg[NREGIONS];
    for (int i = 0; i < NREGIONS; i++)
        rg_buf_init(&reg[i]);
    /* document lengths */
    uint32_t maxdl = 0;
    for (uint32_t i = 0; i < b->ndocs; i++)
        if (b->dls[i] > maxdl)
            maxdl = b->dls[i];
    unsigned dl_bits = bits_for(maxdl);
    pack(&reg[R_DL], b->dls, b->ndocs, dl_bits);
    /* ids: zstd frames of IDS_PER_BLOCK NUL-terminated ids */
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    int level = b->ndocs <= ZSTD_SMALL_DOCS ? ZSTD_LEVEL_SMALL : ZSTD_LEVEL_LARGE;
    size_t off = 0;
    for (uint32_t i = 0; i < b->ndocs; i += IDS_PER_BLOCK) {
        size_t start = off;
        for (uint32_t j = i; j < b->ndocs && j < i + IDS_PER_BLOCK; j++)
            off += strlen(b->ids.data + off) + 1;
        rg_buf_put_le32(&reg[R_IDX], (uint32_t)reg[R_IDS].len);
        zappend(cctx, level, &reg[R_IDS], b->ids.data + start, off - start);
    }
    rg_buf_put_le32(&reg[R_IDX], (uint32_t)reg[R_IDS].len);
    /* dictionary and postings, terms in byte order */
    uint32_t *order = rg_xmalloc((b->nterms ? b->nterms : 1) * sizeof *order);
    for (uint32_t i = 0; i < b->nterms; i++)
        order[i] = i;
    qsort_r(order, b->nterms, sizeof *order, cmp_term, b);
    const char *prev = NULL;
    uint32_t prev_len = 0;
    rg_buf raw;
    rg_buf_init(&raw);
    for (uint32_t i = 0; i < b->nterms; i++) {
        bterm *x = &b->terms[order[i]];
        const char *name = b->names.data + x->name;
        size_t post_off = reg[R_POST].len;
        encode_postings(x, &reg[R_POST], b->dls);
        /* Given back as soon as written: a merge of the large segments
         * holds every posting of them (8 bytes each, over 100 MB at 291K
         * chunks), and the encoded regions and the output grow meanwhile. */
        free(x->post);
        x->post = NULL;
        x->cap = 0;
        uint32_t shared = 0;
        if (i % RESTART == 0) {
            dict_flush(cctx, level, &raw, &reg[R_DICT]);
            rg_buf_put_le32(&reg[R_DIDX], (uint32_t)reg[R_DICT].len);
            rg_buf_putc(&reg[R_DICT], (char)x->len);
            rg_buf_append(&reg[R_DICT], name, x->len);
        } else {
            while (shared < x->len && shared < prev_len && shared < 255 && name[shared] == prev[shared])
                shared++;
        }
        rg_buf_putc(&raw, (char)shared);
        rg_buf_putc(&raw, (char)(x->len - shared));
        rg_buf_append(&raw, name + shared, x->len - shared);
        rg_buf_put_varint(&raw, x->n);
        if (i % RESTART == 0)
            rg_buf_put_varint(&raw, post_off);
        rg_buf_put_varint(&raw, reg[R_POST].len - post_off);
        prev = name;
        prev_len = x->len;
    }
    dict_flush(cctx, level, &raw, &reg[R_DICT]);
    rg_buf_free(&raw);
    ZSTD_freeCCtx(cctx);
    free(order);
    /* head */
    size_t nchunks = 0;
    for (int i = 0; i < NREGIONS; i++)
        nchunks += (reg[i].len + ((size_t)1 << CHUNK_SHIFT) - 1) >> CHUNK_SHIFT;
    size_t head_len = HEAD_FIXED + 4 * nchunks + 4;
    size_t body = 0;
    for (int i = 0; i < NREGIONS; i++)
        body += reg[i].len;
    rg_buf_reserve(out, head_len + body + 8);   /* once, not doubling past it */
    size_t start = out->len;
    rg_buf_append(out, SEG_MAGIC, 8);
    rg_buf_put_le32(out, SEG_VERSION);
    rg_buf_put_le32(out, (uint32_t)head_len);
    rg_buf_put_le32(out, b->ndocs);
    rg_buf_put_le32(out, b->nterms);
    rg_buf_put_le64(out, b->total_dl);
    rg_buf_put_le32(out, dl_bits);
    rg_buf_put_le32(out, IDS_PER_BLOCK);
    rg_buf_put_le32(out, RESTART);
    rg_buf_put_le32(out, CHUNK_SHIFT);
    uint64_t at = head_len;
    for (int i = 0; i < NREGIONS; i++) {
        rg_buf_put_le64(out, at);
        rg_buf_put_le64(out, reg[i].len);
        at += reg[i].len;
    }
    for (int i = 0; i < NREGIONS; i++)
        for (size_t c = 0; c < reg[i].len; c += (size_t)1 << CHUNK_SHIFT) {
            size_t n = reg[i].len - c < ((size_t)1 << CHUNK_SHIFT) ? reg[i].len - c : (size_t)1 << CHUNK_SHIFT;
            rg_buf_put_le32(out, rg_crc32c(0, reg[i].data + c, n));
        }
    rg_buf_put_le32(out, rg_crc32c(0, out->data + start, head_len - 4));
    for (int i = 0; i < NREGIONS; i++) {
        if (reg[i].len)
            rg_buf_append(out, reg[i].data, reg[i].len);
        rg_buf_free(&reg[i]);
    }
    rg_buf_append(out, SEG_TRAILER, 8);
}

/* ---- reading ---- */

typedef struct region {
    const uint8_t *p;
    uint64_t len;
    const uint8_t *crcs;           /* one u32 per chunk, in the head */
    uint8_t *checked;              /* bitset of chunks already checked */
} region;

/* A decompressed dictionary block. */
typedef struct dblock {
    uint32_t blk;                  /* UINT32_MAX: none */
    uint8_t *p;
    size_t len, cap;
} dblock;

struct rg_bm25_seg {
    char *name;
    const uint8_t *base;
    size_t len;
    void *map;                     /* munmap on free (NULL: borrowed) */
    uint32_t ndocs, nterms, dl_bits, nrestarts, nidblocks;
    uint64_t total_dl;
    region r[NREGIONS];
    ZSTD_DCtx *dctx;
    uint32_t id_block;             /* cached decoded block (UINT32_MAX: none) */
    char *id_buf;
    size_t id_cap;
    uint32_t id_off[IDS_PER_BLOCK];
    uint32_t id_n;
    dblock *dict;                  /* decompressed dictionary blocks, filled as lookups need them */
};

static rg_status corrupt(const rg_bm25_seg *s, const char *what, rg_error *err)
{
    return rg_error_set(err, RG_ERR_CORRUPT,
                        "BM25 segment %s is damaged (%s); " RG_BM25_REINDEX_HINT,
                        s->name, what);
}

/* Checks the chunks of region ri covering [off, off + n). */
static rg_status check(rg_bm25_seg *s, int ri, uint64_t off, uint64_t n, rg_error *err)
{
    region *r = &s->r[ri];
    if (off > r->len || n > r->len - off)
        return corrupt(s, "an offset points outside its region", err);
    if (!n)
        return RG_OK;
    for (uint64_t c = off >> CHUNK_SHIFT; c <= (off + n - 1) >> CHUNK_SHIFT; c++) {
        if (r->checked[c >> 3] & (1u << (c & 7)))
            continue;
        uint64_t at = c << CHUNK_SHIFT, len = r->len - at < ((uint64_t)1 << CHUNK_SHIFT) ? r->len - at
                                                                                       : (uint64_t)1 << CHUNK_SHIFT;
        if (rg_crc32c(0, r->p + at, (size_t)len) != rg_le32(r->crcs + 4 * c))
            return corrupt(s, "checksum mismatch", err);
        r->checked[c >> 3] |= (uint8_t)(1u << (c & 7));
    }
    return RG_OK;
}

rg_status rg_bm25_seg_parse(const void *data, size_t len, const char *name, rg_bm25_seg **out, rg_error *err)
{
    *out = NULL;
    rg_bm25_seg *s = rg_xcalloc(1, sizeof *s);
    s->name = rg_xstrdup(name);
    s->base = data;
    s->len = len;
    s->id_block = UINT32_MAX;
    const uint8_t *b = data;
    rg_status rc = RG_OK;
    if (len < HEAD_FIXED + 4 + 8 || memcmp(b, SEG_MAGIC, 8))
        rc = corrupt(s, "not a BM25 segment: bad magic or too short", err);
    else if (rg_le32(b + 8) != SEG_VERSION)
        rc = rg_error_set(err, RG_ERR_CORRUPT,
                          "BM25 segment %s has format version %u; this ragged reads version %d (%s); "
                          RG_BM25_REINDEX_HINT,
                          name, rg_le32(b + 8), SEG_VERSION,
                          rg_le32(b + 8) < SEG_VERSION ? "an older ragged wrote it" : "a newer ragged wrote it?");
    uint32_t head_len = rc == RG_OK ? rg_le32(b + 12) : 0;
    if (rc == RG_OK && (head_len < HEAD_FIXED + 4 || head_len > len - 8 || (head_len - HEAD_FIXED) % 4))
        rc = corrupt(s, "bad head length", err);
    if (rc == RG_OK && rg_crc32c(0, b, head_len - 4) != rg_le32(b + head_len - 4))
        rc = corrupt(s, "head checksum mismatch", err);
    if (rc == RG_OK && memcmp(b + len - 8, SEG_TRAILER, 8))
        rc = corrupt(s, "truncated: no trailer", err);
    if (rc == RG_OK) {
        s->ndocs = rg_le32(b + 16);
        s->nterms = rg_le32(b + 20);
        s->total_dl = rg_le64(b + 24);
        s->dl_bits = rg_le32(b + 32);
        if (s->dl_bits > 32 || rg_le32(b + 36) != IDS_PER_BLOCK || rg_le32(b + 40) != RESTART ||
            rg_le32(b + 44) != CHUNK_SHIFT)
            rc = corrupt(s, "unknown layout parameters", err);
    }
    uint64_t at = head_len;
    size_t crc_at = HEAD_FIXED;
    for (int i = 0; rc == RG_OK && i < NREGIONS; i++) {
        uint64_t off = rg_le64(b + 48 + 16 * i), n = rg_le64(b + 56 + 16 * i);
        uint64_t nchunks = (n + ((uint64_t)1 << CHUNK_SHIFT) - 1) >> CHUNK_SHIFT;
        if (off != at || n > len - 8 - at || crc_at + 4 * nchunks > head_len - 4) {
            rc = corrupt(s, "region bounds", err);
            break;
        }
        s->r[i] = (region){b + off, n, b + crc_at, rg_xcalloc(nchunks / 8 + 1, 1)};
        crc_at += 4 * nchunks;
        at += n;
    }
    if (rc == RG_OK && (at != len - 8 || crc_at != head_len - 4))
        rc = corrupt(s, "regions do not fill the file", err);
    if (rc == RG_OK) {
        s->nrestarts = (s->nterms + RESTART - 1) / RESTART;
        s->nidblocks = (s->ndocs + IDS_PER_BLOCK - 1) / IDS_PER_BLOCK;
        if (s->r[R_DL].len != packed_bytes(s->ndocs, s->dl_bits) || s->r[R_DIDX].len != 4ull * s->nrestarts ||
            s->r[R_IDX].len != 4ull * (s->nidblocks + 1))
            rc = corrupt(s, "region sizes do not match the counts", err);
    }
    if (rc != RG_OK) {
        rg_bm25_seg_free(s);
        return rc;
    }
    *out = s;
    return RG_OK;
}

rg_status rg_bm25_seg_open(const char *path, rg_bm25_seg **out, rg_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rg_error_set(err, errno == ENOENT ? RG_ERR_CORRUPT : RG_ERR_IO,
                            "cannot open BM25 segment %s: %s; " RG_BM25_REINDEX_HINT,
                            path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size <= 0) {
        close(fd);
        return rg_error_set(err, RG_ERR_CORRUPT, "BM25 segment %s is empty; " RG_BM25_REINDEX_HINT, path);
    }
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return rg_error_set(err, RG_ERR_IO, "cannot map %s: %s", path, strerror(errno));
    rg_status rc = rg_bm25_seg_parse(map, (size_t)sb.st_size, path, out, err);
    if (rc != RG_OK)
        munmap(map, (size_t)sb.st_size);
    else
        (*out)->map = map;
    return rc;
}

void rg_bm25_seg_free(rg_bm25_seg *s)
{
    if (!s)
        return;
    for (int i = 0; i < NREGIONS; i++)
        free(s->r[i].checked);
    if (s->map)
        munmap(s->map, s->len);
    ZSTD_freeDCtx(s->dctx);
    free(s->id_buf);
    for (uint32_t i = 0; s->dict && i < s->nrestarts; i++)
        free(s->dict[i].p);
    free(s->dict);
    free(s->name);
    free(s);
}

uint32_t rg_bm25_seg_ndocs(const rg_bm25_seg *s)
{
    return s->ndocs;
}

uint64_t rg_bm25_seg_bytes(const rg_bm25_seg *s)
{
    return s->len;
}

rg_status rg_bm25_seg_dl(rg_bm25_seg *s, uint32_t doc, uint32_t *dl, rg_error *err)
{
    if (doc >= s->ndocs)
        return corrupt(s, "document number out of range", err);
    uint64_t bit = (uint64_t)doc * s->dl_bits;
    rg_status rc = check(s, R_DL, bit >> 3, s->dl_bits ? ((bit & 7) + s->dl_bits + 7) / 8 : 0, err);
    if (rc == RG_OK)
        *dl = unpack_one(s->r[R_DL].p, doc, s->dl_bits);
    return rc;
}

rg_status rg_bm25_seg_id(rg_bm25_seg *s, uint32_t doc, const char **id, rg_error *err)
{
    if (doc >= s->ndocs)
        return corrupt(s, "document number out of range", err);
    uint32_t blk = doc / IDS_PER_BLOCK;
    if (blk != s->id_block) {
        s->id_block = UINT32_MAX;
        rg_status rc = check(s, R_IDX, 4ull * blk, 8, err);
        if (rc != RG_OK)
            return rc;
        uint32_t a = rg_le32(s->r[R_IDX].p + 4ull * blk), z = rg_le32(s->r[R_IDX].p + 4ull * blk + 4);
        if (z < a)
            return corrupt(s, "id block offsets", err);
        rc = check(s, R_IDS, a, z - a, err);
        if (rc != RG_OK)
            return rc;
        uint32_t want = s->ndocs - blk * IDS_PER_BLOCK < IDS_PER_BLOCK ? s->ndocs - blk * IDS_PER_BLOCK : IDS_PER_BLOCK;
        unsigned long long raw = ZSTD_getFrameContentSize(s->r[R_IDS].p + a, z - a);
        if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > (unsigned long long)want * 1024)
            return corrupt(s, "id block header", err);
        if (!s->dctx)
            s->dctx = ZSTD_createDCtx();
        if (s->id_cap < raw + 1) {
            s->id_cap = (size_t)raw + 1;
            s->id_buf = rg_xrealloc(s->id_buf, s->id_cap);
        }
        size_t r = ZSTD_decompressDCtx(s->dctx, s->id_buf, (size_t)raw, s->r[R_IDS].p + a, z - a);
        if (ZSTD_isError(r) || r != raw)
            return corrupt(s, "id block", err);
        uint32_t n = 0;
        for (size_t i = 0, start = 0; i < raw; i++)
            if (!s->id_buf[i]) {
                if (n == want || i == start)
                    return corrupt(s, "id block contents", err);
                s->id_off[n++] = (uint32_t)start;
                start = i + 1;
            }
        if (n != want || s->id_buf[raw - 1])
            return corrupt(s, "id block contents", err);
        s->id_n = n;
        s->id_block = blk;
    }
    *id = s->id_buf + s->id_off[doc % IDS_PER_BLOCK];
    return RG_OK;
}

/* One dictionary entry; *p advances past it.  prev holds the previous
 * term (RG_BM25_TERM_MAX + 1 bytes) and receives this one. */
typedef struct dentry {
    char term[RG_BM25_TERM_MAX + 1];
    uint32_t len, df;
    uint64_t off, plen;
} dentry;

static bool read_entry(const uint8_t **p, const uint8_t *end, bool restart, dentry *e)
{
    if (end - *p < 2)
        return false;
    uint32_t shared = (*p)[0], suffix = (*p)[1];
    *p += 2;
    if ((restart && shared) || shared > e->len || shared + suffix > RG_BM25_TERM_MAX || suffix == 0 ||
        (uint64_t)(end - *p) < suffix)
        return false;
    memcpy(e->term + shared, *p, suffix);
    *p += suffix;
    e->len = shared + suffix;
    e->term[e->len] = '\0';
    uint64_t off = e->off + e->plen;
    if (!get_varint32(p, end, &e->df) || e->df == 0 || (restart && !rg_varint_get(p, end, &off)) ||
        !rg_varint_get(p, end, &e->plen))
        return false;
    e->off = off;
    return true;
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    return r ? r : (an > bn) - (an < bn);
}

/* Dictionary block blk decompressed into d (kept while d->blk == blk).
 * In the region a block is its first term (length u8, bytes: what the
 * index search compares), the frame length (varint) and a zstd frame of
 * the block's entries; the entries' first term must be the same. */
static rg_status dict_block(rg_bm25_seg *s, uint32_t blk, dblock *d, rg_error *err)
{
    if (d->blk == blk)
        return RG_OK;
    d->blk = UINT32_MAX;
    const region *r = &s->r[R_DICT];
    uint32_t off = rg_le32(s->r[R_DIDX].p + 4ull * blk);
    uint64_t stop = blk + 1 < s->nrestarts ? rg_le32(s->r[R_DIDX].p + 4ull * (blk + 1)) : r->len;
    if (stop < off || stop > r->len)
        return corrupt(s, "dictionary index", err);
    rg_status rc = check(s, R_DICT, off, stop - off, err);
    if (rc != RG_OK)
        return rc;
    const uint8_t *p = r->p + off, *end = r->p + stop;
    uint64_t zlen;
    if (p == end || (uint64_t)(end - p) < 1ull + p[0])
        return corrupt(s, "dictionary block", err);
    const uint8_t *first = p + 1;
    size_t first_len = p[0];
    p += 1 + first_len;
    if (!rg_varint_get(&p, end, &zlen) || zlen != (uint64_t)(end - p))
        return corrupt(s, "dictionary block", err);
    unsigned long long raw = ZSTD_getFrameContentSize(p, (size_t)zlen);
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw < 2 || raw > DICT_BLOCK_MAX)
        return corrupt(s, "dictionary block header", err);
    if (!s->dctx)
        s->dctx = ZSTD_createDCtx();
    if (d->cap < raw) {
        d->cap = (size_t)raw;
        d->p = rg_xrealloc(d->p, d->cap);
    }
    size_t got = ZSTD_decompressDCtx(s->dctx, d->p, (size_t)raw, p, (size_t)zlen);
    if (ZSTD_isError(got) || got != raw)
        return corrupt(s, "dictionary block", err);
    /* The first entry: shared 0, then the same term as the raw copy. */
    if (d->p[0] != 0 || d->p[1] != first_len || raw < 2ull + first_len || memcmp(d->p + 2, first, first_len))
        return corrupt(s, "dictionary block does not match its index", err);
    d->len = (size_t)raw;
    d->blk = blk;
    return RG_OK;
}

static rg_status cursor_init(rg_bm25_seg *s, const dentry *e, rg_bm25_cursor *c, rg_error *err)
{
    rg_status rc = check(s, R_POST, e->off, e->plen, err);
    if (rc != RG_OK)
        return rc;
    memset(c, 0, offsetof(rg_bm25_cursor, docs));
    c->seg = s;
    c->p = s->r[R_POST].p + e->off;
    c->end = c->p + e->plen;
    c->df = e->df;
    c->seen = 0;
    c->prev_last = UINT32_MAX;
    c->last = UINT32_MAX;
    bool more;
    rc = rg_bm25_cursor_next_block(c, &more, err);
    if (rc == RG_OK && !more)
        rc = corrupt(s, "empty postings", err);
    return rc;
}

rg_status rg_bm25_seg_term(rg_bm25_seg *s, const char *term, size_t len, rg_bm25_cursor *c, bool *found,
                           rg_error *err)
{
    *found = false;
    if (!s->nterms || len == 0 || len > RG_BM25_TERM_MAX)
        return RG_OK;
    rg_status rc = check(s, R_DIDX, 0, s->r[R_DIDX].len, err);
    if (rc != RG_OK)
        return rc;
    const region *d = &s->r[R_DICT];
    /* The last block whose first term is <= term. */
    uint32_t lo = 0, hi = s->nrestarts;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t off = rg_le32(s->r[R_DIDX].p + 4ull * mid);
        if (off >= d->len)
            return corrupt(s, "dictionary index", err);
        if ((rc = check(s, R_DICT, off, d->len - off < 1 + RG_BM25_TERM_MAX ? d->len - off : 1 + RG_BM25_TERM_MAX,
                        err)) != RG_OK)
            return rc;
        const uint8_t *p = d->p + off;
        if (off + 1 + p[0] > d->len)
            return corrupt(s, "dictionary block", err);
        if (cmp_bytes((const char *)p + 1, p[0], term, len) <= 0)
            lo = mid;
        else
            hi = mid;
    }
    /* Each block is decompressed once per handle (the raw dictionary is
     * what format 1 mapped): repeated lookups cost what they did there. */
    if (!s->dict) {
        s->dict = rg_xcalloc(s->nrestarts, sizeof *s->dict);
        for (uint32_t i = 0; i < s->nrestarts; i++)
            s->dict[i].blk = UINT32_MAX;
    }
    if ((rc = dict_block(s, lo, &s->dict[lo], err)) != RG_OK)
        return rc;
    const uint8_t *p = s->dict[lo].p, *end = s->dict[lo].p + s->dict[lo].len;
    dentry e = {.len = 0};
    for (uint32_t i = 0; i < RESTART && lo * RESTART + i < s->nterms; i++) {
        if (!read_entry(&p, end, i == 0, &e))
            return corrupt(s, "dictionary entry", err);
        int r = cmp_bytes(e.term, e.len, term, len);
        if (r == 0) {
            *found = true;
            return cursor_init(s, &e, c, err);
        }
        if (r > 0)
            break;
    }
    return RG_OK;
}

rg_status rg_bm25_seg_terms(rg_bm25_seg *s, rg_status (*fn)(void *ctx, const char *term, size_t len,
                                                            rg_bm25_cursor *c, rg_error *err),
                            void *ctx, rg_error *err)
{
    rg_status rc = check(s, R_DICT, 0, s->r[R_DICT].len, err);
    if (rc == RG_OK)
        rc = check(s, R_DIDX, 0, s->r[R_DIDX].len, err);
    if (rc != RG_OK)
        return rc;
    if (s->nterms ? rg_le32(s->r[R_DIDX].p) != 0 : s->r[R_DICT].len != 0)
        return corrupt(s, "dictionary index", err);
    /* Its own block buffer: fn may look terms up in s. */
    dblock blk = {.blk = UINT32_MAX};
    const uint8_t *p = NULL, *end = NULL;
    dentry e = {.len = 0};
    char prev[RG_BM25_TERM_MAX + 1];
    uint32_t prev_len = 0;
    rg_bm25_cursor *c = rg_xmalloc(sizeof *c);
    for (uint32_t i = 0; rc == RG_OK && i < s->nterms; i++) {
        if (i % RESTART == 0) {
            if (i && p != end)
                rc = corrupt(s, "dictionary block has trailing bytes", err);
            if (rc == RG_OK)
                rc = dict_block(s, i / RESTART, &blk, err);
            if (rc != RG_OK)
                break;
            p = blk.p;
            end = blk.p + blk.len;
        }
        if (rc == RG_OK && !read_entry(&p, end, i % RESTART == 0, &e))
            rc = corrupt(s, "dictionary entry", err);
        if (rc == RG_OK && i && cmp_bytes(prev, prev_len, e.term, e.len) >= 0)
            rc = corrupt(s, "dictionary order", err);
        if (rc == RG_OK)
            rc = cursor_init(s, &e, c, err);
        if (rc == RG_OK)
            rc = fn(ctx, e.term, e.len, c, err);
        memcpy(prev, e.term, e.len);
        prev_len = e.len;
    }
    free(c);
    free(blk.p);
    if (rc == RG_OK && p != end)
        rc = corrupt(s, "dictionary block has trailing bytes", err);
    return rc;
}

rg_status rg_bm25_cursor_next_block(rg_bm25_cursor *c, bool *more, rg_error *err)
{
    *more = false;
    c->decoded = false;
    if (c->last != UINT32_MAX) {
        c->prev_last = c->last;
        c->seen += c->n;
    }
    if (c->seen >= c->df) {
        if (c->p != c->end)
            return corrupt(c->seg, "postings longer than their document count", err);
        return RG_OK;
    }
    const uint8_t *p = c->p;
    uint32_t n = c->df - c->seen < RG_BM25_BLOCK ? c->df - c->seen : RG_BM25_BLOCK;
    bool tail = n > 1 && c->seen + n == c->df;   /* last block: no last document in the header */
    uint64_t head = 0;
    c->max_tf = 1;
    c->min_dl = 0;   /* a tail block's: set when decoded */
    if (!tail && (!rg_varint_get(&p, c->end, &head) ||
                  ((head & 1) && (!get_varint32(&p, c->end, &c->max_tf) || c->max_tf < 2)) ||
                  (n > 1 && !get_varint32(&p, c->end, &c->min_dl))))
        return corrupt(c->seg, "postings block header", err);
    /* For a tail block the end of the segment bounds the range until it
     * is decoded (below). */
    uint64_t start = c->prev_last == UINT32_MAX ? 0 : (uint64_t)c->prev_last + 1, span = head >> 1,
             last = tail ? (uint64_t)c->seg->ndocs - 1 : start + span;
    if (span >= c->seg->ndocs || last >= c->seg->ndocs || last < start || last - start + 1 < n)
        return corrupt(c->seg, "postings block range", err);
    if (n == 1) {
        rg_status rc = rg_bm25_seg_dl(c->seg, (uint32_t)last, &c->min_dl, err);
        if (rc != RG_OK)
            return rc;
    }
    c->n = n;
    c->pos = 0;
    c->last = (uint32_t)last;
    c->payload = NULL;
    c->payload_len = 0;
    c->bits_doc = c->bits_tf = 0;
    if (n > 1) {
        if (tail)
            c->payload_len = c->end - p > 0 ? (uint32_t)(c->end - p - 1) : 0;
        else if (!get_varint32(&p, c->end, &c->payload_len))
            return corrupt(c->seg, "postings block header", err);
        if (p == c->end || (tail && c->end - p - 1 > (ptrdiff_t)UINT32_MAX))
            return corrupt(c->seg, "postings block header", err);
        c->bits_doc = *p >> 3;
        c->bits_tf = *p & 7;
        p++;
        if (!tail && (c->bits_tf == NO_TF) != (c->max_tf == 1))
            return corrupt(c->seg, "postings block header", err);
        if ((uint64_t)(c->end - p) < c->payload_len ||
            c->payload_len < ((c->bits_tf != NO_TF ? 2 : 1) * n + 7) / 8)
            return corrupt(c->seg, "postings block payload", err);
        c->payload = p;
        p += c->payload_len;
    }
    c->first = n == 1 ? c->last : UINT32_MAX;   /* known after decoding */
    c->last_exact = !tail;
    c->p = p;
    *more = true;
    /* The search skips by c->last: a tail block's is known once decoded. */
    return tail ? rg_bm25_cursor_decode(c, err) : RG_OK;
}

/* Reads Rice codes from [p, p + len); false past the end. */
typedef struct bitr {
    const uint8_t *p, *end;
    uint64_t acc;
    unsigned nb;
} bitr;

static void bitr_fill(bitr *r)
{
    while (r->nb <= 56 && r->p < r->end) {
        r->acc |= (uint64_t)*r->p++ << r->nb;
        r->nb += 8;
    }
}

static bool rice_get(bitr *r, unsigned k, uint32_t *out)
{
    uint64_t q = 0;
    for (;;) {
        bitr_fill(r);
        if (!r->nb)
            return false;
        uint64_t ones = ~r->acc;
        unsigned run = ones ? (unsigned)__builtin_ctzll(ones) : 64;
        if (run < r->nb) {
            q += run;
            /* run + 1 may be 64: a shift by the width is undefined (x86
             * leaves the value unchanged), so a full word is cleared. */
            r->acc = run + 1 >= 64 ? 0 : r->acc >> (run + 1);
            r->nb -= run + 1;
            break;
        }
        q += r->nb;
        r->acc = 0;
        r->nb = 0;
        if (q > UINT32_MAX)
            return false;
    }
    if (k) {
        bitr_fill(r);
        if (r->nb < k)
            return false;
        q = (q << k) | (r->acc & ((1ull << k) - 1));
        r->acc >>= k;
        r->nb -= k;
    }
    if (q > UINT32_MAX)
        return false;
    *out = (uint32_t)q;
    return true;
}

rg_status rg_bm25_cursor_decode(rg_bm25_cursor *c, rg_error *err)
{
    if (c->decoded)
        return RG_OK;
    if (c->n == 1) {
        c->docs[0] = c->last;
        c->tfs[0] = c->max_tf;
    } else {
        bitr r = {c->payload, c->payload + c->payload_len, 0, 0};
        uint64_t doc = c->prev_last == UINT32_MAX ? 0 : (uint64_t)c->prev_last + 1;
        uint32_t maxtf = 0;
        for (uint32_t i = 0; i < c->n; i++) {
            uint32_t g;
            if (!rice_get(&r, c->bits_doc, &g))
                return corrupt(c->seg, "postings documents", err);
            doc += g;
            if (doc > c->last)
                return corrupt(c->seg, "postings documents", err);
            c->docs[i] = (uint32_t)doc;
            doc++;
        }
        for (uint32_t i = 0; i < c->n; i++) {
            uint32_t f = 0;
            if (c->bits_tf != NO_TF && (!rice_get(&r, c->bits_tf, &f) || f == UINT32_MAX ||
                                        (c->last_exact && f >= c->max_tf)))
                return corrupt(c->seg, "postings frequencies", err);
            c->tfs[i] = f + 1;
            if (c->tfs[i] > maxtf)
                maxtf = c->tfs[i];
        }
        if (c->last_exact ? c->docs[c->n - 1] != c->last || maxtf != c->max_tf
                          : (c->bits_tf != NO_TF) != (maxtf > 1))
            return corrupt(c->seg, "postings block does not match its header", err);
        if (!c->last_exact) {
            /* A tail block: its bounds from what it holds. */
            uint32_t min_dl = UINT32_MAX;
            for (uint32_t i = 0; i < c->n; i++) {
                uint32_t dl;
                rg_status rc = rg_bm25_seg_dl(c->seg, c->docs[i], &dl, err);
                if (rc != RG_OK)
                    return rc;
                if (dl < min_dl)
                    min_dl = dl;
            }
            c->max_tf = maxtf;
            c->min_dl = min_dl;
        }
        c->last = c->docs[c->n - 1];
        c->last_exact = true;
        c->first = c->docs[0];
    }
    c->decoded = true;
    return RG_OK;
}

/* ---- merging ---- */

typedef struct merge_ctx {
    rg_bm25_builder *b;
    const uint32_t *map;           /* old document -> new, UINT32_MAX: dead */
} merge_ctx;

static rg_status merge_term(void *ctx, const char *term, size_t len, rg_bm25_cursor *c, rg_error *err)
{
    merge_ctx *m = ctx;
    bterm *x = NULL;
    uint32_t total = 0;
    for (bool more = true; more;) {
        rg_status rc = rg_bm25_cursor_decode(c, err);
        for (uint32_t i = 0; rc == RG_OK && i < c->n; i++) {
            uint32_t to = m->map[c->docs[i]];
            if (to == UINT32_MAX)
                continue;
            if (!x) {
                x = term_of(m->b, term, len);
                /* Room for this segment's postings of the term, exactly:
                 * doubling would leave up to half of a large merge's
                 * postings memory unused. */
                uint32_t left = c->df > total + i ? c->df - total - i : 0; /* a bad df is caught below */
                uint32_t need = x->n + left;
                if (x->cap < need) {
                    x->cap = need;
                    x->post = rg_xrealloc(x->post, 2 * (size_t)x->cap * sizeof *x->post);
                }
            }
            post_add(x, to, c->tfs[i]);
        }
        total += c->n;
        if (rc == RG_OK)
            rc = rg_bm25_cursor_next_block(c, &more, err);
        if (rc != RG_OK)
            return rc;
    }
    return total == c->df ? RG_OK : corrupt(c->seg, "postings count does not match the dictionary", err);
}

rg_status rg_bm25_builder_add_segment(rg_bm25_builder *b, rg_bm25_seg *s, const uint8_t *dead, rg_error *err)
{
    uint32_t *map = rg_xmalloc((s->ndocs ? s->ndocs : 1) * sizeof *map);
    rg_status rc = RG_OK;
    for (uint32_t d = 0; rc == RG_OK && d < s->ndocs; d++) {
        map[d] = UINT32_MAX;
        if (rg_bit_get(dead, d))
            continue;
        const char *id;
        uint32_t dl;
        rc = rg_bm25_seg_dl(s, d, &dl, err);
        if (rc == RG_OK)
            rc = rg_bm25_seg_id(s, d, &id, err);
        if (rc == RG_OK)
            map[d] = add_doc(b, id, dl);
    }
    merge_ctx m = {b, map};
    if (rc == RG_OK)
        rc = rg_bm25_seg_terms(s, merge_term, &m, err);
    free(map);
    return rc;
}

static rg_status count_term(void *ctx, const char *term, size_t len, rg_bm25_cursor *c, rg_error *err)
{
    uint32_t total = 0;
    for (bool more = true; more;) {
        rg_status rc = rg_bm25_cursor_decode(c, err);
        total += c->n;
        if (rc == RG_OK)
            rc = rg_bm25_cursor_next_block(c, &more, err);
        if (rc != RG_OK)
            return rc;
    }
    (void)ctx;
    return total == c->df ? RG_OK : corrupt(c->seg, "postings count does not match the dictionary", err);
}

rg_status rg_bm25_seg_verify(rg_bm25_seg *s, rg_error *err)
{
    rg_status rc = RG_OK;
    for (int i = 0; rc == RG_OK && i < NREGIONS; i++)
        rc = check(s, i, 0, s->r[i].len, err);
    uint64_t total = 0;
    for (uint32_t d = 0; rc == RG_OK && d < s->ndocs; d++) {
        const char *id;
        uint32_t dl;
        rc = rg_bm25_seg_id(s, d, &id, err);
        if (rc == RG_OK)
            rc = rg_bm25_seg_dl(s, d, &dl, err);
        total += dl;
    }
    if (rc == RG_OK && total != s->total_dl)
        rc = corrupt(s, "document lengths do not add up", err);
    if (rc == RG_OK)
        rc = rg_bm25_seg_terms(s, count_term, NULL, err);
    return rc;
}

uint64_t rg_bm25_seg_total_dl(const rg_bm25_seg *s)
{
    return s->total_dl;
}

void rg_bm25_seg_resign(uint8_t *buf, size_t len)
{
    if (len < HEAD_FIXED + 4 + 8 || memcmp(buf, SEG_MAGIC, 8))
        return;
    uint32_t head_len = rg_le32(buf + 12);
    if (head_len < HEAD_FIXED + 4 || head_len > len - 8)
        return;
    size_t crc_at = HEAD_FIXED;
    for (int i = 0; i < NREGIONS; i++) {
        uint64_t off = rg_le64(buf + 48 + 16 * i), n = rg_le64(buf + 56 + 16 * i);
        if (off > len || n > len - off)
            return;
        for (uint64_t c = 0; c < n; c += (uint64_t)1 << CHUNK_SHIFT) {
            if (crc_at + 4 > head_len - 4)
                return;
            uint64_t m = n - c < ((uint64_t)1 << CHUNK_SHIFT) ? n - c : (uint64_t)1 << CHUNK_SHIFT;
            uint32_t crc = rg_crc32c(0, buf + off + c, (size_t)m);
            memcpy(buf + crc_at, (uint8_t[4]){(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
                                              (uint8_t)(crc >> 24)}, 4);
            crc_at += 4;
        }
    }
    uint32_t crc = rg_crc32c(0, buf, head_len - 4);
    memcpy(buf + head_len - 4, (uint8_t[4]){(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
                                            (uint8_t)(crc >> 24)}, 4);
}
