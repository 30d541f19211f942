/* Deletes, consolidation and rebuilds for the leann core (no SQL: what is
 * stored changes through c->src's write callbacks, inside the write the
 * store (leann_sqlite.c) opened).
 *
 * Delete: the store deletes the record's row, its node becomes a tombstone, and every
 * node that pointed at it is repaired (FreshDiskANN-style): its list becomes
 * its other neighbours plus the deleted node's neighbours, re-pruned for
 * diversity; a deleted hub hands its role to a neighbour, and any node the
 * repairs strand is reconnected.  So the graph stays navigable without a
 * rebuild.  Tombstones keep their number (but no PQ code and no row: the
 * passage goes with the row, the code's overlay row in the same write, and
 * a codes file holds live nodes' codes only) until the consolidation step
 * every write ends with moves a live node into their place (or drops them
 * from the top of the numbering), or a rebuild renumbers everything. */
#include <stdlib.h>
#include <string.h>

#include "leann.h"
#include "util.h"


/* Every deleted hub hands its role to the live neighbour most others point
 * to: that node becomes a hub and takes the deleted hub's neighbours into
 * its own list (RobustPrune to graph_degree), so the long edges a walk
 * relied on survive the delete.  Without this, churn wore the hubs of a
 * SciFact collection from 169 down to 50 (issue 16).  cand: room for
 * 2 * max_degree ids. */
static void replace_hubs(leann_graph *g, const leann_space *sp, const uint32_t *nodes, size_t n, uint32_t *cand,
                         uint8_t *dirty)
{
    uint32_t *indeg = NULL;
    for (size_t i = 0; i < n; i++) {
        uint32_t w = nodes[i];
        if (w >= g->n || !(g->flags[w] & LEANN_NODE_HUB) || g->deg[w] == 0)
            continue;
        if (!indeg) {
            indeg = rg_xcalloc(g->n, sizeof *indeg);
            for (uint32_t v = 0; v < g->n; v++)
                if (!(g->flags[v] & LEANN_NODE_DELETED))
                    for (int j = 0; j < g->deg[v]; j++)
                        indeg[leann_graph_nbrs(g, v)[j]]++;
        }
        const uint32_t *wn = leann_graph_nbrs(g, w);
        uint32_t best = LEANN_NONE;
        for (int j = 0; j < g->deg[w]; j++) {
            uint32_t x = wn[j];
            if (g->flags[x] & (LEANN_NODE_DELETED | LEANN_NODE_HUB))
                continue;
            if (best == LEANN_NONE || indeg[x] > indeg[best])
                best = x;
        }
        if (best == LEANN_NONE)
            continue;
        int nc = 0;
        const uint32_t *bn = leann_graph_nbrs(g, best);
        for (int j = 0; j < g->deg[best]; j++)
            cand[nc++] = bn[j];
        for (int j = 0; j < g->deg[w]; j++)
            cand[nc++] = wn[j];   /* best itself, duplicates, deleted: dropped */
        g->flags[best] |= LEANN_NODE_HUB;
        leann_graph_set_pruned(g, sp, best, cand, nc, g->max_degree);
        dirty[best] = 1;
    }
    free(indeg);
}

