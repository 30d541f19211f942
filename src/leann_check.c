/* `ragged collections check` for a leann collection: every stored byte that
 * can be verified, read from the directory without loading the collection
 * (a damaged one cannot be loaded, and that is when it is checked).  One
 * JSON object per component: {"component", "ok", "detail"}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leann_sqlite.h"
#include "leann_filter.h"
#include "sqlite_util.h"
#include "util.h"

#define SHOW_MAX 3   /* damaged rows named in a detail */

static void add(json_t *report, const char *component, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(json_t *report, const char *component, bool ok, const char *fmt, ...)
{
    char detail[RG_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_array_append_new(report, json_pack("{s:s, s:b, s:s}", "component", component, "ok", ok, "detail", detail));
}

static int64_t meta_int(sqlite3 *db, const char *key)
{
    char *v = NULL;
    rg_error ignored;
    int64_t out = -1;
    if (rg_sqlite_meta_get(db, key, &v, &ignored) == RG_OK && v)
        out = strtoll(v, NULL, 10);
    free(v);
    return out;
}

/* Passages or metadata of every row (which: 0 passages, 1 metadata). */
static void check_rows(leann_coll *c, int which, json_t *report)
{
    const char *what = which ? "metadata" : "passages";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(leann_db(c), "SELECT seq, doc, doclen, dict, meta FROM rec ORDER BY seq", -1, &st, NULL) !=
        SQLITE_OK) {
        add(report, what, false, "cannot read the rows: %s", sqlite3_errmsg(leann_db(c)));
        return;
    }
    int64_t rows = 0, bad = 0, unverified = 0;
    rg_buf shown;
    rg_buf_init(&shown);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int col = which ? 4 : 1;
        if (sqlite3_column_type(st, col) == SQLITE_NULL)
            continue;
        rows++;
        const void *blob = sqlite3_column_blob(st, col);
        size_t len = (size_t)sqlite3_column_bytes(st, col);
        bool verified = true;
        rg_error e = {0};
        rg_status rc = which ? leann_text_verify_row(c, NULL, 0, 0, 0, blob, len, &verified, &e)
                             : leann_text_verify_row(c, blob, len, sqlite3_column_int64(st, 2),
                                                     sqlite3_column_int64(st, 3), NULL, 0, &verified, &e);
        if (rc != RG_OK) {
            if (bad++ < SHOW_MAX) {
                const char *msg = strstr(e.msg, ": ") ? strstr(e.msg, ": ") + 2 : e.msg;
                rg_buf_printf(&shown, "%srow %lld: %s", shown.len ? "; " : "", (long long)sqlite3_column_int64(st, 0),
                              msg);
            }
        } else if (!verified) {
            unverified++;
        }
    }
    if (r != SQLITE_DONE && !bad)
        add(report, what, false, "reading the rows failed after %lld: %s", (long long)rows, sqlite3_errmsg(leann_db(c)));
    else if (bad)
        add(report, what, false, "%lld of %lld damaged (%s%s)", (long long)bad, (long long)rows, shown.data,
            bad > SHOW_MAX ? "; ..." : "");
    else if (unverified)
        add(report, what, true,
            "%lld read back; %lld written before checksums (format 5 or older) could not be verified: "
            "'ragged collections compact' rewrites them with checksums",
            (long long)rows, (long long)unverified);
    else
        add(report, what, true, "%lld read back, every checksum matches", (long long)rows);
    rg_buf_free(&shown);
    sqlite3_finalize(st);
}

