/* The `where` filter tree: parse once, then match in memory, render as
 * ChromaDB JSON or as SQLite SQL.  All backends share these semantics. */
#include "filter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    rg_filter_op op;
} OPS[] = {
    {"$eq", RG_FILTER_EQ}, {"$ne", RG_FILTER_NE},   {"$gt", RG_FILTER_GT}, {"$gte", RG_FILTER_GTE},
    {"$lt", RG_FILTER_LT}, {"$lte", RG_FILTER_LTE}, {"$in", RG_FILTER_IN}, {"$nin", RG_FILTER_NIN},
};
#define VALID_OPS "$eq $ne $gt $gte $lt $lte $in $nin (and $and / $or to combine)"

static const char *op_name(rg_filter_op op)
{
    if (op == RG_FILTER_AND)
        return "$and";
    if (op == RG_FILTER_OR)
        return "$or";
    for (size_t i = 0; i < RG_ARRAY_LEN(OPS); i++)
        if (OPS[i].op == op)
            return OPS[i].name;
    return "?";
}

void rg_filter_free(rg_filter *f)
{
    if (!f)
        return;
    free(f->key);
    json_decref(f->value);
    for (size_t i = 0; i < f->nchildren; i++)
        rg_filter_free(f->children[i]);
    free(f->children);
    free(f);
}

static rg_filter *node_new(rg_filter_op op)
{
    rg_filter *f = rg_xcalloc(1, sizeof *f);
    f->op = op;
    return f;
}

static void node_add_child(rg_filter *f, rg_filter *child)
{
    f->children = rg_xrealloc(f->children, (f->nchildren + 1) * sizeof *f->children);
    f->children[f->nchildren++] = child;
}

static bool is_scalar(const json_t *v)
{
    return json_is_string(v) || json_is_integer(v) || json_is_real(v) || json_is_boolean(v);
}

static rg_status parse_node(const json_t *where, rg_filter **out, rg_error *err);

static rg_status parse_comparison(const char *key, const json_t *spec, rg_filter **out, rg_error *err)
{
    if (!*key)
        return rg_error_set(err, RG_ERR_INVALID, "filter: empty metadata key");
    if (strchr(key, '"') || strchr(key, '\\'))
        return rg_error_set(err, RG_ERR_INVALID, "filter: metadata key '%s' contains a quote or backslash", key);
    rg_filter_op op = RG_FILTER_EQ;
    const json_t *value = spec;
    if (json_is_object(spec)) {
        if (json_object_size(spec) != 1)
            return rg_error_set(err, RG_ERR_INVALID,
                                "filter: key '%s' needs exactly one operator, e.g. {\"%s\": {\"$eq\": ...}}; valid: %s",
                                key, key, VALID_OPS);
        const char *opname = json_object_iter_key(json_object_iter((json_t *)spec));
        value = json_object_iter_value(json_object_iter((json_t *)spec));
        bool found = false;
        for (size_t i = 0; i < RG_ARRAY_LEN(OPS); i++)
            if (!strcmp(OPS[i].name, opname)) {
                op = OPS[i].op;
                found = true;
            }
        if (!found)
            return rg_error_set(err, RG_ERR_INVALID, "filter: unknown operator '%s' on key '%s'; valid: %s", opname,
                                key, VALID_OPS);
    } else if (!is_scalar(spec)) {
        return rg_error_set(err, RG_ERR_INVALID,
                            "filter: key '%s' must map to a string, number, boolean or {\"$op\": value}", key);
    }
    if (op == RG_FILTER_IN || op == RG_FILTER_NIN) {
        if (!json_is_array(value) || json_array_size(value) == 0)
            return rg_error_set(err, RG_ERR_INVALID, "filter: %s on key '%s' takes a non-empty list of values",
                                op_name(op), key);
        size_t i;
        json_t *el;
        json_array_foreach(value, i, el)
        {
            if (!is_scalar(el))
                return rg_error_set(err, RG_ERR_INVALID,
                                    "filter: %s on key '%s' takes strings, numbers or booleans only", op_name(op), key);
        }
    } else if (op == RG_FILTER_GT || op == RG_FILTER_GTE || op == RG_FILTER_LT || op == RG_FILTER_LTE) {
        if (!json_is_number(value))
            return rg_error_set(err, RG_ERR_INVALID, "filter: %s on key '%s' takes a number", op_name(op), key);
    } else if (!is_scalar(value)) {
        return rg_error_set(err, RG_ERR_INVALID, "filter: %s on key '%s' takes a string, number or boolean",
                            op_name(op), key);
    }
    rg_filter *f = node_new(op);
    f->key = rg_xstrdup(key);
    f->value = json_deep_copy(value);
    *out = f;
    return RG_OK;
}

