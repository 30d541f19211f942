/* The generic storage layer: backend registry, input validation shared by
 * all backends, collection handles with the embedder identity check, and
 * the small containers (record batches, hits, stats). */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"
#include "lexical.h"
#include "util.h"

struct rg_store {
    const rg_store_ops *ops;
    void *impl;
    char *lexical_dir;              /* where collections' BM25 sidecars live */
    rg_lexical_params lexical;
};

struct rg_collection {
    rg_store *store;
    void *impl;
    char *name;
    rg_embedder *embedder;
    rg_embedder_identity identity;
    rg_lexical *lex;                /* opened on first use */
    bool lex_checked;               /* record counts compared once per handle */
};

static const rg_store_ops *const BACKENDS[] = {&rg_store_leann_ops, &rg_store_chromadb_ops, &rg_store_exact_ops};
static const char *const BACKEND_NAMES[] = {"leann", "chromadb", "exact", NULL};

const char *const *rg_store_backend_names(void)
{
    return BACKEND_NAMES;
}

const rg_store_ops *rg_store_backend_find(const char *name)
{
    for (size_t i = 0; i < RG_ARRAY_LEN(BACKENDS); i++)
        if (!strcmp(BACKENDS[i]->name, name))
            return BACKENDS[i];
    return NULL;
}

/* BM25 sidecars: beside the collections for the backends that keep them in
 * a local directory (a dot-directory, which no collection name can be),
 * else under retrieval.lexical_directory, one directory per server and
 * database so two servers' same-named collections never share an index. */
static char *lexical_dir(const rg_config *cfg, const char *backend)
{
    if (!strcmp(backend, "exact") || !strcmp(backend, "leann")) {
        char key[64];
        snprintf(key, sizeof key, "vectorstore.%s.persist_directory", backend);
        return rg_path_join(rg_config_str(cfg, key), ".lexical");
    }
    char *where = rg_xasprintf("%s|%s|%s", rg_config_str(cfg, "vectorstore.chromadb.url"),
                               rg_config_str(cfg, "vectorstore.chromadb.tenant"),
                               rg_config_str(cfg, "vectorstore.chromadb.database"));
    char hex[65], sub[64];
    rg_sha256_hex(where, strlen(where), hex);
    free(where);
    snprintf(sub, sizeof sub, "%s-%.16s", backend, hex);
    char *base = rg_path_join(rg_config_str(cfg, "retrieval.lexical_directory"), backend);
    char *dir = rg_path_join(base, sub + strlen(backend) + 1);
    free(base);
    return dir;
}

/* DIR/NAME: the lexical index names its files from it (lexical.h). */
static char *lexical_path(const rg_store *s, const char *collection)
{
    return rg_path_join(s->lexical_dir, collection);
}

rg_status rg_store_open(const rg_config *cfg, const char *backend, rg_store **out, rg_error *err)
{
    if (!backend)
        backend = rg_config_str(cfg, "vectorstore.backend");
    const rg_store_ops *ops = rg_store_backend_find(backend);
    if (!ops)
        return rg_error_set(err, RG_ERR_INVALID, "unknown backend '%s'; valid backends: leann, chromadb, exact",
                            backend);
    if (ops->abi_version != RG_STORE_ABI)
        return rg_error_set(err, RG_ERR_INTERNAL, "backend %s was built for storage interface %d, not %d", backend,
                            ops->abi_version, RG_STORE_ABI);
    void *impl = NULL;
    rg_status rc = ops->open(cfg, &impl, err);
    if (rc != RG_OK)
        return rc;
    rg_store *s = rg_xcalloc(1, sizeof *s);
    s->ops = ops;
    s->impl = impl;
    s->lexical_dir = lexical_dir(cfg, ops->name);
    snprintf(s->lexical.stemmer, sizeof s->lexical.stemmer, "%s", rg_config_str(cfg, "retrieval.bm25_stemmer"));
    s->lexical.k1 = rg_config_float(cfg, "retrieval.bm25_k1");
    s->lexical.b = rg_config_float(cfg, "retrieval.bm25_b");
    *out = s;
    return RG_OK;
}

void rg_store_close(rg_store *s)
{
    if (!s)
        return;
    if (s->ops->close)
        s->ops->close(s->impl);
    free(s->lexical_dir);
    free(s);
}

const char *rg_store_backend(const rg_store *s)
{
    return s->ops->name;
}

#define NAME_RULE                                                                                          \
    "collection names are 3-%d characters of letters, digits, '.', '_' and '-', start and end with a letter or " \
    "digit, and contain no '..'"

rg_status rg_collection_name_check(const char *name, rg_error *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n > RG_COLLECTION_NAME_MAX)
        return rg_error_set(err, RG_ERR_INVALID, "invalid collection name '%.40s...' (%zu characters): " NAME_RULE,
                            name, n, RG_COLLECTION_NAME_MAX);
    bool ok = n >= 3 && !strstr(name, "..");
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        ok = (alnum || c == '.' || c == '_' || c == '-') && (alnum || (i != 0 && i != n - 1));
    }
    if (!ok)
        return rg_error_set(err, RG_ERR_INVALID, "invalid collection name '%s': " NAME_RULE, name ? name : "",
                            RG_COLLECTION_NAME_MAX);
    return RG_OK;
}

rg_status rg_collection_name_check_new(const char *name, rg_error *err)
{
    rg_status rc = rg_collection_name_check(name, err);
    if (rc != RG_OK)
        return rc;
    if (strstr(name, RG_MIGRATE_STAGING_TAG) || strstr(name, RG_MIGRATE_BACKUP_TAG))
        return rg_error_set(err, RG_ERR_INVALID,
                            "collection name '%s' is reserved: names containing '%s' or '%s' are migrate's staging "
                            "and backup collections, which 'ragged migrate' removes or renames; choose another name",
                            name, RG_MIGRATE_STAGING_TAG, RG_MIGRATE_BACKUP_TAG);
    return RG_OK;
}

