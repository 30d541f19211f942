/* SQLite conventions shared by the backends that keep data in SQLite
 * (exact, leann, the lexical index): how a database is opened (WAL,
 * busy timeout, private permissions), errors, a key/value meta table, and
 * binding parameters collected as a JSON array. */
#ifndef RG_SQLITE_UTIL_H
#define RG_SQLITE_UTIL_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include "error.h"

/* Opens with WAL journaling, synchronous=FULL (an acknowledged write
 * survives power loss), a 10 s busy timeout (a second writer waits, then
 * gets RG_ERR_LOCKED) and file mode 0600.  flags: SQLITE_OPEN_* */
rg_status rg_sqlite_open(const char *path, int flags, sqlite3 **out, rg_error *err);
/* The same; a file it creates gets pages of page_size bytes (0: SQLite's
 * default, 4 KB).  8 KB suits rows of a few hundred bytes (leann, lexical:
 * half a row unused per page, 1.6% smaller on SciFact); it does not suit
 * 4 KB vectors (exact), which then take a page each. */
rg_status rg_sqlite_open_paged(const char *path, int flags, int page_size, sqlite3 **out, rg_error *err);
/* Error from the connection's last failure, naming the file. */
rg_status rg_sqlite_error(sqlite3 *db, const char *path, rg_error *err);
rg_status rg_sqlite_exec(sqlite3 *db, const char *sql, rg_error *err);
rg_status rg_sqlite_scalar_int(sqlite3 *db, const char *sql, int64_t *out, rg_error *err);
/* meta(key TEXT PRIMARY KEY, value TEXT); *value NULL if absent. */
rg_status rg_sqlite_meta_get(sqlite3 *db, const char *key, char **value, rg_error *err);
rg_status rg_sqlite_meta_set(sqlite3 *db, const char *key, const char *value, rg_error *err);
/* Prepares sql and binds each element of params (strings, integers, reals,
 * booleans as 0/1) to the `?` placeholders in order. */
rg_status rg_sqlite_prepare_bound(sqlite3 *db, const char *path, const char *sql, const json_t *params,
                                  sqlite3_stmt **out, rg_error *err);

#endif
