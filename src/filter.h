/* Metadata filters: ChromaDB's `where` grammar parsed once into a tree that
 * every backend shares.
 *
 *   {"year": {"$gte": 2020}}                       comparison
 *   {"lang": "en"}                                 shorthand for $eq
 *   {"$and": [{...}, {...}]}, {"$or": [...]}      boolean nodes
 *   {"a": 1, "b": 2}                               several keys = implicit $and
 *
 * Operators: $eq $ne $gt $gte $lt $lte $in $nin.  Values are strings,
 * integers, floats and booleans (ChromaDB's metadata types).  Ordering
 * operators take numbers only; $in/$nin take a non-empty array of scalars.
 * A record without the key matches neither $eq nor $ne ... except $ne and
 * $nin, which match (ChromaDB semantics: "not equal" includes "absent"). */
#ifndef RG_FILTER_H
#define RG_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include "error.h"
#include "util.h"

typedef enum rg_filter_op {
    RG_FILTER_AND,
    RG_FILTER_OR,
    RG_FILTER_EQ,
    RG_FILTER_NE,
    RG_FILTER_GT,
    RG_FILTER_GTE,
    RG_FILTER_LT,
    RG_FILTER_LTE,
    RG_FILTER_IN,
    RG_FILTER_NIN
} rg_filter_op;

typedef struct rg_filter {
    rg_filter_op op;
    /* Comparison nodes */
    char *key;
    json_t *value;              /* scalar, or array for $in/$nin */
    /* Boolean nodes */
    struct rg_filter **children;
    size_t nchildren;
} rg_filter;

/* A filter's size is bounded so every backend can run it: at most
 * RG_FILTER_MAX_TERMS comparisons (each value of a $in/$nin counts as one;
 * SQLite takes 32,766 parameters, and an equality binds three), nested at most
 * RG_FILTER_MAX_DEPTH levels of $and/$or.  Larger ones are RG_ERR_INVALID. */
#define RG_FILTER_MAX_TERMS 10000
#define RG_FILTER_MAX_DEPTH 32

/* Parses JSON text / a JSON value.  Errors name the offending key or operator
 * and list the valid ones. */
rg_status rg_filter_parse(const char *json_text, rg_filter **out, rg_error *err);
rg_status rg_filter_from_json(const json_t *where, rg_filter **out, rg_error *err);
/* `-m key=value` sugar: value parsed as int, float, true/false, else string. */
rg_status rg_filter_from_kv(const char *kv, rg_filter **out, rg_error *err);
/* Combines two filters with $and; takes ownership of both (either may be NULL). */
rg_filter *rg_filter_and(rg_filter *a, rg_filter *b);
void rg_filter_free(rg_filter *f);

/* True if a metadata object (may be NULL) satisfies the filter (NULL filter
 * matches everything). */
bool rg_filter_match(const rg_filter *f, const json_t *metadata);

/* Whether any comparison in the filter is on key. */
bool rg_filter_mentions(const rg_filter *f, const char *key);
/* Canonical ChromaDB JSON (new reference). */
json_t *rg_filter_to_json(const rg_filter *f);

/* SQL condition over a column holding the metadata as JSON text, using
 * SQLite's json_extract.  Appends the condition to sql and the bind values
 * (json scalars) to params (a JSON array); placeholders are `?`. */
void rg_filter_to_sql(const rg_filter *f, const char *metadata_column, rg_buf *sql, json_t *params);

#endif
