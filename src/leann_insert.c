/* add / upsert for the leann backend: incremental insertion into the
 * existing graph (then every stranded node reconnected), or a full rebuild
 * when leann_should_rebuild says a small collection doubled (so PQ
 * codebooks and the graph stay trained on the data they index; the total
 * rebuild work stays within a constant factor of one build).  The write
 * then ends with a consolidation step (leann_vacuum.c).  Either way the whole call is one SQLite transaction; new graph /
 * codes files, when any, are written before it commits.
 *
 * Records arrive with their embeddings: those are used for this insertion
 * and cached, never written.  A record whose vector cannot be recomputed
 * from its text (no text, or a vector that is not what the collection's
 * embedder gives for the text) keeps its vector in SQLite, so every answer
 * stays exact. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leann.h"
#include "sqlite_util.h"
#include "util.h"

/* Candidate pool for a new node's neighbours. */
#define INSERT_POOL 48
/* A vector "is" the embedder's when cosine similarity is at least this. */
#define SAME_VECTOR 0.9999f

void leann_edit_space_init(leann_edit_space *es, leann_coll *c)
{
    memset(es, 0, sizeof *es);
    es->c = c;
}

static void es_ensure(leann_edit_space *es, uint32_t node)
{
    if (node < es->nvec)
        return;
    uint32_t n = es->nvec ? es->nvec : 64;
    while (n <= node)
        n *= 2;
    es->vec = rg_xrealloc(es->vec, n * sizeof *es->vec);
    memset(es->vec + es->nvec, 0, (n - es->nvec) * sizeof *es->vec);
    es->nvec = n;
}

void leann_edit_space_put(leann_edit_space *es, uint32_t node, const float *v)
{
    es_ensure(es, node);
    size_t dim = (size_t)es->c->dim;
    if (!es->vec[node])
        es->vec[node] = rg_xmalloc(dim * sizeof(float));
    memcpy(es->vec[node], v, dim * sizeof(float));
}

const float *leann_edit_space_vec(void *ctx, uint32_t node)
{
    leann_edit_space *es = ctx;
    leann_coll *c = es->c;
    if (node - es->lent_from < es->nlent)
        return es->lent[node - es->lent_from];
    es_ensure(es, node);
    if (es->vec[node])
        return es->vec[node];
    float *v = rg_xmalloc((size_t)c->dim * sizeof(float));
    const float *cv = leann_cache_get(&c->cache, node);
    if (cv)
        memcpy(v, cv, (size_t)c->dim * sizeof(float));
    else if (c->pq.m && node < c->codes_cap)
        leann_pq_decode(&c->pq, c->codes + (size_t)node * c->pq.m, v);
    else
        memset(v, 0, (size_t)c->dim * sizeof(float));
    es->vec[node] = v;
    return v;
}

void leann_edit_space_free(leann_edit_space *es)
{
    for (uint32_t i = 0; i < es->nvec; i++)
        free(es->vec[i]);
    free(es->vec);
    memset(es, 0, sizeof *es);
}

void leann_edit_space_trim(leann_edit_space *es, uint32_t lo, uint32_t hi)
{
    for (uint32_t i = 0; i < es->nvec; i++)
        if ((i < lo || i >= hi) && es->vec[i]) {
            free(es->vec[i]);
            es->vec[i] = NULL;
        }
}

void leann_codes_reserve(leann_coll *c, uint32_t n)
{
    if (n <= c->codes_cap || c->pq.m == 0)
        return;
    size_t cap = c->codes_cap ? c->codes_cap : 64;
    while (cap < n)
        cap *= 2;
    c->codes = rg_xrealloc(c->codes, cap * (size_t)c->pq.m);
    c->codes_cap = cap;
}

typedef struct pq_dist_ctx {
    const leann_pq *pq;
    const float *table;
    const uint8_t *codes;
} pq_dist_ctx;

static float pq_dist(void *ctx, uint32_t node)
{
    pq_dist_ctx *p = ctx;
    return leann_pq_distance(p->pq, p->table, p->codes + (size_t)node * p->pq->m);
}

