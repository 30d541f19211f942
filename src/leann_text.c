/* The text of a leann collection: passages and metadata, the two things it
 * stores that cannot be recomputed, and on SciFact nearly two thirds of its
 * bytes (bench/disk/RESULTS.md).
 *
 * Passages.  One zstd frame each, so that a query decompresses only the ~25
 * passages it reranks.  Frames are stored without their 4-byte magic and
 * without dictionary id and content size (records.dict and records.doclen
 * hold the last two); frames of older versions have them all.  The reader
 * tells the two apart by the magic: a frame stored without it begins with
 * its header descriptor, which never equals the magic's first byte (that
 * would set a reserved bit).  (zstd's own magic-less format is in its
 * experimental API only, so the magic is cut and put back here.)
 *
 * Metadata.  Packed (metapack.h), and once the collection has a metadata
 * dictionary also compressed: 0xA3, varint dictionary id, a magic-less frame
 * with content size, stored the same way.  Ingest's metadata repeats directory prefixes, key names
 * and formats from chunk to chunk, which a dictionary trained on the
 * collection removes.  content_hash, the SHA-256 of the passage, is not
 * stored: it is recomputed from the passage when the whole metadata is read
 * (rg_leann_meta with the document), and left out when only a filter reads it
 * (rg_leann_meta without), so that filters never decompress passages.
 *
 * Verification (format 6).  Every frame carries zstd's content checksum
 * (4 bytes, the low half of XXH64 of the decompressed bytes), which zstd
 * checks on every decompression, and metadata stored uncompressed (no
 * dictionary yet: small collections) is 0xA4, its CRC32C (4 bytes, little
 * endian) and the packed bytes.  So a flipped bit in a passage or a
 * metadata value is an error when it is read, never a changed answer; and
 * a flipped length, dictionary id or frame header fails the decompression
 * or the checksum.  Rows written before format 6 carry neither and are read
 * as before; leann_text_verify_row tells them apart, and the next full
 * rebuild (compact) rewrites them with checksums.  SciFact (6,925 rows,
 * two frames each): the directory grew 57 KB, to 3,844,546 bytes, 2.93% of
 * ChromaDB's 130,996,528 (docs/leann.md).
 *
 * Dictionaries.  Both are trained on the collection at every full rebuild
 * (leann_train_dictionaries), which rewrites every row with them, and stored
 * in table dicts zstd-compressed themselves: a dictionary is text-like and
 * shrinks to about 40%, which is what makes a larger one pay. */
#include <stdlib.h>
#include <string.h>
#include <zdict.h>
#include <zstd.h>

#include "leann_sqlite.h"
#include "ingest.h"
#include "metapack.h"
#include "sqlite_util.h"
#include "util.h"

#define PASSAGE_LEVEL 9         /* without a dictionary (small collections) */
/* With a dictionary: compression happens once, reads many times, so a high
 * level; but level 19 costs about 600 us a 1 KB passage (Python docs, 2
 * shared cores), five times level 15 for 5% more bytes, and was a quarter
 * of the CPU of a 256K-chunk leann ingest.  So collections up to
 * DICT_LEVEL_SMALL_MAX graph nodes (SciFact and the like, where disk is the
 * goal and ingest is seconds) keep 19, larger ones write at 12: measured
 * with the same 1 MB dictionary on 5,690 Python-doc passages, 15 cost
 * 117.5 us a passage for a ratio of 0.208, 12 69.8 us for 0.215 (3% more
 * passage bytes, 1% of a 291K-chunk collection's disk) and 9 40.9 us for
 * 0.220.  Issue 16 item 5: by those costs, 19 up to 65,536 nodes (with
 * the rewrites of the rebuilds) and 15 above came to about 70 s of a
 * 291K ingest's CPU, whose goal is 2x the exact backend's 124 s.  At 12
 * the passages were still 8.6% of a 291K leann ingest's CPU (perf, 284 s);
 * remeasured on 10,043 of that collection's own passages with its own
 * 806 KB dictionary (bench/scale/zstd_levels.c): 12 59.9 us a passage for
 * a ratio of 0.3107, 9 43.2 us 0.3115, 7 29.5 us 0.3146, 6 24.1 us 0.3171,
 * 5 13.5 us 0.3366, 3 6.8 us 0.3531.  6 is the knee: 2% more passage bytes
 * (about 2 MB, 1% of the collection's directory) for 40% of the CPU; 5
 * would cost 8% more bytes.  The metadata frames follow the same level. */
#define DICT_LEVEL 19
#define DICT_LEVEL_LARGE 6
#define DICT_LEVEL_SMALL_MAX 8192
#define DICT_MIN_DOCS 256
/* The passage dictionary is a quarter of the text it is trained on, within
 * these bounds.  Measured on scifact (bench/disk, 7.96 MB of text; the
 * dictionary is stored compressed, and its bytes are counted): 256 KB ->
 * 1 MB shrinks passages + dictionary by 125 KB (2.37 -> 2.25 MB) for about
 * 2 s more ingest CPU and no measurable cost on a cold query. */
