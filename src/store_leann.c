/* The leann backend: rg_store_ops entry points, the collection directory,
 * SQLite schema, loading, locking and recomputation of embeddings.
 *
 * A collection is PERSIST_DIR/NAME/ holding
 *   leann.sqlite      WAL database: passages (zstd), ids, metadata, the graph
 *                     overlay of recent edits, the committed generation
 *   graph-G.bin       proximity graph of generation G (leann_format.c)
 *   codes-G.bin       PQ codebooks + codes of generation G
 *   lock              flock()ed by the process writing (holds its pid)
 *
 * Atomicity: a write first puts any new generation files on disk (fsynced,
 * under a new G), then commits one SQLite transaction that records the
 * passages together with G and the overlay.  Killed at any instant, the
 * database names either the old or the new generation, and both files of
 * that generation are complete; files of other generations are orphans that
 * the next writer deletes.  See docs/leann.md for the whole design. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "leann_sqlite.h"
#include "leann_filter.h"
#include "metapack.h"
#include "sqlite_util.h"
#include "store.h"
#include "util.h"

/* Formats of leann.sqlite.  1: table records with metadata as JSON text.
 * 2: metadata packed (metapack.h) in table rec behind the view records.
 * 3: same schema; may hold int8 codebooks, passage frames without
 * dictionary id, metapack 0xA2.  4: the view reads and writes through
 * leann_text.c (compressed metadata, content_hash recomputed, magic-less
 * frames).  5: ids that ingest derives from the metadata are not stored
 * (rec.id is a generated column), and only rows whose node is not seq - 1
 * are in a node index.  6: the schema of 5; passage and metadata frames
 * carry zstd checksums and uncompressed metadata a CRC32C (0xA4), so bit
 * rot is an error when read (leann_text.c); rows of older formats stay
 * readable, unverified, until a full rebuild rewrites them.  This version
 * reads 1..6; the first write upgrades the schema to 6 in place (one
 * transaction), so write paths know one schema, and an older ragged says
 * "format ragged-leann-6" instead of reporting damage.  7: the schema of 6
 * and, once the collection has held scan_threshold records, the metadata
 * index rec_post with its triggers (leann_filter.h); 6 -> 7 only records
 * the format (an older ragged would fail on the triggers' functions). */
#define LEANN_FORMAT "ragged-leann-7"
#define LEANN_FORMAT_PREFIX "ragged-leann-"
#define LEANN_FORMAT_MAX 7
#define LEANN_DB "leann.sqlite"
#define LEANN_LOCK_WAIT_S 5.0

static rg_status db_open(const char *path, int flags, leann_coll *c, sqlite3 **db, rg_error *err);

typedef struct leann_store {
    char *dir;
    leann_params params;
} leann_store;

static rg_status leann_open(const rg_config *cfg, void **out, rg_error *err)
{
    const char *dir = rg_config_str(cfg, "vectorstore.leann.persist_directory");
    if (!*dir)
        return rg_error_set(err, RG_ERR_INVALID,
                            "vectorstore.leann.persist_directory is empty; set it to a directory");
    leann_store *s = rg_xcalloc(1, sizeof *s);
    s->dir = rg_xstrdup(dir);
    s->params.graph_degree = (int)rg_config_int(cfg, "vectorstore.leann.graph_degree");
    s->params.pruned_degree = (int)rg_config_int(cfg, "vectorstore.leann.pruned_degree");
    s->params.search_complexity = (int)rg_config_int(cfg, "vectorstore.leann.search_complexity");
    s->params.rerank_candidates = (int)rg_config_int(cfg, "vectorstore.leann.rerank_candidates");
    s->params.refine_beam = (int)rg_config_int(cfg, "vectorstore.leann.refine_beam");
    s->params.code_bytes = (int)rg_config_int(cfg, "vectorstore.leann.code_bytes");
    s->params.code_bits = atoi(rg_config_str(cfg, "vectorstore.leann.code_bits"));   /* auto: 0 */
    s->params.hub_fraction = rg_config_float(cfg, "vectorstore.leann.hub_fraction");
    s->params.cache_mb = rg_config_int(cfg, "vectorstore.leann.cache_mb");
    s->params.build_memory_mb = rg_config_int(cfg, "vectorstore.leann.build_memory_mb");
    s->params.scan_threshold = rg_config_int(cfg, "vectorstore.leann.scan_threshold");
    if (s->params.pruned_degree > s->params.graph_degree)
        s->params.pruned_degree = s->params.graph_degree;
    rg_collection_dir_sweep(s->dir);
    *out = s;
    return RG_OK;
}

static void leann_close(void *impl)
{
    leann_store *s = impl;
    if (!s)
        return;
    free(s->dir);
    free(s);
}

/* ---- meta helpers ------------------------------------------------------- */

static rg_status meta_int(sqlite3 *db, const char *key, int64_t def, int64_t *out, rg_error *err)
{
    char *v = NULL;
    rg_status rc = rg_sqlite_meta_get(db, key, &v, err);
    if (rc != RG_OK)
        return rc;
    *out = v ? strtoll(v, NULL, 10) : def;
    free(v);
    return RG_OK;
}

rg_status leann_meta_set_int(leann_coll *c, const char *key, int64_t v, rg_error *err)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return rg_sqlite_meta_set(leann_db(c), key, buf, err);
}

rg_status leann_meta_save(leann_coll *c, rg_error *err)
{
    leann_sq(c)->version++;
    rg_status rc = leann_meta_set_int(c, "version", leann_sq(c)->version, err);
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "nodes", c->graph.n, err);
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "entry", c->graph.entry == LEANN_NONE ? -1 : (int64_t)c->graph.entry, err);
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "generation", leann_sq(c)->generation, err);
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "base_n", c->base_n, err);
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "built_n", c->built_n, err);
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "codes_n", c->codes_n, err);
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "dict_id", leann_sq(c)->dict_id, err);
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "meta_dict_id", leann_sq(c)->meta_dict_id, err);
    /* consolidation state (leann_vacuum.c) */
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "consolidate", c->consolidate_next, err);
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "changed", c->changed, err);
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "passes", c->passes, err);
    if (rc == RG_OK)
        rc = leann_meta_set_int(c, "renumber", c->renumber, err);
    return rc;
}

/* The schema format (1..LEANN_FORMAT_MAX) into *version when not NULL. */
static rg_status read_identity(sqlite3 *db, const char *path, rg_embedder_identity *id, int *version,
                               rg_error *err)
{
    char *format = NULL, *ident = NULL;
    rg_status rc = rg_sqlite_meta_get(db, "format", &format, err);
    if (rc == RG_OK)
        rc = rg_sqlite_meta_get(db, "identity", &ident, err);
    size_t plen = strlen(LEANN_FORMAT_PREFIX);
    int v = format && !strncmp(format, LEANN_FORMAT_PREFIX, plen) && strlen(format) == plen + 1
                ? format[plen] - '0' : 0;
    if (rc == RG_OK && (v < 1 || v > LEANN_FORMAT_MAX))
        rc = rg_error_set(err, RG_ERR_CORRUPT,
                          "%s is not a ragged leann collection this version can read (format '%s', expected '%s'"
                          " or older); a newer ragged wrote it, or it is not ragged's",
                          path, format ? format : "none", LEANN_FORMAT);
    if (version)
        *version = v;
    if (rc == RG_OK && (!ident || rg_embedder_identity_from_text(ident, id) != RG_OK))
        rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: the embedder identity is missing or damaged", path);
    free(format);
    free(ident);
    return rc;
}

