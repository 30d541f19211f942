/* The metadata key index of the leann backend (see leann_filter.h): its
 * postings codec, the SQL functions and triggers that keep rec_post in step
 * with rec, its build, the planner that turns a filter into a set of rows,
 * and its check.
 *
 * Why triggers: every write path (ingest, upsert, delete, migrate, the
 * consolidation and dictionary retraining of leann_sqlite.c / leann_text.c)
 * changes rec with plain INSERT / UPDATE / DELETE statements; a trigger
 * updates the index in the same statement, so no path can forget it and a
 * kill leaves both or neither.  Why blocks of seqs rather than a row per
 * record and key: chunks of one file have consecutive seqs and most keys
 * repeat within a file, so a row (key, value, block) lists many records in
 * a few bytes (a row per record and key would cost about 20 bytes each). */
#include "leann_filter.h"

#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "metapack.h"
#include "sqlite_util.h"

/* ---- postings blobs ---------------------------------------------------- */

int leann_postings_decode(const uint8_t *p, size_t n, uint16_t *out)
{
    const uint8_t *end = p + n;
    int cnt = 0;
    uint64_t next = 0;   /* smallest offset the next entry may have */
    while (p < end) {
        const uint8_t *at = p;
        uint64_t d;
        /* canonical: no varint longer than its value needs (which also
         * keeps a long one from wrapping past 64 bits to a small value) */
        if (!rg_varint_get(&p, end, &d) || d >= LEANN_POST_SPAN || (size_t)(p - at) != (d < 0x80 ? 1u : 2u))
            return -1;
        uint64_t off = next + d;
        if (off >= LEANN_POST_SPAN)
            return -1;
        out[cnt++] = (uint16_t)off;
        next = off + 1;
    }
    return cnt > 0 ? cnt : -1;
}

void leann_postings_encode(const uint16_t *offs, size_t n, rg_buf *out)
{
    uint64_t next = 0;
    for (size_t i = 0; i < n; i++) {
        rg_buf_put_varint(out, offs[i] - next);
        next = (uint64_t)offs[i] + 1;
    }
}

/* ---- SQL functions ------------------------------------------------------ */

static void post_error(sqlite3_context *ctx, const char *fn)
{
    char *msg = sqlite3_mprintf("%s: a row of the metadata index (rec_post) is damaged; run 'ragged collections "
                                "check'",
                                fn);
    sqlite3_result_error(ctx, msg, -1);
    sqlite3_result_error_code(ctx, SQLITE_CORRUPT);
    sqlite3_free(msg);
}

/* rg_post_add(blob or NULL, seq) / rg_post_del(blob, seq): the blob with
 * seq's offset added / removed (NULL when nothing is left). */
static void sql_post_edit(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    bool add = sqlite3_user_data(ctx) != NULL;
    uint16_t offs[LEANN_POST_SPAN + 1];
    int n = 0;
    if (sqlite3_value_type(argv[0]) != SQLITE_NULL) {
        n = leann_postings_decode(sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0]), offs);
        if (n < 0) {
            post_error(ctx, add ? "rg_post_add" : "rg_post_del");
            return;
        }
    }
    uint16_t off = (uint16_t)((uint64_t)sqlite3_value_int64(argv[1]) & (LEANN_POST_SPAN - 1));
    int at = 0;
    while (at < n && offs[at] < off)
        at++;
    bool there = at < n && offs[at] == off;
    if (add && !there) {
        memmove(offs + at + 1, offs + at, (size_t)(n - at) * sizeof *offs);
        offs[at] = off;
        n++;
    } else if (!add && there) {
        memmove(offs + at, offs + at + 1, (size_t)(n - at - 1) * sizeof *offs);
        n--;
    }
    if (n == 0) {
        sqlite3_result_null(ctx);
        return;
    }
    rg_buf b;
    rg_buf_init(&b);
    leann_postings_encode(offs, (size_t)n, &b);
    sqlite3_result_blob(ctx, b.data, (int)b.len, free);
}

/* rg_post_val(type, value) over json_each's columns: the value as the index
 * keeps it (text, integer, real; booleans as the one-byte blobs x'00' and
 * x'01', so that true never equals 1), NULL for what it does not index. */