rg_status rg_store_check(rg_store *s, const char *name, json_t **report, bool *ok, rg_error *err)
{
    *report = NULL;
    *ok = false;
    rg_status rc = rg_collection_name_check(name, err);
    if (rc != RG_OK)
        return rc;
    json_t *r = json_array();
    if (s->ops->check)
        rc = s->ops->check(s->impl, name, r, err);
    else
        json_array_append_new(r, json_pack("{s:s, s:n, s:s}", "component", s->ops->name, "ok", "detail",
                                           "this backend has no check of its own"));
    if (rc == RG_ERR_NOTFOUND)
        rc = rg_error_set(err, RG_ERR_NOTFOUND, "collection '%s' does not exist in the %s backend", name,
                          s->ops->name);
    if (rc == RG_OK && s->lexical_dir) {
        char *p = lexical_path(s, name);
        rc = rg_lexical_check(p, r);
        free(p);
    }
    if (rc != RG_OK) {
        json_decref(r);
        return rc;
    }
    bool all = true;
    size_t i;
    json_t *comp;
    json_array_foreach(r, i, comp)
    {
        if (json_is_false(json_object_get(comp, "ok")))
            all = false;
    }
    *report = r;
    *ok = all;
    return RG_OK;
}

rg_status rg_store_list(rg_store *s, rg_collection_info **out, size_t *n, rg_error *err)
{
    *out = NULL;
    *n = 0;
    return s->ops->list_collections(s->impl, out, n, err);
}

static void drop_lexical(rg_store *s, const char *name)
{
    char *p = lexical_path(s, name);
    rg_lexical_remove_files(p);
    free(p);
}

/* ---- per-collection settings: a small JSON object beside the BM25 sidecar ---- */

static char *settings_path(const rg_store *s, const char *collection)
{
    char *file = rg_xasprintf("%s.settings.json", collection);
    char *p = rg_path_join(s->lexical_dir, file);
    free(file);
    return p;
}

rg_status rg_store_collection_setting_get(rg_store *s, const char *name, const char *key, json_t **out,
                                          rg_error *err)
{
    *out = NULL;
    if (!s->lexical_dir || rg_collection_name_check(name, NULL) != RG_OK)
        return RG_OK;
    char *p = settings_path(s, name);
    json_error_t je;
    json_t *all = rg_path_exists(p) ? json_load_file(p, 0, &je) : NULL;
    rg_status rc = RG_OK;
    if (rg_path_exists(p) && !json_is_object(all))
        rc = rg_error_set(err, RG_ERR_CORRUPT, "%s is damaged (%s); remove it to forget the collection's settings", p,
                          all ? "not a JSON object" : je.text);
    else if (all && json_object_get(all, key))
        *out = json_incref(json_object_get(all, key));
    json_decref(all);
    free(p);
    return rc;
}

rg_status rg_store_collection_setting_put(rg_store *s, const char *name, const char *key, json_t *value,
                                          rg_error *err)
{
    if (!s->lexical_dir)
        return RG_OK;
    rg_status rc = rg_collection_name_check(name, err);
    if (rc != RG_OK)
        return rc;
    char *p = settings_path(s, name);
    json_t *all = rg_path_exists(p) ? json_load_file(p, 0, NULL) : NULL;
    if (!json_is_object(all)) {
        json_decref(all);
        all = json_object();
    }
    if (value)
        json_object_set(all, key, value);
    else
        json_object_del(all, key);
    rc = rg_mkdir_p(s->lexical_dir, 0700, err);
    if (rc == RG_OK) {
        char *text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS);
        rc = rg_write_file_atomic(p, text, strlen(text), err);
        free(text);
    }
    json_decref(all);
    free(p);
    return rc;
}

static void drop_settings(rg_store *s, const char *name)
{
    if (!s->lexical_dir)
        return;
    char *p = settings_path(s, name);
    unlink(p);
    free(p);
}

rg_status rg_store_create_collection(rg_store *s, const char *name, const rg_embedder_identity *id, rg_error *err)
{
    rg_status rc = rg_collection_name_check(name, err);
    if (rc != RG_OK)
        return rc;
    rc = s->ops->create_collection(s->impl, name, id, err);
    if (rc == RG_OK) {
        drop_lexical(s, name); /* left over from a collection deleted by hand */
        drop_settings(s, name);
    }
    return rc;
}

rg_status rg_store_delete_collection(rg_store *s, const char *name, rg_error *err)
{
    rg_status rc = rg_collection_name_check(name, err);
    if (rc != RG_OK)
        return rc;
    /* The index first: a process killed between the two steps (or a
     * backend that refuses) leaves a collection without an index (a query
     * names `collections reindex`; the next write rebuilds it), never an
     * index of a collection that is gone. */
    drop_lexical(s, name);
    drop_settings(s, name);
    return s->ops->delete_collection(s->impl, name, err);
}

rg_status rg_store_rename_collection(rg_store *s, const char *from, const char *to, rg_error *err)
{
    rg_status rc = rg_collection_name_check(from, err);
    if (rc == RG_OK)
        rc = rg_collection_name_check(to, err);
    if (rc != RG_OK)
        return rc;
    if (!s->ops->rename_collection)
        return rg_error_set(err, RG_ERR_UNAVAILABLE, "the %s backend cannot rename collections", s->ops->name);
    rc = s->ops->rename_collection(s->impl, from, to, err);
    if (rc == RG_OK) {
        char *a = lexical_path(s, from), *b = lexical_path(s, to);
        rg_lexical_rename_files(a, b);
        free(a);
        free(b);
        if (s->lexical_dir) {
            a = settings_path(s, from), b = settings_path(s, to);
            if (rename(a, b) != 0)
                unlink(b); /* from had none: to must not keep another's */
            free(a);
            free(b);
        }
    }
    return rc;
}

int rg_store_sweep_indexes(rg_store *s, bool (*drop)(const char *name, void *ctx), void *ctx, rg_error *err)
{
    if (!s->lexical_dir)
        return 0;
    rg_collection_info *infos = NULL;
    size_t n = 0;
    if (rg_store_list(s, &infos, &n, err) != RG_OK)
        return -1;
    int dropped = 0;
    DIR *d = opendir(s->lexical_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        /* NAME.bm25 (and an old NAME.fts.sqlite with its side files). */
        char *name = rg_lexical_file_collection(de->d_name);
        if (!name)
            continue;
        bool listed = false;
        for (size_t i = 0; i < n && !listed; i++)
            listed = !strcmp(infos[i].name, name);
        char *path = lexical_path(s, name);
        if (!listed && rg_collection_name_check(name, NULL) == RG_OK && drop(name, ctx)) {
            /* readdir may still return the side files of an index just
             * removed: count the index once, by its main file. */
            dropped += rg_lexical_bytes(path) > 0;
            rg_lexical_remove_files(path);
        }
        free(path);
        free(name);
    }
    if (d)
        closedir(d);
    free(infos);
    return dropped;
}