/* ---- store-level operations ---------------------------------------------- */

static void fill_info(void *ctx, const char *coll_dir, const char *path, rg_collection_info *info)
{
    sqlite3 *db = NULL;
    rg_error ignored;
    if (db_open(path, SQLITE_OPEN_READONLY, NULL, &db, &ignored) == RG_OK) {
        read_identity(db, path, &info->identity, NULL, &ignored);
        rg_sqlite_scalar_int(db, "SELECT count(*) FROM records", &info->count, &ignored);
        /* The generation files the database names, as leann_load needs them. */
        int64_t gen = 0;
        if (meta_int(db, "generation", 0, &gen, &ignored) == RG_OK && gen > 0) {
            char *gp = rg_xasprintf("%s/graph-%lld.bin", coll_dir, (long long)gen);
            char *cp = rg_xasprintf("%s/codes-%lld.bin", coll_dir, (long long)gen);
            info->damaged = !rg_path_exists(gp) || !rg_path_exists(cp);
            free(gp);
            free(cp);
        }
    }
    sqlite3_close(db);
}

static rg_status leann_list(void *impl, rg_collection_info **out, size_t *n, rg_error *err)
{
    leann_store *s = impl;
    return rg_collection_dir_list(s->dir, LEANN_DB, fill_info, NULL, out, n, err);
}

/* Ids are unique through an index of a 64-bit key of each id (rg_id_key:
 * the first 8 bytes of its SHA-256) rather than of the ids themselves,
 * half the size; a lookup compares the key, then the id.  Two different
 * ids with one key would make the second's add fail as a duplicate: at a
 * million records the chance is about 3e-8.
 *
 * own_id holds the id only when it is not the one ingest derives from the
 * record's metadata (rg_leann_id): 22 bytes a chunk otherwise, 4% of a
 * collection.  Writers put NULL there exactly when rg_leann_id of the
 * stored metadata gives the id back (LEANN_OWN_ID), so reading never
 * depends on how the JSON was packed.
 *
 * node is the record's place in the graph and codes.  Inserts give a new
 * row seq = node + 1 when they can, so that a collection nobody deleted
 * from or upserted into keeps rec_node empty (LEANN_NODE_ROW). */
#define REC_TABLE                                                                                            \
    "CREATE TABLE rec(seq INTEGER PRIMARY KEY, own_id TEXT, node INTEGER NOT NULL,"                          \
    " doc BLOB, doclen INTEGER NOT NULL DEFAULT 0, dict INTEGER NOT NULL DEFAULT 0, meta BLOB, vec BLOB,"    \
    " id TEXT NOT NULL GENERATED ALWAYS AS (coalesce(own_id, rg_leann_id(meta))) VIRTUAL);"                \
    "CREATE UNIQUE INDEX rec_id ON rec(rg_id_key(id));"                                                     \
    "CREATE UNIQUE INDEX rec_node ON rec(node) WHERE node != seq - 1;"

/* records is a read-only view over rec that gives the metadata back as
 * JSON (leann_text.c); every write goes to rec directly, packing metadata
 * with leann_meta_pack. */
static const char *TABLES =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    /* seq keeps the insertion order (get() pages by it; upsert keeps it). */
    REC_TABLE
    "CREATE TABLE tombstones(node INTEGER PRIMARY KEY);"
    "CREATE TABLE adj(node INTEGER PRIMARY KEY, flags INTEGER NOT NULL, nbrs BLOB NOT NULL);"
    "CREATE TABLE codes(node INTEGER PRIMARY KEY, code BLOB NOT NULL);"
    "CREATE TABLE dicts(id INTEGER PRIMARY KEY, dict BLOB NOT NULL);";
/* packed: the stored metadata, for filters (rg_leann_meta without the
 * passage leaves out what only the passage gives). */
static const char *VIEW =
    "CREATE VIEW records AS SELECT seq, id, node, doc, doclen, dict,"
    " rg_leann_meta(meta, doc, doclen, dict) AS metadata, vec, meta AS packed FROM rec;";

static void sql_id_key(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    char hex[65];
    rg_sha256_hex(sqlite3_value_text(argv[0]), (size_t)sqlite3_value_bytes(argv[0]), hex);
    hex[16] = '\0';
    sqlite3_result_int64(ctx, (int64_t)strtoull(hex, NULL, 16));
}

int leann_sql_register(sqlite3 *db, leann_coll *c)
{
    int rc = rg_metapack_register(db);
    if (rc == SQLITE_OK)
        rc = leann_text_register(db, c);
    if (rc == SQLITE_OK)
        rc = leann_filter_register(db, c);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "rg_id_key", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                     sql_id_key, NULL, NULL);
    return rc;
}

/* Opens leann.sqlite with the SQL functions its schemas use. */
static rg_status db_open(const char *path, int flags, leann_coll *c, sqlite3 **db, rg_error *err)
{
    rg_status rc = rg_sqlite_open_paged(path, flags, 8192, db, err);
    if (rc == RG_OK && leann_sql_register(*db, c) != SQLITE_OK)
        rc = rg_sqlite_error(*db, path, err);
    return rc;
}

/* Brings a collection of an older format to format 6 in one transaction
 * (the caller holds the write lock).  Rows keep their stored passages and
 * metadata (the view reads every older form; the next full rebuild rewrites
 * them); ids that the metadata gives back stop being stored.  5 -> 6 only
 * records the format: new rows carry checksums, old ones are read as
 * before. */
static rg_status upgrade_schema(leann_coll *c, rg_error *err)
{
    if (leann_sq(c)->format == LEANN_FORMAT_MAX)
        return RG_OK;
    rg_status rc = rg_sqlite_exec(leann_db(c), "BEGIN IMMEDIATE", err);
    bool rebuild = leann_sq(c)->format < 5;
    /* The old table as old (its indexes go with it), then format 5's rec. */
    if (rc == RG_OK && rebuild)
        rc = rg_sqlite_exec(leann_db(c),
                            leann_sq(c)->format == 1 ? "ALTER TABLE records RENAME TO old;"
                                           : "DROP VIEW records; DROP INDEX IF EXISTS rec_id;"
                                             " ALTER TABLE rec RENAME TO old;",
                            err);
    if (rc == RG_OK && rebuild)
        rc = rg_sqlite_exec(leann_db(c), REC_TABLE, err);
    if (rc == RG_OK && rebuild)
        rc = rg_sqlite_exec(leann_db(c),
                            leann_sq(c)->format == 1
                                ? "INSERT INTO rec(seq, own_id, node, doc, doclen, dict, meta, vec)"
                                  " SELECT seq, " LEANN_OWN_ID("id", "m") ", node, doc, doclen, dict, m, vec"
                                  " FROM (SELECT *, rg_meta_pack(metadata) AS m FROM old) ORDER BY seq;"
                                  " DROP TABLE old;"
                                : "INSERT INTO rec(seq, own_id, node, doc, doclen, dict, meta, vec)"
                                  " SELECT seq, " LEANN_OWN_ID("id", "meta") ", node, doc, doclen, dict, meta, vec"
                                  " FROM old ORDER BY seq; DROP TABLE old;",
                            err);
    if (rc == RG_OK && rebuild)
        rc = rg_sqlite_exec(leann_db(c), VIEW, err);
    if (rc == RG_OK)
        rc = rg_sqlite_meta_set(leann_db(c), "format", LEANN_FORMAT, err);
    if (rc == RG_OK)
        rc = rg_sqlite_exec(leann_db(c), "COMMIT", err);
    if (rc == RG_OK)
        leann_sq(c)->format = LEANN_FORMAT_MAX;
    else
        rg_sqlite_exec(leann_db(c), "ROLLBACK", NULL);
    return rc;
}

