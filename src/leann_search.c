/* Search in the leann backend, all in this file:
 *
 *  1. leann_beam_search: best-first traversal of the graph with a beam of
 *     width L (search_complexity).  Distances come from a callback: PQ codes
 *     (ADC look-ups) for queries, exact vectors while building.
 *  2. leann_query: the two-level search.  PQ distances steer the traversal;
 *     the most promising candidates (rerank_candidates) get their exact
 *     embeddings recomputed from their passages through the collection's
 *     embedder (batched; hub and recent ones come from the cache), are
 *     reranked and the k best are returned with exact cosine distances.
 *  3. Filtered queries: SQLite yields the matching set.  A small set is
 *     scored directly (PQ over the set, then exact rerank); a large one uses
 *     the graph, admitting only matching nodes as results; if the graph finds
 *     fewer than k, the set is scored directly, so a filtered query returns k
 *     hits whenever k records match. */
#include <stdlib.h>
#include <string.h>

#include "leann.h"
#include "util.h"

void leann_beam_search(const leann_graph *g, leann_dist_fn dist, void *ctx, int L, leann_visit *vs,
                       leann_cand **seen_out, size_t *nseen_out)
{
    *seen_out = NULL;
    *nseen_out = 0;
    if (g->entry == LEANN_NONE || g->n == 0)
        return;
    if (L < 1)
        L = 1;
    leann_visit_begin(vs, g->n);
    leann_cand *pool = rg_xmalloc(sizeof(leann_cand) * ((size_t)L + 1));
    uint8_t *expanded = rg_xcalloc((size_t)L + 1, 1);
    size_t seen_cap = (size_t)L * 8 + 64, nseen = 0;
    leann_cand *seen = rg_xmalloc(sizeof(leann_cand) * seen_cap);
    int np = 0;

    uint32_t e = g->entry;
    leann_visit_test_set(vs, e);
    float de = dist(ctx, e);
    pool[np++] = (leann_cand){de, e};
    seen[nseen++] = (leann_cand){de, e};

    int cur = 0;   /* first possibly unexpanded position */
    while (cur < np) {
        if (expanded[cur]) {
            cur++;
            continue;
        }
        expanded[cur] = 1;
        uint32_t v = pool[cur].node;
        const uint32_t *nb = leann_graph_nbrs(g, v);
        int d = g->deg[v];
        int lowest = np;   /* lowest position an insertion reached */
        for (int i = 0; i < d; i++) {
            uint32_t u = nb[i];
            if (u >= g->n || leann_visit_test_set(vs, u))
                continue;
            float du = dist(ctx, u);
            if (nseen == seen_cap) {
                seen_cap *= 2;
                seen = rg_xrealloc(seen, sizeof(leann_cand) * seen_cap);
            }
            seen[nseen++] = (leann_cand){du, u};
            if (np == L && du >= pool[np - 1].dist)
                continue;
            /* Sorted insert; the worst falls off a full beam. */
            int pos = np < L ? np : L - 1;
            while (pos > 0 && leann_cand_cmp(&pool[pos - 1], &(leann_cand){du, u}) > 0) {
                pool[pos] = pool[pos - 1];
                expanded[pos] = expanded[pos - 1];
                pos--;
            }
            pool[pos] = (leann_cand){du, u};
            expanded[pos] = 0;
            if (np < L)
                np++;
            if (pos < lowest)
                lowest = pos;
        }
        if (lowest < cur)
            cur = lowest;
    }
    qsort(seen, nseen, sizeof *seen, leann_cand_cmp);
    free(pool);
    free(expanded);
    *seen_out = seen;
    *nseen_out = nseen;
}
