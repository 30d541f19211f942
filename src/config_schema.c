/* Every configuration key ragged knows, its type, default, range and help.
 * docs/configuration.md is generated from this table (`ragged config
 * schema --format markdown`), so adding a key here documents it. */
#include "config.h"

#define NO_RANGE 0, 0

const rg_config_key rg_config_schema[] = {
    /* ---- vector store ---- */
    {"vectorstore.backend", RG_CFG_ENUM, "leann", "leann|chromadb|exact", NO_RANGE,
     "Backend that stores collections: leann (embedded, compact), chromadb (a ChromaDB server), "
     "exact (brute force over stored vectors; the test oracle)."},
    {"vectorstore.leann.persist_directory", RG_CFG_PATH, "$XDG_DATA_HOME/ragged/leann", NULL, NO_RANGE,
     "Directory holding leann collections (one sub-directory each)."},
    {"vectorstore.leann.graph_degree", RG_CFG_INT, "32", NULL, 4, 256,
     "Maximum neighbours per node before pruning (hub nodes keep this degree)."},
    {"vectorstore.leann.search_complexity", RG_CFG_INT, "1000", NULL, 1, 100000,
     "Beam width of the graph search: higher finds more of the true neighbours, slower; collections past "
     "24,576 records widen it in proportion to their size (at most 16 times, see docs/leann.md)."},
    {"vectorstore.leann.refine_beam", RG_CFG_INT, "-1", NULL, -1, 100000,
     "Beam of the exact-distance refinement that follows a graph walk's rerank (0: none; -1: automatic, "
     "100 with the builtin embedder, whose recomputes are cheap, none with a neural model; see docs/leann.md)."},
    {"vectorstore.leann.pruned_degree", RG_CFG_INT, "8", NULL, 2, 256,
     "Neighbours a non-hub node chooses (high-degree-preserving pruning; reverse edges can lengthen its list up to graph_degree)."},
    {"vectorstore.leann.hub_fraction", RG_CFG_FLOAT, "0.02", NULL, 0, 1,
     "Fraction of best-connected nodes that keep the full graph_degree."},
    {"vectorstore.leann.rerank_candidates", RG_CFG_INT, "0", NULL, 0, 100000,
     "Candidates recomputed exactly per query (0: adaptive, stops when the rest cannot plausibly reach the top k)."},
    {"vectorstore.leann.code_bytes", RG_CFG_INT, "0", NULL, 0, 4096,
     "Bytes of PQ code a node for collections built from now on (0: automatic, see docs/leann.md); "
     "fewer bytes: a smaller index, coarser search steering, more exact recomputation per query."},
    {"vectorstore.leann.code_bits", RG_CFG_ENUM, "auto", "auto|4|8", NO_RANGE,
     "Bits a PQ sub-quantiser code has for collections built from now on: 4 (16 centroids, two codes a "
     "byte, cheaper training) or 8 (256 centroids); auto: the measured default."},
    {"vectorstore.leann.scan_threshold", RG_CFG_INT, "16384", NULL, 0, 100000000,
     "Collections with at most this many records are searched by scanning every PQ code instead of walking "
     "the graph (cheaper and more exact at that size); 0: always walk the graph."},
    {"vectorstore.leann.cache_mb", RG_CFG_INT, "64", NULL, 0, 65536,
     "Memory for cached embeddings of hub nodes and recently recomputed passages."},
    {"vectorstore.leann.build_memory_mb", RG_CFG_INT, "64", NULL, 1, 65536,
     "Memory for the embeddings a full graph build holds: collections whose vectors fit are rebuilt at once "
     "when they double, larger ones grow by insertion and `collections compact` rebuilds them a block at a time."},
    {"vectorstore.exact.persist_directory", RG_CFG_PATH, "$XDG_DATA_HOME/ragged/exact", NULL, NO_RANGE,
     "Directory holding exact collections."},
    {"vectorstore.chromadb.url", RG_CFG_STRING, "http://127.0.0.1:8000", NULL, NO_RANGE,
     "Base URL of the ChromaDB server (scheme, host, port)."},
    {"vectorstore.chromadb.tenant", RG_CFG_STRING, "default_tenant", NULL, NO_RANGE, "ChromaDB tenant."},
    {"vectorstore.chromadb.database", RG_CFG_STRING, "default_database", NULL, NO_RANGE, "ChromaDB database."},
    {"vectorstore.chromadb.auth_token_env", RG_CFG_STRING, "", NULL, NO_RANGE,
     "Name of the environment variable holding the ChromaDB auth token (the token itself never goes in a file)."},
    {"vectorstore.chromadb.auth_token_over_http", RG_CFG_BOOL, "false", NULL, NO_RANGE,
     "Send the auth token over plain http:// to a host that is not this machine (otherwise refused: use https://)."},
    {"vectorstore.chromadb.timeout_ms", RG_CFG_INT, "30000", NULL, 100, 3600000, "Per-request timeout."},
    {"vectorstore.chromadb.persist_directory", RG_CFG_PATH, "", NULL, NO_RANGE,
     "The server's --path when it runs on this machine (lets `backend stats` report bytes on disk)."},
    {"vectorstore.chromadb.tls_verify", RG_CFG_BOOL, "true", NULL, NO_RANGE,
     "Verify TLS certificates (turning this off warns at every connect)."},

    /* ---- embedding ---- */
    {"embedding.provider", RG_CFG_ENUM, "builtin", "builtin|bert|ollama|openai", NO_RANGE,
     "Embedder: builtin (model-free, no download), bert (native engine, local sentence-transformers "
     "directory), ollama or openai (an embedding server)."},
    {"embedding.model", RG_CFG_STRING, "", NULL, NO_RANGE,
     "bert: path of the model directory; ollama/openai: model name."},
    {"embedding.dimension", RG_CFG_INT, "1024", NULL, 16, 8192,
     "builtin: vector dimension (more dimensions, fewer hashing collisions: SciFact nDCG@10 0.44 at 384, 0.53 at "
     "1024, 0.55 at 2048)."},
    {"embedding.threads", RG_CFG_INT, "0", NULL, 0, 1024, "Threads for embedding (0: all cores)."},
    {"embedding.batch_size", RG_CFG_INT, "32", NULL, 1, 4096, "Texts per embedding batch."},
    {"embedding.precision", RG_CFG_ENUM, "fp32", "fp32|int8", NO_RANGE, "bert: weight precision."},
    {"embedding.query_prefix", RG_CFG_STRING, "", NULL, NO_RANGE, "Text prepended to queries (bge-style models)."},
    {"embedding.document_prefix", RG_CFG_STRING, "", NULL, NO_RANGE, "Text prepended to passages."},
    {"embedding.url", RG_CFG_STRING, "", NULL, NO_RANGE,
     "ollama/openai: server base URL (default http://127.0.0.1:11434 for ollama)."},
    {"embedding.api_key_env", RG_CFG_STRING, "", NULL, NO_RANGE,
     "ollama/openai: name of the environment variable holding the API key."},
    {"embedding.api_key_over_http", RG_CFG_BOOL, "false", NULL, NO_RANGE,
     "ollama/openai: send the API key over plain http:// to a host that is not this machine (otherwise refused: "
     "use https://)."},
    {"embedding.timeout_ms", RG_CFG_INT, "60000", NULL, 100, 3600000, "ollama/openai: per-request timeout."},

    /* ---- chunking ---- */
    {"chunking.size", RG_CFG_INT, "256", NULL, 16, 100000,
     "Target chunk length in embedder tokens (capped at what the embedder can read)."},
    {"chunking.overlap", RG_CFG_INT, "32", NULL, 0, 100000, "Tokens shared by consecutive chunks."},

    /* ---- ingest ---- */
    {"ingest.max_file_mb", RG_CFG_INT, "64", NULL, 1, 65536, "Files larger than this are skipped with a warning."},
    {"ingest.max_chunks_per_file", RG_CFG_INT, "20000", NULL, 1, 10000000,
     "A file producing more chunks is truncated with a warning."},

    /* ---- retrieval ---- */
    {"retrieval.k", RG_CFG_INT, "5", NULL, 1, 10000, "Passages returned by a query."},
    {"retrieval.mode", RG_CFG_ENUM, "hybrid", "vector|bm25|hybrid", NO_RANGE,
     "vector search, lexical BM25, or both fused."},
    {"retrieval.rrf_k", RG_CFG_INT, "60", NULL, 1, 100000, "Reciprocal rank fusion constant."},
    {"retrieval.vector_weight", RG_CFG_FLOAT, "0.1", NULL, 0, 1000,
     "Weight of the vector side in fusion (0.1 suits the builtin embedder; a neural embedder deserves more)."},
    {"retrieval.bm25_weight", RG_CFG_FLOAT, "0.9", NULL, 0, 1000, "Weight of the BM25 side in fusion."},
    {"retrieval.fusion", RG_CFG_ENUM, "score", "rrf|score", NO_RANGE,
     "How hybrid mode fuses the two rankings: rrf (reciprocal rank fusion, weight / (rrf_k + rank)) or score "
     "(min-max normalised scores, weighted sum)."},
    {"retrieval.candidates", RG_CFG_INT, "100", NULL, 1, 100000,
     "Passages each side (vector, BM25) contributes to hybrid fusion (at least k)."},
    {"retrieval.bm25_k1", RG_CFG_FLOAT, "1.2", NULL, 0, 100, "BM25 term-frequency saturation."},
    {"retrieval.bm25_b", RG_CFG_FLOAT, "0.75", NULL, 0, 1, "BM25 document-length normalisation."},
    {"retrieval.bm25_stemmer", RG_CFG_ENUM, "porter", "english|porter|none", NO_RANGE,
     "Stemmer of the BM25 index: english (Snowball), porter (original Porter, as FTS5's porter tokenizer), none. "
     "Changing it rebuilds the index on next use."},
    {"retrieval.rerank.model", RG_CFG_STRING, "", NULL, NO_RANGE,
     "Reranker: a sentence-transformers CrossEncoder directory (provider bert) or the server's model name "
     "(provider openai); empty: no reranking. See docs/retrieval.md."},
    {"retrieval.rerank.provider", RG_CFG_ENUM, "bert", "bert|openai", NO_RANGE,
     "Reranker provider: bert (native cross-encoder) or openai (a server's POST /v1/rerank)."},
    {"retrieval.rerank.top_n", RG_CFG_INT, "50", NULL, 1, 10000,
     "Best first-stage passages the reranker rescores (at least k)."},
    {"retrieval.rerank.precision", RG_CFG_ENUM, "bf16", "fp32|int8|bf16", NO_RANGE,
     "bert reranker: weight precision (bf16 runs on AMX-BF16 CPUs and as fp32 elsewhere; int8 is faster but "
     "reorders more; see docs/retrieval.md for their rank agreement)."},
    {"retrieval.rerank.batch_size", RG_CFG_INT, "16", NULL, 1, 4096, "bert reranker: pairs per forward pass."},
    {"retrieval.rerank.url", RG_CFG_STRING, "", NULL, NO_RANGE, "openai reranker: server base URL."},
    {"retrieval.rerank.api_key_env", RG_CFG_STRING, "", NULL, NO_RANGE,
     "openai reranker: name of the environment variable holding the API key."},
    {"retrieval.rerank.timeout_ms", RG_CFG_INT, "60000", NULL, 100, 3600000, "openai reranker: request timeout."},
    {"retrieval.lexical_directory", RG_CFG_PATH, "$XDG_DATA_HOME/ragged/lexical", NULL, NO_RANGE,
     "Where BM25 indexes of chromadb collections live (exact and leann keep theirs in PERSIST_DIR/.lexical)."},

    /* ---- answers ---- */
    {"llm.provider", RG_CFG_ENUM, "none", "none|ollama|openai", NO_RANGE, "LLM used by `query --answer`."},
    {"llm.url", RG_CFG_STRING, "", NULL, NO_RANGE, "LLM server base URL."},
    {"llm.model", RG_CFG_STRING, "", NULL, NO_RANGE, "LLM model name."},
    {"llm.api_key_env", RG_CFG_STRING, "", NULL, NO_RANGE, "Name of the environment variable holding the LLM API key."},
    {"llm.api_key_over_http", RG_CFG_BOOL, "false", NULL, NO_RANGE,
     "Send the LLM API key over plain http:// to a host that is not this machine (otherwise refused: use https://)."},
    {"llm.timeout_ms", RG_CFG_INT, "120000", NULL, 100, 3600000, "LLM request timeout."},
    {"llm.context_tokens", RG_CFG_INT, "4096", NULL, 256, 10000000, "Context window the prompt must fit."},
    {"llm.answer_tokens", RG_CFG_INT, "512", NULL, 16, 1000000,
     "Tokens reserved for the answer (the prompt gets context_tokens minus this; also the server's limit on "
     "the answer's length)."},
    {"llm.temperature", RG_CFG_FLOAT, "0.2", NULL, 0, 2, "Sampling temperature."},

    /* ---- server (ragged serve) ---- */
    {"serve.token_env", RG_CFG_STRING, "", NULL, NO_RANGE,
     "Name of the environment variable holding the bearer token `ragged serve` requires (clients send "
     "'Authorization: Bearer TOKEN'); needed to listen on anything but loopback."},

    {NULL, 0, NULL, NULL, 0, 0, NULL}
};
