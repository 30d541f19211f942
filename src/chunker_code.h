/* Chunking source code: cuts between top-level definitions (functions,
 * classes, top-level statements), found by a small language-aware scan
 * (bracket depth outside strings and comments for C-like languages,
 * indentation for Python, blank lines at column 0 otherwise), and packs
 * whole definitions into chunks of at most `size` tokens.  A definition
 * longer than a chunk is packed by its nested units (methods of a class),
 * what is still too long is cut between lines (with `overlap` tokens of
 * lines repeated), a line longer than a chunk between words.  Kept apart
 * from chunker.c, which owns prose. */
#ifndef RG_CHUNKER_CODE_H
#define RG_CHUNKER_CODE_H

#include <stddef.h>
#include "chunker.h"

/* language is rg_document.language ("c", "python", ...; NULL or unknown
 * names use the column-0 rule). */
void rg_chunk_code(const char *text, size_t len, const char *language, rg_embedder *emb, size_t size, size_t overlap,
                   rg_chunks *out);

#endif