rg_status leann_link_node(leann_coll *c, leann_edit_space *es, uint32_t v, bool exact_pool, uint8_t *dirty,
                          rg_error *err)
{
    leann_graph *g = &c->graph;
    dirty[v] |= 1;
    if (g->entry == LEANN_NONE) {
        g->entry = v;
        g->flags[v] |= LEANN_NODE_HUB;
        return RG_OK;
    }
    const float *vv = leann_edit_space_vec(es, v);
    float *table = rg_xmalloc(sizeof(float) * (size_t)c->pq.m * c->pq.ksub);
    leann_pq_table(&c->pq, vv, table);
    pq_dist_ctx pc = {&c->pq, table, c->codes};
    leann_cand *seen = NULL;
    size_t nseen = 0;
    leann_beam_search(g, pq_dist, &pc, LEANN_BUILD_L, &c->visit, &seen, &nseen);
    free(table);
    /* The search's best live candidates, and (re-linking) the node's
     * current neighbours, which the search may not reach again. */
    uint32_t pool[INSERT_POOL + 256];
    int np = leann_candidates_from_seen(g, seen, nseen, v, pool, INSERT_POOL);
    free(seen);
    for (int i = 0; i < g->deg[v]; i++) {
        uint32_t x = leann_graph_nbrs(g, v)[i];
        if (x != v && !(g->flags[x] & LEANN_NODE_DELETED))
            pool[np++] = x;
    }
    /* An insert takes the candidates' vectors from the cache or, failing
     * that, from their PQ codes, never from a recompute.  Recomputing the
     * pool (about 48 embeddings a node, mostly cache misses once a
     * collection outgrows the cache) made incremental ingest cost more than
     * embedding the collection itself.  A consolidation pass (exact_pool)
     * does recompute the ones the cache lacks, and caches them: re-linking
     * on PQ reconstructions made lists worse than the ones they replaced. */
    if (exact_pool) {
        uint32_t miss[INSERT_POOL + 256];
        size_t nm = 0;
        for (int i = 0; i < np; i++) {
            uint32_t x = pool[i];
            if ((x < es->nvec && es->vec[x]) || leann_cache_get(&c->cache, x))
                continue;
            miss[nm++] = x;
        }
        if (nm) {
            float *mv = rg_xmalloc(nm * (size_t)c->dim * sizeof(float));
            rg_status rc = leann_fetch_vectors(c, miss, nm, mv, err);
            for (size_t i = 0; rc == RG_OK && i < nm; i++) {
                leann_edit_space_put(es, miss[i], mv + i * (size_t)c->dim);
                leann_cache_put(&c->cache, miss[i], mv + i * (size_t)c->dim,
                                (g->flags[miss[i]] & LEANN_NODE_HUB) != 0);
            }
            free(mv);
            if (rc != RG_OK)
                return rc;
        }
    }
    /* A re-linked node keeps its list's length (RobustPrune over the pool
     * to max(bound, degree), as leann_graph_add_edge does) and its edges
     * into hubs (Algorithm 3: a non-hub's list holds the reverse edges of
     * the hubs that chose it, and walks rely on them).  Re-linking SciFact
     * with lists cut back to pruned_degree took its walk recall from 0.954
     * to 0.903; keeping their length, 0.927; pruned_degree plus the hub
     * edges, 0.909. */
    uint32_t hubs[256];
    int nh = 0;
    for (int i = 0; i < g->deg[v]; i++) {
        uint32_t x = leann_graph_nbrs(g, v)[i];
        if ((g->flags[x] & LEANN_NODE_HUB) && !(g->flags[x] & LEANN_NODE_DELETED))
            hubs[nh++] = x;
    }
    int bound = leann_graph_bound(g, v);
    if (g->deg[v] > bound)
        bound = g->deg[v];
    leann_space sp = {leann_edit_space_vec, es, c->dim};
    leann_graph_connect(g, &sp, v, pool, np, bound);
    uint32_t *nb = leann_graph_nbrs(g, v);
    for (int i = 0; i < nh && g->deg[v] < g->max_degree; i++) {
        bool have = false;
        for (int j = 0; j < g->deg[v] && !have; j++)
            have = nb[j] == hubs[i];
        if (!have)
            nb[g->deg[v]++] = hubs[i];
    }
    for (int i = 0; i < g->deg[v]; i++)
        dirty[leann_graph_nbrs(g, v)[i]] |= 1;
    return RG_OK;
}

