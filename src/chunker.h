/* Splits a document into chunks of at most `size` embedder tokens with
 * `overlap` tokens shared between neighbours, cutting at paragraph and
 * sentence boundaries where possible and inside sentences only when one
 * sentence alone is too long. */
#ifndef RG_CHUNKER_H
#define RG_CHUNKER_H

#include <stddef.h>
#include "embedder.h"

typedef struct rg_chunk {
    size_t start, end;     /* byte range in the document text */
    size_t tokens;
} rg_chunk;

typedef struct rg_chunks {
    rg_chunk *items;
    size_t n, cap;
} rg_chunks;

/* size and overlap are in tokens as counted by the embedder; size is capped
 * at what the embedder reads (max_tokens minus the special tokens). */
void rg_chunk_text(const char *text, size_t len, rg_embedder *emb, size_t size, size_t overlap, rg_chunks *out);
void rg_chunks_free(rg_chunks *c);
/* The size actually used for an embedder. */
size_t rg_chunk_effective_size(rg_embedder *emb, size_t size);

#endif