rg_status rg_collection_open(rg_store *s, const char *name, rg_embedder *embedder, bool create, rg_collection **out,
                             rg_error *err)
{
    rg_status rc = rg_collection_name_check(name, err);
    if (rc != RG_OK)
        return rc;
    void *impl = NULL;
    rc = s->ops->open_collection(s->impl, name, embedder, &impl, err);
    if (rc == RG_ERR_NOTFOUND && create) {
        if (!embedder)
            return rg_error_set(err, RG_ERR_INVALID, "cannot create collection '%s' without an embedder", name);
        rc = s->ops->create_collection(s->impl, name, &embedder->identity, err);
        if (rc == RG_OK) {
            drop_lexical(s, name);
            drop_settings(s, name);
        }
        if (rc == RG_OK || rc == RG_ERR_EXISTS) /* EXISTS: another process won the race */
            rc = s->ops->open_collection(s->impl, name, embedder, &impl, err);
    } else if (rc == RG_ERR_NOTFOUND) {
        return rg_error_set(err, RG_ERR_NOTFOUND,
                            "collection '%s' does not exist in the %s backend (list them with 'ragged collections "
                            "list --backend %s', or create it by ingesting into it)",
                            name, s->ops->name, s->ops->name);
    }
    if (rc != RG_OK)
        return rc;
    rg_collection *c = rg_xcalloc(1, sizeof *c);
    c->store = s;
    c->impl = impl;
    c->name = rg_xstrdup(name);
    c->embedder = embedder;
    rg_collection_info info;
    rc = s->ops->info(impl, &info, err);
    if (rc == RG_OK) {
        c->identity = info.identity;
        if (embedder)
            rc = rg_embedder_identity_check(&info.identity, &embedder->identity, name, err);
    }
    if (rc != RG_OK) {
        rg_collection_close(c);
        return rc;
    }
    *out = c;
    return RG_OK;
}

void rg_collection_close(rg_collection *c)
{
    if (!c)
        return;
    if (c->store->ops->close_collection)
        c->store->ops->close_collection(c->impl);
    rg_lexical_close(c->lex);
    free(c->name);
    free(c);
}

const char *rg_collection_name(const rg_collection *c)
{
    return c->name;
}

rg_store *rg_collection_store(const rg_collection *c)
{
    return c->store;
}

const rg_embedder_identity *rg_collection_identity(const rg_collection *c)
{
    return &c->identity;
}

int rg_collection_dim(const rg_collection *c)
{
    return c->identity.dim;
}

rg_embedder *rg_collection_embedder(const rg_collection *c)
{
    return c->embedder;
}

/* ---- validation ---- */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static rg_status validate_metadata(const char *id, const json_t *m, rg_error *err)
{
    if (!json_is_object(m))
        return rg_error_set(err, RG_ERR_INVALID, "record '%s': metadata must be a JSON object", id);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)m, key, v)
    {
        if (!*key || strchr(key, '"') || strchr(key, '\\') || !rg_utf8_valid(key, strlen(key)))
            return rg_error_set(err, RG_ERR_INVALID,
                                "record '%s': metadata key '%s' is not allowed (empty, quotes, backslashes or "
                                "invalid UTF-8)",
                                id, key);
        if (json_is_string(v)) {
            const char *s = json_string_value(v);
            if (!rg_utf8_valid(s, json_string_length(v)) || memchr(s, 0, json_string_length(v)))
                return rg_error_set(err, RG_ERR_INVALID, "record '%s': metadata '%s' is not valid UTF-8 text", id,
                                    key);
        } else if (json_is_real(v)) {
            if (!isfinite(json_real_value(v)))
                return rg_error_set(err, RG_ERR_INVALID, "record '%s': metadata '%s' is not a finite number", id, key);
        } else if (!json_is_integer(v) && !json_is_boolean(v)) {
            return rg_error_set(err, RG_ERR_INVALID,
                                "record '%s': metadata '%s' must be a string, integer, float or boolean (lists, "
                                "objects and null are not stored by every backend)",
                                id, key);
        }
    }
    return RG_OK;
}

rg_status rg_records_validate(const rg_record *recs, size_t n, int dim, rg_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const rg_record *r = &recs[i];
        if (!r->id || !*r->id)
            return rg_error_set(err, RG_ERR_INVALID, "record %zu of the batch has an empty id", i);
        size_t len = strlen(r->id);
        if (len > RG_ID_MAX)
            return rg_error_set(err, RG_ERR_INVALID, "record id '%.40s...' is %zu bytes; the limit is %d", r->id, len,
                                RG_ID_MAX);
        if (!rg_utf8_valid(r->id, len))
            return rg_error_set(err, RG_ERR_INVALID, "record %zu of the batch has an id that is not valid UTF-8", i);
        if (r->document && !rg_utf8_valid(r->document, strlen(r->document)))
            return rg_error_set(err, RG_ERR_INVALID, "record '%s': document is not valid UTF-8", r->id);
        if (r->metadata) {
            rg_status rc = validate_metadata(r->id, r->metadata, err);
            if (rc != RG_OK)
                return rc;
        }
        if (!r->embedding)
            return rg_error_set(err, RG_ERR_INVALID, "record '%s' has no embedding", r->id);
        for (int d = 0; d < dim; d++)
            if (!isfinite(r->embedding[d]))
                return rg_error_set(err, RG_ERR_INVALID, "record '%s': embedding has a non-finite value", r->id);
    }
    if (n > 1) {
        const char **ids = rg_xmalloc(n * sizeof *ids);
        for (size_t i = 0; i < n; i++)
            ids[i] = recs[i].id;
        qsort(ids, n, sizeof *ids, cmp_str_ptr);
        for (size_t i = 1; i < n; i++)
            if (!strcmp(ids[i - 1], ids[i])) {
                rg_error_set(err, RG_ERR_INVALID, "id '%s' appears more than once in the batch", ids[i]);
                free(ids);
                return RG_ERR_INVALID;
            }
        free(ids);
    }
    return RG_OK;
}

/* ---- the lexical sidecar, kept in step by the writes below ---- */

static rg_status source_get(void *ctx, const char *const *ids, size_t nids, size_t offset, size_t limit,
                            rg_record_batch *out, rg_error *err);
static rg_status source_count(void *ctx, int64_t *out, rg_error *err);

