/* The leann graph file loader (graph.bin: header + CSR adjacency with delta
 * + varint ids).  Properties: refusal with a message, or a graph a search
 * can walk without leaving its arrays: every degree within max_degree,
 * every neighbour id and the entry point below n. */
#include "fuzz.h"
#include "leann.h"

/* Input: a mode byte, then either the whole file (mode bit 0 set) or the
 * payload only, to which a valid header with correct CRCs is added so the
 * mutations reach the payload parser instead of dying at the checksum;
 * mode bits 1 to 3 are then the header's flags (LEANN_CODES_INT8 1,
 * LEANN_CODES_PACK4 2, LEANN_FILE_ZSTD 4: a stored payload that starts
 * with its zstd section). */
static char *write_leann_file(const char *name, const char *magic, uint32_t allowed, const uint8_t *data,
                              size_t size)
{
    if (size < 1)
        return fuzz_write(name, "", 0);
    if (data[0] & 1)
        return fuzz_write(name, data + 1, size - 1);
    const uint8_t *pl = data + 1;
    size_t n = size - 1;
    uint8_t *f = rg_xmalloc(LEANN_HEADER_SIZE + n);
    memcpy(f, magic, 8);
    uint32_t v[2] = {LEANN_FORMAT_VERSION, (uint32_t)(data[0] >> 1) & allowed};
    for (int i = 0; i < 4; i++) {
        f[8 + i] = (uint8_t)(v[0] >> (8 * i));
        f[12 + i] = (uint8_t)(v[1] >> (8 * i));
    }
    for (int i = 0; i < 8; i++)
        f[16 + i] = (uint8_t)((uint64_t)n >> (8 * i));
    uint32_t crc = rg_crc32c(0, pl, n);
    for (int i = 0; i < 4; i++)
        f[24 + i] = (uint8_t)(crc >> (8 * i));
    uint32_t hcrc = rg_crc32c(0, f, 28);
    for (int i = 0; i < 4; i++)
        f[28 + i] = (uint8_t)(hcrc >> (8 * i));
    memcpy(f + LEANN_HEADER_SIZE, pl, n);
    char *path = fuzz_write(name, f, LEANN_HEADER_SIZE + n);
    free(f);
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    char *path = write_leann_file("graph.bin", LEANN_GRAPH_MAGIC, LEANN_FILE_ZSTD, data, size);
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