static void sql_post_val(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *type = (const char *)sqlite3_value_text(argv[0]);
    if (!type) {
        sqlite3_result_null(ctx);
    } else if (!strcmp(type, "true") || !strcmp(type, "false")) {
        static const uint8_t T = 1, F = 0;
        sqlite3_result_blob(ctx, type[0] == 't' ? &T : &F, 1, SQLITE_STATIC);
    } else if (!strcmp(type, "text") || !strcmp(type, "integer") || !strcmp(type, "real")) {
        sqlite3_result_value(ctx, argv[1]);
    } else {
        sqlite3_result_null(ctx);
    }
}

/* rg_post_agg(seq): the postings blob of a group of seqs of one block. */
typedef struct post_agg {
    uint8_t bits[LEANN_POST_SPAN / 8];
    bool any;
} post_agg;

static void sql_post_agg_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    post_agg *a = sqlite3_aggregate_context(ctx, sizeof *a);
    if (!a)
        return;
    unsigned off = (unsigned)((uint64_t)sqlite3_value_int64(argv[0]) & (LEANN_POST_SPAN - 1));
    a->bits[off / 8] |= (uint8_t)(1u << (off % 8));
    a->any = true;
}

static void sql_post_agg_final(sqlite3_context *ctx)
{
    post_agg *a = sqlite3_aggregate_context(ctx, 0);
    if (!a || !a->any) {
        sqlite3_result_null(ctx);
        return;
    }
    uint16_t offs[LEANN_POST_SPAN];
    size_t n = 0;
    for (unsigned i = 0; i < LEANN_POST_SPAN; i++)
        if (a->bits[i / 8] & (1u << (i % 8)))
            offs[n++] = (uint16_t)i;
    rg_buf b;
    rg_buf_init(&b);
    leann_postings_encode(offs, n, &b);
    sqlite3_result_blob(ctx, b.data, (int)b.len, free);
}

/* rg_leann_match(meta, where_json): whether a row's stored metadata
 * matches the filter (rg_filter_match, the semantics rg_filter_to_sql
 * renders), without the JSON text round trip of rg_leann_meta and
 * json_extract: the filter is parsed once per statement (auxdata of its
 * constant argument) and the metadata decoded once per row. */
static void sql_match(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    leann_coll *c = sqlite3_user_data(ctx);
    rg_filter *f = sqlite3_get_auxdata(ctx, 1);
    bool parsed = false;
    rg_error err;
    if (!f) {
        if (rg_filter_parse((const char *)sqlite3_value_text(argv[1]), &f, &err) != RG_OK) {
            sqlite3_result_error(ctx, err.msg, -1);
            return;
        }
        parsed = true;
    }
    json_t *obj = NULL;
    if (sqlite3_value_type(argv[0]) != SQLITE_NULL &&
        !(obj = leann_meta_object(c, sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0]), &err))) {
        sqlite3_result_error(ctx, err.msg, -1);
        sqlite3_result_error_code(ctx, SQLITE_CORRUPT);
    } else {
        sqlite3_result_int(ctx, rg_filter_match(f, obj));
    }
    json_decref(obj);
    /* SQLite keeps it for the next rows, or frees it at once */
    if (parsed)
        sqlite3_set_auxdata(ctx, 1, f, (void (*)(void *))rg_filter_free);
}

int leann_filter_register(sqlite3 *db, leann_coll *c)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    static int add_tag;
    int rc = sqlite3_create_function(db, "rg_post_add", 2, flags, &add_tag, sql_post_edit, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "rg_post_del", 2, flags, NULL, sql_post_edit, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "rg_post_val", 2, flags, NULL, sql_post_val, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "rg_post_agg", 1, flags, NULL, NULL, sql_post_agg_step, sql_post_agg_final);
    /* depends on the handle's dictionaries, as rg_leann_meta */
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "rg_leann_match", 2, SQLITE_UTF8 | SQLITE_INNOCUOUS, c, sql_match, NULL, NULL);
    return rc;
}

/* ---- schema --------------------------------------------------------------- */

/* The indexed members of row R's metadata as (key, value, block) rows.
 * Read without the passage: content_hash, which the passage gives back, is
 * never indexed (a filter on it scans; see plan_leaf). */