static rg_status lexical_open(rg_collection *c, rg_error *err)
{
    if (c->lex)
        return RG_OK;
    if (!c->store->lexical_dir)
        return rg_error_set(err, RG_ERR_UNAVAILABLE, "the %s backend has no place for a BM25 index",
                            c->store->ops->name);
    char *path = lexical_path(c->store, c->name);
    rg_error lerr = {0};
    rg_status rc = rg_lexical_open(path, &c->store->lexical, &c->lex, &lerr);
    if (rc != RG_OK)
        rc = rg_error_set(err, rc,
                          "cannot open the BM25 index of collection '%s' (%s); it is rebuilt from the collection "
                          "by 'ragged collections reindex %s' if you delete %s.bm25 first",
                          c->name, lerr.msg, c->name, path);
    free(path);
    if (rc == RG_OK) {
        rg_lexical_source src = {source_get, source_count, c};
        rc = rg_lexical_settle_empty(c->lex, &src, err);
    }
    return rc;
}

/* recs or ids name the records about to change (both NULL: a filter). */
static rg_status lexical_ready(rg_collection *c, rg_error *err);

static rg_status lexical_begin(rg_collection *c, const rg_record *recs, const char *const *ids, size_t n,
                               rg_lexical **lx, int64_t *op, rg_error *err)
{
    rg_status rc = lexical_ready(c, err);
    if (rc != RG_OK)
        return rc;
    const char **names = NULL;
    if (recs) {
        names = rg_xmalloc(n * sizeof *names);
        for (size_t i = 0; i < n; i++)
            names[i] = recs[i].id;
        ids = names;
    }
    rc = rg_lexical_begin(c->lex, ids, n, op, err);
    free(names);
    if (rc == RG_OK)
        *lx = c->lex;
    return rc;
}

/* After the backend call.  A failure here leaves the journal entry, which
 * the next write (or `collections reindex`) replays; the backend write
 * already happened, but the call did not complete, so it fails (issue 21
 * item 7: a disk too full for the BM25 update must not end in a success). */
static rg_status lexical_failed(rg_status rc, const char *what, rg_error *err)
{
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg);
    return rg_error_set(err, rc,
                        "%s could not be updated (%s); free space or fix the cause and run the same command again: "
                        "it brings the BM25 index up to date",
                        what, why);
}

#define STORED_BUT "the records were stored but the BM25 index"

static rg_status lexical_finish(rg_lexical *lx, rg_status backend_rc, int64_t op, const rg_record *recs, size_t n,
                                const char *const *ids, size_t nids, rg_error *err)
{
    rg_status rc = backend_rc;
    if (backend_rc == RG_OK) {
        rc = recs ? rg_lexical_put(lx, op, recs, n, err) : rg_lexical_remove(lx, op, ids, nids, err);
        if (rc != RG_OK)
            rc = lexical_failed(rc, STORED_BUT, err);
    }
    rg_lexical_end(lx);
    return rc;
}

static rg_status source_get(void *ctx, const char *const *ids, size_t nids, size_t offset, size_t limit,
                            rg_record_batch *out, rg_error *err)
{
    rg_collection *c = ctx;
    return rg_collection_get(c, ids, nids, NULL, RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS, offset, limit, out,
                             err);
}

static rg_status source_count(void *ctx, int64_t *out, rg_error *err)
{
    return rg_collection_count(ctx, out, err);
}

/* The write side: every write first brings the index in step (converts
 * an old one, replays what a failed write left, rebuilds a missing one), so
 * writes keep it in step and queries never have to. */
static rg_status lexical_ready(rg_collection *c, rg_error *err)
{
    rg_status rc = lexical_open(c, err);
    if (rc != RG_OK)
        return rc;
    rg_lexical_source src = {source_get, source_count, c};
    rc = rg_lexical_sync(c->lex, &src, !c->lex_checked, NULL, err);
    if (rc == RG_OK)
        c->lex_checked = true;
    return rc;
}

rg_status rg_collection_lexical_sync(rg_collection *c, rg_error *err)
{
    if (!c->lex && !c->store->lexical_dir)
        return RG_OK;
    rg_status rc = lexical_ready(c, err);
    return rc == RG_OK ? RG_OK : lexical_failed(rc, "the BM25 index is behind the collection and", err);
}

rg_status rg_collection_lexical_reindex(rg_collection *c, bool *converted, int64_t *records, rg_error *err)
{
    *converted = false;
    *records = 0;
    rg_status rc = lexical_open(c, err);
    if (rc != RG_OK)
        return rc;
    /* An FTS5 sidecar converted by the open needs no backend read: only a
     * catch-up (its journal, the counts). */
    *converted = rg_lexical_converted(c->lex);
    rg_lexical_source src = {source_get, source_count, c};
    rc = *converted ? rg_lexical_sync(c->lex, &src, true, NULL, err) : rg_lexical_rebuild(c->lex, &src, err);
    if (rc == RG_OK)
        c->lex_checked = true;
    if (rc == RG_OK)
        rc = rg_lexical_count(c->lex, records, err);
    return rc;
}

/* The read side (docs/bm25.md, "Queries never write"): a query reads the
 * index as the last write left it and never converts, replays or rebuilds;
 * an index that is out of step is an error naming the command that fixes
 * it.  *empty: no index and no records (nothing to find). */
static rg_status lexical_reader(rg_collection *c, bool *empty, rg_error *err)
{
    *empty = false;
    rg_lexical_source src = {source_get, source_count, c};
    rg_lexical_state state = RG_LEXICAL_READY;
    rg_status rc = RG_OK;
    int64_t indexed = -1, stored = -1;
    if (!c->lex) {
        if (!c->store->lexical_dir)
            return rg_error_set(err, RG_ERR_UNAVAILABLE, "the %s backend has no place for a BM25 index",
                                c->store->ops->name);
        char *path = lexical_path(c->store, c->name);
        rg_error lerr = {0};
        rc = rg_lexical_open_reader(path, &c->store->lexical, &c->lex, &state, &lerr);
        if (rc != RG_OK)
            rc = rg_error_set(err, rc,
                              "cannot open the BM25 index of collection '%s' (%s); 'ragged collections reindex %s "
                              "--backend %s' rebuilds it from the collection",
                              c->name, lerr.msg, c->name, c->store->ops->name);
        free(path);
    }
    if (rc == RG_OK && state == RG_LEXICAL_READY) {
        rc = rg_lexical_query_state(c->lex, &src, !c->lex_checked, &state, &indexed, &stored, err);
        if (rc == RG_OK && state == RG_LEXICAL_READY && stored >= 0)
            c->lex_checked = true;
    }
    if (rc != RG_OK || state == RG_LEXICAL_READY)
        return rc;
    if (state == RG_LEXICAL_MISSING) {
        rc = rg_collection_count(c, &stored, err);
        if (rc != RG_OK || stored == 0) {
            *empty = rc == RG_OK;
            return rc;
        }
    }
    const char *why = "";
    char buf[160];
    switch (state) {
    case RG_LEXICAL_MISSING: why = "has no BM25 index"; break;
    case RG_LEXICAL_OLD_FORMAT: why = "has a BM25 index in the format of an earlier ragged version"; break;
    case RG_LEXICAL_OTHER_STEMMER:
        snprintf(buf, sizeof buf, "has a BM25 index built with another stemmer than retrieval.bm25_stemmer '%s'",
                 c->store->lexical.stemmer);
        why = buf;
        break;
    case RG_LEXICAL_UNBUILT: why = "has a BM25 index that needs a rebuild (a write did not finish)"; break;
    case RG_LEXICAL_UNFINISHED: why = "has a BM25 index behind the collection (a write did not finish)"; break;
    default:
        snprintf(buf, sizeof buf,
                 "has a BM25 index out of step with it (%lld records indexed, %lld stored; written by another "
                 "tool?)",
                 (long long)indexed, (long long)stored);
        why = buf;
        break;
    }
    return rg_error_set(err, RG_ERR_MISMATCH,
                        "collection '%s' (%s) %s; queries do not rebuild it: run 'ragged collections reindex %s "
                        "--backend %s' (or any ingest into it), or query with --mode vector",
                        c->name, c->store->ops->name, why, c->name, c->store->ops->name);
}