#define PASSAGE_DICT_MIN (64 * 1024)
#define PASSAGE_DICT_MAX (1024 * 1024)
#define PASSAGE_DICT_SHARE 4
#define META_DICT_BYTES (16 * 1024)
#define DICT_SAMPLE_MAX (32u << 20)
#define META_ZSTD 0xA3          /* metapack's version bytes are 0xA1, 0xA2 */
#define META_CRC 0xA4           /* uncompressed, behind a CRC32C */

static const uint8_t ZSTD_MAGIC_LE[4] = {0x28, 0xB5, 0x2F, 0xFD};

static bool has_magic(const void *blob, size_t len)
{
    return len >= 4 && memcmp(blob, ZSTD_MAGIC_LE, 4) == 0;
}

/* ---- dictionaries -------------------------------------------------------- */

/* Dictionary id's bytes, decompressed if stored compressed.  *out must be
 * freed; NULL when absent. */
static rg_status dict_bytes(leann_coll *c, int64_t id, void **out, size_t *len, rg_error *err)
{
    *out = NULL;
    *len = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(leann_db(c), "SELECT dict FROM dicts WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    sqlite3_bind_int64(st, 1, id);
    rg_status rc = RG_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        unsigned long long raw = has_magic(b, n) ? ZSTD_getFrameContentSize(b, n) : n;
        if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > (64u << 20)) {
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: compression dictionary %lld is damaged", leann_sq(c)->db_path,
                              (long long)id);
        } else {
            *out = rg_xmalloc(raw ? (size_t)raw : 1);
            *len = (size_t)raw;
            size_t r = has_magic(b, n) ? ZSTD_decompress(*out, (size_t)raw, b, n) : (memcpy(*out, b, n), n);
            if (ZSTD_isError(r) || r != raw) {
                free(*out);
                *out = NULL;
                rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: compression dictionary %lld is damaged", leann_sq(c)->db_path,
                                  (long long)id);
            }
        }
    }
    sqlite3_finalize(st);
    if (rc == RG_OK && !*out)
        rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: compression dictionary %lld is missing", leann_sq(c)->db_path,
                          (long long)id);
    return rc;
}

static ZSTD_DDict *get_ddict(leann_coll *c, int64_t id, rg_error *err)
{
    for (size_t i = 0; i < leann_sq(c)->nddicts; i++)
        if (leann_sq(c)->ddicts[i].id == id)
            return leann_sq(c)->ddicts[i].ddict;
    void *bytes;
    size_t len;
    if (dict_bytes(c, id, &bytes, &len, err) != RG_OK)
        return NULL;
    ZSTD_DDict *dd = ZSTD_createDDict(bytes, len);
    free(bytes);
    if (!dd) {
        rg_error_set(err, RG_ERR_CORRUPT, "%s: compression dictionary %lld is damaged", leann_sq(c)->db_path, (long long)id);
        return NULL;
    }
    leann_sq(c)->ddicts = rg_xrealloc(leann_sq(c)->ddicts, (leann_sq(c)->nddicts + 1) * sizeof *leann_sq(c)->ddicts);
    leann_sq(c)->ddicts[leann_sq(c)->nddicts++] = (leann_dict){id, dd};
    return dd;
}

/* The CDict of dictionary id into *slot (made on the first write, not at
 * load: a level-19 CDict costs more than a whole cold query, and readers
 * never compress).  NULL without a dictionary. */
static ZSTD_CDict *get_cdict(leann_coll *c, int64_t id, leann_cdict *slot)
{
    int level = c->graph.n > DICT_LEVEL_SMALL_MAX ? DICT_LEVEL_LARGE : DICT_LEVEL;
    if (slot->id == id && (id == 0 || slot->level == level))
        return slot->cdict;
    ZSTD_freeCDict(slot->cdict);
    slot->cdict = NULL;
    slot->id = 0;
    void *bytes;
    size_t len;
    rg_error ignored;
    if (id && dict_bytes(c, id, &bytes, &len, &ignored) == RG_OK) {
        slot->cdict = ZSTD_createCDict(bytes, len, level);
        slot->id = slot->cdict ? id : 0;
        slot->level = level;
        free(bytes);
    }
    return slot->cdict;
}

void leann_text_reset(leann_coll *c)
{
    ZSTD_freeCDict(leann_sq(c)->passage_cdict.cdict);
    ZSTD_freeCDict(leann_sq(c)->meta_cdict.cdict);
    leann_sq(c)->passage_cdict = leann_sq(c)->meta_cdict = (leann_cdict){0};
    for (size_t i = 0; i < leann_sq(c)->nddicts; i++)
        ZSTD_freeDDict(leann_sq(c)->ddicts[i].ddict);
    free(leann_sq(c)->ddicts);
    leann_sq(c)->ddicts = NULL;
    leann_sq(c)->nddicts = 0;
}

