/* The write side of the leann backend's SQLite layer: write transactions,
 * record rows (add, upsert, delete), and the callbacks through which the
 * core (leann_insert.c, leann_vacuum.c) persists its edits: the graph /
 * codes overlay in leann.sqlite and its checkpoints into new generation
 * files, node renumbering (consolidation's moves, dropped tombstones, a
 * rebuild's new numbering), the meta counters.  This file calls the core;
 * the core reaches it only through leann_source (leann_sql_source).
 *
 * Every write is one SQLite transaction (BEGIN IMMEDIATE under the
 * collection's lock); new graph / codes files, when any, are written before
 * it commits and removed when it rolls back, so a kill at any point leaves
 * the old state or the new one (tests/cli/leann_kill_*.sh). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "leann_sqlite.h"
#include "sqlite_util.h"
#include "util.h"

/* A vector "is" the embedder's when cosine similarity is at least this. */
#define SAME_VECTOR 0.9999f

/* ---- write transactions ------------------------------------------------------
 *
 * A write transaction: the _in functions do their part inside one, so that
 * several commit or roll back together (leann_replace); tx_end commits
 * when rc is RG_OK, else rolls back and forgets what memory held. */
typedef struct leann_tx {
    int64_t old_gen;      /* generation files to remove once committed */
    bool mutated;         /* memory was edited */
    int64_t live_delta;   /* applied to c->live on commit */
    size_t work;          /* records added or deleted: the consolidation step's budget */
} leann_tx;
static rg_status add_in(leann_coll *c, leann_tx *tx, const rg_record *recs, size_t n, bool upsert, rg_error *err);
static rg_status delete_in(leann_coll *c, leann_tx *tx, const char *const *ids, size_t nids, const rg_filter *where,
                           size_t *deleted, rg_error *err);
/* The write's consolidation step (leann_consolidate_step), inside tx. */
static rg_status consolidate_in(leann_coll *c, leann_tx *tx, rg_error *err);

/* Writes changed adjacency lists (dirty) and new codes (nodes >= from, and
 * those marked LEANN_DIRTY_CODE) to the SQLite overlay, dropping the code
 * rows of dirty tombstones; checkpoints into a new generation (whose codes
 * file holds no tombstone's code) when the overlay grows. */