static rg_status leann_create(void *impl, const char *name, const rg_embedder_identity *identity, rg_error *err)
{
    leann_store *s = impl;
    char *tmp;
    rg_status rc = rg_collection_dir_begin(s->dir, name, "leann", &tmp, err);
    if (rc != RG_OK)
        return rg_collection_dir_publish(s->dir, name, "leann", tmp, rc, err);
    sqlite3 *db = NULL;
    char *dbpath = rg_path_join(tmp, LEANN_DB);
    if (rc == RG_OK)
        rc = db_open(dbpath, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL, &db, err);
    if (rc == RG_OK)
        rc = rg_sqlite_exec(db, "BEGIN", err);
    if (rc == RG_OK)
        rc = rg_sqlite_exec(db, TABLES, err);
    if (rc == RG_OK)
        rc = rg_sqlite_exec(db, VIEW, err);
    if (rc == RG_OK)
        rc = rg_sqlite_meta_set(db, "format", LEANN_FORMAT, err);
    if (rc == RG_OK) {
        char *ident = rg_embedder_identity_to_text(identity);
        rc = rg_sqlite_meta_set(db, "identity", ident, err);
        free(ident);
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%d", s->params.graph_degree);
    if (rc == RG_OK)
        rc = rg_sqlite_meta_set(db, "graph_degree", buf, err);
    snprintf(buf, sizeof buf, "%d", s->params.pruned_degree);
    if (rc == RG_OK)
        rc = rg_sqlite_meta_set(db, "pruned_degree", buf, err);
    snprintf(buf, sizeof buf, "%.6f", s->params.hub_fraction);
    if (rc == RG_OK)
        rc = rg_sqlite_meta_set(db, "hub_fraction", buf, err);
    if (rc == RG_OK)
        rc = rg_sqlite_exec(db, "COMMIT", err);
    if (db)
        sqlite3_close(db);
    free(dbpath);
    return rg_collection_dir_publish(s->dir, name, "leann", tmp, rc, err);
}

static rg_status leann_delete_collection(void *impl, const char *name, rg_error *err)
{
    leann_store *s = impl;
    return rg_collection_dir_delete(s->dir, name, LEANN_DB, "leann", err);
}

static rg_status leann_rename(void *impl, const char *from, const char *to, rg_error *err)
{
    leann_store *s = impl;
    return rg_rename_collection_dir(s->dir, from, to, "leann", err);
}

/* ---- loading ------------------------------------------------------------- */

static char *gen_path(const leann_coll *c, const char *kind, int64_t gen)
{
    return rg_xasprintf("%s/%s-%lld.bin", leann_sq(c)->dir, kind, (long long)gen);
}

static void free_state(leann_coll *c)
{
    leann_graph_free(&c->graph);
    leann_pq_free(&c->pq);
    free(c->codes);
    c->codes = NULL;
    c->codes_cap = 0;
    c->live = 0;
}

void leann_invalidate(leann_coll *c)
{
    free_state(c);
    leann_text_reset(c);
    leann_sq(c)->version = -1;
}

/* present: nodes bytes, 1 where the generation file holds the node's code;
 * overlay rows add theirs, and every live node must end with one. */
static rg_status load_overlay(leann_coll *c, uint32_t nodes, uint8_t *present, rg_error *err)
{
    sqlite3_stmt *st = NULL;
    rg_status rc = RG_OK;
    if (sqlite3_prepare_v2(leann_db(c), "SELECT node, flags, nbrs FROM adj", -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(st, 0);
        int64_t fl = sqlite3_column_int64(st, 1);
        int deg = leann_nbrs_decode(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
                                    v >= 0 && v < nodes ? leann_graph_nbrs(&c->graph, (uint32_t)v) : NULL,
                                    c->graph.max_degree);
        bool bad = v < 0 || v >= nodes || deg < 0 || fl < 0 || fl > 3;
        for (int i = 0; !bad && i < deg; i++)
            bad = leann_graph_nbrs(&c->graph, (uint32_t)v)[i] >= nodes;
        if (bad) {
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: graph overlay row for node %lld is damaged", leann_sq(c)->db_path,
                              (long long)v);
            break;
        }
        c->graph.deg[v] = (uint16_t)deg;
        c->graph.flags[v] = (uint8_t)fl;
    }
    if (rc == RG_OK && r != SQLITE_DONE)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    sqlite3_finalize(st);
    if (rc != RG_OK)
        return rc;

    if (sqlite3_prepare_v2(leann_db(c), "SELECT node, code FROM codes", -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(st, 0);
        const uint8_t *code = sqlite3_column_blob(st, 1);
        bool bad = v < 0 || v >= nodes || sqlite3_column_bytes(st, 1) != c->pq.m;
        for (int j = 0; !bad && j < c->pq.m; j++)
            bad = code[j] >= c->pq.ksub;
        if (bad) {
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: PQ code row for node %lld is damaged", leann_sq(c)->db_path,
                              (long long)v);
            break;
        }
        memcpy(c->codes + (size_t)v * c->pq.m, code, (size_t)c->pq.m);
        present[v] = 1;
    }
    if (rc == RG_OK && r != SQLITE_DONE)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    sqlite3_finalize(st);
    if (rc != RG_OK)
        return rc;

    if (sqlite3_prepare_v2(leann_db(c), "SELECT node FROM tombstones", -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(st, 0);
        if (v >= 0 && v < nodes)
            c->graph.flags[v] |= LEANN_NODE_DELETED;
    }
    if (r != SQLITE_DONE)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    sqlite3_finalize(st);
    /* Tombstones keep no code; every live node has one. */
    uint32_t missing = 0;
    for (uint32_t v = 0; rc == RG_OK && v < nodes; v++)
        missing += !present[v] && !(c->graph.flags[v] & LEANN_NODE_DELETED);
    if (rc == RG_OK && missing)
        rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: %u nodes have no PQ code", leann_sq(c)->db_path, missing);
    return rc;
}

/* The error of a collection whose generation files are missing, naming the
 * way out. */
static rg_status leann_damaged(const leann_coll *c, rg_error *err)
{
    const char *name = strrchr(leann_sq(c)->dir, '/') ? strrchr(leann_sq(c)->dir, '/') + 1 : leann_sq(c)->dir;
    char why[RG_ERROR_MSG_MAX];
    snprintf(why, sizeof why, "%s", err ? err->msg : "a file is missing");
    return rg_error_set(err, RG_ERR_CORRUPT,
                        "collection '%s' (leann) is damaged: %s. 'ragged collections check %s --backend leann' "
                        "lists what is damaged; restore %s from a backup, or delete the collection and ingest again",
                        name, why, name, leann_sq(c)->dir);
}

/* Loads generation files + overlay as one consistent snapshot (inside a
 * read transaction).  A writer may delete the files of the generation we
 * just read the name of; then we look again. */
static rg_status leann_load(leann_coll *c, rg_error *err)
{
    rg_status rc = RG_OK;
    for (int attempt = 0; attempt < 5; attempt++) {
        free_state(c);
        rc = rg_sqlite_exec(leann_db(c), "BEGIN", err);
        if (rc != RG_OK)
            return rc;
        int64_t version = 0, gen = 0, nodes = 0, entry = -1, base_n = 0, built_n = 0, dict_id = 0, meta_dict_id = 0;
        int64_t gd = c->params.graph_degree, pd = c->params.pruned_degree;
        rc = meta_int(leann_db(c), "version", 0, &version, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "generation", 0, &gen, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "nodes", 0, &nodes, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "entry", -1, &entry, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "base_n", 0, &base_n, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "built_n", 0, &built_n, err);
        int64_t codes_n = -1;   /* absent (written before codebook retraining): built_n */
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "codes_n", -1, &codes_n, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "dict_id", 0, &dict_id, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "meta_dict_id", 0, &meta_dict_id, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "graph_degree", gd, &gd, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "pruned_degree", pd, &pd, err);
        int64_t cons = -1, changed = 0, passes = 0, renumber = 0;
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "consolidate", -1, &cons, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "changed", 0, &changed, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "passes", 0, &passes, err);
        if (rc == RG_OK)
            rc = meta_int(leann_db(c), "renumber", 0, &renumber, err);
        if (rc == RG_OK && (nodes < 0 || nodes >= LEANN_NONE || base_n < 0 || base_n > nodes || gen < 0 ||
                            gd < 1 || gd > 256 || pd < 1 || pd > gd || (gen == 0 && nodes > 0) ||
                            entry < -1 || entry >= nodes))
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: collection counters are inconsistent", leann_sq(c)->db_path);
        bool retry = false;
        uint8_t *present = NULL;
        if (rc == RG_OK && gen > 0) {
            char *gp = gen_path(c, "graph", gen), *cp = gen_path(c, "codes", gen);
            uint32_t ncodes = 0;
            rc = leann_graph_read(&c->graph, gp, err);
            if (rc == RG_OK)
                rc = leann_codes_read_present(&c->pq, &c->codes, &ncodes, &present, cp, err);
            if (rc == RG_OK && (c->graph.n != base_n || ncodes != base_n || c->pq.dim != c->dim))
                rc = rg_error_set(err, RG_ERR_CORRUPT,
                                  "%s / %s do not match %s (nodes %u / %u, expected %lld; dimension %d)", gp, cp,
                                  leann_sq(c)->db_path, c->graph.n, ncodes, (long long)base_n, c->pq.dim);
            retry = rc == RG_ERR_NOTFOUND;
            free(gp);
            free(cp);
            c->codes_cap = ncodes;
        } else if (rc == RG_OK) {
            leann_graph_init(&c->graph, (int)gd, (int)pd);
        }
        if (rc == RG_OK) {
            c->base_n = (uint32_t)base_n;
            leann_graph_reserve(&c->graph, (uint32_t)nodes);
            while (c->graph.n < nodes)
                leann_graph_add_node(&c->graph);
            leann_codes_reserve(c, (uint32_t)nodes);
            c->graph.entry = entry < 0 ? LEANN_NONE : (uint32_t)entry;
            present = rg_xrealloc(present, (size_t)nodes + 1);
            if (nodes > (int64_t)(gen > 0 ? base_n : 0))
                memset(present + (gen > 0 ? base_n : 0), 0, (size_t)(nodes - (gen > 0 ? base_n : 0)));
            rc = load_overlay(c, (uint32_t)nodes, present, err);
        }
        free(present);
        if (rc == RG_OK)
            rc = rg_sqlite_scalar_int(leann_db(c), "SELECT count(*) FROM records", &c->live, err);
        rg_sqlite_exec(leann_db(c), "COMMIT", NULL);
        if (rc == RG_OK) {
            if (gen != leann_sq(c)->generation || renumber != c->renumber)
                leann_cache_clear(&c->cache);   /* nodes may have been renumbered */
            c->consolidate_next = cons < -1 ? -1 : cons;
            c->changed = changed;
            c->passes = passes;
            c->renumber = renumber;
            leann_sq(c)->version = version;
            leann_sq(c)->generation = gen;
            c->built_n = (uint32_t)built_n;
            c->codes_n = (uint32_t)(codes_n >= 0 ? codes_n : built_n);
            c->codebook_changed = false;   /* the codes loaded are the generation's */
            leann_sq(c)->dict_id = dict_id;
            leann_sq(c)->meta_dict_id = meta_dict_id;
            return RG_OK;
        }
        free_state(c);
        leann_sq(c)->version = -1;
        if (!retry)
            return rc;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Still missing after the writers had time to publish: the files of
     * the generation the database names are gone.  That is damage, not a
     * collection that does not exist ('collections list' shows it). */
    if (rc == RG_ERR_NOTFOUND)
        rc = leann_damaged(c, err);
    return rc;
}

rg_status leann_refresh(leann_coll *c, rg_error *err)
{
    int64_t v = 0;
    rg_status rc = meta_int(leann_db(c), "version", 0, &v, err);
    if (rc != RG_OK)
        return rc;
    if (v == leann_sq(c)->version)
        return RG_OK;
    return leann_load(c, err);
}

/* ---- locking ------------------------------------------------------------- */

static void remove_orphans(leann_coll *c)
{
    DIR *d = opendir(leann_sq(c)->dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        long long g;
        char kind[8];
        if (sscanf(de->d_name, "%5[a-z]-%lld.bin", kind, &g) != 2 ||
            (strcmp(kind, "graph") != 0 && strcmp(kind, "codes") != 0) || g == leann_sq(c)->generation)
            continue;
        char *p = rg_path_join(leann_sq(c)->dir, de->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
}

/* Takes the write lock, waiting up to wait_s seconds for another writer. */
static rg_status lock_take(leann_coll *c, double wait_s, rg_error *err)
{
    if (leann_sq(c)->lock_fd >= 0)
        return RG_OK;
    char *path = rg_path_join(leann_sq(c)->dir, "lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rg_status rc = rg_error_set(err, RG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    double deadline = rg_now() + wait_s;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || rg_now() > deadline) {
            char buf[32] = {0};
            ssize_t k = pread(fd, buf, sizeof buf - 1, 0);
            long pid = k > 0 ? strtol(buf, NULL, 10) : 0;
            close(fd);
            free(path);
            return rg_error_set(err, RG_ERR_LOCKED,
                                "collection %s is locked by another ragged process (pid %ld); wait for it to "
                                "finish or stop it, then retry",
                                c->name, pid);
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(path);
    char buf[32];
    int k = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)k, 0) < 0) {
        /* the pid is only for the message; the lock is what matters */
    }
    leann_sq(c)->lock_fd = fd;
    rg_status rc = leann_refresh(c, err);
    if (rc == RG_OK)
        rc = upgrade_schema(c, err);
    if (rc == RG_OK)
        rc = leann_filter_index_ensure(c, err);
    if (rc == RG_OK)
        remove_orphans(c);
    return rc;
}

rg_status leann_lock(leann_coll *c, rg_error *err)
{
    return lock_take(c, LEANN_LOCK_WAIT_S, err);
}

static void leann_unlock(leann_coll *c)
{
    if (leann_sq(c)->lock_fd < 0)
        return;
    if (ftruncate(leann_sq(c)->lock_fd, 0) != 0) {
        /* harmless: a stale pid in the file is only shown in messages */
    }
    close(leann_sq(c)->lock_fd);   /* releases the flock */
    leann_sq(c)->lock_fd = -1;
}

/* ---- passages of graph nodes --------------------------------------------- */

rg_status leann_fetch_passages(leann_coll *c, const uint32_t *nodes, size_t n, leann_passage *out, rg_error *err)
{
    memset(out, 0, n * sizeof *out);
    if (n == 0)
        return RG_OK;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(leann_db(c), "SELECT doc, doclen, dict, vec FROM records WHERE " LEANN_NODE_ROW, -1, &st, NULL) !=
        SQLITE_OK)
        return rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    size_t bytes = (size_t)c->dim * sizeof(float);
    rg_status rc = RG_OK;
    for (size_t i = 0; rc == RG_OK && i < n; i++) {
        sqlite3_bind_int64(st, 1, nodes[i]);
        int r = sqlite3_step(st);
        if (r != SQLITE_ROW) {
            rc = r == SQLITE_DONE ? rg_error_set(err, RG_ERR_CORRUPT, "%s: graph node %u has no record", leann_sq(c)->db_path,
                                                 nodes[i])
                                  : rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
        } else if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
            if ((size_t)sqlite3_column_bytes(st, 3) != bytes) {
                rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: stored vector of node %u has the wrong size",
                                  leann_sq(c)->db_path, nodes[i]);
            } else {
                out[i].vec = rg_xmalloc(bytes);
                memcpy(out[i].vec, sqlite3_column_blob(st, 3), bytes);
            }
        } else {
            rc = leann_doc_decompress(c, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                                      sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 1), &out[i].text, err);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc != RG_OK)
        leann_passages_free(out, n);
    return rc;
}

