/* Compact binary form of a record's metadata (a JSON object), shared by the
 * leann backend and the lexical sidecar, which both keep metadata only to
 * give it back and to filter on it.
 *
 * Why not JSON text: ragged's own metadata is mostly fixed key names and
 * SHA-256 hex digests (about 330 bytes a chunk as JSON, about 130 packed).
 * The form is lossless for what JSON can hold: key order, integers, reals
 * (as IEEE doubles), strings of any content, nested values (kept as JSON
 * text).  Layout: one version byte (0xA1, or 0xA2 when a value is derived,
 * see below), then per member a key (varint
 * index into a built-in list of common names + 1, or 0 and a varint length
 * and the bytes) and a value (a tag byte, then varint / 8 bytes / length +
 * bytes).  Lower-case hex strings of even length >= 16 are stored as their
 * bytes.  A document_id equal to what ingest derives from the object's
 * document_path (rg_document_id) is stored as a bare tag and recomputed;
 * with rg_metapack_encode_doc, so is a content_hash equal to the SHA-256 of
 * the record's document (the caller gives it back on decode).  Version byte
 * 0xA3 is taken by the leann backend's compressed form (leann_text.c).
 *
 * SQL: rg_metapack_register() adds rg_meta_pack(json_text) -> blob and
 * rg_meta_json(blob) -> json_text to a connection (text in rg_meta_json is
 * passed through, so older files holding JSON text read the same). */
#ifndef RG_METAPACK_H
#define RG_METAPACK_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

#include "util.h"

/* Appends the packed form of obj (a JSON object) to out. */
void rg_metapack_encode(const json_t *obj, rg_buf *out);
/* The member that rg_metapack_encode_doc may leave to be recomputed. */
#define RG_METAPACK_DOC_HASH_KEY "content_hash"
/* As rg_metapack_encode; a content_hash member equal to doc_sha256 (the hex
 * SHA-256 of the record's document, or NULL) is not stored. */
void rg_metapack_encode_doc(const json_t *obj, const char *doc_sha256, rg_buf *out);
/* As rg_metapack_encode_doc with the members in key order (strcmp), the
 * bytes that obj's JSON_SORT_KEYS text would pack to: how leann writes a
 * record's metadata, so that its bytes do not depend on the order the
 * object was built in. */
void rg_metapack_encode_sorted(const json_t *obj, const char *doc_sha256, rg_buf *out);
/* NULL if the bytes are not a well-formed packed object. */
json_t *rg_metapack_decode(const void *data, size_t n);
/* Gives the hex SHA-256 of the record's document, or NULL to leave the
 * member out (a caller that does not need it saves decompressing the
 * document).  It may be called more than once for one object. */
typedef const char *(*rg_metapack_doc_hash_fn)(void *ctx);
json_t *rg_metapack_decode_doc(const void *data, size_t n, rg_metapack_doc_hash_fn doc_hash, void *ctx);
/* The JSON text of obj (taken) as the result of an SQL function, or the
 * "damaged" error when obj is NULL. */
void rg_metapack_sql_result(sqlite3_context *ctx, json_t *obj);
/* Registers rg_meta_pack / rg_meta_json on db; SQLITE_OK or an SQLite code. */
int rg_metapack_register(sqlite3 *db);

#endif