void leann_graph_remove(leann_coll *c, const uint32_t *nodes, size_t n, uint8_t *dirty)
{
    leann_graph *g = &c->graph;
    for (size_t i = 0; i < n; i++)
        if (nodes[i] < g->n) {
            g->flags[nodes[i]] |= LEANN_NODE_DELETED;
            dirty[nodes[i]] = 1;
        }
    leann_edit_space es;
    leann_edit_space_init(&es, c);
    leann_space sp = {leann_edit_space_vec, &es, c->dim, NULL};
    uint32_t *cand = rg_xmalloc(sizeof(uint32_t) * (size_t)(g->max_degree + 1) * (size_t)(g->max_degree + 1));
    replace_hubs(g, &sp, nodes, n, cand, dirty);
    for (uint32_t u = 0; u < g->n; u++) {
        if (g->flags[u] & LEANN_NODE_DELETED)
            continue;
        uint32_t *nb = leann_graph_nbrs(g, u);
        int d = g->deg[u], nc = 0;
        bool touched = false;
        for (int i = 0; i < d; i++) {
            uint32_t w = nb[i];
            if (!(g->flags[w] & LEANN_NODE_DELETED)) {
                cand[nc++] = w;
                continue;
            }
            touched = true;
            /* Route around w through its own neighbours. */
            for (int j = 0; j < g->deg[w]; j++) {
                uint32_t x = leann_graph_nbrs(g, w)[j];
                if (x != u && !(g->flags[x] & LEANN_NODE_DELETED))
                    cand[nc++] = x;
            }
        }
        if (!touched)
            continue;
        dirty[u] = 1;
        /* The repaired list keeps its length (a list the build's reverse
         * edges made longer than its bound is re-pruned, not cut back, as
         * leann_graph_add_edge does) and its edges into live hubs
         * (Algorithm 3's reverse edges, which walks rely on). */
        int bound = leann_graph_bound(g, u);
        if (d > bound)
            bound = d;
        uint32_t hubs[256];
        int nh = 0;
        for (int i = 0; i < d; i++)
            if ((g->flags[nb[i]] & (LEANN_NODE_HUB | LEANN_NODE_DELETED)) == LEANN_NODE_HUB)
                hubs[nh++] = nb[i];
        /* dedupe */
        int m = 0;
        for (int i = 0; i < nc; i++) {
            bool dup = false;
            for (int j = 0; j < m && !dup; j++)
                dup = cand[j] == cand[i];
            if (!dup)
                cand[m++] = cand[i];
        }
        if (m <= bound) {
            memcpy(nb, cand, sizeof(uint32_t) * (size_t)m);
            g->deg[u] = (uint16_t)m;
        } else {
            leann_graph_set_pruned(g, &sp, u, cand, m, bound);
            for (int i = 0; i < nh && g->deg[u] < g->max_degree; i++) {
                bool have = false;
                for (int j = 0; j < g->deg[u] && !have; j++)
                    have = nb[j] == hubs[i];
                if (!have)
                    nb[g->deg[u]++] = hubs[i];
            }
        }
    }
    free(cand);
    for (size_t i = 0; i < n; i++)
        if (nodes[i] < g->n)
            g->deg[nodes[i]] = 0;
    if (g->entry != LEANN_NONE && (g->flags[g->entry] & LEANN_NODE_DELETED)) {
        /* New entry: the best-connected live hub, else any live node. */
        uint32_t best = LEANN_NONE;
        for (uint32_t v = 0; v < g->n; v++) {
            if (g->flags[v] & LEANN_NODE_DELETED)
                continue;
            if (best == LEANN_NONE || ((g->flags[v] & LEANN_NODE_HUB) && !(g->flags[best] & LEANN_NODE_HUB)) ||
                (((g->flags[v] ^ g->flags[best]) & LEANN_NODE_HUB) == 0 && g->deg[v] > g->deg[best]))
                best = v;
        }
        g->entry = best;
        if (best != LEANN_NONE) {
            g->flags[best] |= LEANN_NODE_HUB;
            dirty[best] = 1;
        }
    }
    /* The repairs re-prune lists and can strand a node whose only in-edge
     * went through a deleted one: reconnect as a bulk build does. */
    sp.release = leann_edit_space_release;
    leann_graph_reconnect(g, &sp, dirty);
    leann_edit_space_free(&es);
}

uint32_t leann_rebuild_max_nodes(const leann_coll *c)
{
    int64_t mb = c->params.build_memory_mb > 0 ? c->params.build_memory_mb : 64;
    uint64_t n = ((uint64_t)mb << 20) / ((uint64_t)(c->dim > 0 ? c->dim : 1) * sizeof(float));
    if (n < LEANN_STREAM_BLOCK)
        n = LEANN_STREAM_BLOCK;
    return n > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)n;
}

bool leann_should_rebuild(const leann_coll *c, int64_t live)
{
    /* Doublings only while the rebuild's vectors fit the bound: the graph
     * and codes of a larger collection grow by insertion, where rebuilds
     * at each doubling up to 65,536 records cost a 291K ingest more CPU
     * than everything else leann does (issue 16). */
    return live <= (int64_t)leann_rebuild_max_nodes(c) && live >= 2 * (int64_t)c->built_n;
}

bool leann_should_retrain_codes(const leann_coll *c, int64_t live)
{
    return c->pq.m > 0 && live > (int64_t)leann_rebuild_max_nodes(c) && live >= 2 * (int64_t)c->codes_n;
}

/* Codebooks trained once, at the last full build, fit the files ingested
 * first (on the Debian-doc corpus: the first 16,384 chunks are all Linux
 * kernel docs), and a collection past the rebuilds' memory bound grows by
 * insertion under them: codes of later, different text are coarser, and
 * they steer every walk and insert.  Retraining at each doubling keeps
 * the codebooks fit for what is stored; codes trained on a spread sample
 * of the whole 291K corpus took its walk recall@10 from 0.924 to 0.946
 * (bench/leann/RESULTS-insert.md).  Memory: the sample (at most
 * build_memory_mb of vectors, as a rebuild) and one block; the work: one
 * k-means and one re-encode of every code, at doublings only, so a
 * constant factor over the collection's growth. */