/* Attaches documents/metadata from the backend to id-only hits. */
static rg_status attach_records(rg_collection *c, rg_hits *hits, unsigned include, rg_error *err)
{
    include &= RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS;
    if (!include || !hits->n)
        return RG_OK;
    const char **ids = rg_xmalloc(hits->n * sizeof *ids);
    for (size_t i = 0; i < hits->n; i++)
        ids[i] = hits->items[i].id;
    rg_record_batch b;
    rg_record_batch_init(&b, 0);
    rg_status rc = rg_collection_get(c, ids, hits->n, NULL, include, 0, 0, &b, err);
    free(ids);
    if (rc == RG_OK) {
        json_t *index = json_object();
        for (size_t i = 0; i < b.n; i++)
            json_object_set_new(index, b.items[i].id, json_integer((json_int_t)i));
        for (size_t i = 0; i < hits->n; i++) {
            json_t *at = json_object_get(index, hits->items[i].id);
            if (!at)
                continue;
            rg_record *r = &b.items[json_integer_value(at)];
            free(hits->items[i].document);
            json_decref(hits->items[i].metadata);
            hits->items[i].document = r->document ? rg_xstrdup(r->document) : NULL;
            hits->items[i].metadata = r->metadata ? json_incref(r->metadata) : NULL;
        }
        json_decref(index);
    }
    rg_record_batch_free(&b);
    return rc;
}

/* A read that found damage names the collection and the way to see all of
 * it (the backend's message names the file and what is wrong). */
static rg_status damage_hint(const rg_collection *c, rg_status rc, rg_error *err)
{
    if (rc != RG_ERR_CORRUPT || !err || strstr(err->msg, "collections check"))
        return rc;
    return rg_error_set(err, rc,
                        "collection '%s' (%s) is damaged: %s; 'ragged collections check %s --backend %s' checks all "
                        "of it",
                        c->name, c->store->ops->name, err->msg, c->name, c->store->ops->name);
}

rg_status rg_collection_query_lexical(rg_collection *c, const char *text, const rg_query_opts *opts, rg_hits *out,
                                      rg_error *err)
{
    if (opts->k < 1)
        return rg_error_set(err, RG_ERR_INVALID, "k must be at least 1 (got %d)", opts->k);
    bool empty = false;
    rg_status rc = lexical_reader(c, &empty, err);
    if (rc != RG_OK || empty)
        return rc;
    rg_hits found;
    rg_hits_init(&found);
    /* A filter is the backend's to evaluate (the index keeps no metadata):
     * it names the matching records, and BM25 ranks among exactly those,
     * so a filtered query still returns min(k, matches) hits. */
    rg_record_batch allowed;
    rg_record_batch_init(&allowed, 0);
    const char **allow = NULL;
    if (opts->where) {
        rc = rg_collection_get(c, NULL, 0, opts->where, 0, 0, 0, &allowed, err);
        allow = rg_xmalloc((allowed.n + 1) * sizeof *allow);
        for (size_t i = 0; rc == RG_OK && i < allowed.n; i++)
            allow[i] = allowed.items[i].id;
    }
    if (rc == RG_OK)
        rc = rg_lexical_search(c->lex, text, opts->k, allow, allowed.n, &found, err);
    free(allow);
    rg_record_batch_free(&allowed);
    if (rc == RG_OK)
        rc = attach_records(c, &found, opts->include, err);
    if (rc == RG_OK) {
        for (size_t i = 0; i < found.n; i++) {
            rg_hits_push(out, found.items[i].id, found.items[i].distance, NULL, NULL);
            rg_hit *h = &out->items[out->n - 1];
            h->document = found.items[i].document;
            h->metadata = found.items[i].metadata;
            found.items[i].document = NULL;
            found.items[i].metadata = NULL;
        }
    }
    rg_hits_free(&found);
    return damage_hint(c, rc, err);
}

rg_status rg_collection_attach(rg_collection *c, rg_hits *hits, unsigned include, rg_error *err)
{
    return damage_hint(c, attach_records(c, hits, include, err), err);
}

static rg_status add_or_upsert(rg_collection *c, const rg_record *recs, size_t n, bool upsert, rg_error *err)
{
    if (n == 0)
        return RG_OK;
    rg_status rc = rg_records_validate(recs, n, c->identity.dim, err);
    if (rc != RG_OK)
        return rc;
    rg_lexical *lx = NULL;
    int64_t op = 0;
    rc = lexical_begin(c, recs, NULL, n, &lx, &op, err);
    if (rc != RG_OK)
        return rc;
    rc = c->store->ops->add(c->impl, recs, n, upsert, err);
    return lexical_finish(lx, rc, op, recs, n, NULL, 0, err);
}

rg_status rg_collection_add(rg_collection *c, const rg_record *recs, size_t n, rg_error *err)
{
    return add_or_upsert(c, recs, n, false, err);
}

rg_status rg_collection_upsert(rg_collection *c, const rg_record *recs, size_t n, rg_error *err)
{
    return add_or_upsert(c, recs, n, true, err);
}

