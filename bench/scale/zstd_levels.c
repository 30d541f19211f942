/* The zstd level of a leann collection's passages, measured on its own
 * passages and its own dictionary (issue 16 item 5; the numbers behind
 * DICT_LEVEL_LARGE in src/leann_text.c): every STRIDE-th passage is
 * decompressed, then compressed again with the dictionary at each LEVEL,
 * framed as leann_text.c frames them (checksum, no dictionary id, no
 * content size); prints CPU a passage and bytes against raw per level.
 *
 *   bench/cc.sh bench/scale/zstd_levels.c build/zstd_levels
 *   build/zstd_levels DIR/leann.sqlite STRIDE LEVEL...
 *
 * Read-only on the collection. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "../bench_util.h"


static void die(const char *what)
{
    fprintf(stderr, "zstd_levels: %s\n", what);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        die("usage: zstd_levels LEANN_SQLITE STRIDE LEVEL...");
    sqlite3 *db;
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die(sqlite3_errmsg(db));
    int stride = atoi(argv[2]);
    if (stride < 1)
        die("STRIDE must be at least 1");
    sqlite3_stmt *st;
    /* The dictionary the most recent rows use, stored as a whole zstd frame. */
    if (sqlite3_prepare_v2(db, "SELECT dict FROM dicts WHERE id = (SELECT max(dict) FROM rec)", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        die("no passage dictionary (a collection of more than 256 passages has one)");
    const void *zb = sqlite3_column_blob(st, 0);
    size_t zn = (size_t)sqlite3_column_bytes(st, 0);
    unsigned long long dlen = ZSTD_getFrameContentSize(zb, zn);
    if (dlen == ZSTD_CONTENTSIZE_ERROR || dlen == ZSTD_CONTENTSIZE_UNKNOWN)
        die("dictionary is not a zstd frame");
    void *dict = malloc(dlen);
    if (ZSTD_isError(ZSTD_decompress(dict, dlen, zb, zn)))
        die("dictionary does not decompress");
    sqlite3_finalize(st);

    ZSTD_DDict *dd = ZSTD_createDDict(dict, dlen);
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    if (sqlite3_prepare_v2(db, "SELECT doc, doclen FROM rec WHERE seq % ? = 0 AND doc IS NOT NULL", -1, &st, NULL) !=
        SQLITE_OK)
        die(sqlite3_errmsg(db));
    sqlite3_bind_int(st, 1, stride);
    static const unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    size_t fcap = 1 << 24;
    unsigned char *fr = malloc(fcap);
    char **docs = NULL;
    size_t *lens = NULL, nd = 0, cap = 0, total = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *z = sqlite3_column_blob(st, 0);
        size_t zl = (size_t)sqlite3_column_bytes(st, 0), dl = (size_t)sqlite3_column_int64(st, 1);
        if (zl + 4 > fcap)
            die("a passage frame is larger than 16 MB");
        memcpy(fr, magic, 4);   /* stored without its magic (leann_text.c) */
        memcpy(fr + 4, z, zl);
        char *d = malloc(dl + 1);
        size_t r = ZSTD_decompress_usingDDict(dc, d, dl, fr, zl + 4, dd);
        if (ZSTD_isError(r) || r != dl)
            die("a passage does not decompress with the collection's dictionary");
        if (nd == cap) {
            cap = cap ? 2 * cap : 1024;
            docs = realloc(docs, cap * sizeof *docs);
            lens = realloc(lens, cap * sizeof *lens);
        }
        docs[nd] = d;
        lens[nd++] = dl;
        total += dl;
    }
    sqlite3_finalize(st);
    printf("%zu passages, %zu raw bytes, dictionary %llu bytes\n", nd, total, dlen);
    if (nd == 0)
        return 0;
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    for (int a = 3; a < argc; a++) {
        int level = atoi(argv[a]);
        double t0 = cpu_seconds();
        ZSTD_CDict *cd = ZSTD_createCDict(dict, dlen, level);
        double tdict = cpu_seconds() - t0;
        size_t zt = 0;
        t0 = cpu_seconds();
        for (size_t i = 0; i < nd; i++) {
            ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
            ZSTD_CCtx_setParameter(cc, ZSTD_c_dictIDFlag, 0);
            ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
            ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
            ZSTD_CCtx_refCDict(cc, cd);
            size_t r = ZSTD_compress2(cc, fr, fcap, docs[i], lens[i]);
            if (ZSTD_isError(r))
                die(ZSTD_getErrorName(r));
            zt += r - 4;   /* stored without the magic */
        }
        double t = cpu_seconds() - t0;
        printf("level %2d: %.1f us a passage, ratio %.4f (%zu bytes), CDict %.1f ms\n", level, t / (double)nd * 1e6,
               (double)zt / (double)total, zt, tdict * 1e3);
        ZSTD_freeCDict(cd);
    }
    ZSTD_freeCCtx(cc);
    ZSTD_freeDCtx(dc);
    ZSTD_freeDDict(dd);
    for (size_t i = 0; i < nd; i++)
        free(docs[i]);
    free(docs);
    free(lens);
    free(fr);
    free(dict);
    sqlite3_close(db);
    return 0;
}
