/* The native BM25 index: immutable segment files of block-compressed
 * postings (bm25_segment.c) and block-max MaxScore top-k over a set of them
 * (bm25_search.c).  lexical.c owns a collection's segments, their
 * tombstones and the write protocol; this layer knows nothing of backends
 * or SQLite.  The file format is documented in docs/bm25.md.
 *
 * A segment numbers its documents 0..ndocs-1 in the order they were added;
 * each has an id (the record's id), a length (number of terms) and its term
 * frequencies in the postings of its terms.  Scores use the statistics of
 * the whole index (live documents, their total length, live document
 * frequencies), which the caller computes from all segments and their
 * tombstones, so a document scores the same whatever segment holds it. */
#ifndef RG_BM25_H
#define RG_BM25_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "util.h"

#define RG_BM25_BLOCK 128          /* documents per postings block */
#define RG_BM25_TERM_MAX 255       /* the analyser drops longer words */
/* The fix every damage message names (a query never rebuilds). */
#define RG_BM25_REINDEX_HINT \
    "'ragged collections reindex NAME' (NAME: its collection) rebuilds the index from the passages"

/* ---- building a segment ---- */

typedef struct rg_bm25_builder rg_bm25_builder;

rg_bm25_builder *rg_bm25_builder_new(void);
void rg_bm25_builder_free(rg_bm25_builder *b);
/* Adds a document: terms is the analyser's output (stems separated by
 * single spaces, may be empty).  Returns its number in the segment. */
uint32_t rg_bm25_builder_add(rg_bm25_builder *b, const char *id, const char *terms, size_t len);
size_t rg_bm25_builder_ndocs(const rg_bm25_builder *b);
/* The segment's bytes (head, regions, trailer) appended to out.  The
 * postings are freed as they are written: afterwards the builder answers
 * only rg_bm25_builder_ndocs and is then freed. */
void rg_bm25_builder_encode(rg_bm25_builder *b, rg_buf *out);

/* ---- reading a segment ---- */

typedef struct rg_bm25_seg rg_bm25_seg;

/* Maps the file read-only and checks its head (magic, version, head
 * checksum, region bounds); the regions are checked chunk by chunk against
 * their CRC32C the first time they are read, so a query reads and checks
 * only the postings of its terms.  Any damage is RG_ERR_CORRUPT naming
 * the file. */
rg_status rg_bm25_seg_open(const char *path, rg_bm25_seg **out, rg_error *err);
/* Recomputes the checksums of segment bytes in place (best effort on
 * damaged bytes): the fuzz target signs its mutations with it so they
 * reach the decoders behind the checksums. */
void rg_bm25_seg_resign(uint8_t *buf, size_t len);
/* The same over bytes in memory (borrowed until free; the fuzz target). */
rg_status rg_bm25_seg_parse(const void *data, size_t len, const char *name, rg_bm25_seg **out, rg_error *err);
void rg_bm25_seg_free(rg_bm25_seg *s);
uint32_t rg_bm25_seg_ndocs(const rg_bm25_seg *s);
uint64_t rg_bm25_seg_bytes(const rg_bm25_seg *s);
uint64_t rg_bm25_seg_total_dl(const rg_bm25_seg *s);   /* sum of document lengths */
/* Checks every chunk of every region and decodes every postings list:
 * what `collections check`-style callers and the fuzz target want. */
rg_status rg_bm25_seg_verify(rg_bm25_seg *s, rg_error *err);
/* The id of document doc (valid until the next call on s). */
rg_status rg_bm25_seg_id(rg_bm25_seg *s, uint32_t doc, const char **id, rg_error *err);
rg_status rg_bm25_seg_dl(rg_bm25_seg *s, uint32_t doc, uint32_t *dl, rg_error *err);

/* Postings of one term, decoded block by block. */
typedef struct rg_bm25_cursor {
    rg_bm25_seg *seg;
    const uint8_t *p, *end;        /* undecoded block headers and payloads */
    uint32_t df, seen;             /* documents in the list; in the blocks before this one */
    /* the current block */
    uint32_t n, pos;               /* documents in it, next one to read */
    uint32_t first, last;          /* its first and last document */
    uint32_t max_tf, min_dl;       /* for its score bound */
    const uint8_t *payload;
    uint32_t payload_len, bits_doc, bits_tf;   /* Rice parameters */
    bool decoded;
    bool last_exact;               /* false: last is a bound until the block is decoded */
    uint32_t docs[RG_BM25_BLOCK], tfs[RG_BM25_BLOCK];
    uint32_t prev_last;            /* last document of the block before (UINT32_MAX: none) */
} rg_bm25_cursor;

/* found false: the segment lacks the term. */
rg_status rg_bm25_seg_term(rg_bm25_seg *s, const char *term, size_t len, rg_bm25_cursor *c, bool *found,
                           rg_error *err);
/* Moves to the next block (false at the end). */
rg_status rg_bm25_cursor_next_block(rg_bm25_cursor *c, bool *more, rg_error *err);
rg_status rg_bm25_cursor_decode(rg_bm25_cursor *c, rg_error *err);

/* Calls fn for every term of the segment in order (merges). */
rg_status rg_bm25_seg_terms(rg_bm25_seg *s, rg_status (*fn)(void *ctx, const char *term, size_t len,
                                                            rg_bm25_cursor *c, rg_error *err),
                            void *ctx, rg_error *err);

/* Adds the documents of s not marked in dead (bitset, NULL: none) to b,
 * in order, with their postings: merging segments is adding them to a new
 * builder one after the other. */
rg_status rg_bm25_builder_add_segment(rg_bm25_builder *b, rg_bm25_seg *s, const uint8_t *dead, rg_error *err);

/* ---- search ---- */

typedef struct rg_bm25_part {
    rg_bm25_seg *seg;
    const uint8_t *dead;           /* tombstones (bitset over documents), NULL: none */
    const uint8_t *allow;          /* filter (bitset), NULL: every document */
} rg_bm25_part;

typedef struct rg_bm25_qterm {
    const char *term;
    size_t len;
    double weight;                 /* how often the query repeats it */
} rg_bm25_qterm;

typedef struct rg_bm25_stats {
    double k1, b;
    uint64_t ndocs;                /* live documents of the whole index */
    uint64_t total_dl;             /* their total length */
} rg_bm25_stats;

typedef struct rg_bm25_result {
    double score;
    uint32_t part, doc;
    char *id;                      /* owned */
} rg_bm25_result;

/* Top k (score descending, ties by id ascending) of the documents that
 * are alive and allowed, with BM25 as lexical.h defines it; *n results.
 * The document frequency of a term counts live documents only. */
rg_status rg_bm25_search(rg_bm25_part *parts, size_t nparts, const rg_bm25_qterm *q, size_t nq,
                         const rg_bm25_stats *st, int k, rg_bm25_result **out, size_t *n, rg_error *err);
void rg_bm25_results_free(rg_bm25_result *r, size_t n);

static inline bool rg_bit_get(const uint8_t *set, uint32_t i)
{
    return set && (set[i >> 3] >> (i & 7)) & 1;
}

static inline void rg_bit_set(uint8_t *set, uint32_t i)
{
    set[i >> 3] |= (uint8_t)(1u << (i & 7));
}

#endif