void leann_text_free(leann_coll *c)
{
    leann_text_reset(c);
    ZSTD_freeDCtx(leann_sq(c)->dctx);
    ZSTD_freeCCtx(leann_sq(c)->cctx);
    leann_sq(c)->dctx = NULL;
    leann_sq(c)->cctx = NULL;
    rg_buf_free(&leann_sq(c)->zbuf);
}

/* ---- frames -------------------------------------------------------------- */

static rg_status frame(leann_coll *c, const ZSTD_CDict *cdict, bool content_size, const void *src, size_t len,
                       rg_buf *out, rg_error *err)
{
    if (!leann_sq(c)->cctx)
        leann_sq(c)->cctx = ZSTD_createCCtx();
    ZSTD_CCtx *cc = leann_sq(c)->cctx;
    size_t bound = ZSTD_compressBound(len);
    leann_sq(c)->zbuf.len = 0;
    rg_buf_reserve(&leann_sq(c)->zbuf, bound);
    ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
    size_t r = ZSTD_CCtx_setParameter(cc, ZSTD_c_dictIDFlag, 0);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, content_size);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(r))
        r = cdict ? ZSTD_CCtx_refCDict(cc, cdict) : ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, PASSAGE_LEVEL);
    if (!ZSTD_isError(r))
        r = ZSTD_compress2(cc, leann_sq(c)->zbuf.data, bound, src, len);
    if (ZSTD_isError(r))
        return rg_error_set(err, RG_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
    if (r <= 4 || !has_magic(leann_sq(c)->zbuf.data, r))
        return rg_error_set(err, RG_ERR_INTERNAL, "zstd: unexpected frame");
    rg_buf_append(out, leann_sq(c)->zbuf.data + 4, r - 4);
    return RG_OK;
}

/* A stored frame as zstd reads it: with its magic (put back into leann_sq(c)->zbuf
 * when it was cut). */
static const void *whole_frame(leann_coll *c, const void *blob, size_t *len)
{
    if (has_magic(blob, *len))
        return blob;
    leann_sq(c)->zbuf.len = 0;
    rg_buf_append(&leann_sq(c)->zbuf, ZSTD_MAGIC_LE, 4);
    rg_buf_append(&leann_sq(c)->zbuf, blob, *len);
    *len += 4;
    return leann_sq(c)->zbuf.data;
}

/* Decompresses exactly rawlen bytes of a whole frame (with its magic). */
static rg_status unframe_whole(leann_coll *c, const void *blob, size_t len, int64_t dict, void *dst, size_t rawlen,
                               rg_error *err)
{
    if (!leann_sq(c)->dctx)
        leann_sq(c)->dctx = ZSTD_createDCtx();
    ZSTD_DDict *dd = NULL;
    if (dict && !(dd = get_ddict(c, dict, err)))
        return err ? err->code : RG_ERR_CORRUPT;
    size_t r = dd ? ZSTD_decompress_usingDDict(leann_sq(c)->dctx, dst, rawlen, blob, len, dd)
                  : ZSTD_decompressDCtx(leann_sq(c)->dctx, dst, rawlen, blob, len);
    if (ZSTD_isError(r) || r != rawlen)
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: compressed text is damaged (%s)", leann_sq(c)->db_path,
                            ZSTD_isError(r) ? ZSTD_getErrorName(r) : "wrong length");
    return RG_OK;
}

/* Decompresses exactly rawlen bytes of a stored frame. */
static rg_status unframe(leann_coll *c, const void *blob, size_t len, int64_t dict, void *dst, size_t rawlen,
                         rg_error *err)
{
    blob = whole_frame(c, blob, &len);
    return unframe_whole(c, blob, len, dict, dst, rawlen, err);
}

/* ---- passages ------------------------------------------------------------ */

rg_status leann_doc_compress(leann_coll *c, const char *doc, rg_buf *out, rg_error *err)
{
    out->len = 0;
    return frame(c, get_cdict(c, leann_sq(c)->dict_id, &leann_sq(c)->passage_cdict), false, doc, strlen(doc), out, err);
}

int64_t leann_doc_dict(leann_coll *c)
{
    get_cdict(c, leann_sq(c)->dict_id, &leann_sq(c)->passage_cdict);
    return leann_sq(c)->passage_cdict.id;
}

rg_status leann_doc_decompress(leann_coll *c, const void *blob, size_t len, int64_t dict, int64_t rawlen,
                               char **out, rg_error *err)
{
    if (rawlen < 0 || rawlen > (int64_t)1 << 31)
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: a passage has a bad length", leann_sq(c)->db_path);
    char *buf = rg_xmalloc((size_t)rawlen + 1);
    rg_status rc = unframe(c, blob, len, dict, buf, (size_t)rawlen, err);
    if (rc != RG_OK) {
        free(buf);
        return rc;
    }
    buf[rawlen] = '\0';
    *out = buf;
    return RG_OK;
}

