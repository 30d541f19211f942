/* The leann graph file loader (graph.bin: header + CSR adjacency with delta
 * + varint ids).  Properties: refusal with a message, or a graph a search
 * can walk without leaving its arrays: every degree within max_degree,
 * every neighbour id and the entry point below n. */
#include "fuzz_leann.h"

/* Input: see fuzz_write_leann_file (fuzz_leann.h). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    char *path = fuzz_write_leann_file("graph.bin", LEANN_GRAPH_MAGIC, LEANN_FILE_ZSTD, data, size);
    leann_graph g;
    memset(&g, 0, sizeof g);
    rg_error err = {0};
    rg_status st = leann_graph_read(&g, path, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK) {
        FUZZ_CHECK(g.n <= g.cap || g.n == 0, "n %u over capacity %u", g.n, g.cap);
        FUZZ_CHECK(g.n == 0 || g.entry < g.n, "entry %u outside %u nodes", g.entry, g.n);
        for (uint32_t v = 0; v < g.n; v++) {
            FUZZ_CHECK(g.deg[v] <= g.max_degree, "node %u has degree %u over %d", v, g.deg[v], g.max_degree);
            const uint32_t *nb = leann_graph_nbrs(&g, v);
            for (int j = 0; j < g.deg[v]; j++)
                FUZZ_CHECK(nb[j] < g.n, "node %u neighbour %u outside %u nodes", v, nb[j], g.n);
        }
        /* A file that loads is written back and loads again the same. */
        char *path2 = rg_path_join(fuzz_dir(), "graph2.bin");
        int64_t bytes = 0;
        st = leann_graph_write(&g, path2, &bytes, &err);
        FUZZ_CHECK(st == RG_OK, "a loaded graph does not write: %s", err.msg);
        leann_graph h;
        memset(&h, 0, sizeof h);
        st = leann_graph_read(&h, path2, &err);
        FUZZ_CHECK(st == RG_OK, "a written graph does not load: %s", err.msg);
        FUZZ_CHECK(h.n == g.n && h.entry == g.entry, "round trip changed the graph");
        leann_graph_free(&h);
        free(path2);
    }
    leann_graph_free(&g);
    free(path);
    return 0;
}