#define POST_MEMBERS(R)                                                                                      \
    "SELECT key, rg_post_val(type, value), " R ".seq >> 10 FROM json_each(rg_leann_meta(" R ".meta, NULL, 0, 0))" \
    " WHERE type IN ('text', 'integer', 'real', 'true', 'false') AND key != '" RG_METAPACK_DOC_HASH_KEY "'"
#define POST_ADD(R)                                                                                         \
    "INSERT INTO rec_post(k, v, blk, seqs) SELECT key, rg_post_val(type, value), " R ".seq >> 10,"         \
    " rg_post_add(NULL, " R ".seq) FROM json_each(rg_leann_meta(" R ".meta, NULL, 0, 0))"                  \
    " WHERE type IN ('text', 'integer', 'real', 'true', 'false') AND key != '" RG_METAPACK_DOC_HASH_KEY "'"  \
    " ON CONFLICT(k, v, blk) DO UPDATE SET seqs = rg_post_add(seqs, " R ".seq);"
#define POST_DEL(R)                                                                                         \
    "UPDATE rec_post SET seqs = rg_post_del(seqs, " R ".seq) WHERE (k, v, blk) IN (" POST_MEMBERS(R) ");"  \
    "DELETE FROM rec_post WHERE seqs IS NULL AND (k, v, blk) IN (" POST_MEMBERS(R) ");"

static const char *INDEX_SCHEMA =
    "CREATE TABLE rec_post(k TEXT NOT NULL, v NOT NULL, blk INTEGER NOT NULL, seqs BLOB,"
    " PRIMARY KEY(k, v, blk)) WITHOUT ROWID;"
    "INSERT INTO rec_post(k, v, blk, seqs) SELECT key, rg_post_val(type, value), rec.seq >> 10, rg_post_agg(rec.seq)"
    " FROM rec, json_each(rg_leann_meta(rec.meta, NULL, 0, 0))"
    " WHERE type IN ('text', 'integer', 'real', 'true', 'false') AND key != '" RG_METAPACK_DOC_HASH_KEY "'"
    " GROUP BY 1, 2, 3;"
    "CREATE TRIGGER rec_post_ins AFTER INSERT ON rec BEGIN " POST_ADD("new") " END;"
    "CREATE TRIGGER rec_post_del AFTER DELETE ON rec BEGIN " POST_DEL("old") " END;"
    /* Retraining the dictionaries rewrites every row's meta with the same
     * content: the WHEN leaves the index alone then. */
    "CREATE TRIGGER rec_post_upd AFTER UPDATE OF seq, meta ON rec WHEN old.seq IS NOT new.seq"
    " OR rg_leann_meta(old.meta, NULL, 0, 0) IS NOT rg_leann_meta(new.meta, NULL, 0, 0)"
    " BEGIN " POST_DEL("old") POST_ADD("new") " END;";

/* What the rows give, for the check: the same query the build runs. */
static const char *EXPECTED =
    "SELECT key, rg_post_val(type, value), rec.seq >> 10, rg_post_agg(rec.seq)"
    " FROM rec, json_each(rg_leann_meta(rec.meta, NULL, 0, 0))"
    " WHERE type IN ('text', 'integer', 'real', 'true', 'false') AND key != '" RG_METAPACK_DOC_HASH_KEY "'"
    " GROUP BY 1, 2, 3";

bool leann_filter_index_present(sqlite3 *db)
{
    int64_t n = 0;
    return rg_sqlite_scalar_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'rec_post'",
                                &n, NULL) == RG_OK &&
           n > 0;
}

static rg_status build(leann_coll *c, bool rebuild, rg_error *err)
{
    rg_status rc = rg_sqlite_exec(leann_db(c), "BEGIN IMMEDIATE", err);
    if (rc == RG_OK && rebuild)
        rc = rg_sqlite_exec(leann_db(c),
                            "DROP TRIGGER IF EXISTS rec_post_ins; DROP TRIGGER IF EXISTS rec_post_del;"
                            " DROP TRIGGER IF EXISTS rec_post_upd; DROP TABLE IF EXISTS rec_post;",
                            err);
    if (rc == RG_OK)
        rc = rg_sqlite_exec(leann_db(c), INDEX_SCHEMA, err);
    if (rc == RG_OK)
        rc = rg_sqlite_exec(leann_db(c), "COMMIT", err);
    if (rc != RG_OK) {
        rg_sqlite_exec(leann_db(c), "ROLLBACK", NULL);
        rg_error_prefix(err, "building the metadata index of collection %s", c->name);
    }
    return rc;
}