/* ---- metadata ------------------------------------------------------------ */

/* The packed bytes of a stored metadata blob (decompressed into scratch if
 * need be). */
static rg_status meta_packed(leann_coll *c, const uint8_t *blob, size_t len, rg_buf *scratch, const uint8_t **p,
                             size_t *n, rg_error *err)
{
    if (len > 0 && blob[0] == META_CRC) {
        uint32_t want = 0;
        if (len >= 5)
            want = rg_le32(blob + 1);
        if (len < 5 || rg_crc32c(0, blob + 5, len - 5) != want)
            return rg_error_set(err, RG_ERR_CORRUPT, "%s: stored metadata is damaged (checksum mismatch)",
                                leann_sq(c)->db_path);
        *p = blob + 5;
        *n = len - 5;
        return RG_OK;
    }
    if (len == 0 || blob[0] != META_ZSTD) {
        *p = blob;
        *n = len;
        return RG_OK;
    }
    uint64_t id = 0;
    size_t i = 1;
    for (int shift = 0; i < len && shift < 63; shift += 7) {
        id |= (uint64_t)(blob[i] & 0x7f) << shift;
        if (!(blob[i++] & 0x80))
            break;
    }
    size_t flen = i < len ? len - i : 0;
    const void *f = whole_frame(c, blob + i, &flen);
    unsigned long long raw = flen > 4 ? ZSTD_getFrameContentSize(f, flen) : ZSTD_CONTENTSIZE_ERROR;
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > (16u << 20))
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: stored metadata is damaged", leann_sq(c)->db_path);
    scratch->len = 0;
    rg_buf_reserve(scratch, (size_t)raw + 1);
    rg_status rc = unframe_whole(c, f, flen, (int64_t)id, scratch->data, (size_t)raw, err);
    if (rc != RG_OK)
        return rc;
    scratch->len = (size_t)raw;
    *p = (const uint8_t *)scratch->data;
    *n = scratch->len;
    return RG_OK;
}

/* Stored form of a packed object: compressed with the metadata dictionary
 * when there is one. */