/* ---- generations ----------------------------------------------------------- */

rg_status leann_write_generation(leann_coll *c, int64_t gen, rg_error *err)
{
    char *gp = gen_path(c, "graph", gen), *cp = gen_path(c, "codes", gen);
    rg_status rc = leann_graph_write(&c->graph, gp, NULL, err);
    if (rc == RG_OK)
        rc = leann_codes_write_live(&c->pq, c->codes, c->graph.n, c->graph.flags, cp, NULL, err);
    free(gp);
    free(cp);
    return rc;
}

void leann_remove_generation(leann_coll *c, int64_t gen)
{
    if (gen <= 0)
        return;
    char *gp = gen_path(c, "graph", gen), *cp = gen_path(c, "codes", gen);
    unlink(gp);
    unlink(cp);
    free(gp);
    free(cp);
}

/* ---- collection handle ----------------------------------------------------- */

static void leann_set_progress_op(void *coll, rg_store_progress_fn fn, void *ctx)
{
    leann_coll *c = coll;
    c->progress = fn;
    c->progress_ctx = ctx;
}

static rg_status leann_open_collection(void *impl, const char *name, rg_embedder *embedder, void **out,
                                       rg_error *err)
{
    leann_store *s = impl;
    char *dir = rg_path_join(s->dir, name);
    char *path = rg_path_join(dir, LEANN_DB);
    if (!rg_path_exists(path)) {
        free(dir);
        free(path);
        return rg_error_set(err, RG_ERR_NOTFOUND, "collection '%s' does not exist in the leann backend", name);
    }
    leann_sql *h = rg_xcalloc(1, sizeof *h);   /* c first: free(c) frees h */
    leann_coll *c = &h->c;
    c->name = rg_xstrdup(name);
    leann_sq(c)->dir = dir;
    leann_sq(c)->db_path = path;
    c->embedder = embedder;
    c->src = leann_sql_source(c);
    c->params = s->params;
    leann_sq(c)->lock_fd = -1;
    leann_sq(c)->version = -1;
    c->consolidate_next = -1;
    leann_graph_init(&c->graph, c->params.graph_degree, c->params.pruned_degree);
    rg_status rc = db_open(path, SQLITE_OPEN_READWRITE, c, &leann_db(c), err);
    if (rc == RG_OK)
        rc = read_identity(leann_db(c), path, &leann_sq(c)->identity, &leann_sq(c)->format, err);
    if (rc == RG_OK) {
        c->dim = leann_sq(c)->identity.dim;
        leann_cache_init(&c->cache, c->dim, (size_t)c->params.cache_mb << 20);
        rc = leann_load(c, err);
    }
    if (rc != RG_OK) {
        leann_cache_free(&c->cache);
        leann_graph_free(&c->graph);
        if (leann_db(c))
            sqlite3_close(leann_db(c));
        free(c->name);
        free(leann_sq(c)->dir);
        free(leann_sq(c)->db_path);
        free(c);
        return rc;
    }
    /* A collection of an older format, or one that has grown past
     * scan_threshold without a metadata index (an older ragged wrote it),
     * gets both now rather than at its next write, so that its filtered
     * queries stop scanning at once.  Only if no writer holds it (that
     * writer does the same); best effort: on failure queries scan, and the
     * next write reports the error. */
    if (leann_sq(c)->format < LEANN_FORMAT_MAX || (c->live >= c->params.scan_threshold && !leann_filter_index_present(leann_db(c)))) {
        rg_error ignored;
        lock_take(c, 0, &ignored);
        leann_unlock(c);
    }
    *out = c;
    return RG_OK;
}