rg_status leann_filter_index_ensure(leann_coll *c, rg_error *err)
{
    if (c->live < c->params.scan_threshold || leann_filter_index_present(leann_db(c)))
        return RG_OK;
    return build(c, false, err);
}

rg_status leann_filter_index_rebuild(leann_coll *c, rg_error *err)
{
    if (c->live < c->params.scan_threshold && !leann_filter_index_present(leann_db(c)))
        return RG_OK;
    return build(c, true, err);
}

/* ---- planning a filter over the index ------------------------------------ */

typedef struct seqs {
    int64_t *v;
    size_t n, cap;
} seqs;

static void seqs_push(seqs *s, int64_t x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = rg_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = x;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void seqs_sort_unique(seqs *s)
{
    if (s->n == 0)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_i64);
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++)
        if (w == 0 || s->v[w - 1] != s->v[i])
            s->v[w++] = s->v[i];
    s->n = w;
}

/* What a subtree gives: NONE (the index cannot narrow it), or the rows in
 * set, exactly the matching ones (EXACT) or a superset (SUPER). */
typedef enum { PLAN_NONE, PLAN_EXACT, PLAN_SUPER } plan_kind;

typedef struct planner {
    leann_coll *c;
    sqlite3_stmt *eq, *gt, *ge, *lt, *le;
    rg_error *err;
    rg_status rc;
} planner;

static sqlite3_stmt *stmt(planner *p, sqlite3_stmt **slot, const char *cond)
{
    if (!*slot && p->rc == RG_OK) {
        char *sql = rg_xasprintf("SELECT blk, seqs FROM rec_post WHERE k = ?1 AND %s", cond);
        if (sqlite3_prepare_v2(leann_db(p->c), sql, -1, slot, NULL) != SQLITE_OK)
            p->rc = rg_sqlite_error(leann_db(p->c), leann_sq(p->c)->db_path, p->err);
        free(sql);
    }
    return *slot;
}

/* Binds a JSON scalar the way rg_post_val stores it. */
static void bind_value(sqlite3_stmt *st, int i, const json_t *v)
{
    static const uint8_t T = 1, F = 0;
    if (json_is_string(v))
        sqlite3_bind_text(st, i, json_string_value(v), (int)json_string_length(v), SQLITE_TRANSIENT);
    else if (json_is_integer(v))
        sqlite3_bind_int64(st, i, json_integer_value(v));
    else if (json_is_real(v))
        sqlite3_bind_double(st, i, json_real_value(v));
    else if (json_is_boolean(v))
        sqlite3_bind_blob(st, i, json_is_true(v) ? &T : &F, 1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Appends the seqs of every posting row st yields. */
static void collect(planner *p, sqlite3_stmt *st, seqs *out)
{
    uint16_t offs[LEANN_POST_SPAN];
    int r = SQLITE_DONE;
    while (p->rc == RG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t blk = sqlite3_column_int64(st, 0);
        int n = leann_postings_decode(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), offs);
        if (n < 0 || blk < 0) {
            p->rc = rg_error_set(p->err, RG_ERR_CORRUPT,
                                 "%s: a row of the metadata index is damaged; 'ragged collections check %s "
                                 "--backend leann' tells more, 'ragged collections compact %s --backend leann' "
                                 "rebuilds it",
                                 leann_sq(p->c)->db_path, p->c->name, p->c->name);
            break;
        }
        for (int i = 0; i < n; i++)
            seqs_push(out, (blk << LEANN_POST_BITS) | offs[i]);
    }
    if (p->rc == RG_OK && r != SQLITE_DONE)
        p->rc = rg_sqlite_error(leann_db(p->c), leann_sq(p->c)->db_path, p->err);
    sqlite3_reset(st);
}

static plan_kind plan(planner *p, const rg_filter *f, seqs *out);

static plan_kind plan_leaf(planner *p, const rg_filter *f, seqs *out)
{
    if (!strcmp(f->key, RG_FILTER_DOCUMENT) || !strcmp(f->key, RG_METAPACK_DOC_HASH_KEY))
        return PLAN_NONE;
    sqlite3_stmt *st = NULL;
    switch (f->op) {
    case RG_FILTER_EQ:
    case RG_FILTER_IN:
        st = stmt(p, &p->eq, "v = ?2");
        break;
    /* Numbers sort before every text and blob, and '' is the least text:
     * "v > x AND v < ''" holds exactly the numbers above x. */
    case RG_FILTER_GT: st = stmt(p, &p->gt, "v > ?2 AND v < ''"); break;
    case RG_FILTER_GTE: st = stmt(p, &p->ge, "v >= ?2 AND v < ''"); break;
    case RG_FILTER_LT: st = stmt(p, &p->lt, "v < ?2"); break;
    case RG_FILTER_LTE: st = stmt(p, &p->le, "v <= ?2"); break;
    default: return PLAN_NONE;   /* $ne, $nin, $contains, $not_contains */
    }
    if (!st)
        return PLAN_NONE;
    sqlite3_bind_text(st, 1, f->key, -1, SQLITE_TRANSIENT);
    if (f->op == RG_FILTER_IN) {
        size_t i;
        json_t *el;
        json_array_foreach(f->value, i, el)
        {
            bind_value(st, 2, el);
            collect(p, st, out);
        }
    } else {
        bind_value(st, 2, f->value);
        collect(p, st, out);
    }
    seqs_sort_unique(out);
    return PLAN_EXACT;
}

/* a := a ∩ b (both sorted, unique). */
static void intersect(seqs *a, const seqs *b)
{
    size_t i = 0, j = 0, w = 0;
    while (i < a->n && j < b->n) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else {
            a->v[w++] = a->v[i];
            i++;
            j++;
        }
    }
    a->n = w;
}

