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
 * document_path (rg_document_id) is stored as a bare tag and recomputed.
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
/* NULL if the bytes are not a well-formed packed object. */
json_t *rg_metapack_decode(const void *data, size_t n);
/* Registers rg_meta_pack / rg_meta_json on db; SQLITE_OK or an SQLite code. */
int rg_metapack_register(sqlite3 *db);

#endif
