// Reads a collection with the official chromadb JavaScript client and prints
// it as JSON on stdout: {name, metadata, records: [{id, document, metadata,
// embedding}]} sorted by id.  Used by tests/unit/test_chromadb.c to check that
// collections ragged writes are ordinary Chroma collections.
//
//   node tests/interop/chroma_read.cjs URL COLLECTION
// The client is loaded from the pinned install (RAGGED_CHROMA_DEPS, default
// .deps/chroma), the same one scripts/chroma-server.sh runs.
"use strict";
const path = require("path");
const { createRequire } = require("module");

async function main() {
    const [url, name] = process.argv.slice(2);
    if (!url || !name) {
        console.error("usage: chroma_read.cjs URL COLLECTION");
        process.exit(2);
    }
    const deps = process.env.RAGGED_CHROMA_DEPS || path.join(__dirname, "..", "..", ".deps", "chroma");
    const req = createRequire(path.join(path.resolve(deps), "package.json"));
    const { ChromaClient } = req("chromadb");
    const fs = require("fs");
    const version = JSON.parse(fs.readFileSync(path.join(path.resolve(deps), "node_modules", "chromadb", "package.json"), "utf8")).version;
    const u = new URL(url);
    const client = new ChromaClient({ host: u.hostname, port: Number(u.port), ssl: u.protocol === "https:" });
    // No embedding function: ragged computed the vectors; we only read them.
    const coll = await client.getCollection({ name, embeddingFunction: { generate: async () => { throw new Error("not used"); } } });
    const got = await coll.get({ include: ["documents", "metadatas", "embeddings"] });
    const records = got.ids.map((id, i) => ({
        id,
        document: got.documents[i] ?? null,
        metadata: got.metadatas[i] ?? null,
        embedding: got.embeddings[i] ? Array.from(got.embeddings[i]) : null,
    }));
    records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const count = await coll.count();
    process.stdout.write(JSON.stringify({ client_version: version, name: coll.name, metadata: coll.metadata, count, records }) + "\n");
}

main().catch((e) => {
    console.error("chroma_read: " + (e && e.stack ? e.stack : e));
    process.exit(1);
});