static void leann_close_collection(void *impl)
{
    leann_coll *c = impl;
    if (!c)
        return;
    leann_unlock(c);
    free_state(c);
    leann_cache_free(&c->cache);
    leann_visit_free(&c->visit);
    leann_text_free(c);
    sqlite3_close(leann_db(c));
    free(c->name);
    free(leann_sq(c)->dir);
    free(leann_sq(c)->db_path);
    free(c);
}

static rg_status leann_info(void *impl, rg_collection_info *out, rg_error *err)
{
    leann_coll *c = impl;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", c->name);
    out->identity = leann_sq(c)->identity;
    return rg_sqlite_scalar_int(leann_db(c), "SELECT count(*) FROM records", &out->count, err);
}

static rg_status leann_count(void *impl, int64_t *out, rg_error *err)
{
    leann_coll *c = impl;
    return rg_sqlite_scalar_int(leann_db(c), "SELECT count(*) FROM records", out, err);
}

/* VACUUM (one atomic rewrite of the database) and a WAL truncate so the
 * directory holds only live pages.  Best effort: a failure (e.g. a reader
 * holding an old snapshot) leaves the database as it was. */
static void leann_repack(leann_coll *c)
{
    rg_error ignored;
    if (rg_sqlite_exec(leann_db(c), "VACUUM", &ignored) == RG_OK)
        rg_sqlite_exec(leann_db(c), "PRAGMA wal_checkpoint(TRUNCATE)", &ignored);
}