rg_status rg_collection_get(rg_collection *c, const char *const *ids, size_t nids, const rg_filter *where,
                            unsigned include, size_t offset, size_t limit, rg_record_batch *out, rg_error *err)
{
    if (out->dim == 0)
        out->dim = c->identity.dim;
    if (ids && nids == 0)
        return RG_OK;
    if (rg_filter_mentions(where, RG_FILTER_DOCUMENT))
        return rg_error_set(err, RG_ERR_INVALID, "a filter on the passage text (\"%s\") works in queries only",
                            RG_FILTER_DOCUMENT);
    return damage_hint(c, c->store->ops->get(c->impl, ids, nids, where, include, offset, limit, out, err), err);
}

rg_status rg_collection_delete(rg_collection *c, const char *const *ids, size_t nids, const rg_filter *where,
                               size_t *deleted, rg_error *err)
{
    size_t dummy;
    if (!deleted)
        deleted = &dummy;
    *deleted = 0;
    if (!ids && !where)
        return rg_error_set(err, RG_ERR_INVALID,
                            "delete needs ids or a filter (to remove a whole collection, delete the collection)");
    if (ids && nids == 0)
        return RG_OK;
    if (rg_filter_mentions(where, RG_FILTER_DOCUMENT))
        return rg_error_set(err, RG_ERR_INVALID, "a filter on the passage text (\"%s\") works in queries only",
                            RG_FILTER_DOCUMENT);
    rg_status rc = lexical_ready(c, err);
    if (rc != RG_OK)
        return rc;
    rg_lexical *lx = c->lex;
    int64_t op = 0;
    rg_record_batch matched;
    rg_record_batch_init(&matched, 0);
    const char **names = NULL;
    const char *const *jids = ids;
    size_t njids = nids;
    if (!ids) {
        /* The index keeps no metadata: a delete by filter names the records
         * it is about to delete, as the backend sees them (under the
         * index's lock no other ragged writer changes them meanwhile).  An
         * unknown-set entry covers the moment before the names are known. */
        rc = rg_lexical_begin(lx, NULL, 0, &op, err);
        if (rc == RG_OK)
            rc = rg_collection_get(c, NULL, 0, where, 0, 0, 0, &matched, err);
        if (rc == RG_OK) {
            names = rg_xmalloc((matched.n + 1) * sizeof *names);
            for (size_t i = 0; i < matched.n; i++)
                names[i] = matched.items[i].id;
            int64_t named = 0;
            rc = rg_lexical_begin(lx, names, matched.n, &named, err);
            if (rc == RG_OK)
                rc = rg_lexical_remove(lx, op, NULL, 0, err);   /* clears the unknown-set entry */
            op = named;
        }
        jids = names;
        njids = matched.n;
    } else {
        rc = rg_lexical_begin(lx, ids, nids, &op, err);
    }
    if (rc == RG_OK)
        rc = c->store->ops->delete_records(c->impl, ids, nids, where, deleted, err);
    if (rc == RG_OK && !(ids && where)) {
        rc = lexical_finish(lx, rc, op, NULL, 0, jids, njids, err);
    } else {
        /* A failure, or ids with a filter too (only the matching ones go):
         * the journal entry stays and its replay settles which. */
        rg_lexical_end(lx);
    }
    free(names);
    rg_record_batch_free(&matched);
    return rc;
}

rg_status rg_collection_replace(rg_collection *c, const rg_record *recs, size_t n, const char *const *del,
                                size_t ndel, size_t *deleted, rg_error *err)
{
    size_t dummy;
    if (!deleted)
        deleted = &dummy;
    *deleted = 0;
    if (ndel == 0)
        return add_or_upsert(c, recs, n, true, err);
    if (n == 0)
        return rg_collection_delete(c, del, ndel, NULL, deleted, err);
    rg_status rc = rg_records_validate(recs, n, c->identity.dim, err);
    if (rc != RG_OK)
        return rc;
    /* An id in both lists has no sensible order; ingest never asks for it. */
    json_t *seen = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(seen, recs[i].id, json_true());
    for (size_t i = 0; rc == RG_OK && i < ndel; i++)
        if (json_object_get(seen, del[i]))
            rc = rg_error_set(err, RG_ERR_INVALID, "record '%s' is both written and deleted in one replace", del[i]);
    json_decref(seen);
    if (rc != RG_OK)
        return rc;
    /* One journal entry names both sets: whatever part of the backend
     * write survives a crash, the next write replays exactly those ids. */
    const char **all = rg_xmalloc((n + ndel) * sizeof *all);
    for (size_t i = 0; i < n; i++)
        all[i] = recs[i].id;
    memcpy(all + n, del, ndel * sizeof *del);
    rg_lexical *lx = NULL;
    int64_t op = 0;
    rc = lexical_begin(c, NULL, all, n + ndel, &lx, &op, err);
    free(all);
    if (rc != RG_OK)
        return rc;
    if (c->store->ops->replace) {
        rc = c->store->ops->replace(c->impl, recs, n, del, ndel, deleted, err);
    } else {
        rc = c->store->ops->add(c->impl, recs, n, true, err);
        if (rc == RG_OK)
            rc = c->store->ops->delete_records(c->impl, del, ndel, NULL, deleted, err);
    }
    if (rc == RG_OK) {
        rc = rg_lexical_replace(lx, op, recs, n, del, ndel, err);
        if (rc != RG_OK)
            rc = lexical_failed(rc, STORED_BUT, err);
    }
    rg_lexical_end(lx);
    return rc;
}

void rg_collection_set_progress(rg_collection *c, rg_store_progress_fn fn, void *ctx)
{
    if (c->store->ops->set_progress)
        c->store->ops->set_progress(c->impl, fn, ctx);
}

rg_status rg_collection_count(rg_collection *c, int64_t *out, rg_error *err)
{
    return c->store->ops->count(c->impl, out, err);
}

rg_status rg_collection_query(rg_collection *c, const float *query, const rg_query_opts *opts, rg_hits *out,
                              rg_error *err)
{
    if (opts->k < 1)
        return rg_error_set(err, RG_ERR_INVALID, "k must be at least 1 (got %d)", opts->k);
    rg_status rc = c->store->ops->query(c->impl, query, opts, out, err);
    if (rc == RG_OK)
        rg_hits_sort(out);
    return damage_hint(c, rc, err);
}

