/* Incremental insert for the leann core: new nodes are linked into the
 * existing graph (then every stranded node reconnected), or the whole
 * collection is rebuilt when leann_should_rebuild says a small collection
 * doubled (so PQ codebooks and the graph stay trained on the data they
 * index; the total rebuild work stays within a constant factor of one
 * build).  The store (leann_sqlite.c) writes the records' rows first and
 * calls leann_insert inside its transaction; the edit is persisted through
 * c->src.save, and the write then ends with a consolidation step
 * (leann_vacuum.c).
 *
 * Records arrive with their embeddings: those are used for this insertion
 * and cached, never written by the core (the store keeps the vector of a
 * record whose vector cannot be recomputed from its text). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leann.h"
#include "util.h"

/* Candidate pool for a new node's neighbours. */
#define INSERT_POOL 48
/* A new non-hub chooses pruned_degree + pruned_degree / this (see
 * leann_link_node). */
#define LEANN_INSERT_EXTRA_DIV 4

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

void leann_edit_space_release(void *ctx)
{
    leann_edit_space *es = ctx;
    leann_edit_space_trim(es, es->keep_lo, es->keep_hi);
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

rg_status leann_link_node(leann_coll *c, leann_edit_space *es, uint32_t v, bool exact_pool, uint8_t *code,
                          uint8_t *dirty, rg_error *err)
{
    leann_graph *g = &c->graph;
    dirty[v] |= 1;
    const float *vv = leann_edit_space_vec(es, v);
    if (g->entry == LEANN_NONE) {
        if (code)
            leann_pq_encode(&c->pq, vv, code);
        g->entry = v;
        g->flags[v] |= LEANN_NODE_HUB;
        return RG_OK;
    }
    float *table = rg_xmalloc(sizeof(float) * (size_t)c->pq.m * c->pq.ksub);
    /* A new node's code comes with its query table (the same codebook
     * pass; bit for bit leann_pq_encode's code): the code is needed only
     * once the node has edges, as no walk reaches it before. */
    if (code)
        leann_pq_table_encode(&c->pq, vv, table, code);
    else
        leann_pq_table(&c->pq, vv, table);
    leann_pq_query pc = {&c->pq, table, c->codes};
    leann_cand *seen = NULL;
    size_t nseen = 0;
    /* The walk starts from the entry and from the node numbered just
     * before v when that one is linked: an ingest numbers a file's chunks
     * consecutively, and neighbouring chunks are usually near each other,
     * so the beam starts in v's region instead of reaching it from the
     * entry (291K Debian-doc chunks: recall@10 the same or better, 25%
     * less CPU in the inserts; bench/leann/RESULTS-insert.md). */
    uint32_t entries[2];
    int ne = 0;
    entries[ne++] = g->entry;
    if (v > 0 && v - 1 != g->entry && g->deg[v - 1] > 0 && !(g->flags[v - 1] & LEANN_NODE_DELETED))
        entries[ne++] = v - 1;
    leann_cand *best = NULL;
    int nbest = 0;
    leann_beam_search_top(g, leann_pq_dists, &pc, LEANN_BUILD_L, entries, ne, &c->visit, &best, &nbest, &seen, &nseen);
    free(table);
    /* The search's best live candidates, and (re-linking) the node's
     * current neighbours, which the search may not reach again. */
    uint32_t pool[INSERT_POOL + 256];
    int np = leann_candidates_from_seen(g, best, (size_t)nbest, v, pool, INSERT_POOL);
    /* Taken from the final beam, they are what sorting all it saw gives,
     * unless the beam ran short of live ones, or the last one taken ties
     * the beam's worst distance (an equal candidate may have been turned
     * away from the full beam): then from everything seen, sorted. */
    int last = 0;
    while (np > 0 && last < nbest && best[last].node != pool[np - 1])
        last++;
    bool from_beam = (size_t)nbest == nseen ||
                     (np == INSERT_POOL && last < nbest && best[last].dist < best[nbest - 1].dist);
    if (!from_beam) {
        leann_cand_sort(seen, nseen);
        np = leann_candidates_from_seen(g, seen, nseen, v, pool, INSERT_POOL);
    }
    free(best);
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
    /* A new non-hub chooses a quarter more than pruned_degree: after a bulk
     * build a non-hub holds its pruned_degree choices plus the reverse
     * edges of every node built after it (12.7 on average at 8), while an
     * inserted node gets reverse edges only from later inserts.  On 291K
     * Debian-doc chunks (95% inserted) 10 instead of 8 took walk recall@10
     * from 0.943 to 0.948 (0.950 -> 0.9555 with the refinement at 211) for
     * 9% more insert CPU; 12 did no better (bench/leann/RESULTS-insert.md). */
    if (g->deg[v] == 0 && !(g->flags[v] & LEANN_NODE_HUB))
        bound += bound / LEANN_INSERT_EXTRA_DIV;
    if (g->deg[v] > bound)
        bound = g->deg[v];
    leann_space sp = {leann_edit_space_vec, es, c->dim, NULL};
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

rg_status leann_insert(leann_coll *c, const rg_record *recs, size_t n, const uint32_t *old_nodes, size_t nold,
                       int64_t live_after, rg_error *err)
{
    uint32_t first_new = c->graph.n;
    bool rebuild = c->pq.m == 0 || c->graph.entry == LEANN_NONE || leann_should_rebuild(c, live_after);
    rg_status rc = RG_OK;
    /* Before the batch is encoded, so it is encoded with the new codes. */
    if (!rebuild && leann_should_retrain_codes(c, live_after))
        rc = leann_retrain_codes(c, live_after, recs, n, err);
    if (rc != RG_OK)
        return rc;
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
        uint8_t *dirty = rg_xcalloc(c->graph.n, 1);
        for (size_t i = 0; i < n; i++)
            leann_edit_space_put(&es, first_new + (uint32_t)i, recs[i].embedding);
        /* Each new node is encoded as it is linked, from its query table
         * (nothing reads a node's code before it has edges), except when
         * old versions are removed first: the removal's reconnection links
         * every node no walk reaches, the new ones included, from their
         * codes, and may make one of them the entry. */
        bool encode_now = nold > 0;
        for (size_t i = 0; encode_now && i < n; i++)
            leann_pq_encode(&c->pq, recs[i].embedding, c->codes + (size_t)(first_new + i) * c->pq.m);
        /* Old versions out first so new nodes do not link to them. */
        if (nold)
            leann_graph_remove(c, old_nodes, nold, dirty);
        for (size_t i = 0; rc == RG_OK && i < n; i++) {
            if (i % 64 == 0)
                leann_progress(c, "linking into the graph", (int64_t)i, (int64_t)n);
            /* The reconstructions the re-prunes decode (4 KB each at
             * 1024-d) would otherwise pile up over a batch; the batch's
             * own vectors stay.  (Lending the batch's vectors instead of
             * copying them was tried: a 291K ingest then held about 120 MB
             * more from 168K chunks on and took more CPU, not less.) */
            if (i % LEANN_STREAM_BLOCK == 0 && i > 0)
                leann_edit_space_trim(&es, first_new, first_new + (uint32_t)n);
            uint32_t v = first_new + (uint32_t)i;
            rc = leann_link_node(c, &es, v, false, encode_now ? NULL : c->codes + (size_t)v * c->pq.m, dirty, err);
        }
        /* The reverse edges re-prune neighbours' lists, which can drop
         * the new node or an older one from every list that held it:
         * reconnect as a bulk build does (issue 16: a plain SciFact
         * ingest left 3.4% of live nodes unreachable without this). */
        if (rc == RG_OK) {
            es.keep_lo = first_new;
            es.keep_hi = first_new + (uint32_t)n;
            leann_space sp = {leann_edit_space_vec, &es, c->dim, leann_edit_space_release};
            leann_graph_reconnect(&c->graph, &sp, dirty);
        }
        leann_progress(c, "saving the graph", 0, 0);
        if (rc == RG_OK)
            rc = c->src.save(c->src.ctx, dirty, first_new, err);
        /* The batch's vectors are exact and likely queried soon. */
        for (size_t i = 0; rc == RG_OK && i < n; i++)
            leann_cache_put(&c->cache, first_new + (uint32_t)i, recs[i].embedding, false);

        free(dirty);
        leann_edit_space_free(&es);
    }
    return rc;
}
