/* Compact binary metadata: see metapack.h for the layout and why. */
#include "metapack.h"

#include "ingest.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MP_VERSION 0xA1
#define MP_VERSION_DERIVED 0xA2   /* may hold T_PATH_ID, T_DOC_HASH */

/* T_PATH_ID: the value is what ingest derives from the object's
 * document_path (rg_document_id), so it is not stored.  T_DOC_HASH: the
 * value is the SHA-256 (hex) of the record's document, which the caller
 * supplies on decode. */
enum { T_NULL, T_TRUE, T_FALSE, T_INT, T_REAL, T_STR, T_HEX, T_JSON, T_PATH_ID, T_DOC_HASH };

/* Names ragged's ingest writes (and a few common ones).  Append only: the
 * index is part of the stored form. */
static const char *const KEYS[] = {
    "chunk_position", "content_hash", "document_id", "document_path", "file_hash", "format",
    "total_chunks",   "title",        "page_number", "source",        "path",      "url",
    "author",         "date",         "language",    "mtime",         "size",      "category",
    "tags",           "type",         "id",          "name",
};

static void put_bytes(rg_buf *b, const void *s, size_t n)
{
    rg_buf_put_varint(b, n);
    rg_buf_append(b, s, n);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool is_hex(const char *s, size_t n)
{
    if (n < 16 || n % 2)
        return false;
    for (size_t i = 0; i < n; i++)
        if (hexval(s[i]) < 0)
            return false;
    return true;
}

static void put_value(rg_buf *b, const json_t *v)
{
    uint8_t tag;
    switch (json_typeof(v)) {
    case JSON_NULL:
        tag = T_NULL;
        rg_buf_append(b, &tag, 1);
        break;
    case JSON_TRUE:
        tag = T_TRUE;
        rg_buf_append(b, &tag, 1);
        break;
    case JSON_FALSE:
        tag = T_FALSE;
        rg_buf_append(b, &tag, 1);
        break;
    case JSON_INTEGER: {
        tag = T_INT;
        rg_buf_append(b, &tag, 1);
        int64_t i = (int64_t)json_integer_value(v);
        rg_buf_put_varint(b, ((uint64_t)i << 1) ^ (uint64_t)(i >> 63));   /* zigzag */
        break;
    }
    case JSON_REAL: {
        tag = T_REAL;
        rg_buf_append(b, &tag, 1);
        double d = json_real_value(v);
        uint64_t u;
        memcpy(&u, &d, 8);
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(u >> (8 * i));
        rg_buf_append(b, le, 8);
        break;
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (is_hex(s, n)) {
            tag = T_HEX;
            rg_buf_append(b, &tag, 1);
            rg_buf_put_varint(b, n / 2);
            for (size_t i = 0; i < n; i += 2) {
                uint8_t byte = (uint8_t)(hexval(s[i]) << 4 | hexval(s[i + 1]));
                rg_buf_append(b, &byte, 1);
            }
        } else {
            tag = T_STR;
            rg_buf_append(b, &tag, 1);
            put_bytes(b, s, n);
        }
        break;
    }
    default: {
        tag = T_JSON;
        rg_buf_append(b, &tag, 1);
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        put_bytes(b, text ? text : "null", text ? strlen(text) : 4);
        free(text);
        break;
    }
    }
}

/* Whether v is the document id ingest derives from obj's document_path. */
static bool is_path_id(const json_t *obj, const json_t *v)
{
    const char *path = json_string_value(json_object_get(obj, "document_path"));
    if (!path || !json_is_string(v) || json_string_length(v) != 16)
        return false;
    char id[17];
    rg_document_id(path, id);
    return strcmp(id, json_string_value(v)) == 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void encode_members(const json_t *obj, const char *doc_sha256, bool sorted, rg_buf *out)
{
    json_t *idv = json_object_get(obj, "document_id");
    bool derive = idv && is_path_id(obj, idv);
    json_t *hashv = json_object_get(obj, RG_METAPACK_DOC_HASH_KEY);
    bool derive_hash = doc_sha256 && json_is_string(hashv) && !strcmp(json_string_value(hashv), doc_sha256);
    uint8_t ver = derive || derive_hash ? MP_VERSION_DERIVED : MP_VERSION;
    rg_buf_append(out, &ver, 1);
    size_t nkeys = json_object_size(obj);
    const char *stack_keys[32];
    const char **keys = nkeys <= RG_ARRAY_LEN(stack_keys) ? stack_keys : rg_xmalloc(nkeys * sizeof *keys);
    size_t nk = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
        keys[nk++] = key;
    if (sorted)
        qsort(keys, nk, sizeof *keys, cmp_key);
    for (size_t i = 0; i < nk; i++) {
        key = keys[i];
        v = json_object_get(obj, key);
        size_t k = 0;
        while (k < RG_ARRAY_LEN(KEYS) && strcmp(KEYS[k], key) != 0)
            k++;
        if (k < RG_ARRAY_LEN(KEYS)) {
            rg_buf_put_varint(out, k + 1);
        } else {
            rg_buf_put_varint(out, 0);
            put_bytes(out, key, strlen(key));
        }
        if ((derive && v == idv) || (derive_hash && v == hashv)) {
            uint8_t tag = v == idv ? T_PATH_ID : T_DOC_HASH;
            rg_buf_append(out, &tag, 1);
        } else {
            put_value(out, v);
        }
    }
    if (keys != stack_keys)
        free(keys);
}

void rg_metapack_encode(const json_t *obj, rg_buf *out)
{
    encode_members(obj, NULL, false, out);
}

void rg_metapack_encode_doc(const json_t *obj, const char *doc_sha256, rg_buf *out)
{
    encode_members(obj, doc_sha256, false, out);
}

void rg_metapack_encode_sorted(const json_t *obj, const char *doc_sha256, rg_buf *out)
{
    encode_members(obj, doc_sha256, true, out);
}

static bool get_bytes(const uint8_t **p, const uint8_t *end, const uint8_t **s, size_t *n)
{
    uint64_t len;
    if (!rg_varint_get(p, end, &len) || len > (uint64_t)(end - *p))
        return false;
    *s = *p;
    *n = (size_t)len;
    *p += len;
    return true;
}

static json_t *get_value(const uint8_t **p, const uint8_t *end)
{
    if (*p >= end)
        return NULL;
    uint8_t tag = *(*p)++;
    const uint8_t *s;
    size_t n;
    uint64_t u;
    switch (tag) {
    case T_NULL:
        return json_null();
    case T_TRUE:
        return json_true();
    case T_FALSE:
        return json_false();
    case T_INT:
        if (!rg_varint_get(p, end, &u))
            return NULL;
        return json_integer((json_int_t)(int64_t)((u >> 1) ^ (~(u & 1) + 1)));
    case T_REAL: {
        if (end - *p < 8)
            return NULL;
        u = 0;
        for (int i = 0; i < 8; i++)
            u |= (uint64_t)(*p)[i] << (8 * i);
        *p += 8;
        double d;
        memcpy(&d, &u, 8);
        return json_real(d);
    }
    case T_STR:
        return get_bytes(p, end, &s, &n) ? json_stringn((const char *)s, n) : NULL;
    case T_HEX: {
        if (!get_bytes(p, end, &s, &n) || n > 1 << 20)
            return NULL;
        static const char digits[] = "0123456789abcdef";
        char *h = rg_xmalloc(2 * n + 1);
        for (size_t i = 0; i < n; i++) {
            h[2 * i] = digits[s[i] >> 4];
            h[2 * i + 1] = digits[s[i] & 15];
        }
        json_t *r = json_stringn(h, 2 * n);
        free(h);
        return r;
    }
    case T_JSON:
        return get_bytes(p, end, &s, &n) ? json_loadb((const char *)s, n, JSON_DECODE_ANY, NULL) : NULL;
    default:
        return NULL;
    }
}

json_t *rg_metapack_decode(const void *data, size_t n)
{
    return rg_metapack_decode_doc(data, n, NULL, NULL);
}

json_t *rg_metapack_decode_doc(const void *data, size_t n, rg_metapack_doc_hash_fn doc_hash, void *ctx)
{
    const uint8_t *p = data, *end = p + n;
    if (n < 1 || (*p != MP_VERSION && *p != MP_VERSION_DERIVED))
        return NULL;
    bool derived = *p++ == MP_VERSION_DERIVED;
    const char *path_id_key = NULL;   /* the member whose value is derived */
    json_t *obj = json_object();
    while (p < end) {
        uint64_t k;
        char *owned = NULL;
        const char *key = NULL;
        if (!rg_varint_get(&p, end, &k) || k > RG_ARRAY_LEN(KEYS))
            goto bad;
        if (k) {
            key = KEYS[k - 1];
        } else {
            const uint8_t *s;
            size_t len;
            if (!get_bytes(&p, end, &s, &len) || memchr(s, 0, len))
                goto bad;
            key = owned = rg_xstrndup((const char *)s, len);
        }
        json_t *v;
        if (derived && p < end && *p == T_PATH_ID && !path_id_key && k) {
            p++;
            path_id_key = key;    /* a built-in name: outlives the loop */
            v = json_null();      /* placeholder, keeps the member's place */
        } else if (derived && p < end && *p == T_DOC_HASH) {
            p++;
            const char *h = doc_hash ? doc_hash(ctx) : NULL;
            if (!h) {             /* not asked for: the member is left out */
                free(owned);
                continue;
            }
            v = json_string(h);
        } else {
            v = get_value(&p, end);
        }
        int rc = v ? json_object_set_new(obj, key, v) : -1;
        free(owned);
        if (rc != 0)
            goto bad;
    }
    if (path_id_key) {
        const char *path = json_string_value(json_object_get(obj, "document_path"));
        if (!path)
            goto bad;
        char id[17];
        rg_document_id(path, id);
        json_object_set_new(obj, path_id_key, json_string(id));
    }
    return obj;
bad:
    json_decref(obj);
    return NULL;
}

/* ---- SQL functions ---- */

static void sql_pack(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    json_t *obj = json_loads((const char *)sqlite3_value_text(argv[0]), 0, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        sqlite3_result_error(ctx, "rg_meta_pack: metadata is not a JSON object", -1);
        return;
    }
    rg_buf b;
    rg_buf_init(&b);
    rg_metapack_encode(obj, &b);
    json_decref(obj);
    sqlite3_result_blob(ctx, b.data, (int)b.len, free);
}

static void sql_json(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int t = sqlite3_value_type(argv[0]);
    if (t == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    if (t == SQLITE_TEXT) {   /* an older file: JSON text already */
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    rg_metapack_sql_result(ctx, rg_metapack_decode(sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0])));
}

void rg_metapack_sql_result(sqlite3_context *ctx, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!text) {
        sqlite3_result_error(ctx, "stored metadata is damaged (cannot unpack it)", -1);
        sqlite3_result_error_code(ctx, SQLITE_CORRUPT);
        return;
    }
    sqlite3_result_text(ctx, text, -1, free);
}

int rg_metapack_register(sqlite3 *db)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    int rc = sqlite3_create_function(db, "rg_meta_pack", 1, flags, NULL, sql_pack, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "rg_meta_json", 1, flags, NULL, sql_json, NULL, NULL);
    return rc;
}
