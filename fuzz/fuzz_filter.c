/* The `where` filter parser, matcher and SQL renderer.  Properties:
 * - parsing never crashes and a refusal has a message;
 * - the canonical JSON of a parsed filter parses again to the same JSON;
 * - the SQL rendering prepares and runs in SQLite, and on a fixed set of
 *   metadata rows it selects exactly the rows rg_filter_match accepts (the
 *   exact backend filters in SQL, the others in memory: they must agree),
 *   conditions on the passage text ("#document") excepted: SQL leaves them
 *   to the query (true), which must equal matching without them
 *   (rg_filter_without). */
#include <sqlite3.h>

#include "filter.h"
#include "fuzz.h"
#include "sqlite_util.h"

static const char *const ROWS[] = {
    "{}",
    "{\"a\": 1, \"b\": \"x\", \"c\": true, \"d\": 2.5}",
    "{\"a\": 2, \"b\": \"y\", \"c\": false, \"d\": -1}",
    "{\"a\": \"1\", \"b\": 1, \"year\": 2020, \"lang\": \"en\"}",
    "{\"a\": 1.0, \"year\": 2024, \"lang\": \"fr\", \"flag\": true}",
    "{\"a\": 0, \"b\": \"\", \"c\": 0, \"d\": 1e300}",
    "{\"k.e\": 1, \"$eq\": 3, \"a b\": \"é\"}",
    "{\"b\": \"xyz\", \"path\": \"/docs/a%_b.md\", \"e\": \"\"}",
};

static sqlite3 *db;

static bool on_text(const rg_filter *leaf, void *ctx)
{
    (void)ctx;
    return !strcmp(leaf->key, RG_FILTER_DOCUMENT);
}

static void check_sql(const rg_filter *f)
{
    if (!db && sqlite3_open(":memory:", &db) != SQLITE_OK)
        abort();
    for (size_t r = 0; r < RG_ARRAY_LEN(ROWS); r++) {
        rg_buf sql;
        rg_buf_init(&sql);
        json_t *params = json_array();
        rg_buf_puts(&sql, "SELECT (");
        rg_filter_to_sql(f, "m", &sql, params);
        rg_buf_puts(&sql, ") FROM (SELECT ? AS m)");
        sqlite3_stmt *st = NULL;
        rg_error perr = {0};
        FUZZ_CHECK(rg_sqlite_prepare_bound(db, ":memory:", sql.data, params, &st, &perr) == RG_OK,
                   "SQL does not prepare: %s: %s", perr.msg, sql.data);
        sqlite3_bind_text(st, (int)json_array_size(params) + 1, ROWS[r], -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        FUZZ_CHECK(rc == SQLITE_ROW, "SQL does not run: %s: %s", sqlite3_errmsg(db), sql.data);
        bool in_sql = sqlite3_column_type(st, 0) != SQLITE_NULL && sqlite3_column_int(st, 0) != 0;
        json_t *meta = json_loads(ROWS[r], 0, NULL);
        rg_filter *meta_only = rg_filter_without(f, on_text, NULL, NULL);
        bool in_mem = rg_filter_match(meta_only, meta);
        rg_filter_free(meta_only);
        json_decref(meta);
        if (in_sql != in_mem) {
            json_t *j = rg_filter_to_json(f);
            char *t = json_dumps(j, JSON_COMPACT);
            FUZZ_CHECK(in_sql == in_mem, "filter %s on %s: SQL says %d, rg_filter_match says %d (SQL: %s)", t,
                       ROWS[r], in_sql, in_mem, sql.data);
        }
        sqlite3_finalize(st);
        json_decref(params);
        rg_buf_free(&sql);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = fuzz_cstr(data, size);
    rg_error err = {0};
    rg_filter *f = NULL;
    rg_status st = rg_filter_parse(text, &f, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK) {
        json_t *j = rg_filter_to_json(f);
        FUZZ_CHECK(j != NULL, "no JSON for a parsed filter");
        char *t1 = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        rg_filter *g = NULL;
        rg_status st2 = rg_filter_from_json(j, &g, &err);
        FUZZ_CHECK(st2 == RG_OK, "canonical JSON %s does not parse again: %s", t1, err.msg);
        json_t *j2 = rg_filter_to_json(g);
        char *t2 = json_dumps(j2, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        FUZZ_CHECK(!strcmp(t1, t2), "round trip changed the filter: %s -> %s", t1, t2);
        check_sql(f);
        free(t1);
        free(t2);
        json_decref(j);
        json_decref(j2);
        rg_filter_free(g);
        rg_filter_free(f);
    }
    /* The -m key=value sugar on the same bytes. */
    f = NULL;
    memset(&err, 0, sizeof err);
    st = rg_filter_from_kv(text, &f, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK)
        check_sql(f);
    rg_filter_free(f);
    free(text);
    return 0;
}