rg_status leann_save_overlay(leann_coll *c, const uint8_t *dirty, uint32_t new_from, int64_t *new_gen,
                             rg_error *err)
{
    leann_graph *g = &c->graph;
    *new_gen = 0;
    int64_t overlay = 0;
    rg_status rc = rg_sqlite_scalar_int(c->db, "SELECT count(*) FROM adj", &overlay, err);
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
    /* Checkpoint: when the overlay would hold more than half the graph, or
     * those tombstones reach LEANN_CONSOLIDATE_CHANGED of the nodes, write
     * a new generation instead (same transaction commits it). */
    if (overlay + ndirty > 256 + c->base_n / 2 ||
        (dead_top >= LEANN_CONSOLIDATE_MIN_CHANGED && dead_top >= LEANN_CONSOLIDATE_CHANGED * g->n)) {
        int64_t gen = c->generation + 1;
        /* The new files hold no tombstone at the top. */
        rc = leann_drop_top_tombstones(c, 0, err);
        if (rc == RG_OK)
            rc = leann_write_generation(c, gen, err);
        if (rc == RG_OK)
            rc = rg_sqlite_exec(c->db, "DELETE FROM adj; DELETE FROM codes;", err);
        if (rc != RG_OK) {
            leann_remove_generation(c, gen);
            return rc;
        }
        *new_gen = gen;
        c->generation = gen;
        c->base_n = g->n;
        return RG_OK;
    }
    sqlite3_stmt *sa = NULL, *sc = NULL, *sd = NULL;
    if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO adj(node, flags, nbrs) VALUES(?, ?, ?)", -1, &sa, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO codes(node, code) VALUES(?, ?)", -1, &sc, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(c->db, "DELETE FROM codes WHERE node = ?", -1, &sd, NULL) != SQLITE_OK) {
        rc = rg_sqlite_error(c->db, c->db_path, err);
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
            rc = rg_sqlite_error(c->db, c->db_path, err);
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
            rc = rg_sqlite_error(c->db, c->db_path, err);
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
 * its position). */
static rg_status write_record(leann_coll *c, sqlite3_stmt *ins, sqlite3_stmt *upd, const rg_record *r, int64_t seq,
                              uint32_t node, bool keep_vec, int64_t *max_seq, rg_buf *z, rg_error *err)
{
    rg_status rc = RG_OK;
    bool has_doc = r->document != NULL;
    if (has_doc) {
        rc = leann_doc_compress(c, r->document, z, err);
        if (rc != RG_OK)
            return rc;
    }
    char *meta = r->metadata ? json_dumps(r->metadata, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    sqlite3_stmt *st = seq > 0 ? upd : ins;
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, node);
    if (has_doc)
        sqlite3_bind_blob(st, 3, z->data, (int)z->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, has_doc ? (int64_t)strlen(r->document) : 0);
    sqlite3_bind_int64(st, 5, has_doc ? leann_doc_dict(c) : 0);
    if (meta)
        sqlite3_bind_text(st, 6, meta, -1, SQLITE_TRANSIENT);
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
        rc = rg_sqlite_error(c->db, c->db_path, err);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(meta);
    return rc;
}

/* ---- write transactions ---------------------------------------------------- */

rg_status leann_tx_begin(leann_coll *c, leann_tx *tx, rg_error *err)
{
    *tx = (leann_tx){.old_gen = c->generation};
    return rg_sqlite_exec(c->db, "BEGIN IMMEDIATE", err);
}

rg_status leann_tx_end(leann_coll *c, leann_tx *tx, rg_status rc, rg_error *err)
{
    if (rc == RG_OK)
        rc = rg_sqlite_exec(c->db, "COMMIT", err);
    /* A write can checkpoint more than once (its own edit, then its
     * consolidation step): every generation between the old one and the
     * committed one is an orphan. */
    if (rc == RG_OK) {
        c->live += tx->live_delta;
        if (c->generation != tx->old_gen) {
            leann_remove_generation(c, tx->old_gen);
            for (int64_t g = tx->old_gen + 1; g < c->generation; g++)
                leann_remove_generation(c, g);
        }
        return RG_OK;
    }
    rg_sqlite_exec(c->db, "ROLLBACK", NULL);
    for (int64_t g = tx->old_gen + 1; g <= c->generation; g++)
        leann_remove_generation(c, g);
    if (tx->mutated) {
        /* Memory was edited for a transaction that did not commit. */
        leann_invalidate(c);
        leann_cache_clear(&c->cache);
        c->generation = -1;
    }
    return rc;
}