/* Writes hold the lock only for the operation: a long-lived reader/server
 * never blocks ingest, and a second writer waits for the first's batch. */
static rg_status leann_add_op(void *impl, const rg_record *recs, size_t n, bool upsert, rg_error *err)
{
    leann_coll *c = impl;
    rg_status rc = leann_lock(c, err);
    int64_t gen = leann_sq(c)->generation;
    if (rc == RG_OK)
        rc = leann_add(c, recs, n, upsert, err);
    /* A rebuild renumbers nodes and may recompress every passage with a new
     * dictionary: rows were rewritten in place and pages are left part
     * empty.  Rebuilds happen at doublings, so repacking then costs a
     * constant factor of the ingest. */
    if (rc == RG_OK && leann_sq(c)->generation != gen)
        leann_repack(c);
    leann_unlock(c);
    return rc;
}

/* The new version of a changed file and the removal of its old surplus
 * chunks in one transaction: a kill leaves the old version or the new. */
static rg_status leann_replace_op(void *impl, const rg_record *recs, size_t n, const char *const *del, size_t ndel,
                                  size_t *deleted, rg_error *err)
{
    leann_coll *c = impl;
    rg_status rc = leann_lock(c, err);
    int64_t gen = leann_sq(c)->generation;
    if (rc == RG_OK)
        rc = leann_replace(c, recs, n, del, ndel, deleted, err);
    if (rc == RG_OK && leann_sq(c)->generation != gen)
        leann_repack(c);
    leann_unlock(c);
    return rc;
}

static rg_status leann_delete_op(void *impl, const char *const *ids, size_t nids, const rg_filter *where,
                                 size_t *deleted, rg_error *err)
{
    leann_coll *c = impl;
    rg_status rc = leann_lock(c, err);
    if (rc == RG_OK)
        rc = leann_delete(c, ids, nids, where, deleted, err);
    leann_unlock(c);
    return rc;
}

static rg_status leann_compact_op(void *impl, rg_error *err)
{
    leann_coll *c = impl;
    rg_status rc = leann_lock(c, err);
    /* First, as the repair of a damaged metadata index (whose triggers
     * would fail the compaction's writes). */
    if (rc == RG_OK)
        rc = leann_filter_index_rebuild(c, err);
    if (rc == RG_OK)
        rc = leann_compact(c, err);
    if (rc == RG_OK)
        leann_repack(c);
    leann_unlock(c);
    return rc;
}

/* ---- the core's source: stored data through SQLite ---------------------- */

static rg_status sql_passages(void *ctx, const uint32_t *nodes, size_t n, leann_passage *out, rg_error *err)
{
    return leann_fetch_passages(ctx, nodes, n, out, err);
}

static rg_status sql_filter_set(void *ctx, const rg_filter *where, uint32_t **nodes, size_t *n, rg_error *err)
{
    return leann_filter_nodes(ctx, where, nodes, n, err);
}

static rg_status sql_order(void *ctx, const uint32_t *nodes, size_t n, int64_t *out, rg_error *err)
{
    leann_coll *c = ctx;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(leann_db(c), "SELECT seq FROM records WHERE " LEANN_NODE_ROW, -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, nodes[i]);
        out[i] = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MAX;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return RG_OK;
}

leann_source leann_sql_source(leann_coll *c)
{
    leann_source src = {.passages = sql_passages, .filter_set = sql_filter_set, .order = sql_order, .ctx = c};
    leann_sql_writes(&src);
    return src;
}

rg_status leann_query(leann_coll *c, const float *q, const rg_query_opts *opts, rg_hits *out, rg_error *err)
{
    leann_cand *best = NULL;
    size_t nbest = 0;
    rg_status rc = leann_search(c, q, opts, &best, &nbest, err);
    if (rc != RG_OK || nbest == 0) {
        free(best);
        return rc;
    }
    sqlite3_stmt *st = NULL;
    rg_buf sql;
    rg_buf_init(&sql);
    leann_select_records(&sql, "seq, id", opts->include);
    rg_buf_puts(&sql, " WHERE " LEANN_NODE_ROW);
    if (sqlite3_prepare_v2(leann_db(c), sql.data, -1, &st, NULL) != SQLITE_OK)
        rc = rg_error_set(err, RG_ERR_INTERNAL, "%s: %s", leann_sq(c)->db_path, sqlite3_errmsg(leann_db(c)));
    rg_buf_free(&sql);
    for (size_t i = 0; rc == RG_OK && i < nbest; i++) {
        sqlite3_bind_int64(st, 1, best[i].node);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: graph node %u has no record", leann_sq(c)->db_path, best[i].node);
            break;
        }
        json_t *meta = NULL;
        char *doc = NULL;
        if ((opts->include & RG_INCLUDE_METADATAS) && sqlite3_column_type(st, 5) != SQLITE_NULL)
            meta = json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
        if ((opts->include & RG_INCLUDE_DOCUMENTS) && sqlite3_column_type(st, 2) != SQLITE_NULL)
            rc = leann_doc_decompress(c, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
                                      sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 3), &doc, err);
        if (rc == RG_OK)
            rg_hits_push(out, (const char *)sqlite3_column_text(st, 1), best[i].dist, doc, meta);
        free(doc);
        json_decref(meta);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    free(best);
    return rc;
}

static rg_status leann_query_op(void *impl, const float *q, const rg_query_opts *opts, rg_hits *out,
                                rg_error *err)
{
    leann_coll *c = impl;
    rg_status rc = leann_refresh(c, err);
    if (rc == RG_OK)
        rc = leann_query(c, q, opts, out, err);
    return rc;
}

