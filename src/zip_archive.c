/* Zip members through libarchive (see zip_archive.h).
 *
 * libarchive is opened with dlopen on the first zip-based document, not
 * linked: it brings liblzma, liblz4, libbz2, libnettle and libacl along,
 * and most commands never read a DOCX (docs/architecture.md "Linking").
 * The function table is written once inside pthread_once and read-only
 * afterwards; a load failure is kept so every document reports it. */
#include "zip_archive.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "dynlib.h"
#include "util.h"

#ifndef RG_ARCHIVE_SONAME
#error "RG_ARCHIVE_SONAME is not set: mk/dynlib.mk reads it from libarchive's development package (libarchive-dev)"
#endif
#ifndef RG_ARCHIVE_PACKAGE
#define RG_ARCHIVE_PACKAGE ""
#endif

#define ARCHIVE_FUNCS(X)                                                                                               \
    X(archive_read_new)                                                                                                \
    X(archive_read_support_format_zip)                                                                                 \
    X(archive_read_open_memory)                                                                                        \
    X(archive_read_next_header)                                                                                        \
    X(archive_read_data)                                                                                               \
    X(archive_read_data_skip)                                                                                          \
    X(archive_read_free)                                                                                               \
    X(archive_error_string)                                                                                            \
    X(archive_entry_pathname)                                                                                          \
    X(archive_entry_pathname_utf8)                                                                                     \
    X(archive_entry_filetype)                                                                                          \
    X(archive_entry_is_encrypted)

typedef struct archive_api {
#define X(f) __typeof__(f) *f;
    ARCHIVE_FUNCS(X)
#undef X
} archive_api;

enum {
#define X(f) ARCHIVE_FUNC_##f,
    ARCHIVE_FUNCS(X)
#undef X
    ARCHIVE_NFUNCS
};

static pthread_once_t archive_once = PTHREAD_ONCE_INIT;
static archive_api archive_fns;
static rg_error archive_load_err;
static bool archive_loaded;

static void archive_load_once(void)
{
    static const rg_dynlib lib = {RG_ARCHIVE_SONAME, RG_ARCHIVE_PACKAGE, "reading DOCX, ODT and EPUB files"};
    static const char *const names[] = {
#define X(f) #f,
        ARCHIVE_FUNCS(X)
#undef X
    };
    void *syms[ARCHIVE_NFUNCS];
    if (rg_dynlib_load(&lib, names, ARCHIVE_NFUNCS, syms, &archive_load_err) != RG_OK)
        return;
#define X(f) archive_fns.f = (__typeof__(archive_fns.f))syms[ARCHIVE_FUNC_##f];
    ARCHIVE_FUNCS(X)
#undef X
    archive_loaded = true;
}

static void push_member(rg_zip *z, const char *name, rg_buf *data)
{
    if (z->n == z->cap) {
        z->cap = z->cap ? z->cap * 2 : 8;
        z->items = rg_xrealloc(z->items, z->cap * sizeof *z->items);
    }
    z->items[z->n].name = rg_xstrdup(name);
    z->items[z->n].len = data->len;
    z->items[z->n].data = rg_buf_steal(data);
    z->n++;
}

rg_status rg_zip_read(const char *path, const char *data, size_t len, bool (*keep)(const char *name, void *ctx),
                      void *ctx, size_t max_total, rg_zip *out, rg_error *err)
{
    memset(out, 0, sizeof *out);
    pthread_once(&archive_once, archive_load_once);
    if (!archive_loaded) {
        return rg_error_set(err, archive_load_err.code ? archive_load_err.code : RG_ERR_UNAVAILABLE, "%s: %s", path,
                            archive_load_err.msg);
    }
    const archive_api *A = &archive_fns;
    if (len < 4 || memcmp(data, "PK", 2) != 0)
        return rg_error_set(err, RG_ERR_INVALID, "%s is not a zip file (DOCX, ODT and EPUB are zip archives)", path);
    struct archive *a = A->archive_read_new();
    if (!a)
        return rg_error_set(err, RG_ERR_NOMEM, "%s: libarchive could not allocate a reader", path);
    A->archive_read_support_format_zip(a);
    rg_status st = RG_OK;
    if (A->archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        st = rg_error_set(err, RG_ERR_INVALID, "%s is not a readable zip file (%s)", path,
                          A->archive_error_string(a) ? A->archive_error_string(a) : "unknown error");
        A->archive_read_free(a);
        return st;
    }
    size_t total = 0, entries = 0;
    rg_buf buf;
    rg_buf_init(&buf);
    for (;;) {
        struct archive_entry *e;
        int r = A->archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            st = rg_error_set(err, RG_ERR_INVALID, "%s: damaged zip archive (%s)", path,
                              A->archive_error_string(a) ? A->archive_error_string(a) : "unreadable entry");
            break;
        }
        if (++entries > RG_ZIP_MAX_ENTRIES) {
            st = rg_error_set(err, RG_ERR_INVALID, "%s has more than %d members; not read (a document has far fewer)",
                              path, RG_ZIP_MAX_ENTRIES);
            break;
        }
        const char *name = A->archive_entry_pathname_utf8(e);
        if (!name)
            name = A->archive_entry_pathname(e);
        if (!name || A->archive_entry_filetype(e) != AE_IFREG || !keep(name, ctx)) {
            A->archive_read_data_skip(a);
            continue;
        }
        if (A->archive_entry_is_encrypted(e) > 0) {
            st = rg_error_set(err, RG_ERR_INVALID, "%s is encrypted (password-protected); save it without a password",
                              path);
            break;
        }
        buf.len = 0;
        char block[65536];
        for (;;) {
            la_ssize_t got = A->archive_read_data(a, block, sizeof block);
            if (got == 0)
                break;
            if (got < 0) {
                st = rg_error_set(err, RG_ERR_INVALID, "%s: damaged zip member %s (%s)", path, name,
                                  A->archive_error_string(a) ? A->archive_error_string(a) : "read error");
                break;
            }
            /* The bound is checked as data arrives: the sizes a zip
             * declares are not to be trusted. */
            if (total + (size_t)got > max_total) {
                st = rg_error_set(err, RG_ERR_INVALID,
                                  "%s expands to more than %.1f MB (ingest.max_file_mb); skipped as a possible zip "
                                  "bomb (raise the limit to read it)",
                                  path, (double)max_total / 1048576.0);
                break;
            }
            total += (size_t)got;
            rg_buf_append(&buf, block, (size_t)got);
        }
        if (st != RG_OK)
            break;
        push_member(out, name, &buf);
    }
    rg_buf_free(&buf);
    A->archive_read_free(a);
    if (st != RG_OK)
        rg_zip_free(out);
    return st;
}

const rg_zip_member *rg_zip_find(const rg_zip *z, const char *name)
{
    for (size_t i = 0; i < z->n; i++)
        if (strcmp(z->items[i].name, name) == 0)
            return &z->items[i];
    return NULL;
}

void rg_zip_free(rg_zip *z)
{
    for (size_t i = 0; i < z->n; i++) {
        free(z->items[i].name);
        free(z->items[i].data);
    }
    free(z->items);
    memset(z, 0, sizeof *z);
}