rg_status leann_retrain_codes(leann_coll *c, int64_t live, const rg_record *batch, size_t nbatch, rg_error *err)
{
    leann_graph *g = &c->graph;
    size_t dim = (size_t)c->dim;
    uint32_t nlive = 0;
    for (uint32_t v = 0; v < g->n; v++)
        nlive += !(g->flags[v] & LEANN_NODE_DELETED);
    /* The sample is drawn evenly from the live nodes in node order followed
     * by the batch being added (index nlive + i: batch[i].embedding). */
    size_t total = (size_t)nlive + nbatch;
    size_t cap = leann_rebuild_max_nodes(c);
    if (cap > LEANN_PQ_TRAIN_MAX)
        cap = LEANN_PQ_TRAIN_MAX;
    if (cap > total)
        cap = total;
    if (cap == 0)
        return RG_OK;
    uint32_t *sample = rg_xmalloc(cap * sizeof *sample);   /* node numbers; nodes first */
    size_t ns = 0, nsn = 0;   /* sampled, of which nodes */
    float *svec = malloc(cap * dim * sizeof(float));
    if (!svec) {
        free(sample);
        return rg_error_set(err, RG_ERR_NOMEM, "out of memory holding %zu vectors to retrain the codes", cap);
    }
    size_t at = 0;   /* index into nodes then batch */
    for (uint32_t v = 0; v < g->n && ns < cap; v++) {
        if (g->flags[v] & LEANN_NODE_DELETED)
            continue;
        if (at * cap / total == ns)
            sample[ns++] = v;
        at++;
    }
    nsn = ns;
    for (size_t i = 0; i < nbatch && ns < cap; i++, at++)
        if (at * cap / total == ns || total - at <= cap - ns)
            memcpy(svec + ns++ * dim, batch[i].embedding, dim * sizeof(float));
    rg_status rc = RG_OK;
    for (size_t k = 0; rc == RG_OK && k < nsn; k += LEANN_STREAM_BLOCK) {
        leann_progress(c, "recomputing embeddings to retrain the codes", (int64_t)k, (int64_t)nsn);
        size_t cnt = nsn - k < LEANN_STREAM_BLOCK ? nsn - k : LEANN_STREAM_BLOCK;
        rc = leann_fetch_vectors(c, sample + k, cnt, svec + k * dim, err);
    }
    leann_pq npq;
    memset(&npq, 0, sizeof npq);
    if (rc == RG_OK) {
        leann_progress(c, "training the vector codes", 0, 0);
        /* Not started from the old codebooks: 4 rounds from them instead
         * of 10 from random rows saved 6.6 s of the 291K lab's build CPU
         * but took its walk recall@10 from 0.9555 to 0.9440
         * (bench/leann/insert_lab.c, 1000:211; bench/scale/RESULTS-build.md). */
        int bits = c->pq.ksub <= 16 ? 4 : 8;
        int code_bytes = bits == 4 ? (c->pq.m + 1) / 2 : c->pq.m;
        rc = leann_pq_train(&npq, svec, ns, c->dim, code_bytes, bits, 0xc0de5, err);
        if (rc == RG_OK && npq.m != c->pq.m)
            rc = rg_error_set(err, RG_ERR_INTERNAL, "retrained codes have %d sub-quantisers, not %d", npq.m, c->pq.m);
        if (rc != RG_OK)
            leann_pq_free(&npq);
    }
    if (rc == RG_OK) {
        /* Re-encode, in place (each slot's old code is decoded before the
         * new one overwrites it, so no second codes array): exact vectors
         * where at hand (the sample, the cache), the old code's
         * reconstruction otherwise.  Recomputing every node would cost a
         * whole collection's embeddings at each doubling.  (The batch is
         * encoded by the insert, with the new codebooks.) */
        /* A reconstruction's sub-vector j is old centroid code[j] of
         * sub-quantiser j, so its new code depends on (j, code[j]) alone:
         * a table of m x ksub new codes, made once, gives for every such
         * node what decoding and encoding it would (most nodes at each
         * doubling; they were a third of the retraining's CPU). */
        int m = c->pq.m, oks = c->pq.ksub;
        uint8_t *trans = rg_xmalloc((size_t)m * (size_t)oks);
        leann_pq_translation(&c->pq, &npq, trans);
        size_t k = 0;   /* next sample entry (sample[] ascends) */
        for (uint32_t v = 0; v < g->n; v++) {
            uint8_t *code = c->codes + (size_t)v * c->pq.m;
            if (g->flags[v] & LEANN_NODE_DELETED) {
                memset(code, 0, (size_t)c->pq.m);
                continue;
            }
            const float *x;
            if (k < nsn && sample[k] == v)
                x = svec + k++ * dim;
            else if (!(x = leann_cache_get(&c->cache, v))) {
                for (int j = 0; j < m; j++)
                    code[j] = trans[(size_t)j * oks + (code[j] < oks ? code[j] : 0)];
                continue;
            }
            leann_pq_encode(&npq, x, code);
        }
        free(trans);
        leann_pq_free(&c->pq);
        c->pq = npq;
        c->codes_n = (uint32_t)(live > 0 ? live : 0);
        c->codebook_changed = true;
    }
    free(svec);
    free(sample);
    return rc;
}