void leann_where_sql(const leann_coll *c, const char *const *ids, size_t nids, const rg_filter *where,
                     rg_buf *sql, json_t *params)
{
    rg_buf_puts(sql, " WHERE 1");
    if (ids) {
        json_t *arr = json_array();
        for (size_t i = 0; i < nids; i++)
            json_array_append_new(arr, json_string(ids[i]));
        char *text = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        rg_buf_puts(sql, " AND rg_id_key(id) IN (SELECT rg_id_key(value) FROM json_each(?1))"
                         " AND id IN (SELECT value FROM json_each(?1))");
        json_array_append_new(params, json_string(text));
        free(text);
    }
    if (where) {
        rg_buf_puts(sql, " AND ");
        /* Only a filter on content_hash needs the passages decompressed;
         * any other is tested on the decoded metadata in C, about three
         * times faster than json_extract over its JSON text.  A passage
         * condition (#document) is not one of a backend's: rendered by
         * rg_filter_to_sql, it narrows nothing. */
        if (leann_sq(c)->format >= 4 && !rg_filter_mentions(where, RG_METAPACK_DOC_HASH_KEY) &&
            !rg_filter_mentions(where, RG_FILTER_DOCUMENT)) {
            json_t *j = rg_filter_to_json(where);
            char *text = json_dumps(j, JSON_COMPACT);
            rg_buf_puts(sql, "rg_leann_match(packed, ?)");
            json_array_append_new(params, json_string(text));
            free(text);
            json_decref(j);
        } else {
            rg_filter_to_sql(where, "metadata", sql, params);
        }
    }
}

rg_status leann_filter_nodes(leann_coll *c, const rg_filter *where, uint32_t **nodes, size_t *n, rg_error *err)
{
    bool indexed = false;
    rg_status irc = leann_filter_index_nodes(c, where, nodes, n, &indexed, err);
    if (irc != RG_OK || indexed)
        return irc;
    rg_buf sql;
    rg_buf_init(&sql);
    json_t *params = json_array();
    rg_buf_puts(&sql, "SELECT node FROM records");
    leann_where_sql(c, NULL, 0, where, &sql, params);
    rg_buf_puts(&sql, " ORDER BY node");
    sqlite3_stmt *st = NULL;
    rg_status rc = rg_sqlite_prepare_bound(leann_db(c), leann_sq(c)->db_path, sql.data, params, &st, err);
    rg_buf_free(&sql);
    json_decref(params);
    if (rc != RG_OK)
        return rc;
    size_t cap = 0, cnt = 0;
    uint32_t *out = NULL;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(st, 0);
        if (v < 0 || v >= c->graph.n) {
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: a record points at graph node %lld of %u", leann_sq(c)->db_path,
                              (long long)v, c->graph.n);
            break;
        }
        if (cnt == cap) {
            cap = cap ? cap * 2 : 256;
            out = rg_xrealloc(out, cap * sizeof *out);
        }
        out[cnt++] = (uint32_t)v;
    }
    if (rc == RG_OK && r != SQLITE_DONE)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    sqlite3_finalize(st);
    if (rc != RG_OK) {
        free(out);
        return rc;
    }
    *nodes = out;
    *n = cnt;
    return RG_OK;
}

void leann_select_records(rg_buf *sql, const char *lead, unsigned include)
{
    rg_buf_printf(sql, "SELECT %s, %s, %s FROM records", lead,
                  include & RG_INCLUDE_DOCUMENTS ? "doc, doclen, dict" : "NULL, 0, 0",
                  include & RG_INCLUDE_METADATAS ? "metadata" : "NULL");
}

static rg_status leann_get(void *impl, const char *const *ids, size_t nids, const rg_filter *where,
                           unsigned include, size_t offset, size_t limit, rg_record_batch *out, rg_error *err)
{
    leann_coll *c = impl;
    rg_status rc = leann_refresh(c, err);
    if (rc != RG_OK)
        return rc;
    /* A filter the metadata index can narrow reads only the rows it names
     * (and checks them with the filter only when they are a superset), in
     * one read transaction with the index. */
    bool own = where && sqlite3_get_autocommit(leann_db(c));
    if (own && (rc = rg_sqlite_exec(leann_db(c), "BEGIN", err)) != RG_OK)
        return rc;
    int64_t *rows = NULL;
    size_t nrows = 0;
    bool exact = false, indexed = false;
    if (where)
        rc = leann_filter_index_rows(c, where, &rows, &nrows, &exact, &indexed, err);
    rg_buf sql;
    rg_buf_init(&sql);
    json_t *params = json_array();
    leann_select_records(&sql, "id, node", include);
    leann_where_sql(c, ids, nids, indexed && exact ? NULL : where, &sql, params);
    if (indexed) {
        rg_buf list;
        rg_buf_init(&list);
        rg_buf_putc(&list, '[');
        for (size_t i = 0; i < nrows; i++)
            rg_buf_printf(&list, "%s%lld", i ? "," : "", (long long)rows[i]);
        rg_buf_putc(&list, ']');
        rg_buf_puts(&sql, " AND seq IN (SELECT value FROM json_each(?))");
        json_array_append_new(params, json_stringn(list.data, list.len));
        rg_buf_free(&list);
    }
    free(rows);
    rg_buf_printf(&sql, " ORDER BY seq LIMIT %lld OFFSET %lld", limit ? (long long)limit : -1LL,
                  (long long)offset);
    sqlite3_stmt *st = NULL;
    if (rc == RG_OK)
        rc = rg_sqlite_prepare_bound(leann_db(c), leann_sq(c)->db_path, sql.data, params, &st, err);
    rg_buf_free(&sql);
    json_decref(params);
    if (rc != RG_OK) {
        if (own)
            rg_sqlite_exec(leann_db(c), "COMMIT", NULL);
        return rc;
    }
    size_t first = out->n;
    uint32_t *nodes = NULL;
    size_t cap = 0, cnt = 0;
    int r;
    while (rc == RG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *meta = NULL;
        char *doc = NULL;
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if ((include & RG_INCLUDE_METADATAS) && sqlite3_column_type(st, 5) != SQLITE_NULL) {
            meta = json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
            if (!meta)
                rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: metadata of record '%s' is damaged", leann_sq(c)->db_path, id);
        }
        if (rc == RG_OK && (include & RG_INCLUDE_DOCUMENTS) && sqlite3_column_type(st, 2) != SQLITE_NULL)
            rc = leann_doc_decompress(c, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
                                      sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 3), &doc, err);
        if (rc == RG_OK) {
            rg_record_batch_push(out, id, doc, meta, NULL);
            if (cnt == cap) {
                cap = cap ? cap * 2 : 64;
                nodes = rg_xrealloc(nodes, cap * sizeof *nodes);
            }
            nodes[cnt++] = (uint32_t)sqlite3_column_int64(st, 1);
        }
        free(doc);
        json_decref(meta);
    }
    if (rc == RG_OK && r != SQLITE_DONE)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    sqlite3_finalize(st);
    if (own)
        rg_sqlite_exec(leann_db(c), "COMMIT", NULL);
    if (rc == RG_OK && (include & RG_INCLUDE_EMBEDDINGS) && cnt > 0) {
        /* Embeddings are not stored: recompute them (exact). */
        float *vecs = malloc(cnt * (size_t)c->dim * sizeof(float));
        if (!vecs)
            rc = rg_error_set(err, RG_ERR_NOMEM, "out of memory recomputing %zu embeddings", cnt);
        else
            rc = leann_fetch_vectors(c, nodes, cnt, vecs, err);
        for (size_t i = 0; rc == RG_OK && i < cnt; i++) {
            rg_record *rec = &out->items[first + i];
            rec->embedding = rg_xmalloc((size_t)c->dim * sizeof(float));
            memcpy(rec->embedding, vecs + i * (size_t)c->dim, (size_t)c->dim * sizeof(float));
        }
        free(vecs);
    }
    free(nodes);
    return rc;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