static rg_status save_overlay(leann_coll *c, const uint8_t *dirty, uint32_t new_from, int64_t *new_gen,
                              rg_error *err)
{
    leann_graph *g = &c->graph;
    *new_gen = 0;
    int64_t overlay = 0;
    rg_status rc = rg_sqlite_scalar_int(leann_db(c), "SELECT count(*) FROM adj", &overlay, err);
    if (rc != RG_OK)
        return rc;
    uint32_t ndirty = 0;
    for (uint32_t v = 0; v < g->n; v++)
        ndirty += dirty[v] != 0;
    /* Tombstones at the top of the node numbers (where consolidation's
     * moves leave them) that only a checkpoint can drop, being inside the
     * generation files. */
    uint32_t top = g->n;
    while (top > 0 && (g->flags[top - 1] & LEANN_NODE_DELETED))
        top--;
    uint32_t dead_top = g->n - top;
    /* Checkpoint: when the codebooks were retrained (every code changed,
     * and overlay rows are codes of the generation's codebooks), when the
     * overlay would hold more than half the graph, or when those tombstones
     * reach LEANN_CONSOLIDATE_CHANGED of the nodes, write a new generation
     * instead (same transaction commits it). */
    if (c->codebook_changed || overlay + ndirty > 256 + c->base_n / 2 ||
        (dead_top >= LEANN_CONSOLIDATE_MIN_CHANGED && dead_top >= LEANN_CONSOLIDATE_CHANGED * g->n)) {
        int64_t gen = leann_sq(c)->generation + 1;
        /* The new files hold no tombstone at the top. */
        rc = leann_drop_top_tombstones(c, 0, err);
        if (rc == RG_OK)
            rc = leann_write_generation(c, gen, err);
        if (rc == RG_OK)
            rc = rg_sqlite_exec(leann_db(c), "DELETE FROM adj; DELETE FROM codes;", err);
        if (rc != RG_OK) {
            leann_remove_generation(c, gen);
            return rc;
        }
        *new_gen = gen;
        leann_sq(c)->generation = gen;
        c->base_n = g->n;
        c->codebook_changed = false;
        return RG_OK;
    }
    sqlite3_stmt *sa = NULL, *sc = NULL, *sd = NULL;
    if (sqlite3_prepare_v2(leann_db(c), "INSERT OR REPLACE INTO adj(node, flags, nbrs) VALUES(?, ?, ?)", -1, &sa, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(leann_db(c), "INSERT OR REPLACE INTO codes(node, code) VALUES(?, ?)", -1, &sc, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(leann_db(c), "DELETE FROM codes WHERE node = ?", -1, &sd, NULL) != SQLITE_OK) {
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
        sqlite3_finalize(sa);
        sqlite3_finalize(sc);
        return rc;
    }
    rg_buf b;
    rg_buf_init(&b);
    for (uint32_t v = 0; rc == RG_OK && v < g->n; v++) {
        if (!dirty[v])
            continue;
        b.len = 0;
        leann_nbrs_encode(leann_graph_nbrs(g, v), g->deg[v], &b);
        sqlite3_bind_int64(sa, 1, v);
        sqlite3_bind_int64(sa, 2, g->flags[v]);
        sqlite3_bind_blob(sa, 3, b.data, (int)b.len, SQLITE_STATIC);
        if (sqlite3_step(sa) != SQLITE_DONE)
            rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
        sqlite3_reset(sa);
    }
    /* Codes of new nodes and of nodes given a new one (LEANN_DIRTY_CODE);
     * a tombstone keeps none (issue 16: the codes of deleted nodes used to
     * stay until a rebuild). */
    for (uint32_t v = 0; rc == RG_OK && v < g->n; v++) {
        bool deleted = g->flags[v] & LEANN_NODE_DELETED;
        if (deleted ? !dirty[v] : v < new_from && !(dirty[v] & LEANN_DIRTY_CODE))
            continue;
        sqlite3_stmt *s = deleted ? sd : sc;
        sqlite3_bind_int64(s, 1, v);
        if (!deleted)
            sqlite3_bind_blob(sc, 2, c->codes + (size_t)v * c->pq.m, c->pq.m, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
        sqlite3_reset(s);
    }
    rg_buf_free(&b);
    sqlite3_finalize(sa);
    sqlite3_finalize(sc);
    sqlite3_finalize(sd);
    return rc;
}

/* Which records keep their vector: no text, or a vector that is not the
 * embedder's for the text.  A record the caller marks `embedded` (it just
 * computed the vector with this collection's embedder: ingest, eval, a
 * migrate that re-embeds) is taken at its word; every other record with
 * text is embedded once more and compared, in one batch.  (The check used
 * to embed only the first record of a batch and trust the rest when it
 * matched, so a migrated batch mixing recomputable and caller-supplied
 * vectors lost the latter: issue 16, item 7.) */
static rg_status vectors_to_keep(leann_coll *c, const rg_record *recs, size_t n, uint8_t *keep, rg_error *err)
{
    size_t dim = (size_t)c->dim;
    memset(keep, 0, n);
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        if (!recs[i].document || !*recs[i].document)
            keep[i] = 1;
        else if (!recs[i].embedded)
            nt++;
    }
    if (nt == 0)
        return RG_OK;
    if (!c->embedder)
        return rg_error_set(err, RG_ERR_INVALID,
                            "collection %s was opened without an embedder; leann needs it to add records", c->name);
    float *all = malloc(nt * dim * sizeof(float));
    if (!all)
        return rg_error_set(err, RG_ERR_NOMEM, "out of memory checking %zu embeddings", nt);
    const char **texts = rg_xmalloc(nt * sizeof *texts);
    size_t *pos = rg_xmalloc(nt * sizeof *pos);
    nt = 0;
    for (size_t i = 0; i < n; i++)
        if (!keep[i] && !recs[i].embedded) {
            pos[nt] = i;
            texts[nt++] = recs[i].document;
        }
    rg_status rc = rg_embedder_embed(c->embedder, texts, nt, RG_EMBED_DOCUMENT, all, err);
    for (size_t j = 0; rc == RG_OK && j < nt; j++)
        if (rg_dot(all + j * dim, recs[pos[j]].embedding, dim) < SAME_VECTOR)
            keep[pos[j]] = 1;
    free(all);
    free(texts);
    free(pos);
    return rc;
}

/* Writes one record row (insert, or update in place for upsert so it keeps
 * its position).  Its metadata is packed here from the object, and own_id
 * decided from it: an SQL function that packed the JSON text in the
 * statement re-parsed what this had just serialised and decompressed the
 * passage just compressed to hash it, 3% of a 291K-chunk ingest's CPU for
 * the same bytes. */
static rg_status write_record(leann_coll *c, sqlite3_stmt *ins, sqlite3_stmt *upd, const rg_record *r, int64_t seq,
                              uint32_t node, bool keep_vec, int64_t *max_seq, rg_buf *z, rg_buf *meta,
                              rg_error *err)
{
    rg_status rc = RG_OK;
    bool has_doc = r->document != NULL;
    if (has_doc) {
        rc = leann_doc_compress(c, r->document, z, err);
        if (rc != RG_OK)
            return rc;
    }
    meta->len = 0;
    if (r->metadata && (rc = leann_meta_pack(c, r->metadata, r->document, meta, err)) != RG_OK)
        return rc;
    /* NULL when the metadata gives the id back (LEANN_OWN_ID). */
    char derived[RG_CHUNK_ID_MAX];
    bool own = !r->metadata || !rg_chunk_id_from_metadata(r->metadata, derived) || strcmp(derived, r->id) != 0;
    sqlite3_stmt *st = seq > 0 ? upd : ins;
    if (own)
        sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 1);
    sqlite3_bind_int64(st, 2, node);
    if (has_doc)
        sqlite3_bind_blob(st, 3, z->data, (int)z->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, has_doc ? (int64_t)strlen(r->document) : 0);
    sqlite3_bind_int64(st, 5, has_doc ? leann_doc_dict(c) : 0);
    if (r->metadata)
        sqlite3_bind_blob(st, 6, meta->data, (int)meta->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    if (keep_vec)
        sqlite3_bind_blob(st, 7, r->embedding, (int)((size_t)c->dim * sizeof(float)), SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 7);
    if (seq > 0)
        sqlite3_bind_int64(st, 8, seq);
    else
        /* seq = node + 1 keeps the row out of rec_node; else the next seq. */
        sqlite3_bind_int64(st, 8, *max_seq = node >= *max_seq ? (int64_t)node + 1 : *max_seq + 1);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* ---- add, replace, delete, compact ------------------------------------------ */

static rg_status tx_begin(leann_coll *c, leann_tx *tx, rg_error *err)
{
    *tx = (leann_tx){.old_gen = leann_sq(c)->generation};
    return rg_sqlite_exec(leann_db(c), "BEGIN IMMEDIATE", err);
}

static rg_status tx_end(leann_coll *c, leann_tx *tx, rg_status rc, rg_error *err)
{
    if (rc == RG_OK)
        rc = rg_sqlite_exec(leann_db(c), "COMMIT", err);
    /* A write can checkpoint more than once (its own edit, then its
     * consolidation step): every generation between the old one and the
     * committed one is an orphan. */
    if (rc == RG_OK) {
        c->live += tx->live_delta;
        if (leann_sq(c)->generation != tx->old_gen) {
            leann_remove_generation(c, tx->old_gen);
            for (int64_t g = tx->old_gen + 1; g < leann_sq(c)->generation; g++)
                leann_remove_generation(c, g);
        }
        return RG_OK;
    }
    rg_sqlite_exec(leann_db(c), "ROLLBACK", NULL);
    for (int64_t g = tx->old_gen + 1; g <= leann_sq(c)->generation; g++)
        leann_remove_generation(c, g);
    if (tx->mutated) {
        /* Memory was edited for a transaction that did not commit. */
        leann_invalidate(c);
        leann_cache_clear(&c->cache);
        leann_sq(c)->generation = -1;
    }
    return rc;
}

rg_status leann_add(leann_coll *c, const rg_record *recs, size_t n, bool upsert, rg_error *err)
{
    if (n == 0)
        return RG_OK;
    leann_tx tx;
    rg_status rc = tx_begin(c, &tx, err);
    if (rc == RG_OK)
        rc = add_in(c, &tx, recs, n, upsert, err);
    if (rc == RG_OK)
        rc = consolidate_in(c, &tx, err);
    return tx_end(c, &tx, rc, err);
}

rg_status leann_replace(leann_coll *c, const rg_record *recs, size_t n, const char *const *del, size_t ndel,
                        size_t *deleted, rg_error *err)
{
    size_t gone = 0;
    leann_tx tx;
    rg_status rc = tx_begin(c, &tx, err);
    if (rc == RG_OK)
        rc = add_in(c, &tx, recs, n, true, err);
    if (rc == RG_OK && ndel)
        rc = delete_in(c, &tx, del, ndel, NULL, &gone, err);
    if (rc == RG_OK)
        rc = consolidate_in(c, &tx, err);
    rc = tx_end(c, &tx, rc, err);
    *deleted = rc == RG_OK ? gone : 0;
    return rc;
}

static rg_status add_in(leann_coll *c, leann_tx *tx, const rg_record *recs, size_t n, bool upsert, rg_error *err)
{
    if (n == 0)
        return RG_OK;
    uint8_t *keep = rg_xmalloc(n);
    rg_status rc = vectors_to_keep(c, recs, n, keep, err);
    if (rc != RG_OK) {
        free(keep);
        return rc;
    }
    int64_t *seqs = rg_xcalloc(n, sizeof *seqs);
    uint32_t *old_nodes = rg_xmalloc(n * sizeof *old_nodes);
    size_t nold = 0;
    sqlite3_stmt *find = NULL, *ins = NULL, *upd = NULL;
    /* +id: a bare "id = ?1" lets SQLite's constant propagation rewrite the
     * indexed rg_id_key(id) into rg_id_key(?1), and the lookup becomes a
     * scan of the whole table for every record added. */
    if (sqlite3_prepare_v2(leann_db(c), "SELECT seq, node FROM rec WHERE rg_id_key(id) = rg_id_key(?1) AND +id = ?1", -1,
                           &find, NULL) != SQLITE_OK ||
        /* rec directly (the writer's schema is format 5, leann_lock), with
         * own_id and the packed metadata from write_record. */
        sqlite3_prepare_v2(leann_db(c),
                           "INSERT INTO rec(seq, own_id, node, doc, doclen, dict, meta, vec)"
                           " VALUES(?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(leann_db(c),
                           "UPDATE rec SET own_id=?1, node=?2, doc=?3, doclen=?4, dict=?5, meta=?6, vec=?7 WHERE seq=?8",
                           -1, &upd, NULL) != SQLITE_OK)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    for (size_t i = 0; rc == RG_OK && i < n; i++) {
        sqlite3_bind_text(find, 1, recs[i].id, -1, SQLITE_STATIC);
        int r = sqlite3_step(find);
        if (r == SQLITE_ROW) {
            if (!upsert)
                rc = rg_error_set(err, RG_ERR_EXISTS,
                                  "record '%s' already exists in collection '%s' (use upsert to replace it)",
                                  recs[i].id, c->name);
            seqs[i] = sqlite3_column_int64(find, 0);
            old_nodes[nold++] = (uint32_t)sqlite3_column_int64(find, 1);
        } else if (r != SQLITE_DONE) {
            rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
        }
        sqlite3_reset(find);
    }

    /* New nodes get the next numbers; old versions of upserted records
     * become tombstones. */
    uint32_t first_new = c->graph.n;
    rg_buf z, meta;
    rg_buf_init(&z);
    rg_buf_init(&meta);
    if (rc == RG_OK && nold) {
        sqlite3_stmt *tomb = NULL;
        if (sqlite3_prepare_v2(leann_db(c), "INSERT OR IGNORE INTO tombstones(node) VALUES(?)", -1, &tomb, NULL) !=
            SQLITE_OK)
            rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
        for (size_t i = 0; rc == RG_OK && i < nold; i++) {
            sqlite3_bind_int64(tomb, 1, old_nodes[i]);
            if (sqlite3_step(tomb) != SQLITE_DONE)
                rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
            sqlite3_reset(tomb);
        }
        sqlite3_finalize(tomb);
    }
    int64_t max_seq = 0;
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(leann_db(c), "SELECT coalesce(max(seq), 0) FROM rec", &max_seq, err);
    for (size_t i = 0; rc == RG_OK && i < n; i++) {
        if (i % 512 == 0)
            leann_progress(c, "writing records", (int64_t)i, (int64_t)n);
        rc = write_record(c, ins, upd, &recs[i], seqs[i], first_new + (uint32_t)i, keep[i], &max_seq, &z, &meta,
                          err);
    }
    rg_buf_free(&z);
    rg_buf_free(&meta);
    sqlite3_finalize(find);
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);

    int64_t live_before = c->live + tx->live_delta;   /* this transaction's earlier parts included */
    int64_t live_after = live_before - (int64_t)nold + (int64_t)n;
    if (rc == RG_OK) {
        tx->mutated = true;
        rc = leann_insert(c, recs, n, old_nodes, nold, live_after, err);
    }
    if (rc == RG_OK) {
        tx->live_delta += live_after - live_before;
        tx->work += n;
    }
    free(keep);
    free(seqs);
    free(old_nodes);
    return rc;
}

rg_status leann_delete(leann_coll *c, const char *const *ids, size_t nids, const rg_filter *where, size_t *deleted,
                       rg_error *err)
{
    size_t gone = 0;
    leann_tx tx;
    rg_status rc = tx_begin(c, &tx, err);
    if (rc == RG_OK)
        rc = delete_in(c, &tx, ids, nids, where, &gone, err);
    if (rc == RG_OK && gone)
        rc = consolidate_in(c, &tx, err);
    rc = tx_end(c, &tx, rc, err);
    *deleted = rc == RG_OK ? gone : 0;
    return rc;
}

static rg_status delete_in(leann_coll *c, leann_tx *tx, const char *const *ids, size_t nids, const rg_filter *where,
                          size_t *deleted, rg_error *err)
{
    *deleted = 0;
    rg_status rc = RG_OK;
    /* Which nodes: ids and/or filter, through SQL like get(). */
    rg_buf sql;
    rg_buf_init(&sql);
    json_t *params = json_array();
    rg_buf_puts(&sql, "SELECT node FROM records");
    leann_where_sql(c, ids, nids, where, &sql, params);
    sqlite3_stmt *st = NULL;
    rc = rg_sqlite_prepare_bound(leann_db(c), leann_sq(c)->db_path, sql.data, params, &st, err);
    rg_buf_free(&sql);
    json_decref(params);
    uint32_t *nodes = NULL;
    size_t n = 0, cap = 0;
    int r = SQLITE_DONE;
    while (rc == RG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            nodes = rg_xrealloc(nodes, cap * sizeof *nodes);
        }
        nodes[n++] = (uint32_t)sqlite3_column_int64(st, 0);
    }
    if (rc == RG_OK && r != SQLITE_DONE)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    sqlite3_finalize(st);
    if (rc != RG_OK || n == 0) {
        free(nodes);
        return rc;
    }
    sqlite3_stmt *del = NULL, *tomb = NULL;
    if (sqlite3_prepare_v2(leann_db(c), "DELETE FROM rec WHERE " LEANN_NODE_ROW, -1, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(leann_db(c), "INSERT OR IGNORE INTO tombstones(node) VALUES(?)", -1, &tomb, NULL) != SQLITE_OK)
        rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
    for (size_t i = 0; rc == RG_OK && i < n; i++) {
        sqlite3_bind_int64(del, 1, nodes[i]);
        sqlite3_bind_int64(tomb, 1, nodes[i]);
        if (sqlite3_step(del) != SQLITE_DONE || sqlite3_step(tomb) != SQLITE_DONE)
            rc = rg_sqlite_error(leann_db(c), leann_sq(c)->db_path, err);
        sqlite3_reset(del);
        sqlite3_reset(tomb);
    }
    sqlite3_finalize(del);
    sqlite3_finalize(tomb);
    if (rc == RG_OK) {
        tx->mutated = true;
        rc = leann_remove(c, nodes, n, err);
    }
    if (rc == RG_OK) {
        tx->live_delta -= (int64_t)n;
        tx->work += n;
        *deleted = n;
    }
    free(nodes);
    return rc;
}

rg_status leann_compact(leann_coll *c, rg_error *err)
{
    rg_status rc = rg_sqlite_exec(leann_db(c), "BEGIN IMMEDIATE", err);
    if (rc != RG_OK)
        return rc;
    int64_t old_gen = leann_sq(c)->generation;
    rc = leann_rebuild(c, NULL, NULL, 0, err);
    if (rc == RG_OK)
        rc = rg_sqlite_exec(leann_db(c), "COMMIT", err);
    if (rc == RG_OK) {
        if (leann_sq(c)->generation != old_gen)
            leann_remove_generation(c, old_gen);
        /* Give the freed pages back to the file system. */
        rg_sqlite_exec(leann_db(c), "VACUUM", NULL);
    } else {
        rg_sqlite_exec(leann_db(c), "ROLLBACK", NULL);
        if (leann_sq(c)->generation != old_gen)
            leann_remove_generation(c, leann_sq(c)->generation);
        leann_invalidate(c);
        leann_sq(c)->generation = -1;
    }
    return rc;
}

static rg_status consolidate_in(leann_coll *c, leann_tx *tx, rg_error *err)
{
    if (c->pq.m != 0 && c->graph.n != 0)
        tx->mutated = true;
    return leann_consolidate_step(c, c->live + tx->live_delta, tx->work, err);
}

/* ---- the source's write callbacks ------------------------------------------ */

/* A full rebuild begins: live records in insertion order (seq), with their
 * seqs. */
static rg_status sql_live(void *ctx, uint32_t **nodes, int64_t **order, size_t *n, rg_error *err)
{
    leann_coll *c = ctx;
    sqlite3 *db = leann_db(c);
    *nodes = NULL;
    *order = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT node, seq FROM rec ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
        return rg_sqlite_error(db, leann_sq(c)->db_path, err);
    size_t cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            *nodes = rg_xrealloc(*nodes, cap * sizeof **nodes);
            *order = rg_xrealloc(*order, cap * sizeof **order);
        }
        (*nodes)[*n] = (uint32_t)sqlite3_column_int64(st, 0);
        (*order)[(*n)++] = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (r != SQLITE_DONE) {
        /* (The rebuild used to stop at the first error silently and
         * rebuild over the rows read so far.) */
        free(*nodes);
        free(*order);
        *nodes = NULL;
        *order = NULL;
        *n = 0;
        return rg_sqlite_error(db, leann_sq(c)->db_path, err);
    }
    return RG_OK;
}

/* Consolidation moved live nodes from[i] to the numbers of tombstones
 * to[i]: their record rows follow, to[i] are no longer tombstones, from[i]
 * are. */
static rg_status sql_moved(void *ctx, const uint32_t *from, const uint32_t *to, size_t nm, rg_error *err)
{
    leann_coll *c = ctx;
    sqlite3 *db = leann_db(c);
    rg_status rc = RG_OK;
    sqlite3_stmt *row = NULL, *untomb = NULL, *tomb = NULL;
    if (sqlite3_prepare_v2(db, "UPDATE rec SET node = ?2 WHERE " LEANN_NODE_ROW, -1, &row, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "DELETE FROM tombstones WHERE node = ?", -1, &untomb, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO tombstones(node) VALUES(?)", -1, &tomb, NULL) != SQLITE_OK)
        rc = rg_sqlite_error(db, leann_sq(c)->db_path, err);
    for (size_t i = 0; rc == RG_OK && i < nm; i++) {
        sqlite3_bind_int64(row, 1, from[i]);
        sqlite3_bind_int64(row, 2, to[i]);
        sqlite3_bind_int64(untomb, 1, to[i]);
        sqlite3_bind_int64(tomb, 1, from[i]);
        if (sqlite3_step(row) != SQLITE_DONE || sqlite3_changes(db) != 1 || sqlite3_step(untomb) != SQLITE_DONE ||
            sqlite3_step(tomb) != SQLITE_DONE)
            rc = sqlite3_errcode(db) == SQLITE_OK || sqlite3_errcode(db) == SQLITE_DONE
                     ? rg_error_set(err, RG_ERR_CORRUPT, "%s: no record row for live node %u", leann_sq(c)->db_path, from[i])
                     : rg_sqlite_error(db, leann_sq(c)->db_path, err);
        sqlite3_reset(row);
        sqlite3_reset(untomb);
        sqlite3_reset(tomb);
    }
    sqlite3_finalize(row);
    sqlite3_finalize(untomb);
    sqlite3_finalize(tomb);
    return rc;
}

/* The tombstones numbered n and up were dropped: their rows in tombstones,
 * adj and codes go. */
static rg_status sql_truncated(void *ctx, uint32_t n, rg_error *err)
{
    leann_coll *c = ctx;
    sqlite3 *db = leann_db(c);
    sqlite3_stmt *st = NULL;
    static const char *const del[] = {"DELETE FROM tombstones WHERE node >= ?", "DELETE FROM adj WHERE node >= ?",
                                      "DELETE FROM codes WHERE node >= ?"};
    for (int i = 0; i < 3; i++) {
        if (sqlite3_prepare_v2(db, del[i], -1, &st, NULL) != SQLITE_OK)
            return rg_sqlite_error(db, leann_sq(c)->db_path, err);
        sqlite3_bind_int64(st, 1, n);
        int r = sqlite3_step(st);
        sqlite3_finalize(st);
        if (r != SQLITE_DONE)
            return rg_sqlite_error(db, leann_sq(c)->db_path, err);
    }
    return RG_OK;
}

/* The graph edit into the overlay (or a checkpoint), then the counters. */
static rg_status sql_save(void *ctx, const uint8_t *dirty, uint32_t new_from, rg_error *err)
{
    leann_coll *c = ctx;
    rg_status rc = RG_OK;
    if (dirty) {
        int64_t new_gen = 0;
        rc = save_overlay(c, dirty, new_from, &new_gen, err);
    }
    if (rc == RG_OK)
        rc = leann_meta_save(c, err);
    return rc;
}

/* A rebuild numbers the live records afresh (row i of seq order becomes
 * node i) and the overlay of the old graph goes; first the dictionaries
 * are retrained. */
static rg_status sql_renumber(void *ctx, const uint32_t *old, const int64_t *seqs, size_t n, rg_error *err)
{
    leann_coll *c = ctx;
    sqlite3 *db = leann_db(c);
    (void)old;   /* rows are found by seq */
    /* Every full rebuild retrains: the rebuilds of a growing collection come
     * at doublings, so this costs a constant factor, and a dictionary
     * trained on the first 256 passages compresses the rest about 4% worse
     * than one trained on all of them. */
    leann_progress(c, "training compression dictionaries", 0, 0);
    rg_status rc = leann_train_dictionaries(c, err);

    /* Renumber rows old -> new, row i of seq order to node i.  Rows that
     * will be in the partial index rec_node (node != seq - 1) go through
     * negative numbers, so no two of them ever share a node; the others are
     * not in it and take theirs at once. */
    sqlite3_stmt *upd = NULL;
    if (rc == RG_OK &&
        sqlite3_prepare_v2(db, "UPDATE rec SET node = CASE WHEN ?1 = seq - 1 THEN ?1 ELSE -1 - ?1 END WHERE seq = ?2",
                           -1, &upd, NULL) != SQLITE_OK)
        rc = rg_sqlite_error(db, leann_sq(c)->db_path, err);
    for (size_t i = 0; rc == RG_OK && i < n; i++) {
        sqlite3_bind_int64(upd, 1, (int64_t)i);
        sqlite3_bind_int64(upd, 2, seqs[i]);
        if (sqlite3_step(upd) != SQLITE_DONE)
            rc = rg_sqlite_error(db, leann_sq(c)->db_path, err);
        sqlite3_reset(upd);
    }
    sqlite3_finalize(upd);
    if (rc == RG_OK)
        rc = rg_sqlite_exec(db,
                            "UPDATE rec SET node = -1 - node WHERE node < 0;"
                            "DELETE FROM tombstones; DELETE FROM adj; DELETE FROM codes;",
                            err);
    return rc;
}

/* After a full rebuild: a new generation of files holds the whole graph and
 * codes; the graph parameters and counters go to meta. */
static rg_status sql_rebuilt(void *ctx, rg_error *err)
{
    leann_coll *c = ctx;
    leann_sql *h = leann_sq(c);
    uint32_t n = c->graph.n;
    rg_status rc = RG_OK;
    int64_t gen = h->generation + 1;
    if (n > 0) {
        leann_progress(c, "writing the index files", 0, 0);
        rc = leann_write_generation(c, gen, err);
    }
    if (rc == RG_OK) {
        h->generation = n > 0 ? gen : 0;
        c->base_n = n;
    }
    if (rc == RG_OK) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", c->params.graph_degree);
        rc = rg_sqlite_meta_set(h->db, "graph_degree", buf, err);
        snprintf(buf, sizeof buf, "%d", c->graph.pruned_degree);
        if (rc == RG_OK)
            rc = rg_sqlite_meta_set(h->db, "pruned_degree", buf, err);
    }
    if (rc == RG_OK)
        rc = leann_meta_save(c, err);
    return rc;
}

void leann_sql_writes(leann_source *src)
{
    src->live = sql_live;
    src->moved = sql_moved;
    src->truncated = sql_truncated;
    src->save = sql_save;
    src->renumber = sql_renumber;
    src->rebuilt = sql_rebuilt;
}