/* ---- consolidation in bounded steps ----------------------------------------
 *
 * See LEANN_CONSOLIDATE_* in leann.h.  Nothing here holds more than one
 * batch of LEANN_CONSOLIDATE_BATCH exact vectors: re-linking reads the
 * vectors of other nodes from the cache (where the pass puts the ones it
 * recomputes) or their PQ reconstructions, one node's edit at a time.  So
 * a pass needs the graph and codes (in memory anyway), the cache
 * (cache_mb), one batch (256 x dim x 4 bytes: 1 MB at 1024-d) and one
 * node's edit space (its candidates and their lists' vectors, a few
 * hundred vectors at most), whatever the collection's size. */
#define LEANN_CONSOLIDATE_BATCH 256

rg_status leann_drop_top_tombstones(leann_coll *c, uint32_t floor, rg_error *err)
{
    leann_graph *g = &c->graph;
    uint32_t n = g->n;
    while (n > floor && (g->flags[n - 1] & LEANN_NODE_DELETED) && g->entry != n - 1)
        n--;
    if (n == g->n)
        return RG_OK;
    rg_status rc = c->src.truncated(c->src.ctx, n, err);
    if (rc != RG_OK)
        return rc;
    /* Those numbers will be given to new nodes: no stale vector may stay. */
    for (uint32_t v = n; v < g->n; v++)
        leann_cache_forget(&c->cache, v);
    g->n = n;
    c->renumber++;
    return RG_OK;
}

/* Moves up to *budget of the highest-numbered live nodes into the lowest
 * tombstones: list, flags, code and cached vector go to the new number
 * (c->src.moved: what is stored of it), and every list that named the old
 * one names the new one. */
static rg_status move_down(leann_coll *c, uint8_t *dirty, size_t *budget, rg_error *err)
{
    leann_graph *g = &c->graph;
    uint32_t lo = 0, hi = g->n, nm = 0;
    uint32_t *remap = NULL, *from = NULL, *to = NULL;
    size_t m = (size_t)c->pq.m;
    while (*budget > 0) {
        while (lo < hi && !(g->flags[lo] & LEANN_NODE_DELETED))
            lo++;
        while (hi > lo && (g->flags[hi - 1] & LEANN_NODE_DELETED))
            hi--;
        if (lo + 1 >= hi)
            break;
        uint32_t t = lo, v = hi - 1;
        if (!remap) {
            remap = rg_xmalloc((size_t)g->n * sizeof *remap);
            memset(remap, 0xff, (size_t)g->n * sizeof *remap);
            from = rg_xmalloc(*budget * sizeof *from);
            to = rg_xmalloc(*budget * sizeof *to);
        }
        remap[v] = t;
        from[nm] = v;
        to[nm++] = t;
        memcpy(leann_graph_nbrs(g, t), leann_graph_nbrs(g, v), sizeof(uint32_t) * g->deg[v]);
        g->deg[t] = g->deg[v];
        g->flags[t] = g->flags[v];
        g->flags[v] = LEANN_NODE_DELETED;
        g->deg[v] = 0;
        if (m)
            memcpy(c->codes + (size_t)t * m, c->codes + (size_t)v * m, m);
        if (g->entry == v)
            g->entry = t;
        leann_cache_rename(&c->cache, v, t);
        dirty[t] |= 1 | LEANN_DIRTY_CODE;
        dirty[v] |= 1;
        lo++;
        hi--;
        (*budget)--;
    }
    if (nm == 0)
        return RG_OK;
    for (uint32_t u = 0; u < g->n; u++) {
        if (g->flags[u] & LEANN_NODE_DELETED)
            continue;
        uint32_t *nb = leann_graph_nbrs(g, u);
        for (int i = 0; i < g->deg[u]; i++)
            if (remap[nb[i]] != LEANN_NONE) {
                nb[i] = remap[nb[i]];
                dirty[u] |= 1;
            }
    }
    free(remap);
    c->renumber++;
    rg_status rc = c->src.moved(c->src.ctx, from, to, nm, err);
    free(from);
    free(to);
    return rc;
}