static rg_status parse_node(const json_t *where, rg_filter **out, rg_error *err)
{
    if (!json_is_object(where))
        return rg_error_set(err, RG_ERR_INVALID, "filter: expected a JSON object such as {\"year\": {\"$gte\": 2020}}");
    rg_filter *conj = node_new(RG_FILTER_AND);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)where, key, val)
    {
        rg_filter *child = NULL;
        rg_status rc;
        if (key[0] == '$') {
            rg_filter_op op;
            if (!strcmp(key, "$and"))
                op = RG_FILTER_AND;
            else if (!strcmp(key, "$or"))
                op = RG_FILTER_OR;
            else {
                rg_filter_free(conj);
                return rg_error_set(err, RG_ERR_INVALID,
                                    "filter: '%s' cannot stand at this level; use $and or $or, or put it under a key "
                                    "as {\"key\": {\"%s\": value}}",
                                    key, key);
            }
            if (!json_is_array(val) || json_array_size(val) == 0) {
                rg_filter_free(conj);
                return rg_error_set(err, RG_ERR_INVALID, "filter: %s takes a non-empty list of filters", key);
            }
            child = node_new(op);
            size_t i;
            json_t *el;
            json_array_foreach(val, i, el)
            {
                rg_filter *sub = NULL;
                rc = parse_node(el, &sub, err);
                if (rc != RG_OK) {
                    rg_filter_free(child);
                    rg_filter_free(conj);
                    return rc;
                }
                node_add_child(child, sub);
            }
        } else {
            rc = parse_comparison(key, val, &child, err);
            if (rc != RG_OK) {
                rg_filter_free(conj);
                return rc;
            }
        }
        node_add_child(conj, child);
    }
    /* Unwrap a conjunction of one. */
    if (conj->nchildren == 1) {
        rg_filter *only = conj->children[0];
        conj->nchildren = 0;
        rg_filter_free(conj);
        *out = only;
        return RG_OK;
    }
    *out = conj;
    return RG_OK;
}

/* Comparisons in f (a $in value counts as one) and its $and/$or depth. */
static void filter_size(const rg_filter *f, int depth, size_t *terms, int *max_depth)
{
    if (depth > *max_depth)
        *max_depth = depth;
    if (f->op == RG_FILTER_AND || f->op == RG_FILTER_OR) {
        for (size_t i = 0; i < f->nchildren; i++)
            filter_size(f->children[i], depth + 1, terms, max_depth);
        return;
    }
    *terms += f->op == RG_FILTER_IN || f->op == RG_FILTER_NIN ? json_array_size(f->value) : 1;
}

rg_status rg_filter_from_json(const json_t *where, rg_filter **out, rg_error *err)
{
    *out = NULL;
    rg_filter *f = NULL;
    rg_status rc = parse_node(where, &f, err);
    if (rc != RG_OK)
        return rc;
    size_t terms = 0;
    int depth = 0;
    filter_size(f, 0, &terms, &depth);
    if (terms > RG_FILTER_MAX_TERMS || depth > RG_FILTER_MAX_DEPTH) {
        rg_filter_free(f);
        if (terms > RG_FILTER_MAX_TERMS)
            return rg_error_set(err, RG_ERR_INVALID,
                                "filter: %zu comparisons (each $in/$nin value counts as one) is more than the %d a "
                                "query can take; narrow the filter or split the query",
                                terms, RG_FILTER_MAX_TERMS);
        return rg_error_set(err, RG_ERR_INVALID,
                            "filter: $and/$or nested %d levels deep, more than the %d a query can take; flatten it",
                            depth, RG_FILTER_MAX_DEPTH);
    }
    *out = f;
    return RG_OK;
}

rg_status rg_filter_parse(const char *json_text, rg_filter **out, rg_error *err)
{
    json_error_t jerr;
    json_t *j = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return rg_error_set(err, RG_ERR_INVALID, "filter: invalid JSON at column %d: %s", jerr.column, jerr.text);
    rg_status rc = rg_filter_from_json(j, out, err);
    json_decref(j);
    return rc;
}