rg_status rg_collection_query_text(rg_collection *c, const char *text, const rg_query_opts *opts, rg_hits *out,
                                   rg_error *err)
{
    if (!c->embedder)
        return rg_error_set(err, RG_ERR_INTERNAL, "collection '%s' was opened without an embedder", c->name);
    float *q = rg_xmalloc((size_t)c->identity.dim * sizeof *q);
    const char *texts[1] = {text};
    rg_status rc = rg_embedder_embed(c->embedder, texts, 1, RG_EMBED_QUERY, q, err);
    if (rc == RG_OK)
        rc = rg_collection_query(c, q, opts, out, err);
    free(q);
    return rc;
}

rg_status rg_collection_info_get(rg_collection *c, rg_collection_info *out, rg_error *err)
{
    return c->store->ops->info(c->impl, out, err);
}

rg_status rg_collection_stats(rg_collection *c, rg_store_stats *out, rg_error *err)
{
    rg_store_stats_init(out);
    rg_status rc = c->store->ops->stats(c->impl, out, err);
    /* The BM25 index's components, when it exists (stats never creates
     * one). */
    char *base = c->store->lexical_dir ? lexical_path(c->store, c->name) : NULL;
    rg_lexical_state state = RG_LEXICAL_READY;
    if (rc == RG_OK && base && rg_lexical_bytes(base) > 0 && !c->lex)
        rc = rg_lexical_open_reader(base, &c->store->lexical, &c->lex, &state, err);
    if (rc == RG_OK && c->lex)
        rc = rg_lexical_stats(c->lex, out, err);
    free(base);
    return rc;
}

rg_status rg_collection_compact(rg_collection *c, rg_error *err)
{
    if (!c->store->ops->compact)
        return RG_OK; /* nothing to reclaim in this backend */
    return c->store->ops->compact(c->impl, err);
}

/* ---- containers ---- */

void rg_record_batch_init(rg_record_batch *b, int dim)
{
    memset(b, 0, sizeof *b);
    b->dim = dim;
}

void rg_record_batch_push(rg_record_batch *b, const char *id, const char *document, const json_t *metadata,
                          const float *embedding)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->items = rg_xrealloc(b->items, b->cap * sizeof *b->items);
    }
    rg_record *r = &b->items[b->n++];
    r->id = rg_xstrdup(id);
    r->document = document ? rg_xstrdup(document) : NULL;
    r->metadata = metadata ? json_deep_copy(metadata) : NULL;
    r->embedding = NULL;
    r->embedded = false;
    if (embedding) {
        r->embedding = rg_xmalloc((size_t)b->dim * sizeof(float));
        memcpy(r->embedding, embedding, (size_t)b->dim * sizeof(float));
    }
}

void rg_record_batch_clear(rg_record_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->items[i].id);
        free(b->items[i].document);
        json_decref(b->items[i].metadata);
        free(b->items[i].embedding);
    }
    b->n = 0;
}

void rg_record_batch_free(rg_record_batch *b)
{
    rg_record_batch_clear(b);
    free(b->items);
    b->items = NULL;
    b->cap = 0;
}

void rg_hits_init(rg_hits *h)
{
    memset(h, 0, sizeof *h);
}

void rg_hits_push(rg_hits *h, const char *id, float distance, const char *document, const json_t *metadata)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->items = rg_xrealloc(h->items, h->cap * sizeof *h->items);
    }
    rg_hit *x = &h->items[h->n++];
    x->id = rg_xstrdup(id);
    x->distance = distance;
    x->document = document ? rg_xstrdup(document) : NULL;
    x->metadata = metadata ? json_deep_copy(metadata) : NULL;
}

static int cmp_hit(const void *a, const void *b)
{
    const rg_hit *x = a, *y = b;
    if (x->distance < y->distance)
        return -1;
    if (x->distance > y->distance)
        return 1;
    return strcmp(x->id, y->id);
}

void rg_hits_sort(rg_hits *h)
{
    if (h->n > 1)
        qsort(h->items, h->n, sizeof *h->items, cmp_hit);
}

void rg_hits_free(rg_hits *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->items[i].id);
        free(h->items[i].document);
        json_decref(h->items[i].metadata);
    }
    free(h->items);
    rg_hits_init(h);
}

void rg_store_stats_init(rg_store_stats *s)
{
    memset(s, 0, sizeof *s);
}

void rg_store_stats_add(rg_store_stats *s, const char *component, int64_t bytes)
{
    for (size_t i = 0; i < s->ncomponents; i++)
        if (!strcmp(s->components[i].name, component)) {
            s->components[i].bytes += bytes;
            return;
        }
    if (s->ncomponents == RG_STATS_MAX_COMPONENTS)
        return;
    rg_store_component *c = &s->components[s->ncomponents++];
    snprintf(c->name, sizeof c->name, "%s", component);
    c->bytes = bytes;
}

void rg_store_stats_free(rg_store_stats *s)
{
    json_decref(s->details);
    s->details = NULL;
}

/* ---- exact top-k ---- */

/* Max-heap on distance (then index) holding the best k so far. */
static bool worse(float da, size_t ia, float db, size_t ib)
{
    return da > db || (da == db && ia > ib);
}

static void heap_sift_down(float *d, size_t *ix, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(d[l], ix[l], d[m], ix[m]))
            m = l;
        if (r < n && worse(d[r], ix[r], d[m], ix[m]))
            m = r;
        if (m == i)
            return;
        float td = d[i];
        d[i] = d[m];
        d[m] = td;
        size_t ti = ix[i];
        ix[i] = ix[m];
        ix[m] = ti;
        i = m;
    }
}

static int cmp_pair(const void *a, const void *b)
{
    const struct { float d; size_t i; } *x = a, *y = b;
    return worse(x->d, x->i, y->d, y->i) ? 1 : worse(y->d, y->i, x->d, x->i) ? -1 : 0;
}

void rg_exact_topk(const float *matrix, size_t rows, int dim, const float *query, int k,
                   bool (*ok)(void *ctx, size_t row), void *ctx, size_t *idx_out, float *dist_out, size_t *nout)
{
    size_t n = 0, kk = (size_t)k;
    for (size_t r = 0; r < rows; r++) {
        if (ok && !ok(ctx, r))
            continue;
        float dist = 1.0f - rg_dot(matrix + r * (size_t)dim, query, (size_t)dim);
        if (n < kk) {
            dist_out[n] = dist;
            idx_out[n] = r;
            n++;
            if (n == kk)
                for (size_t i = kk / 2 + 1; i-- > 0;)
                    heap_sift_down(dist_out, idx_out, n, i);
        } else if (worse(dist_out[0], idx_out[0], dist, r)) {
            dist_out[0] = dist;
            idx_out[0] = r;
            heap_sift_down(dist_out, idx_out, n, 0);
        }
    }
    /* Heap order to ascending order. */
    struct pair { float d; size_t i; } *p = rg_xmalloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pair){dist_out[i], idx_out[i]};
    qsort(p, n, sizeof *p, cmp_pair);
    for (size_t i = 0; i < n; i++) {
        dist_out[i] = p[i].d;
        idx_out[i] = p[i].i;
    }
    free(p);
    *nout = n;
}

