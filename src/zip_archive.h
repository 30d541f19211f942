/* Reading the members of a zip file held in memory (DOCX, ODT and EPUB are
 * zip files of XML), through libarchive, opened on first use like
 * poppler-glib (dynlib.h).  Work and memory are bounded: at most
 * RG_ZIP_MAX_ENTRIES members are looked at, and the members kept may
 * expand to max_total bytes together, so a zip bomb is refused with a
 * message, not inflated. */
#ifndef RG_ZIP_ARCHIVE_H
#define RG_ZIP_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define RG_ZIP_MAX_ENTRIES 20000

typedef struct rg_zip_member {
    char *name;  /* path inside the archive, as stored ("word/document.xml") */
    char *data;  /* NUL-terminated */
    size_t len;
} rg_zip_member;

typedef struct rg_zip {
    rg_zip_member *items;
    size_t n, cap;
} rg_zip;

/* Extracts the members of the zip in data[0..len) for which keep(name,
 * ctx) is true into out (in archive order).  Errors name path: not a zip,
 * damaged, encrypted, more than RG_ZIP_MAX_ENTRIES members, kept members
 * over max_total bytes, libarchive not installed (RG_ERR_UNAVAILABLE). */
rg_status rg_zip_read(const char *path, const char *data, size_t len, bool (*keep)(const char *name, void *ctx),
                      void *ctx, size_t max_total, rg_zip *out, rg_error *err);
/* The member called name (exact match), or NULL. */
const rg_zip_member *rg_zip_find(const rg_zip *z, const char *name);
void rg_zip_free(rg_zip *z);

#endif