rg_status rg_filter_from_kv(const char *kv, rg_filter **out, rg_error *err)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return rg_error_set(err, RG_ERR_INVALID, "filter: expected key=value, got '%s'", kv);
    char *key = rg_xstrndup(kv, (size_t)(eq - kv));
    const char *text = eq + 1;
    json_t *val;
    char *end;
    long long iv = strtoll(text, &end, 10);
    if (*text && !*end) {
        val = json_integer(iv);
    } else {
        double dv = strtod(text, &end);
        if (*text && !*end && isfinite(dv))
            val = json_real(dv);
        else if (!strcmp(text, "true") || !strcmp(text, "false"))
            val = json_boolean(!strcmp(text, "true"));
        else
            val = json_string(text);
    }
    rg_status rc = parse_comparison(key, val, out, err);
    json_decref(val);
    free(key);
    return rc;
}

rg_filter *rg_filter_and(rg_filter *a, rg_filter *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    rg_filter *f = node_new(RG_FILTER_AND);
    node_add_child(f, a);
    node_add_child(f, b);
    return f;
}

/* ---- matching ---- */

/* Equality with ChromaDB's typing: numbers compare by value (1 == 1.0),
 * booleans only with booleans, strings only with strings. */
static bool values_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_is_boolean(a) && json_is_boolean(b))
        return json_is_true(a) == json_is_true(b);
    if (json_is_string(a) && json_is_string(b))
        return strcmp(json_string_value(a), json_string_value(b)) == 0;
    return false;
}

bool rg_filter_match(const rg_filter *f, const json_t *metadata)
{
    if (!f)
        return true;
    switch (f->op) {
    case RG_FILTER_AND:
        for (size_t i = 0; i < f->nchildren; i++)
            if (!rg_filter_match(f->children[i], metadata))
                return false;
        return true;
    case RG_FILTER_OR:
        for (size_t i = 0; i < f->nchildren; i++)
            if (rg_filter_match(f->children[i], metadata))
                return true;
        return false;
    default:
        break;
    }
    const json_t *v = metadata ? json_object_get(metadata, f->key) : NULL;
    switch (f->op) {
    case RG_FILTER_EQ: return v && values_equal(v, f->value);
    case RG_FILTER_NE: return !v || !values_equal(v, f->value);
    case RG_FILTER_GT: return v && json_is_number(v) && json_number_value(v) > json_number_value(f->value);
    case RG_FILTER_GTE: return v && json_is_number(v) && json_number_value(v) >= json_number_value(f->value);
    case RG_FILTER_LT: return v && json_is_number(v) && json_number_value(v) < json_number_value(f->value);
    case RG_FILTER_LTE: return v && json_is_number(v) && json_number_value(v) <= json_number_value(f->value);
    case RG_FILTER_IN:
    case RG_FILTER_NIN: {
        bool found = false;
        size_t i;
        json_t *el;
        if (v)
            json_array_foreach(f->value, i, el) if (values_equal(v, el)) found = true;
        return f->op == RG_FILTER_IN ? found : !found;
    }
    default: return false;
    }
}

/* ---- rendering ---- */

bool rg_filter_mentions(const rg_filter *f, const char *key)
{
    if (!f)
        return false;
    if (f->key && !strcmp(f->key, key))
        return true;
    for (size_t i = 0; i < f->nchildren; i++)
        if (rg_filter_mentions(f->children[i], key))
            return true;
    return false;
}

json_t *rg_filter_to_json(const rg_filter *f)
{
    if (!f)
        return json_object();
    json_t *obj = json_object();
    /* `{}` parses to a conjunction of nothing; "$and": [] would not parse back. */
    if (f->op == RG_FILTER_AND && f->nchildren == 0)
        return obj;
    if (f->op == RG_FILTER_AND || f->op == RG_FILTER_OR) {
        json_t *arr = json_array();
        for (size_t i = 0; i < f->nchildren; i++)
            json_array_append_new(arr, rg_filter_to_json(f->children[i]));
        json_object_set_new(obj, op_name(f->op), arr);
        return obj;
    }
    json_t *inner = json_object();
    json_object_set(inner, op_name(f->op), f->value);
    json_object_set_new(obj, f->key, inner);
    return obj;
}

static void sql_path_param(const rg_filter *f, json_t *params)
{
    char *path = rg_xasprintf("$.\"%s\"", f->key);
    json_array_append_new(params, json_string(path));
    free(path);
}

/* Condition true when the key holds a value equal to v (typed as above). */
static void sql_equal(const rg_filter *f, const json_t *v, const char *col, rg_buf *sql, json_t *params)
{
    if (json_is_boolean(v)) {
        rg_buf_printf(sql, "COALESCE(json_type(%s, ?) = '%s', 0)", col, json_is_true(v) ? "true" : "false");
        sql_path_param(f, params);
        return;
    }
    const char *types = json_is_string(v) ? "'text'" : "'integer','real'";
    rg_buf_printf(sql, "COALESCE(json_type(%s, ?) IN (%s) AND json_extract(%s, ?) = ?, 0)", col, types, col);
    sql_path_param(f, params);
    sql_path_param(f, params);
    json_array_append(params, (json_t *)v);
}

