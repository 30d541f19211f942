/* Text analysis shared by the lexical (BM25) index: Unicode case folding
 * and accent stripping (utf8proc), words = runs of letters and digits,
 * English stop words dropped, the rest stemmed with a Snowball stemmer
 * (libstemmer).  Deterministic and locale-independent. */
#ifndef RG_ANALYZER_H
#define RG_ANALYZER_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "util.h"

typedef struct rg_analyzer rg_analyzer;

/* stemmer: "english" (Snowball English, a.k.a. Porter2), "porter" (the
 * original Porter algorithm, the one SQLite FTS5's porter tokenizer
 * implements) or "none". */
rg_status rg_analyzer_new(const char *stemmer, rg_analyzer **out, rg_error *err);
void rg_analyzer_free(rg_analyzer *a);
const char *rg_analyzer_stemmer(const rg_analyzer *a);

/* Appends the terms of text to out, separated by single spaces (no leading
 * or trailing space); returns the number of terms.  Not thread-safe for one
 * analyzer (the Snowball stemmer keeps state). */
size_t rg_analyzer_terms(rg_analyzer *a, const char *text, rg_buf *out);

bool rg_english_stopword(const char *word);

/* The normalisation both the analyzer and the builtin embedder apply:
 * Unicode case folding, compatibility decomposition, marks and ignorable
 * code points removed (utf8proc).  Returns a malloc'd NUL-terminated copy
 * and its length in *outlen, or NULL if text is not valid UTF-8.  Pure
 * ASCII text, most of what gets ingested, takes a byte loop with the same
 * result instead of a decomposition per character. */
char *rg_text_fold(const char *text, size_t len, size_t *outlen);

/* Calls fn(ctx, word, len) for each run of letters and digits (Unicode
 * categories L* and N*) of folded text s of n bytes. */
void rg_text_words(const char *s, size_t n, void (*fn)(void *ctx, const char *w, size_t len), void *ctx);

#endif