/* Re-links up to *budget live nodes from the pass's cursor: their exact
 * vectors are recomputed a batch at a time (and cached, so the nodes
 * re-linked after them see exact vectors), then each gets a fresh
 * neighbour search and RobustPrune as a second Vamana pass would. */
static rg_status relink(leann_coll *c, uint8_t *dirty, size_t *budget, rg_error *err)
{
    leann_graph *g = &c->graph;
    size_t dim = (size_t)c->dim;
    uint32_t batch[LEANN_CONSOLIDATE_BATCH];
    float *vecs = NULL;
    rg_status rc = RG_OK;
    while (rc == RG_OK && *budget > 0 && c->consolidate_next >= 0 && (uint64_t)c->consolidate_next < g->n) {
        size_t nb = 0;
        uint32_t v = (uint32_t)c->consolidate_next;
        for (; v < g->n && nb < LEANN_CONSOLIDATE_BATCH && nb < *budget; v++)
            if (!(g->flags[v] & LEANN_NODE_DELETED))
                batch[nb++] = v;
        if (nb) {
            if (!vecs)
                vecs = rg_xmalloc(LEANN_CONSOLIDATE_BATCH * dim * sizeof(float));
            leann_progress(c, "consolidating the graph", c->consolidate_next, g->n);
            rc = leann_fetch_vectors(c, batch, nb, vecs, err);
            for (size_t i = 0; rc == RG_OK && i < nb; i++)
                leann_cache_put(&c->cache, batch[i], vecs + i * dim, (g->flags[batch[i]] & LEANN_NODE_HUB) != 0);
            for (size_t i = 0; rc == RG_OK && i < nb; i++) {
                leann_edit_space es;
                leann_edit_space_init(&es, c);
                leann_edit_space_put(&es, batch[i], vecs + i * dim);
                rc = leann_link_node(c, &es, batch[i], true, NULL, dirty, err);
                leann_edit_space_free(&es);
            }
        }
        if (rc == RG_OK) {
            *budget -= nb;
            c->consolidate_next = v;
        }
    }
    free(vecs);
    return rc;
}

rg_status leann_consolidate_step(leann_coll *c, int64_t live, size_t work, rg_error *err)
{
    leann_graph *g = &c->graph;
    if (c->pq.m == 0 || g->n == 0)
        return RG_OK;
    if (c->consolidate_next < 0 && c->changed >= LEANN_CONSOLIDATE_MIN_CHANGED &&
        (double)c->changed >= LEANN_CONSOLIDATE_CHANGED * (double)live) {
        c->consolidate_next = 0;
        c->changed = 0;
    }
    size_t budget = RG_MAX((size_t)LEANN_CONSOLIDATE_STEP, (size_t)LEANN_CONSOLIDATE_WORK * work);
    uint8_t *dirty = rg_xcalloc(g->n, 1);
    rg_status rc = move_down(c, dirty, &budget, err);
    /* Tombstones above the stored base's nodes (base_n) go now; those
     * inside it at the next checkpoint (c->src.save). */
    if (rc == RG_OK)
        rc = leann_drop_top_tombstones(c, c->base_n, err);
    if (rc == RG_OK)
        rc = relink(c, dirty, &budget, err);
    if (rc == RG_OK && c->consolidate_next >= (int64_t)g->n) {
        c->consolidate_next = -1;
        c->passes++;
    }
    bool any = false;
    for (uint32_t v = 0; v < g->n && !any; v++)
        any = dirty[v] != 0;
    if (rc == RG_OK && any) {
        leann_edit_space es;
        leann_edit_space_init(&es, c);
        leann_space sp = {leann_edit_space_vec, &es, c->dim, leann_edit_space_release};
        leann_graph_reconnect(g, &sp, dirty);
        leann_edit_space_free(&es);
    }
    if (rc == RG_OK)
        rc = c->src.save(c->src.ctx, any ? dirty : NULL, g->n, err);
    free(dirty);
    return rc;
}

rg_status leann_remove(leann_coll *c, const uint32_t *nodes, size_t n, rg_error *err)
{
    uint8_t *dirty = rg_xcalloc(c->graph.n ? c->graph.n : 1, 1);
    leann_graph_remove(c, nodes, n, dirty);
    rg_status rc = c->src.save(c->src.ctx, dirty, c->graph.n, err);
    free(dirty);
    if (rc == RG_OK)
        c->changed += (int64_t)n;
    return rc;
}

static void graph_progress(void *ctx, uint32_t done, uint32_t n)
{
    leann_progress(ctx, "building the graph", done, n);
}

/* Vectors of the new nodes nodes[0..cnt) (the store has renumbered):
 * the caller's (kidx: old node -> index in known_vecs, old: new -> old),
 * else cache, else recomputed. */