static plan_kind plan(planner *p, const rg_filter *f, seqs *out)
{
    if (f->op != RG_FILTER_AND && f->op != RG_FILTER_OR)
        return plan_leaf(p, f, out);
    bool and = f->op == RG_FILTER_AND, have = false, super = false;
    for (size_t i = 0; i < f->nchildren && p->rc == RG_OK; i++) {
        seqs s = {0};
        plan_kind k = plan(p, f->children[i], &s);
        if (k == PLAN_NONE) {
            free(s.v);
            if (!and)
                return PLAN_NONE;   /* an $or is only as narrow as its widest part */
            super = true;           /* an $and is at most its indexed parts */
            continue;
        }
        super = super || k == PLAN_SUPER;
        if (!have) {
            free(out->v);
            *out = s;
            have = true;
        } else if (and) {
            intersect(out, &s);
            free(s.v);
        } else {
            for (size_t j = 0; j < s.n; j++)
                seqs_push(out, s.v[j]);
            free(s.v);
            seqs_sort_unique(out);
        }
    }
    if (!have)
        return PLAN_NONE;   /* nothing indexed, or an empty $and / $or */
    return super ? PLAN_SUPER : PLAN_EXACT;
}

/* ---- from rows to nodes ---------------------------------------------------- */

typedef struct seq_node {
    int64_t seq, node;
} seq_node;