rg_status leann_check(const char *dir, const char *db_name, json_t *report, rg_error *err)
{
    char *path = rg_path_join(dir, db_name);
    if (!rg_path_exists(path)) {
        free(path);
        return rg_error_set(err, RG_ERR_NOTFOUND, "%s does not exist", dir);
    }
    leann_sql *h = rg_xcalloc(1, sizeof *h);   /* c first: free(c) frees h */
    leann_coll *c = &h->c;
    leann_sq(c)->dir = rg_xstrdup(dir);
    leann_sq(c)->db_path = path;
    const char *slash = strrchr(dir, '/');
    c->name = rg_xstrdup(slash ? slash + 1 : dir);
    leann_sq(c)->lock_fd = -1;
    rg_status rc = rg_sqlite_open_paged(path, SQLITE_OPEN_READONLY, 0, &leann_db(c), err);
    if (rc == RG_OK && leann_sql_register(leann_db(c), c) != SQLITE_OK)
        rc = rg_sqlite_error(leann_db(c), path, err);
    if (rc != RG_OK) {
        /* A database that does not open is the finding, not a failure to check. */
        add(report, "database", false, "%s", err->msg);
        rc = RG_OK;
        goto out;
    }

    /* SQLite's own structure: pages, b-trees, indexes. */
    sqlite3_stmt *st = NULL;
    rg_buf problems;
    rg_buf_init(&problems);
    int nproblems = 0;
    if (sqlite3_prepare_v2(leann_db(c), "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *m = (const char *)sqlite3_column_text(st, 0);
            if (m && strcmp(m, "ok") != 0 && nproblems++ < SHOW_MAX)
                rg_buf_printf(&problems, "%s%s", problems.len ? "; " : "", m);
        }
        sqlite3_finalize(st);
        add(report, "database", nproblems == 0, "%s: %s", path, nproblems ? problems.data : "structure ok");
    } else {
        nproblems = 1;
        add(report, "database", false, "%s: %s", path, sqlite3_errmsg(leann_db(c)));
    }
    rg_buf_free(&problems);

    char *format = NULL;
    rg_error ignored;
    rg_sqlite_meta_get(leann_db(c), "format", &format, &ignored);
    int64_t gen = meta_int(leann_db(c), "generation"), nodes = meta_int(leann_db(c), "nodes"), base_n = meta_int(leann_db(c), "base_n");
    bool counters = format && gen >= 0 && nodes >= 0 && base_n >= 0 && base_n <= nodes && !(gen == 0 && nodes > 0);
    add(report, "format", counters, "%s, generation %lld, %lld nodes (%lld in the generation files)%s",
        format ? format : "(no format)", (long long)gen, (long long)nodes, (long long)base_n,
        counters ? "" : ": the counters are missing or inconsistent");
    free(format);

    if (gen > 0) {
        char *gp = rg_xasprintf("%s/graph-%lld.bin", dir, (long long)gen);
        char *cp = rg_xasprintf("%s/codes-%lld.bin", dir, (long long)gen);
        leann_graph g;
        memset(&g, 0, sizeof g);
        rg_error e = {0};
        if (leann_graph_read(&g, gp, &e) != RG_OK)
            add(report, "graph", false, "%s", e.msg);
        else
            add(report, "graph", g.n == (uint32_t)base_n, "%s: %u nodes%s", gp, g.n,
                g.n == (uint32_t)base_n ? ", checksum matches" : ", not the number the database records");
        leann_graph_free(&g);
        leann_pq pq;
        memset(&pq, 0, sizeof pq);
        uint8_t *codes = NULL;
        uint32_t ncodes = 0;
        if (leann_codes_read(&pq, &codes, &ncodes, cp, &e) != RG_OK)
            add(report, "codes", false, "%s", e.msg);
        else
            add(report, "codes", ncodes == (uint32_t)base_n, "%s: %u codes%s", cp, ncodes,
                ncodes == (uint32_t)base_n ? ", checksum matches" : ", not the number the database records");
        leann_pq_free(&pq);
        free(codes);
        free(gp);
        free(cp);
    }
    check_rows(c, 0, report);
    check_rows(c, 1, report);
    {
        bool present, ok;
        char msg[512];
        leann_filter_index_check(leann_db(c), &present, &ok, msg, sizeof msg);
        add(report, "filters", ok, "metadata index: %s", msg);
    }

out:
    leann_text_free(c);
    if (leann_db(c))
        sqlite3_close(leann_db(c));
    free(leann_sq(c)->dir);
    free(leann_sq(c)->db_path);
    free(c->name);
    free(c);
    return rc;
}