static rg_status new_node_vectors(leann_coll *c, const uint32_t *nodes, size_t cnt, const uint32_t *old,
                                  const uint32_t *kidx, uint32_t maxold, const float *known_vecs, float *out,
                                  rg_error *err)
{
    size_t dim = (size_t)c->dim;
    uint32_t miss[LEANN_STREAM_BLOCK];
    size_t mpos[LEANN_STREAM_BLOCK], nm = 0;
    float *mv = NULL;
    rg_status rc = RG_OK;
    for (size_t i = 0; rc == RG_OK && i <= cnt; i++) {
        if (i < cnt) {
            uint32_t o = old[nodes[i]];
            if (o <= maxold && kidx[o] != UINT32_MAX) {
                memcpy(out + i * dim, known_vecs + (size_t)kidx[o] * dim, dim * sizeof(float));
                continue;
            }
            miss[nm] = nodes[i];
            mpos[nm++] = i;
        }
        if (nm == LEANN_STREAM_BLOCK || (i == cnt && nm > 0)) {
            if (!mv)
                mv = rg_xmalloc(LEANN_STREAM_BLOCK * dim * sizeof(float));
            rc = leann_fetch_vectors(c, miss, nm, mv, err);
            for (size_t j = 0; rc == RG_OK && j < nm; j++)
                memcpy(out + mpos[j] * dim, mv + j * dim, dim * sizeof(float));
            nm = 0;
        }
    }
    free(mv);
    return rc;
}

/* The code size a build of n nodes trains. */
static int build_code_bytes(const leann_coll *c, size_t n)
{
    /* The automatic code size: coarse codes only for collections that are
     * scanned at this size; a walked one (live records above
     * scan_threshold) gets the walked shape, since its codes steer the walk
     * as well.  SciFact with the walk forced: recall@10 0.924 with 64-byte
     * codes, 0.941 with 128 (bench/leann/RESULTS-churn.md).  The last build
     * a growing collection gets before it outgrows the rebuilds' memory
     * bound (2n past it) trains the walked shape too: the collection grows
     * by insertion from then on, and coarse codes trained for a scan would
     * steer its walks and inserts. */
    int code_bytes = c->params.code_bytes;
    bool walked = (int64_t)n > c->params.scan_threshold || 2 * n > (size_t)leann_rebuild_max_nodes(c);
    if (code_bytes == 0 && c->params.code_bits != 4 && walked)
        code_bytes = leann_pq_default_m(c->dim, (size_t)LEANN_PQ_COARSE_MAX + 1);
    return code_bytes;
}

/* Fills the cache with vecs[i] of nodes[i] (i itself when nodes is NULL),
 * hubs first, so they win when it is too small for everyone. */
static void cache_fill(leann_coll *c, const uint32_t *nodes, const float *vecs, size_t n)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n && c->cache.used < c->cache.slots; i++) {
            uint32_t v = nodes ? nodes[i] : (uint32_t)i;
            bool hub = (c->graph.flags[v] & LEANN_NODE_HUB) != 0;
            if (hub == (pass == 0))
                leann_cache_put(&c->cache, v, vecs + i * (size_t)c->dim, hub);
        }
}

/* Graph and codes of n renumbered nodes holding at most `cap` vectors at a
 * time (the streaming rebuild; cap < n):
 *  1. a sample of cap nodes spread evenly over the numbering (so over the
 *     whole insertion history, not its first files) is recomputed; it
 *     trains the PQ codebooks and gets a full Vamana build;
 *  2. every other node, a block of LEANN_STREAM_BLOCK at a time in node
 *     order, is recomputed, encoded and inserted as an incremental add
 *     inserts (leann_link_node: PQ-steered search, RobustPrune, reverse
 *     edges), then its vectors go to the cache;
 *  3. stranded nodes are reconnected.
 * Memory: cap x dim x 4 bytes in step 1 (build_memory_mb), then one block
 * and the edit space of its inserts, plus the graph and codes of all n
 * nodes and the cache.  Every node is recomputed once. */