static int cmp_seq_node(const void *a, const void *b)
{
    return cmp_i64(&((const seq_node *)a)->seq, &((const seq_node *)b)->seq);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static rg_status damaged(leann_coll *c, int64_t seq, rg_error *err)
{
    return rg_error_set(err, RG_ERR_CORRUPT,
                        "%s: the metadata index lists row %lld, which is not a live record; 'ragged collections "
                        "check %s --backend leann' tells more",
                        leann_sq(c)->db_path, (long long)seq, c->name);
}

/* The nodes of rows s (sorted).  Most rows have node = seq - 1 (LEANN_NODE_ROW);
 * the others are in the partial index rec_node.  A few rows are looked up
 * one by one; many, by merging with the list of the others. */
static rg_status nodes_of(leann_coll *c, const seqs *s, uint32_t *out, rg_error *err)
{
    sqlite3_stmt *st = NULL;
    rg_status rc = RG_OK;
    if (s->n <= 2048) {
        if (sqlite3_prepare_v2(leann_db(c), "SELECT node FROM rec WHERE seq = ?", -1, &st, NULL) != SQLITE_OK)
            return rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
        for (size_t i = 0; rc == RG_OK && i < s->n; i++) {
            sqlite3_bind_int64(st, 1, s->v[i]);
            int r = sqlite3_step(st);
            if (r == SQLITE_ROW)
                out[i] = (uint32_t)sqlite3_column_int64(st, 0);
            else
                rc = r == SQLITE_DONE ? damaged(c, s->v[i], err) : rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
            sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        return rc;
    }
    if (sqlite3_prepare_v2(leann_db(c), "SELECT seq, node FROM rec WHERE node != seq - 1", -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    seq_node *ex = NULL;
    size_t nex = 0, cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (nex == cap) {
            cap = cap ? cap * 2 : 256;
            ex = rg_xrealloc(ex, cap * sizeof *ex);
        }
        ex[nex++] = (seq_node){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
    }
    if (r != SQLITE_DONE)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    sqlite3_finalize(st);
    qsort(ex, nex, sizeof *ex, cmp_seq_node);
    size_t j = 0;
    for (size_t i = 0; rc == RG_OK && i < s->n; i++) {
        while (j < nex && ex[j].seq < s->v[i])
            j++;
        out[i] = (uint32_t)(j < nex && ex[j].seq == s->v[i] ? ex[j].node : s->v[i] - 1);
    }
    free(ex);
    return rc;
}

/* The rows of s that match where (checked row by row with the whole
 * filter, as the scan does), as nodes; *n set.  One statement over the
 * whole list, so the filter is parsed once (rg_leann_match keeps it while
 * the statement runs; a statement reset per row parsed it per row). */
static rg_status verify_rows(leann_coll *c, const rg_filter *where, const seqs *s, uint32_t *out, size_t *n,
                             rg_error *err)
{
    rg_buf sql, list;
    rg_buf_init(&sql);
    rg_buf_init(&list);
    json_t *params = json_array();
    rg_buf_puts(&sql, "SELECT node FROM records");
    leann_where_sql(c, NULL, 0, where, &sql, params);
    rg_buf_puts(&sql, " AND seq IN (SELECT value FROM json_each(?))");
    rg_buf_putc(&list, '[');
    for (size_t i = 0; i < s->n; i++)
        rg_buf_printf(&list, "%s%lld", i ? "," : "", (long long)s->v[i]);
    rg_buf_putc(&list, ']');
    json_array_append_new(params, json_stringn(list.data, list.len));
    rg_buf_free(&list);
    sqlite3_stmt *st = NULL;
    rg_status rc = rg_sqlite_prepare_bound(leann_db(c), leann_sq(c)->db_path, sql.data, params, &st, err);
    rg_buf_free(&sql);
    json_decref(params);
    *n = 0;
    int r = SQLITE_DONE;
    while (rc == RG_OK && *n < s->n && (r = sqlite3_step(st)) == SQLITE_ROW)
        out[(*n)++] = (uint32_t)sqlite3_column_int64(st, 0);
    if (rc == RG_OK && r != SQLITE_DONE && r != SQLITE_ROW)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    sqlite3_finalize(st);
    return rc;
}

rg_status leann_filter_index_rows(leann_coll *c, const rg_filter *where, int64_t **rows, size_t *n, bool *exact,
                                  bool *used, rg_error *err)
{
    *used = false;
    if (!where || !leann_filter_index_present(leann_db(c)))
        return RG_OK;
    planner p = {.c = c, .err = err, .rc = RG_OK};
    seqs s = {0};
    plan_kind k = plan(&p, where, &s);
    sqlite3_finalize(p.eq);
    sqlite3_finalize(p.gt);
    sqlite3_finalize(p.ge);
    sqlite3_finalize(p.lt);
    sqlite3_finalize(p.le);
    /* A superset of more than a quarter of the records: checking them one
     * by one costs about what the scan does. */
    if (p.rc != RG_OK || k == PLAN_NONE || (k == PLAN_SUPER && (int64_t)s.n > c->live / 4)) {
        free(s.v);
        return p.rc;
    }
    *rows = s.v;
    *n = s.n;
    *exact = k == PLAN_EXACT;
    *used = true;
    return RG_OK;
}

rg_status leann_filter_index_nodes(leann_coll *c, const rg_filter *where, uint32_t **nodes, size_t *n, bool *used,
                                   rg_error *err)
{
    *used = false;
    /* One read transaction: the postings and the rows they name are one
     * snapshot even while a writer commits. */
    bool own = sqlite3_get_autocommit(leann_db(c)) != 0;
    rg_status rc = own ? rg_sqlite_exec(leann_db(c), "BEGIN", err) : RG_OK;
    seqs s = {0};
    bool exact = false, use = false;
    if (rc == RG_OK)
        rc = leann_filter_index_rows(c, where, &s.v, &s.n, &exact, &use, err);
    uint32_t *out = NULL;
    size_t cnt = s.n;
    if (rc == RG_OK && use) {
        out = rg_xmalloc((s.n ? s.n : 1) * sizeof *out);
        rc = exact ? nodes_of(c, &s, out, err) : verify_rows(c, where, &s, out, &cnt, err);
    }
    for (size_t i = 0; use && rc == RG_OK && i < cnt; i++)
        if (out[i] >= c->graph.n || (c->graph.flags[out[i]] & LEANN_NODE_DELETED))
            rc = damaged(c, s.v[i], err);
    if (own)
        rg_sqlite_exec(leann_db(c), "COMMIT", NULL);
    free(s.v);
    if (rc != RG_OK || !use) {
        free(out);
        return rc;
    }
    qsort(out, cnt, sizeof *out, cmp_u32);
    *nodes = out;
    *n = cnt;
    *used = true;
    return RG_OK;
}

/* ---- check ------------------------------------------------------------------ */

void leann_filter_index_check(sqlite3 *db, bool *present, bool *ok, char *msg, size_t cap)
{
    *present = leann_filter_index_present(db);
    *ok = true;
    if (!*present) {
        snprintf(msg, cap, "none (a collection gets it at the first write with scan_threshold records or more)");
        return;
    }
    int64_t triggers = 0, rows = 0, bad = 0, missing = -1, extra = -1;
    rg_error e = {0};
    rg_status rc = rg_sqlite_scalar_int(db,
                                        "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'rec'"
                                        " AND name IN ('rec_post_ins', 'rec_post_del', 'rec_post_upd')",
                                        &triggers, &e);
    sqlite3_stmt *st = NULL;
    if (rc == RG_OK && sqlite3_prepare_v2(db, "SELECT seqs FROM rec_post", -1, &st, NULL) != SQLITE_OK)
        rc = rg_sqlite_error(db, "rec_post", &e);
    uint16_t offs[LEANN_POST_SPAN];
    int r = SQLITE_DONE;
    while (rc == RG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        bad += leann_postings_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), offs) < 0;
    }
    if (rc == RG_OK && r != SQLITE_DONE)
        rc = rg_sqlite_error(db, "rec_post", &e);
    sqlite3_finalize(st);
    /* Rows missing from the index, and rows it has that the records do not
     * give (stale or altered). */
    char *q = NULL;
    if (rc == RG_OK) {
        q = rg_xasprintf("SELECT count(*) FROM (%s EXCEPT SELECT k, v, blk, seqs FROM rec_post)", EXPECTED);
        rc = rg_sqlite_scalar_int(db, q, &missing, &e);
        free(q);
    }
    if (rc == RG_OK) {
        q = rg_xasprintf("SELECT count(*) FROM (SELECT k, v, blk, seqs FROM rec_post EXCEPT %s)", EXPECTED);
        rc = rg_sqlite_scalar_int(db, q, &extra, &e);
        free(q);
    }
    if (rc != RG_OK) {
        *ok = false;
        snprintf(msg, cap, "cannot be checked: %s", e.msg);
    } else if (triggers != 3 || bad || missing || extra) {
        *ok = false;
        snprintf(msg, cap,
                 "%lld rows, %lld of them damaged, %lld missing, %lld not matching the records, %lld of 3 triggers; "
                 "'ragged collections compact' rebuilds it",
                 (long long)rows, (long long)bad, (long long)missing, (long long)extra, (long long)triggers);
    } else {
        snprintf(msg, cap, "%lld posting rows, in step with the records", (long long)rows);
    }
}