rg_status leann_add(leann_coll *c, const rg_record *recs, size_t n, bool upsert, rg_error *err)
{
    if (n == 0)
        return RG_OK;
    leann_tx tx;
    rg_status rc = leann_tx_begin(c, &tx, err);
    if (rc == RG_OK)
        rc = leann_add_in(c, &tx, recs, n, upsert, err);
    if (rc == RG_OK)
        rc = leann_consolidate_step(c, &tx, err);
    return leann_tx_end(c, &tx, rc, err);
}

rg_status leann_replace(leann_coll *c, const rg_record *recs, size_t n, const char *const *del, size_t ndel,
                        size_t *deleted, rg_error *err)
{
    size_t gone = 0;
    leann_tx tx;
    rg_status rc = leann_tx_begin(c, &tx, err);
    if (rc == RG_OK)
        rc = leann_add_in(c, &tx, recs, n, true, err);
    if (rc == RG_OK && ndel)
        rc = leann_delete_in(c, &tx, del, ndel, NULL, &gone, err);
    if (rc == RG_OK)
        rc = leann_consolidate_step(c, &tx, err);
    rc = leann_tx_end(c, &tx, rc, err);
    *deleted = rc == RG_OK ? gone : 0;
    return rc;
}

rg_status leann_add_in(leann_coll *c, leann_tx *tx, const rg_record *recs, size_t n, bool upsert, rg_error *err)
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
    if (sqlite3_prepare_v2(c->db, "SELECT seq, node FROM rec WHERE rg_id_key(id) = rg_id_key(?1) AND +id = ?1", -1,
                           &find, NULL) != SQLITE_OK ||
        /* rec directly (the writer's schema is format 5, leann_lock).  The
         * metadata is packed once, then asked for the id it gives back. */
        sqlite3_prepare_v2(c->db,
                           "INSERT INTO rec(seq, own_id, node, doc, doclen, dict, meta, vec)"
                           " SELECT ?8, " LEANN_OWN_ID("?1", "m") ", ?2, ?3, ?4, ?5, m, ?7"
                           " FROM (SELECT rg_leann_meta_pack(?6, ?3, ?4, ?5) AS m)",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db,
                           "UPDATE rec SET own_id = " LEANN_OWN_ID("?1", "m") ", node=?2, doc=?3, doclen=?4, dict=?5,"
                           " meta=m, vec=?7 FROM (SELECT rg_leann_meta_pack(?6, ?3, ?4, ?5) AS m) WHERE seq=?8",
                           -1, &upd, NULL) != SQLITE_OK)
        rc = rg_sqlite_error(c->db, c->db_path, err);
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
            rc = rg_sqlite_error(c->db, c->db_path, err);
        }
        sqlite3_reset(find);
    }

    /* New nodes get the next numbers; old versions of upserted records
     * become tombstones. */
    uint32_t first_new = c->graph.n;
    rg_buf z;
    rg_buf_init(&z);
    if (rc == RG_OK && nold) {
        sqlite3_stmt *tomb = NULL;
        if (sqlite3_prepare_v2(c->db, "INSERT OR IGNORE INTO tombstones(node) VALUES(?)", -1, &tomb, NULL) !=
            SQLITE_OK)
            rc = rg_sqlite_error(c->db, c->db_path, err);
        for (size_t i = 0; rc == RG_OK && i < nold; i++) {
            sqlite3_bind_int64(tomb, 1, old_nodes[i]);
            if (sqlite3_step(tomb) != SQLITE_DONE)
                rc = rg_sqlite_error(c->db, c->db_path, err);
            sqlite3_reset(tomb);
        }
        sqlite3_finalize(tomb);
    }
    int64_t max_seq = 0;
    if (rc == RG_OK)
        rc = rg_sqlite_scalar_int(c->db, "SELECT coalesce(max(seq), 0) FROM rec", &max_seq, err);
    for (size_t i = 0; rc == RG_OK && i < n; i++) {
        if (i % 512 == 0)
            leann_progress(c, "writing records", (int64_t)i, (int64_t)n);
        rc = write_record(c, ins, upd, &recs[i], seqs[i], first_new + (uint32_t)i, keep[i], &max_seq, &z, err);
    }
    rg_buf_free(&z);
    sqlite3_finalize(find);
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);

    int64_t live_before = c->live + tx->live_delta;   /* this transaction's earlier parts included */
    int64_t live_after = live_before - (int64_t)nold + (int64_t)n;
    bool rebuild = c->pq.m == 0 || c->graph.entry == LEANN_NONE || leann_should_rebuild(c, live_after);
    if (rc == RG_OK) {
        tx->mutated = true;
        leann_graph_reserve(&c->graph, first_new + (uint32_t)n);
        for (size_t i = 0; i < n; i++)
            leann_graph_add_node(&c->graph);
        for (size_t i = 0; i < nold; i++)
            if (old_nodes[i] < first_new)
                c->graph.flags[old_nodes[i]] |= LEANN_NODE_DELETED;
        if (rebuild) {
            uint32_t *kn = rg_xmalloc(n * sizeof *kn);
            float *kv = rg_xmalloc(n * (size_t)c->dim * sizeof(float));
            for (size_t i = 0; i < n; i++) {
                kn[i] = first_new + (uint32_t)i;
                memcpy(kv + i * (size_t)c->dim, recs[i].embedding, (size_t)c->dim * sizeof(float));
            }
            rc = leann_rebuild(c, kn, kv, n, err);
            free(kn);
            free(kv);
        } else {
            leann_codes_reserve(c, c->graph.n);
            leann_edit_space es;
            leann_edit_space_init(&es, c);
            const float **lent = rg_xmalloc(n * sizeof *lent);
            uint8_t *dirty = rg_xcalloc(c->graph.n, 1);
            for (size_t i = 0; i < n; i++) {
                uint32_t v = first_new + (uint32_t)i;
                leann_pq_encode(&c->pq, recs[i].embedding, c->codes + (size_t)v * c->pq.m);
                lent[i] = recs[i].embedding;
            }
            es.lent = lent;
            es.lent_from = first_new;
            es.nlent = (uint32_t)n;
            /* Old versions out first so new nodes do not link to them. */
            if (nold)
                leann_graph_remove(c, old_nodes, nold, dirty);
            for (size_t i = 0; rc == RG_OK && i < n; i++) {
                if (i % 64 == 0)
                    leann_progress(c, "linking into the graph", (int64_t)i, (int64_t)n);
                /* The reconstructions the re-prunes decode (4 KB each at
                 * 1024-d) would otherwise pile up over a batch. */
                if (i % LEANN_STREAM_BLOCK == 0 && i > 0)
                    leann_edit_space_trim(&es, 0, 0);
                rc = leann_link_node(c, &es, first_new + (uint32_t)i, false, dirty, err);
            }
            /* The reverse edges re-prune neighbours' lists, which can drop
             * the new node or an older one from every list that held it:
             * reconnect as a bulk build does (issue 16: a plain SciFact
             * ingest left 3.4% of live nodes unreachable without this). */
            if (rc == RG_OK) {
                leann_space sp = {leann_edit_space_vec, &es, c->dim};
                leann_graph_reconnect(&c->graph, &sp, dirty);
            }
            leann_progress(c, "saving the graph", 0, 0);
            int64_t new_gen = 0;
            if (rc == RG_OK)
                rc = leann_save_overlay(c, dirty, first_new, &new_gen, err);
            if (rc == RG_OK)
                rc = leann_meta_save(c, err);
            /* The batch's vectors are exact and likely queried soon. */
            for (size_t i = 0; rc == RG_OK && i < n; i++)
                leann_cache_put(&c->cache, first_new + (uint32_t)i, recs[i].embedding, false);

            free(dirty);
            leann_edit_space_free(&es);
            free(lent);
        }
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