static rg_status meta_store(leann_coll *c, int64_t meta_dict, const rg_buf *packed, rg_buf *out, rg_error *err)
{
    out->len = 0;
    ZSTD_CDict *cd = meta_dict ? get_cdict(c, meta_dict, &leann_sq(c)->meta_cdict) : NULL;
    if (!cd) {
        uint32_t crc = rg_crc32c(0, packed->data, packed->len);
        uint8_t head[5] = {META_CRC, (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
        rg_buf_append(out, head, sizeof head);
        rg_buf_append(out, packed->data, packed->len);
        return RG_OK;
    }
    uint8_t head[11];
    size_t k = 0;
    head[k++] = META_ZSTD;
    for (uint64_t v = (uint64_t)leann_sq(c)->meta_cdict.id;; v >>= 7) {
        head[k++] = (uint8_t)(v >= 0x80 ? (v & 0x7f) | 0x80 : v);
        if (v < 0x80)
            break;
    }
    rg_buf_append(out, head, k);
    return frame(c, cd, true, packed->data, packed->len, out, err);
}

typedef struct doc_ref {
    leann_coll *c;
    const void *blob;
    size_t len;
    int64_t doclen, dict;
    const char *text;     /* when the caller has it */
    char hex[65];
    int state;            /* 0 not computed, 1 done, -1 failed */
    rg_error err;         /* why it failed */
} doc_ref;

static const char *doc_ref_hash(void *ctx)
{
    doc_ref *d = ctx;
    if (d->state == 0) {
        char *text = NULL;
        if (d->text)
            rg_sha256_hex(d->text, strlen(d->text), d->hex);
        else if (!d->blob)
            rg_error_set(&d->err, RG_ERR_CORRUPT, "%s: a stored passage is empty", leann_sq(d->c)->db_path);
        else if (leann_doc_decompress(d->c, d->blob, d->len, d->dict, d->doclen, &text, &d->err) == RG_OK)
            rg_sha256_hex(text, strlen(text), d->hex);
        d->state = d->text || text ? 1 : -1;
        free(text);
    }
    return d->state == 1 ? d->hex : NULL;
}

rg_status leann_meta_pack(leann_coll *c, const json_t *obj, const char *doc, rg_buf *out, rg_error *err)
{
    char hash[65];
    if (doc)
        rg_sha256_hex(doc, strlen(doc), hash);
    rg_buf packed;
    rg_buf_init(&packed);
    rg_metapack_encode_sorted(obj, doc ? hash : NULL, &packed);
    rg_status rc = meta_store(c, leann_sq(c)->meta_dict_id, &packed, out, err);
    rg_buf_free(&packed);
    return rc;
}

/* The packed bytes of a stored metadata argument v of SQL function fn
 * (decompressed into scratch if need be); false when that already decided
 * the result: NULL for a NULL argument, or the error. */
static bool meta_arg(sqlite3_context *ctx, const char *fn, sqlite3_value *v, rg_buf *scratch, const uint8_t **p,
                     size_t *n)
{
    leann_coll *c = sqlite3_user_data(ctx);
    if (sqlite3_value_type(v) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return false;
    }
    if (!c) {
        char *msg = sqlite3_mprintf("%s: not a leann collection handle", fn);
        sqlite3_result_error(ctx, msg, -1);
        sqlite3_free(msg);
        return false;
    }
    rg_error err;
    if (meta_packed(c, sqlite3_value_blob(v), (size_t)sqlite3_value_bytes(v), scratch, p, n, &err) != RG_OK) {
        sqlite3_result_error(ctx, err.msg, -1);
        sqlite3_result_error_code(ctx, SQLITE_CORRUPT);
        return false;
    }
    return true;
}

/* rg_leann_meta(meta, doc, doclen, dict) -> JSON text; with doc NULL, a
 * content_hash recomputed from the document is left out. */
static void sql_meta(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    leann_coll *c = sqlite3_user_data(ctx);
    rg_buf scratch;
    rg_buf_init(&scratch);
    const uint8_t *p;
    size_t n;
    if (!meta_arg(ctx, "rg_leann_meta", argv[0], &scratch, &p, &n)) {
        rg_buf_free(&scratch);
        return;
    }
    doc_ref d = {.c = c, .blob = sqlite3_value_blob(argv[1]), .len = (size_t)sqlite3_value_bytes(argv[1]),
                 .doclen = sqlite3_value_int64(argv[2]), .dict = sqlite3_value_int64(argv[3])};
    bool with_doc = sqlite3_value_type(argv[1]) != SQLITE_NULL;
    json_t *obj = rg_metapack_decode_doc(p, n, with_doc ? doc_ref_hash : NULL, &d);
    rg_buf_free(&scratch);
    if (d.state == -1) {   /* the passage it derives from is damaged: say so */
        json_decref(obj);
        sqlite3_result_error(ctx, d.err.msg, -1);
        sqlite3_result_error_code(ctx, SQLITE_CORRUPT);
        return;
    }
    rg_metapack_sql_result(ctx, obj);
}

json_t *leann_meta_object(leann_coll *c, const void *blob, size_t len, rg_error *err)
{
    rg_buf scratch;
    rg_buf_init(&scratch);
    const uint8_t *p;
    size_t n;
    json_t *obj = NULL;
    if (meta_packed(c, blob, len, &scratch, &p, &n, err) == RG_OK &&
        !(obj = rg_metapack_decode_doc(p, n, NULL, NULL)))
        rg_error_set(err, RG_ERR_CORRUPT, "%s: stored metadata is damaged", leann_sq(c)->db_path);
    rg_buf_free(&scratch);
    return obj;
}

/* rg_leann_id(meta) -> the id ingest derives from the stored metadata
 * (rg_chunk_id_from_metadata), or NULL.  Rows whose id is that one store no
 * id (rec.own_id is NULL; rec.id is generated from this). */
static void sql_id(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    rg_buf scratch;
    rg_buf_init(&scratch);
    const uint8_t *p;
    size_t n;
    if (!meta_arg(ctx, "rg_leann_id", argv[0], &scratch, &p, &n)) {
        rg_buf_free(&scratch);
        return;
    }
    json_t *obj = rg_metapack_decode_doc(p, n, NULL, NULL);
    rg_buf_free(&scratch);
    char id[RG_CHUNK_ID_MAX];
    if (obj && rg_chunk_id_from_metadata(obj, id))
        sqlite3_result_text(ctx, id, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(ctx);
    json_decref(obj);
}

int leann_text_register(sqlite3 *db, leann_coll *c)
{
    /* Used by the schema's view and triggers, so not DIRECTONLY; not
     * DETERMINISTIC either: results depend on the handle's dictionaries. */
    int flags = SQLITE_UTF8 | SQLITE_INNOCUOUS;
    int rc = sqlite3_create_function(db, "rg_leann_meta", 4, flags, c, sql_meta, NULL, NULL);
    /* DETERMINISTIC, as a generated column and the id index require: the
     * result depends on the row and on a dictionary, and a dictionary id
     * never names other bytes. */
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "rg_leann_id", 1, flags | SQLITE_DETERMINISTIC, c, sql_id, NULL, NULL);
    return rc;
}

/* ---- verification --------------------------------------------------------- */

/* Whether a stored frame carries zstd's content checksum: bit 2 of the
 * frame header descriptor, the byte after the magic (RFC 8878 3.1.1.1.1;
 * ZSTD_getFrameHeader is not in zstd's stable API). */
static bool frame_checksummed(const void *blob, size_t len)
{
    const uint8_t *b = blob;
    size_t at = has_magic(blob, len) ? 4 : 0;
    return len > at && (b[at] & 0x04);
}

rg_status leann_text_verify_row(leann_coll *c, const void *doc, size_t doc_bytes, int64_t doclen, int64_t dict,
                                const void *meta, size_t meta_bytes, bool *verified, rg_error *err)
{
    *verified = true;
    if (doc) {
        *verified = frame_checksummed(doc, doc_bytes);
        char *text = NULL;
        rg_status rc = leann_doc_decompress(c, doc, doc_bytes, dict, doclen, &text, err);
        free(text);
        if (rc != RG_OK)
            return rc;
    }
    if (meta) {
        const uint8_t *m = meta;
        if (meta_bytes == 0 || (m[0] != META_CRC && m[0] != META_ZSTD))
            *verified = false;
        else if (m[0] == META_ZSTD) {
            size_t i = 1;
            while (i < meta_bytes && (m[i] & 0x80))
                i++;
            i++;
            if (i >= meta_bytes || !frame_checksummed(m + i, meta_bytes - i))
                *verified = false;
        }
        rg_buf scratch;
        rg_buf_init(&scratch);
        const uint8_t *p;
        size_t n;
        rg_status rc = meta_packed(c, m, meta_bytes, &scratch, &p, &n, err);
        json_t *obj = rc == RG_OK ? rg_metapack_decode_doc(p, n, NULL, NULL) : NULL;
        if (rc == RG_OK && !obj)
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: stored metadata does not decode", leann_sq(c)->db_path);
        json_decref(obj);
        rg_buf_free(&scratch);
        if (rc != RG_OK)
            return rc;
    }
    return RG_OK;
}

/* ---- training ------------------------------------------------------------ */

static rg_status store_dict(leann_coll *c, int64_t id, const void *dict, size_t len, rg_error *err)
{
    size_t bound = ZSTD_compressBound(len);
    void *z = rg_xmalloc(bound);
    size_t zn = ZSTD_compress(z, bound, dict, len, 19);
    rg_status rc = RG_OK;
    sqlite3_stmt *ins = NULL;
    if (ZSTD_isError(zn))
        rc = rg_error_set(err, RG_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(zn));
    else if (sqlite3_prepare_v2(leann_db(c), "INSERT INTO dicts(id, dict) VALUES(?, ?)", -1, &ins, NULL) != SQLITE_OK)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    if (rc == RG_OK) {
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_blob(ins, 2, z, (int)zn, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    }
    sqlite3_finalize(ins);
    free(z);
    return rc;
}

/* A dictionary of at most cap bytes trained on samples; 0 when zstd finds
 * too little to learn from (the caller then keeps what it has). */
static size_t train(void *dict, size_t cap, const rg_buf *all, const size_t *sizes, size_t n, size_t sample_max,
                    size_t *sampled)
{
    size_t nsamp = 0, bytes = 0;
    while (nsamp < n && bytes + sizes[nsamp] <= sample_max)
        bytes += sizes[nsamp++];
    if (sampled)
        *sampled = bytes;
    size_t len = ZDICT_trainFromBuffer(dict, cap, all->data, sizes, (unsigned)nsamp);
    return ZDICT_isError(len) ? 0 : len;
}

/* Meta key: bytes of passages the current dictionaries were trained on.
 * Written only by a training that rewrote every row (so every row has its
 * checksums, format 6). */
#define DICT_SAMPLED_KEY "dict_sample_bytes"

/* Rows rewritten per read of the second pass (a bounded page in memory). */
#define RETRAIN_PAGE 256

/* The plain content of the row st is on (columns seq, doc, doclen, dict,
 * meta): its passage into *doc (NULL when none, else malloc'd), its
 * metadata re-packed with the passage at hand appended to metas (*msz:
 * bytes appended, SIZE_MAX when none), so rows of older versions lose their
 * content_hash too. */
static rg_status row_plain(leann_coll *c, sqlite3_stmt *st, rg_buf *scratch, char **doc, rg_buf *metas, size_t *msz,
                           rg_error *err)
{
    *doc = NULL;
    *msz = SIZE_MAX;
    rg_status rc = RG_OK;
    if (sqlite3_column_type(st, 1) != SQLITE_NULL)
        rc = leann_doc_decompress(c, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                                  sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 2), doc, err);
    if (rc == RG_OK && sqlite3_column_type(st, 4) != SQLITE_NULL) {
        const uint8_t *p;
        size_t pn;
        json_t *obj = NULL;
        rc = meta_packed(c, sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4), scratch, &p, &pn, err);
        doc_ref d = {.c = c, .text = *doc};
        if (rc == RG_OK && !(obj = rg_metapack_decode_doc(p, pn, *doc ? doc_ref_hash : NULL, &d)))
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: metadata of row %lld is damaged", leann_sq(c)->db_path,
                              (long long)sqlite3_column_int64(st, 0));
        if (rc == RG_OK) {
            size_t before = metas->len;
            rg_metapack_encode_doc(obj, *doc ? d.hex : NULL, metas);
            *msz = metas->len - before;
        }
        json_decref(obj);
    }
    if (rc != RG_OK) {
        free(*doc);
        *doc = NULL;
    }
    return rc;
}

