/* The metadata key index of the leann backend (leann_filter.c): which
 * records hold a given metadata value, so that a selective filter reads a
 * few postings instead of decoding every row's metadata.
 *
 * Table rec_post(k, v, blk, seqs) of leann.sqlite: for every scalar member
 * k = v of a record's metadata (content_hash aside) the record's rec.seq is
 * listed in the row (k, v, seq >> LEANN_POST_BITS).  Triggers on rec keep it
 * in step inside the transaction of every write (ingest, delete, upsert,
 * migrate, consolidation, dictionary retraining), so it is exactly as
 * crash-safe as the rows.  A collection has it once it has held
 * scan_threshold records at the start of a write (below that every filtered
 * query scans anyway, and the table would cost disk for nothing). */
#ifndef RG_LEANN_FILTER_H
#define RG_LEANN_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leann_sqlite.h"

/* A postings row covers 2^LEANN_POST_BITS consecutive seqs: its blob stays
 * under 2 KB, so adding a record rewrites little. */
#define LEANN_POST_BITS 10
#define LEANN_POST_SPAN (1u << LEANN_POST_BITS)

/* A postings blob: the offsets (seq mod LEANN_POST_SPAN) in ascending
 * order as LEB128 varints, the first as is, every later one as its gap to
 * the previous minus one.  The encoding of a set is unique.  Decode gives
 * the count written to out (room for LEANN_POST_SPAN), or -1 when the bytes
 * are not such a blob (truncated, overlong varint, offset out of range,
 * trailing bytes, empty). */
int leann_postings_decode(const uint8_t *p, size_t n, uint16_t *out);
void leann_postings_encode(const uint16_t *offs, size_t n, rg_buf *out);

/* SQL functions the table's triggers and build use: rg_post_add(blob,
 * seq), rg_post_del(blob, seq), rg_post_val(json_type, value),
 * aggregate rg_post_agg(seq); and rg_leann_match(meta, where_json), the
 * scan's test of one row (for handle c, as rg_leann_meta).  SQLITE_OK or
 * an SQLite code. */
int leann_filter_register(sqlite3 *db, leann_coll *c);

/* Whether db holds the index. */
bool leann_filter_index_present(sqlite3 *db);

/* Creates and fills rec_post with its triggers in one transaction when c
 * has at least scan_threshold live records and has none yet (the caller
 * holds the write lock, outside a transaction). */
rg_status leann_filter_index_ensure(leann_coll *c, rg_error *err);
/* Builds it anew (`collections compact`: the repair of a damaged index),
 * when the collection has one or should. */
rg_status leann_filter_index_rebuild(leann_coll *c, rg_error *err);

/* The rows (rec.seq, ascending, malloc'd) the index gives for where:
 * exactly the matching ones (*exact) or a superset to check with the
 * filter (an $and with parts it cannot answer).  *used false (nothing
 * allocated): no index, a filter it cannot narrow, or a superset of more
 * than a quarter of the records; the caller scans. */
rg_status leann_filter_index_rows(leann_coll *c, const rg_filter *where, int64_t **rows, size_t *n, bool *exact,
                                  bool *used, rg_error *err);

/* Live nodes matching where, ascending, when the index can tell them:
 * every comparison the answer depends on is $eq, $in or an order on a key
 * other than content_hash, under $and / $or (an $and may hold others: its
 * indexed part narrows the rows, which are then checked with the whole
 * filter).  *used false (nothing allocated): no index, or a filter it
 * cannot narrow; the caller scans. */
rg_status leann_filter_index_nodes(leann_coll *c, const rg_filter *where, uint32_t **nodes, size_t *n, bool *used,
                                   rg_error *err);

/* `collections check`: whether db holds the index (*present) and, if so,
 * whether it is exactly what the rows give (triggers present, every blob
 * well formed, no row missing or extra).  *ok and a message into msg. */
void leann_filter_index_check(sqlite3 *db, bool *present, bool *ok, char *msg, size_t cap);

#endif