/* Terms [lo, hi) of a $and/$or joined by op, as a balanced tree of
 * parentheses: SQLite refuses expressions nested over 1,000 deep, and a
 * flat chain of N terms is N deep, a balanced one log2(N). */
static void sql_join(const rg_filter *f, size_t lo, size_t hi, const char *op, const char *col, rg_buf *sql,
                     json_t *params)
{
    if (hi - lo == 1) {
        rg_filter_to_sql(f->children[lo], col, sql, params);
        return;
    }
    size_t mid = lo + (hi - lo) / 2;
    rg_buf_putc(sql, '(');
    sql_join(f, lo, mid, op, col, sql, params);
    rg_buf_puts(sql, op);
    sql_join(f, mid, hi, op, col, sql, params);
    rg_buf_putc(sql, ')');
}

/* The values of a $in of one kind (strings: text; numbers: integer or
 * real) as one SQL IN list after " OR " when *any: an OR of one equality a
 * value binds three parameters each, and SQLite's code generator compares
 * every constant with every other (10,000 values took 4 s of CPU). */
static void sql_in_kind(const rg_filter *f, bool strings, const char *col, rg_buf *sql, json_t *params, bool *any)
{
    size_t i, n = 0;
    json_t *el;
    json_array_foreach(f->value, i, el) n += strings ? json_is_string(el) : json_is_number(el);
    if (!n)
        return;
    if (*any)
        rg_buf_puts(sql, " OR ");
    *any = true;
    rg_buf_printf(sql, "COALESCE(json_type(%s, ?) IN (%s) AND json_extract(%s, ?) IN (", col,
                  strings ? "'text'" : "'integer','real'", col);
    sql_path_param(f, params);
    sql_path_param(f, params);
    size_t k = 0;
    json_array_foreach(f->value, i, el)
    {
        if (strings ? !json_is_string(el) : !json_is_number(el))
            continue;
        rg_buf_puts(sql, k++ ? ", ?" : "?");
        json_array_append(params, el);
    }
    rg_buf_puts(sql, "), 0)");
}

/* $in: true when the key holds one of the values, typed as sql_equal. */
static void sql_in(const rg_filter *f, const char *col, rg_buf *sql, json_t *params)
{
    bool any = false;
    rg_buf_putc(sql, '(');
    sql_in_kind(f, true, col, sql, params, &any);
    sql_in_kind(f, false, col, sql, params, &any);
    size_t i;
    json_t *el;
    json_array_foreach(f->value, i, el)
    {
        if (!json_is_boolean(el))
            continue;
        if (any)
            rg_buf_puts(sql, " OR ");
        sql_equal(f, el, col, sql, params);
        any = true;
    }
    rg_buf_putc(sql, ')');
}

void rg_filter_to_sql(const rg_filter *f, const char *col, rg_buf *sql, json_t *params)
{
    if (!f) {
        rg_buf_puts(sql, "1");
        return;
    }
    switch (f->op) {
    case RG_FILTER_AND:
    case RG_FILTER_OR:
        if (f->nchildren == 0) {
            rg_buf_puts(sql, f->op == RG_FILTER_AND ? "1" : "0");
            return;
        }
        sql_join(f, 0, f->nchildren, f->op == RG_FILTER_AND ? " AND " : " OR ", col, sql, params);
        return;
    case RG_FILTER_EQ:
        sql_equal(f, f->value, col, sql, params);
        return;
    case RG_FILTER_NE:
        rg_buf_puts(sql, "NOT ");
        sql_equal(f, f->value, col, sql, params);
        return;
    case RG_FILTER_GT:
    case RG_FILTER_GTE:
    case RG_FILTER_LT:
    case RG_FILTER_LTE: {
        const char *cmp = f->op == RG_FILTER_GT ? ">" : f->op == RG_FILTER_GTE ? ">=" : f->op == RG_FILTER_LT ? "<" : "<=";
        rg_buf_printf(sql, "COALESCE(json_type(%s, ?) IN ('integer','real') AND json_extract(%s, ?) %s ?, 0)", col, col,
                      cmp);
        sql_path_param(f, params);
        sql_path_param(f, params);
        json_array_append(params, f->value);
        return;
    }
    case RG_FILTER_IN:
    case RG_FILTER_NIN: {
        if (f->op == RG_FILTER_NIN)
            rg_buf_puts(sql, "NOT ");
        sql_in(f, col, sql, params);
        return;
    }
    }
}