static rg_status stream_build(leann_coll *c, size_t n, uint32_t cap, const uint32_t *old, const uint32_t *kidx,
                              uint32_t maxold, const float *known_vecs, rg_error *err)
{
    size_t dim = (size_t)c->dim;
    leann_graph *g = &c->graph;
    uint32_t *sample = rg_xmalloc((size_t)cap * sizeof *sample);
    uint8_t *in_sample = rg_xcalloc(n, 1);
    for (uint32_t k = 0; k < cap; k++) {
        sample[k] = (uint32_t)((uint64_t)k * n / cap);
        in_sample[sample[k]] = 1;
    }
    float *svec = malloc((size_t)cap * dim * sizeof(float));
    if (!svec) {
        free(sample);
        free(in_sample);
        return rg_error_set(err, RG_ERR_NOMEM, "out of memory holding %u vectors for the rebuild", cap);
    }
    rg_status rc = RG_OK;
    for (uint32_t k = 0; rc == RG_OK && k < cap; k += LEANN_STREAM_BLOCK) {
        leann_progress(c, "recomputing embeddings of the sample", k, cap);
        size_t cnt = cap - k < LEANN_STREAM_BLOCK ? cap - k : LEANN_STREAM_BLOCK;
        rc = new_node_vectors(c, sample + k, cnt, old, kidx, maxold, known_vecs, svec + (size_t)k * dim, err);
    }
    if (rc == RG_OK) {
        leann_progress(c, "training the vector codes", 0, 0);
        rc = leann_pq_train(&c->pq, svec, cap, c->dim, build_code_bytes(c, n), c->params.code_bits, 0xc0de5, err);
    }
    if (rc == RG_OK) {
        leann_graph gs;
        leann_graph_init(&gs, c->params.graph_degree, c->params.pruned_degree);
        leann_progress(c, "building the graph of the sample", 0, cap);
        leann_graph_build_progress(&gs, svec, cap, c->dim, c->params.hub_fraction, 0x1ea22, graph_progress, c);
        leann_graph_reserve(g, (uint32_t)n);
        g->n = (uint32_t)n;
        memset(g->deg, 0, n * sizeof *g->deg);
        memset(g->flags, 0, n);
        for (uint32_t k = 0; k < cap; k++) {
            uint32_t v = sample[k];
            const uint32_t *sn = leann_graph_nbrs(&gs, k);
            uint32_t *nb = leann_graph_nbrs(g, v);
            for (int t = 0; t < gs.deg[k]; t++)
                nb[t] = sample[sn[t]];
            g->deg[v] = gs.deg[k];
            g->flags[v] = gs.flags[k];
        }
        g->entry = sample[gs.entry];
        leann_graph_free(&gs);
        leann_codes_reserve(c, (uint32_t)n);
        for (uint32_t k = 0; k < cap; k++)
            leann_pq_encode(&c->pq, svec + (size_t)k * dim, c->codes + (size_t)sample[k] * c->pq.m);
        leann_cache_clear(&c->cache);
        cache_fill(c, sample, svec, cap);
    }
    free(svec);
    free(sample);
    uint8_t *dirty = rc == RG_OK ? rg_xcalloc(n, 1) : NULL;
    float *bvec = rc == RG_OK ? rg_xmalloc(LEANN_STREAM_BLOCK * dim * sizeof(float)) : NULL;
    uint32_t block[LEANN_STREAM_BLOCK];
    for (size_t v = 0; rc == RG_OK && v < n;) {
        size_t nb = 0;
        for (; v < n && nb < LEANN_STREAM_BLOCK; v++)
            if (!in_sample[v])
                block[nb++] = (uint32_t)v;
        if (nb == 0)
            break;
        leann_progress(c, "inserting the rest into the graph", (int64_t)v, (int64_t)n);
        rc = new_node_vectors(c, block, nb, old, kidx, maxold, known_vecs, bvec, err);
        /* One edit space a block: the vectors it decodes for RobustPrune
         * are given back before the next. */
        leann_edit_space es;
        leann_edit_space_init(&es, c);
        for (size_t i = 0; rc == RG_OK && i < nb; i++)
            leann_edit_space_put(&es, block[i], bvec + i * dim);
        for (size_t i = 0; rc == RG_OK && i < nb; i++)
            rc = leann_link_node(c, &es, block[i], false, c->codes + (size_t)block[i] * c->pq.m, dirty, err);
        leann_edit_space_free(&es);
        for (size_t i = 0; rc == RG_OK && i < nb; i++)
            leann_cache_put(&c->cache, block[i], bvec + i * dim, false);
    }
    if (rc == RG_OK) {
        leann_edit_space es;
        leann_edit_space_init(&es, c);
        leann_space sp = {leann_edit_space_vec, &es, c->dim, leann_edit_space_release};
        leann_graph_reconnect(g, &sp, NULL);
        leann_edit_space_free(&es);
    }
    free(bvec);
    free(dirty);
    free(in_sample);
    return rc;
}

