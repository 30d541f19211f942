#include "sqlite_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

rg_status rg_sqlite_error(sqlite3 *db, const char *path, rg_error *err)
{
    int code = sqlite3_errcode(db);
    const char *msg = sqlite3_errmsg(db);
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return rg_error_set(err, RG_ERR_LOCKED,
                            "%s is locked by another ragged process; wait for it to finish and try again", path);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return rg_error_set(err, RG_ERR_CORRUPT, "%s is damaged or not a ragged database (%s)", path, msg);
    case SQLITE_FULL:
        return rg_error_set(err, RG_ERR_IO, "%s: the disk is full (%s); free some space and retry", path, msg);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return rg_error_set(err, RG_ERR_IO, "%s: %s", path, msg);
    default:
        return rg_error_set(err, RG_ERR_INTERNAL, "%s: %s", path, msg);
    }
}

rg_status rg_sqlite_open(const char *path, int flags, sqlite3 **out, rg_error *err)
{
    return rg_sqlite_open_paged(path, flags, 0, out, err);
}

rg_status rg_sqlite_open_paged(const char *path, int flags, int page_size, sqlite3 **out, rg_error *err)
{
    *out = NULL;
    if (flags & SQLITE_OPEN_CREATE) {
        /* Create the file ourselves so it is private from the start. */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rg_status st = db ? rg_sqlite_error(db, path, err) : rg_error_set(err, RG_ERR_NOMEM, "cannot open %s", path);
        sqlite3_close(db);
        return st;
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_extended_result_codes(db, 0);
    rg_status st = RG_OK;
    /* Before WAL mode writes the header: a no-op on existing files. */
    if (st == RG_OK && page_size > 0 && (flags & SQLITE_OPEN_CREATE)) {
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA page_size=%d", page_size);
        st = rg_sqlite_exec(db, pragma, err);
    }
    if (st == RG_OK && !(flags & SQLITE_OPEN_READONLY)) {
        st = rg_sqlite_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", err);
    }
    if (st == RG_OK) {
        /* Touch the schema so a foreign or damaged file fails here. */
        int64_t n;
        st = rg_sqlite_scalar_int(db, "SELECT count(*) FROM sqlite_master", &n, err);
        if (st != RG_OK)
            st = rg_sqlite_error(db, path, err);
    }
    if (st != RG_OK) {
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return RG_OK;
}

rg_status rg_sqlite_exec(sqlite3 *db, const char *sql, rg_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        rg_status st = rg_sqlite_error(db, sqlite3_db_filename(db, "main"), err);
        sqlite3_free(msg);
        return st;
    }
    return RG_OK;
}

rg_status rg_sqlite_scalar_int(sqlite3 *db, const char *sql, int64_t *out, rg_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(db, sqlite3_db_filename(db, "main"), err);
    rg_status rc = RG_OK;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = rg_sqlite_error(db, sqlite3_db_filename(db, "main"), err);
    sqlite3_finalize(st);
    return rc;
}

rg_status rg_sqlite_meta_get(sqlite3 *db, const char *key, char **value, rg_error *err)
{
    *value = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
        return rg_error_set(err, RG_ERR_CORRUPT, "%s is not a ragged collection database (no meta table)",
                            sqlite3_db_filename(db, "main"));
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    rg_status rc = RG_OK;
    if (r == SQLITE_ROW)
        *value = rg_xstrdup((const char *)sqlite3_column_text(st, 0));
    else if (r != SQLITE_DONE)
        rc = rg_sqlite_error(db, sqlite3_db_filename(db, "main"), err);
    sqlite3_finalize(st);
    return rc;
}

rg_status rg_sqlite_meta_set(sqlite3 *db, const char *key, const char *value, rg_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(db, sqlite3_db_filename(db, "main"), err);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    rg_status rc = sqlite3_step(st) == SQLITE_DONE ? RG_OK : rg_sqlite_error(db, sqlite3_db_filename(db, "main"), err);
    sqlite3_finalize(st);
    return rc;
}

rg_status rg_sqlite_prepare_bound(sqlite3 *db, const char *path, const char *sql, const json_t *params,
                                  sqlite3_stmt **out, rg_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(db, path, err);
    size_t i;
    json_t *v;
    json_array_foreach(params, i, v)
    {
        int idx = (int)i + 1;
        if (json_is_string(v))
            sqlite3_bind_text(st, idx, json_string_value(v), (int)json_string_length(v), SQLITE_TRANSIENT);
        else if (json_is_integer(v))
            sqlite3_bind_int64(st, idx, json_integer_value(v));
        else if (json_is_real(v))
            sqlite3_bind_double(st, idx, json_real_value(v));
        else if (json_is_boolean(v))
            sqlite3_bind_int(st, idx, json_is_true(v));
        else
            sqlite3_bind_null(st, idx);
    }
    *out = st;
    return RG_OK;
}