/* ---- helpers for directory-backed backends ---- */

rg_status rg_rename_collection_dir(const char *dir, const char *from, const char *to, const char *backend,
                                   rg_error *err)
{
    char *src = rg_path_join(dir, from);
    char *dst = rg_path_join(dir, to);
    rg_status rc = RG_OK;
    if (!rg_is_dir(src))
        rc = rg_error_set(err, RG_ERR_NOTFOUND, "collection '%s' does not exist in the %s backend", from, backend);
    else if (rg_path_exists(dst))
        rc = rg_error_set(err, RG_ERR_EXISTS, "collection '%s' already exists in the %s backend", to, backend);
    /* renameat2(RENAME_NOREPLACE) would close the window between the check
     * and the rename, but is Linux-only; rename() refuses a non-empty
     * target directory anyway, so the worst case is a clear error. */
    else if (rename(src, dst) != 0)
        rc = rg_error_set(err, errno == ENOTEMPTY || errno == EEXIST ? RG_ERR_EXISTS : RG_ERR_IO,
                          "cannot rename collection '%s' to '%s': %s", from, to, strerror(errno));
    else
        rg_fsync_dir(dir);
    free(src);
    free(dst);
    return rc;
}

rg_status rg_collection_dir_begin(const char *dir, const char *name, const char *backend, char **tmp, rg_error *err)
{
    *tmp = NULL;
    char *final = rg_path_join(dir, name);
    bool exists = rg_path_exists(final);
    free(final);
    if (exists)
        return rg_error_set(err, RG_ERR_EXISTS, "collection '%s' already exists in the %s backend", name, backend);
    char *tmpname = rg_xasprintf(".%s.creating.%ld", name, (long)getpid());
    *tmp = rg_path_join(dir, tmpname);
    free(tmpname);
    rg_remove_tree(*tmp, NULL);   /* a leftover of this PID's earlier life */
    return rg_mkdir_p(*tmp, 0700, err);
}

rg_status rg_collection_dir_publish(const char *dir, const char *name, const char *backend, char *tmp, rg_status rc,
                                    rg_error *err)
{
    char *final = rg_path_join(dir, name);
    if (rc == RG_OK && rename(tmp, final) != 0)
        rc = errno == ENOTEMPTY || errno == EEXIST
                 ? rg_error_set(err, RG_ERR_EXISTS, "collection '%s' already exists in the %s backend", name, backend)
                 : rg_error_set(err, RG_ERR_IO, "cannot create %s: %s", final, strerror(errno));
    if (rc == RG_OK)
        rg_fsync_dir(dir);
    else if (tmp)
        rg_remove_tree(tmp, NULL);
    free(final);
    free(tmp);
    return rc;
}

rg_status rg_collection_dir_delete(const char *dir, const char *name, const char *marker, const char *backend,
                                   rg_error *err)
{
    char *coll = rg_path_join(dir, name);
    char *mp = rg_path_join(coll, marker);
    bool ok = rg_path_exists(mp);
    free(mp);
    if (!ok) {
        free(coll);
        return rg_error_set(err, RG_ERR_NOTFOUND, "collection '%s' does not exist in the %s backend", name, backend);
    }
    char *gone = rg_xasprintf("%s/.%s.deleting.%ld", dir, name, (long)getpid());
    rg_status rc = RG_OK;
    if (rename(coll, gone) != 0)
        rc = rg_error_set(err, RG_ERR_IO, "cannot delete %s: %s", coll, strerror(errno));
    else
        rc = rg_remove_tree(gone, err);
    free(gone);
    free(coll);
    return rc;
}

rg_status rg_collection_dir_list(const char *dir, const char *marker, rg_collection_dir_fill_fn fill, void *ctx,
                                 rg_collection_info **out, size_t *n, rg_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? RG_OK : rg_error_set(err, RG_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
    size_t cap = *n;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || rg_collection_name_check(de->d_name, NULL) != RG_OK)
            continue;
        char *coll = rg_path_join(dir, de->d_name);
        char *path = rg_path_join(coll, marker);
        if (rg_path_exists(path)) {
            rg_collection_info info = {0};
            snprintf(info.name, sizeof info.name, "%s", de->d_name);
            info.count = -1;
            fill(ctx, coll, path, &info);
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                *out = rg_xrealloc(*out, cap * sizeof **out);
            }
            (*out)[(*n)++] = info;
        }
        free(path);
        free(coll);
    }
    closedir(d);
    rg_collection_info_sort(*out, *n);
    return RG_OK;
}

static int cmp_info(const void *a, const void *b)
{
    return strcmp(((const rg_collection_info *)a)->name, ((const rg_collection_info *)b)->name);
}

void rg_collection_info_sort(rg_collection_info *infos, size_t n)
{
    if (n > 1)
        qsort(infos, n, sizeof *infos, cmp_info);
}

/* The PID a leftover name ends with, or 0 when the name is not one:
 * ".NAME.creating.PID" / ".NAME.deleting.PID". */
static long leftover_pid(const char *name)
{
    if (name[0] != '.')
        return 0;
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || !dot[1])
        return 0;
    char *end;
    errno = 0;
    long pid = strtol(dot + 1, &end, 10);
    if (*end || errno || pid <= 0)
        return 0;
    static const char *const kinds[] = {".creating", ".deleting"};
    for (size_t i = 0; i < RG_ARRAY_LEN(kinds); i++) {
        size_t l = strlen(kinds[i]);
        if ((size_t)(dot - name) > l + 1 && !strncmp(dot - l, kinds[i], l))
            return pid;
    }
    return 0;
}

void rg_collection_dir_sweep(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        long pid = leftover_pid(de->d_name);
        /* A live PID (or one we may not signal) may be the operation still
         * running: only a dead owner's leftover is garbage. */
        if (!pid || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char *path = rg_path_join(dir, de->d_name);
        if (rg_is_dir(path))
            rg_remove_tree(path, NULL);
        free(path);
    }
    closedir(d);
}
