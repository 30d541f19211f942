/* Document readers: turn a file into UTF-8 text (plus title and page
 * offsets).  One file per format implements rg_reader_ops; reader.c picks
 * the reader by extension and content sniffing. */
#ifndef RG_READER_H
#define RG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

typedef struct rg_document {
    char *text;            /* UTF-8, NUL-terminated, paragraphs separated by "\n\n" */
    size_t len;
    char *title;           /* NULL if the format has none */
    size_t npages;         /* 0 unless the format has pages (PDF) */
    size_t *page_offsets;  /* byte offset in text where page i+1 starts */
    const char *format;    /* reader name: text, markdown, html, pdf, man, docx, odt, epub, code */
    const char *language;  /* code only: "c", "python", ...; NULL otherwise */
    /* In, set by rg_document_read before read(): the most bytes a reader
     * may produce by expanding its input (a gzip stream, a zip member), so
     * a compression bomb is refused like an over-large file.  0: the
     * default RG_READ_EXPANDED_DEFAULT. */
    size_t max_expanded;
} rg_document;

/* Expansion bound when none is given (matches ingest.max_file_mb's default). */
#define RG_READ_EXPANDED_DEFAULT ((size_t)64 << 20)

typedef struct rg_reader_ops {
    const char *name;
    /* Lower-case extensions without dot, NULL-terminated. */
    const char *const *extensions;
    /* Optional: extensions a list cannot spell (man sections "1".."9" with
     * suffixes such as "3pm"). */
    bool (*extension_match)(const char *ext);
    /* Optional content sniffing on the first bytes (NULL: extension only). */
    bool (*sniff)(const unsigned char *head, size_t n);
    /* The extension alone is not enough: the first bytes must pass sniff
     * too (".1" is a man page, a rotated log or a shared library). */
    bool extension_needs_sniff;
    rg_status (*read)(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err);
} rg_reader_ops;

extern const rg_reader_ops rg_reader_text;
extern const rg_reader_ops rg_reader_markdown;
extern const rg_reader_ops rg_reader_html;
extern const rg_reader_ops rg_reader_pdf;
extern const rg_reader_ops rg_reader_gzip;
extern const rg_reader_ops rg_reader_man;
extern const rg_reader_ops rg_reader_docx;
extern const rg_reader_ops rg_reader_odt;
extern const rg_reader_ops rg_reader_epub;
extern const rg_reader_ops rg_reader_code;

/* Reader for a file, or NULL if ragged does not read that kind of file.
 * head holds the file's first bytes (NULL: decide by name alone, as far as
 * possible).  A gzip file is read by its inner name ("x.md.gz" is
 * Markdown): the gzip reader is returned when the inner file has a reader. */
const rg_reader_ops *rg_reader_find(const char *path, const unsigned char *head, size_t n);

/* Reads a file of at most max_bytes.  Binary or undecodable content is
 * RG_ERR_INVALID with a message naming the file. */
rg_status rg_document_read(const char *path, size_t max_bytes, rg_document *doc, rg_error *err);
void rg_document_free(rg_document *doc);
/* 1-based page of a byte offset, 0 if the document has no pages. */
size_t rg_document_page_at(const rg_document *doc, size_t offset);

#endif