/* What training learns from: the first rows' bytes up to DICT_SAMPLE_MAX
 * (train() stops at the first sample that does not fit, so nothing past it
 * is kept), and counts of all rows. */
typedef struct dict_sample {
    rg_buf bytes;
    size_t *sizes, n, cap;
    bool full;
    size_t rows;        /* rows with one, sampled or not */
    size_t total;       /* their bytes */
} dict_sample;

static void sample_add(dict_sample *s, const void *p, size_t len)
{
    s->rows++;
    s->total += len;
    if (s->full || s->bytes.len + len > DICT_SAMPLE_MAX) {
        s->full = true;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->sizes = rg_xrealloc(s->sizes, s->cap * sizeof *s->sizes);
    }
    s->sizes[s->n++] = len;
    rg_buf_append(&s->bytes, p, len);
}

static void sample_free(dict_sample *s)
{
    rg_buf_free(&s->bytes);
    free(s->sizes);
    s->sizes = NULL;
    s->n = s->cap = 0;
}

/* Rewrites every row with the current dictionaries: a page of rows at a
 * time is read (in seq order, after `after`), then written, so neither a
 * statement reads rows the same connection is changing nor do all passages
 * sit in memory at once. */
static rg_status rewrite_rows(leann_coll *c, rg_error *err)
{
    sqlite3 *db = leann_db(c);
    sqlite3_stmt *sel = NULL, *upd = NULL;
    rg_status rc = RG_OK;
    if (sqlite3_prepare_v2(db, "SELECT seq, doc, doclen, dict, meta FROM rec WHERE seq > ? ORDER BY seq LIMIT ?", -1,
                           &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE rec SET doc = coalesce(?, doc), dict = ?, meta = ? WHERE seq = ?", -1, &upd,
                           NULL) != SQLITE_OK)
        rc = rg_sqlite_error(db, leann_sq(c)->db_path, err);
    ZSTD_CDict *pcd = rc == RG_OK ? get_cdict(c, leann_sq(c)->dict_id, &leann_sq(c)->passage_cdict) : NULL;
    int64_t seqs[RETRAIN_PAGE];
    char *docs[RETRAIN_PAGE];
    size_t msz[RETRAIN_PAGE];
    rg_buf metas, scratch, z, m;
    rg_buf_init(&metas);
    rg_buf_init(&scratch);
    rg_buf_init(&z);
    rg_buf_init(&m);
    int64_t after = INT64_MIN;
    for (;;) {
        size_t got = 0;
        metas.len = 0;
        if (rc == RG_OK) {
            sqlite3_bind_int64(sel, 1, after);
            sqlite3_bind_int(sel, 2, RETRAIN_PAGE);
        }
        int r = SQLITE_DONE;
        while (rc == RG_OK && got < RETRAIN_PAGE && (r = sqlite3_step(sel)) == SQLITE_ROW) {
            seqs[got] = sqlite3_column_int64(sel, 0);
            rc = row_plain(c, sel, &scratch, &docs[got], &metas, &msz[got], err);
            if (rc == RG_OK)
                got++;
        }
        if (rc == RG_OK && r != SQLITE_ROW && r != SQLITE_DONE)
            rc = rg_sqlite_error(db, leann_sq(c)->db_path, err);
        if (sel)
            sqlite3_reset(sel);
        size_t moff = 0;
        for (size_t i = 0; i < got; i++) {
            if (rc == RG_OK) {
                sqlite3_reset(upd);
                sqlite3_clear_bindings(upd);
                if (docs[i]) {
                    z.len = 0;
                    rc = frame(c, pcd, false, docs[i], strlen(docs[i]), &z, err);
                    sqlite3_bind_blob(upd, 1, z.data, (int)z.len, SQLITE_STATIC);
                }
                sqlite3_bind_int64(upd, 2, docs[i] ? leann_sq(c)->passage_cdict.id : 0);
                if (rc == RG_OK && msz[i] != SIZE_MAX) {
                    rg_buf one = {.data = metas.data + moff, .len = msz[i]};
                    rc = meta_store(c, leann_sq(c)->meta_dict_id, &one, &m, err);
                    sqlite3_bind_blob(upd, 3, m.data, (int)m.len, SQLITE_STATIC);
                }
                sqlite3_bind_int64(upd, 4, seqs[i]);
                if (rc == RG_OK && sqlite3_step(upd) != SQLITE_DONE)
                    rc = rg_sqlite_error(db, leann_sq(c)->db_path, err);
            }
            if (msz[i] != SIZE_MAX)
                moff += msz[i];
            free(docs[i]);
        }
        if (rc != RG_OK || got < RETRAIN_PAGE)
            break;
        after = seqs[got - 1];
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    rg_buf_free(&metas);
    rg_buf_free(&scratch);
    rg_buf_free(&z);
    rg_buf_free(&m);
    return rc;
}

rg_status leann_train_dictionaries(leann_coll *c, rg_error *err)
{
    /* Dictionaries that learned from a full sample (the first
     * DICT_SAMPLE_MAX bytes of passages, about 30,000 chunks) are kept: a
     * retraining would see mostly the same sample, and rewriting every row
     * with it cost a 256K-chunk ingest minutes of CPU at every rebuild. */
    char *was = NULL;
    rg_status rc0 = rg_sqlite_meta_get(leann_db(c), DICT_SAMPLED_KEY, &was, err);
    if (rc0 != RG_OK)
        return rc0;
    bool full = was && leann_sq(c)->dict_id && strtoll(was, NULL, 10) >= (long long)DICT_SAMPLE_MAX - 64 * 1024;
    free(was);
    if (full)
        return RG_OK;
    /* Two passes, so memory is the samples (at most DICT_SAMPLE_MAX each)
     * and not every passage: holding all of them took a 291K-chunk
     * `compact` 300 MB (issue 16 item 5).  The first decodes every row for
     * the samples and the totals; rewrite_rows decodes them again. */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(leann_db(c), "SELECT seq, doc, doclen, dict, meta FROM rec ORDER BY seq", -1, &st, NULL) !=
        SQLITE_OK)
        return rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    dict_sample ps = {0}, ms = {0};
    rg_buf scratch, meta;
    rg_buf_init(&ps.bytes);
    rg_buf_init(&ms.bytes);
    rg_buf_init(&scratch);
    rg_buf_init(&meta);
    size_t sampled = 0;
    rg_status rc = RG_OK;
    int r;
    while (rc == RG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        char *doc = NULL;
        size_t msz;
        meta.len = 0;
        rc = row_plain(c, st, &scratch, &doc, &meta, &msz, err);
        if (rc == RG_OK && doc)
            sample_add(&ps, doc, strlen(doc));
        if (rc == RG_OK && msz != SIZE_MAX)
            sample_add(&ms, meta.data, msz);
        free(doc);
    }
    sqlite3_finalize(st);
    rg_buf_free(&scratch);
    rg_buf_free(&meta);
    if (rc != RG_OK)
        goto done;
    /* Too few passages to learn from: no new dictionaries, but every row is
     * still rewritten below, so a rebuild also gives rows of older formats
     * their checksums (format 6). */
    if (ps.rows >= DICT_MIN_DOCS) {
        size_t pcap = RG_MIN(RG_MAX(ps.total / PASSAGE_DICT_SHARE, PASSAGE_DICT_MIN), PASSAGE_DICT_MAX);
        void *pdict = rg_xmalloc(pcap);
        size_t plen = train(pdict, pcap, &ps.bytes, ps.sizes, ps.n, DICT_SAMPLE_MAX, &sampled);
        void *mdict = rg_xmalloc(META_DICT_BYTES);
        size_t mlen =
            ms.rows >= DICT_MIN_DOCS ? train(mdict, META_DICT_BYTES, &ms.bytes, ms.sizes, ms.n, DICT_SAMPLE_MAX, NULL) : 0;
        sample_free(&ps);
        sample_free(&ms);

        /* New ids above every id in use: a cached dictionary is never taken
         * for another (leann_invalidate drops the caches of a rolled-back
         * write, whose ids may come again). */
        int64_t next = (leann_sq(c)->dict_id > leann_sq(c)->meta_dict_id ? leann_sq(c)->dict_id : leann_sq(c)->meta_dict_id) + 1;
        int64_t pid = plen ? next : leann_sq(c)->dict_id;
        int64_t mid = mlen ? next + 1 : leann_sq(c)->meta_dict_id;
        if (plen)
            rc = store_dict(c, pid, pdict, plen, err);
        if (rc == RG_OK && mlen)
            rc = store_dict(c, mid, mdict, mlen, err);
        free(pdict);
        free(mdict);
        if (rc == RG_OK) {
            leann_sq(c)->dict_id = pid;
            leann_sq(c)->meta_dict_id = mid;
        }
    }
    sample_free(&ps);
    sample_free(&ms);
    if (rc == RG_OK)
        rc = rewrite_rows(c, err);
    if (rc == RG_OK) {
        char *q = sqlite3_mprintf("DELETE FROM dicts WHERE id NOT IN (%lld, %lld)", (long long)leann_sq(c)->dict_id,
                                  (long long)leann_sq(c)->meta_dict_id);
        rc = rg_sqlite_exec(leann_db(c), q, err);
        sqlite3_free(q);
    }
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, DICT_SAMPLED_KEY, (int64_t)sampled, err);
done:
    sample_free(&ps);
    sample_free(&ms);
    return rc;
}