rg_status leann_rebuild(leann_coll *c, const uint32_t *known, const float *known_vecs, size_t nknown,
                        rg_error *err)
{
    size_t dim = (size_t)c->dim;
    uint32_t *old = NULL;
    size_t n = 0;
    int64_t *seqs = NULL;
    /* Live nodes in insertion order: the new numbering. */
    rg_status rc = c->src.live(c->src.ctx, &old, &seqs, &n, err);
    if (rc != RG_OK)
        return rc;
    /* Above the memory bound the graph is built streaming (stream_build),
     * after the store has renumbered; below it every vector is held. */
    uint32_t max_held = leann_rebuild_max_nodes(c);
    bool streaming = n > max_held;
    float *vecs = n && !streaming ? malloc(n * dim * sizeof(float)) : NULL;
    if (n && !streaming && !vecs) {
        free(old);
        free(seqs);
        return rg_error_set(err, RG_ERR_NOMEM, "out of memory rebuilding %zu records", n);
    }
    uint32_t maxold = 0;
    for (size_t i = 0; i < n; i++)
        if (old[i] > maxold)
            maxold = old[i];
    uint32_t *kidx = rg_xmalloc(((size_t)maxold + 1) * sizeof *kidx);
    memset(kidx, 0xff, ((size_t)maxold + 1) * sizeof *kidx);
    for (size_t i = 0; i < nknown; i++)
        if (known[i] <= maxold)
            kidx[known[i]] = (uint32_t)i;
    /* Vectors: given ones (the batch being added), else cache, else
     * recomputed in batches (under the old numbering, which the cache
     * uses). */
    if (!streaming) {
        uint32_t *batch = rg_xmalloc(256 * sizeof *batch);
        size_t *bpos = rg_xmalloc(256 * sizeof *bpos);
        float *bvec = rg_xmalloc(256 * dim * sizeof(float));
        size_t nb = 0;
        for (size_t i = 0; rc == RG_OK && i <= n; i++) {
            if (i < n) {
                if (kidx[old[i]] != UINT32_MAX) {
                    memcpy(vecs + i * dim, known_vecs + (size_t)kidx[old[i]] * dim, dim * sizeof(float));
                    continue;
                }
                batch[nb] = old[i];
                bpos[nb++] = i;
            }
            if (nb == 256 || (i == n && nb > 0)) {
                leann_progress(c, "recomputing embeddings for the rebuild", (int64_t)i, (int64_t)n);
                rc = leann_fetch_vectors(c, batch, nb, bvec, err);
                for (size_t j = 0; rc == RG_OK && j < nb; j++)
                    memcpy(vecs + bpos[j] * dim, bvec + j * dim, dim * sizeof(float));
                nb = 0;
            }
        }
        free(batch);
        free(bpos);
        free(bvec);
    }
    /* The store numbers what it keeps afresh (old[i] becomes node i) and
     * drops what it kept of the old graph. */
    if (rc == RG_OK)
        rc = c->src.renumber(c->src.ctx, old, seqs, n, err);

    if (rc == RG_OK) {
        leann_graph_free(&c->graph);
        leann_graph_init(&c->graph, c->params.graph_degree, c->params.pruned_degree);
        leann_pq_free(&c->pq);
        free(c->codes);
        c->codes = NULL;
        c->codes_cap = 0;
        if (streaming) {
            /* The cache is keyed by the old numbers. */
            leann_cache_clear(&c->cache);
            rc = stream_build(c, n, max_held, old, kidx, maxold, known_vecs, err);
        } else {
            leann_progress(c, "building the graph", 0, (int64_t)n);
            leann_graph_build_progress(&c->graph, vecs, (uint32_t)n, c->dim, c->params.hub_fraction, 0x1ea22,
                                       graph_progress, c);
            leann_progress(c, "training the vector codes", 0, 0);
            if (n) {
                rc = leann_pq_train(&c->pq, vecs, n, c->dim, build_code_bytes(c, n), c->params.code_bits, 0xc0de5,
                                    err);
                if (rc == RG_OK) {
                    leann_codes_reserve(c, (uint32_t)n);
                    for (size_t i = 0; i < n; i++)
                        leann_pq_encode(&c->pq, vecs + i * dim, c->codes + i * (size_t)c->pq.m);
                }
            } else {
                /* An empty collection has no codebook; the next add rebuilds. */
                c->pq.dim = c->dim;
            }
        }
    }
    free(kidx);
    if (rc == RG_OK) {
        c->built_n = (uint32_t)n;
        c->codes_n = (uint32_t)n;
        /* A fresh build: nothing left to consolidate. */
        c->consolidate_next = -1;
        c->changed = 0;
        c->renumber++;
        /* The store writes the new graph and codes whole (its new base)
         * and the counters. */
        rc = c->src.rebuilt(c->src.ctx, err);
    }
    if (rc == RG_OK && !streaming) {
        /* Node numbers changed: refill the cache with exact vectors, hubs
         * first so they win when it is too small for everyone.  (The
         * streaming build filled it as it went.) */
        leann_cache_clear(&c->cache);
        cache_fill(c, NULL, vecs, n);
    }
    free(vecs);
    free(old);
    free(seqs);
    return rc;
}
