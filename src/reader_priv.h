/* Helpers shared by the reader_*.c files (not part of the public reader
 * contract in reader.h). */
#ifndef RG_READER_PRIV_H
#define RG_READER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "reader.h"
#include "util.h"

/* Turns the raw bytes of a text-like file into clean UTF-8: strips a UTF-8
 * BOM, decodes UTF-16 with a BOM, refuses binary content (NUL bytes near the
 * start, many control bytes), repairs rare invalid UTF-8 bytes with U+FFFD,
 * transcodes text that is plausibly Windows-1252/Latin-1, and normalises
 * CRLF and lone CR to LF.  Messages name path. */
rg_status rg_text_decode(const char *path, const char *data, size_t len, rg_buf *out, rg_error *err);

/* Appends s to out as paragraphs: lines are right-trimmed, runs of blank
 * lines (and form feeds) become one "\n\n", leading and trailing blank lines
 * are dropped, other control characters except tab are removed.  A "\n\n"
 * separates the new text from what out already holds. */
void rg_text_append_paragraphs(rg_buf *out, const char *s, size_t n);

/* rg_text_decode then rg_text_append_paragraphs into doc->text/len: the
 * whole read of a plain text-like file (text, source code); the caller sets
 * doc->format and what else it knows. */
rg_status rg_text_read_document(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err);

/* Appends a code point as UTF-8 (invalid ones become U+FFFD). */
void rg_utf8_put(rg_buf *out, unsigned long cp);

/* Collapses runs of whitespace to one space and trims both ends, in place;
 * returns the new length. */
size_t rg_text_squeeze_spaces(char *s, size_t n);

/* Lower-case extension of path without the dot ("" if none), in out. */
void rg_path_extension(const char *path, char *out, size_t outsz);

/* Replaces bytes of s[0..*len) that are not valid UTF-8 with U+FFFD, in
 * place (reallocating when it grows); for readers whose escapes or
 * archive members can split a character. */
void rg_utf8_sanitize(char **s, size_t *len);

/* What rg_document_read accepts, for messages about what it does not. */
#define RG_READER_KINDS                                                                                   \
    "text, Markdown, HTML, PDF, man pages, DOCX, ODT, EPUB and source code (also gzip-compressed, "        \
    "e.g. x.txt.gz)"

/* Reader for the file inside path, which ends in ".gz", from the first
 * decompressed bytes (head may be NULL); never the gzip reader itself, so
 * "x.gz.gz" is not read (one level of compression, bounded work). */
const rg_reader_ops *rg_reader_inner_find(const char *path, const unsigned char *head, size_t n);

/* Inflates the start of a gzip stream into out (at most cap bytes) for
 * sniffing; a truncated or damaged stream gives what decoded before the
 * damage.  Returns the number of bytes written (0 if none). */
size_t rg_gunzip_head(const unsigned char *data, size_t len, unsigned char *out, size_t cap);

/* Decompresses a whole gzip file (concatenated members too) into out,
 * refusing more than max_out bytes (a compression bomb) and damaged
 * streams with a message naming path. */
rg_status rg_gunzip(const char *path, const char *data, size_t len, size_t max_out, rg_buf *out, rg_error *err);

#endif