static rg_status leann_stats(void *impl, rg_store_stats *out, rg_error *err)
{
    leann_coll *c = impl;
    rg_status rc = leann_refresh(c, err);
    if (rc != RG_OK)
        return rc;
    int64_t passages = 0, metadata = 0, adj = 0, codes = 0, dicts = 0, vecs = 0, tomb = 0, packed = 0;
    rc = rg_sqlite_scalar_int(leann_db(c), "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'rec'",
                              &packed, err);
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(leann_db(c), "SELECT coalesce(sum(length(doc)), 0) FROM records", &passages, err);
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(leann_db(c),
                                  /* stored bytes: from format 5 on, most ids are not (own_id) */
                                  leann_sq(c)->format >= 5 ? "SELECT coalesce(sum(coalesce(length(CAST(own_id AS BLOB)), 0)"
                                                   " + coalesce(length(meta), 0)), 0) FROM rec"
                                  : packed ? "SELECT coalesce(sum(length(CAST(id AS BLOB)) + coalesce(length(meta), 0)),"
                                           " 0) FROM rec"
                                         : "SELECT coalesce(sum(length(CAST(id AS BLOB)) + coalesce(length(CAST("
                                           "metadata AS BLOB)), 0)), 0) FROM records",
                                  &metadata, err);
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(leann_db(c), "SELECT coalesce(sum(length(nbrs)), 0) FROM adj", &adj, err);
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(leann_db(c), "SELECT coalesce(sum(length(code)), 0) FROM codes", &codes, err);
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(leann_db(c), "SELECT coalesce(sum(length(dict)), 0) FROM dicts", &dicts, err);
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(leann_db(c), "SELECT coalesce(sum(length(vec)), 0) FROM records", &vecs, err);
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(leann_db(c), "SELECT count(*) FROM tombstones", &tomb, err);
    if (rc != RG_OK)
        return rc;
    char *gp = gen_path(c, "graph", leann_sq(c)->generation), *cp = gen_path(c, "codes", leann_sq(c)->generation);
    int64_t gbytes = leann_sq(c)->generation ? file_size(gp) : 0, cbytes = leann_sq(c)->generation ? file_size(cp) : 0;
    free(gp);
    free(cp);
    char *wal = rg_xasprintf("%s-wal", leann_sq(c)->db_path), *shm = rg_xasprintf("%s-shm", leann_sq(c)->db_path);
    int64_t sqlite_total = file_size(leann_sq(c)->db_path) + file_size(wal) + file_size(shm);
    free(wal);
    free(shm);
    out->records = c->live;
    out->tombstones = tomb;
    out->bytes_total = rg_dir_size(leann_sq(c)->dir);
    rg_store_stats_add(out, "graph", gbytes + adj);
    rg_store_stats_add(out, "codes", cbytes + codes);
    rg_store_stats_add(out, "passages", passages + dicts);
    rg_store_stats_add(out, "metadata", metadata);
    if (vecs)
        rg_store_stats_add(out, "vectors(no text)", vecs);
    int64_t inside = passages + dicts + metadata + adj + codes + vecs;
    rg_store_stats_add(out, "sqlite", sqlite_total > inside ? sqlite_total - inside : 0);
    uint32_t hubs = 0;
    for (uint32_t v = 0; v < c->graph.n; v++)
        hubs += (c->graph.flags[v] & LEANN_NODE_HUB) && !(c->graph.flags[v] & LEANN_NODE_DELETED);
    size_t overlay = 0;
    int64_t ov = 0;
    if (rg_sqlite_scalar_int(leann_db(c), "SELECT count(*) FROM adj", &ov, NULL) == RG_OK)
        overlay = (size_t)ov;
    /* What an unfiltered query does at this size (leann_query decides the
     * same way), and what this handle's last query did. */
    char search[200];
    if (c->live <= c->params.scan_threshold)
        snprintf(search, sizeof search,
                 "scan of every PQ code (%lld live records <= scan_threshold %lld), exact recompute + rerank",
                 (long long)c->live, (long long)c->params.scan_threshold);
    else
        snprintf(search, sizeof search,
                 "graph walk, PQ-steered beam of %d (%lld live records > scan_threshold %lld), exact recompute + "
                 "rerank%s",
                 leann_walk_beam(c, 0), (long long)c->live, (long long)c->params.scan_threshold,
                 leann_refine_beam(c) > 0 ? " + exact refinement" : "");
    out->details = json_pack(
        "{s:s, s:s?, s:I, s:f, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:i, s:I, s:I, s:I, s:s, s:I, s:I, s:I}",
        "search",
        search, "last_query", c->last_query_path, "unreachable", (json_int_t)leann_graph_unreachable(&c->graph),
        "avg_degree", leann_graph_avg_degree(&c->graph),
        "graph_degree", c->graph.max_degree, "pruned_degree", c->graph.pruned_degree, "hubs", (int)hubs, "nodes",
        (json_int_t)c->graph.n, "generation", (json_int_t)leann_sq(c)->generation, "overlay_nodes", (json_int_t)overlay,
        "built_n", (json_int_t)c->built_n, "codes_n", (json_int_t)c->codes_n, "pq_bytes_per_node",
        c->pq.ksub <= 16 ? (c->pq.m + 1) / 2 : c->pq.m, "pq_centroids", c->pq.ksub, "dimension",
        c->dim, "cache_capacity_bytes", (json_int_t)(c->cache.slots * (size_t)c->dim * sizeof(float)), "cache_entries",
        (json_int_t)c->cache.used, "recomputed_by_this_handle", (json_int_t)c->recomputed, "zstd_dictionary",
        leann_sq(c)->dict_id ? "yes" : "no", "consolidating_from", (json_int_t)c->consolidate_next, "changed_since_build",
        (json_int_t)c->changed, "consolidation_passes", (json_int_t)c->passes);
    if (!c->last_query_path)
        json_object_del(out->details, "last_query");   /* no query on this handle yet */
    return RG_OK;
}

static rg_status leann_check_op(void *impl, const char *name, json_t *report, rg_error *err)
{
    leann_store *s = impl;
    char *dir = rg_path_join(s->dir, name);
    rg_status rc = leann_check(dir, LEANN_DB, report, err);
    free(dir);
    return rc;
}

const rg_store_ops rg_store_leann_ops = {
    .abi_version = RG_STORE_ABI,
    .name = "leann",
    .open = leann_open,
    .close = leann_close,
    .list_collections = leann_list,
    .create_collection = leann_create,
    .delete_collection = leann_delete_collection,
    .rename_collection = leann_rename,
    .open_collection = leann_open_collection,
    .close_collection = leann_close_collection,
    .info = leann_info,
    .add = leann_add_op,
    .get = leann_get,
    .delete_records = leann_delete_op,
    .count = leann_count,
    .query = leann_query_op,
    .stats = leann_stats,
    .compact = leann_compact_op,
    .replace = leann_replace_op,
    .set_progress = leann_set_progress_op,
    .check = leann_check_op,
};
