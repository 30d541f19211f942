/* BM25 over the lexical sidecar: ranking on a hand-made corpus checked
 * against the formula computed here, filters, and the sidecar catching up
 * after it is deleted, replaced by a stale copy or left with a journal
 * entry.  Runs for every backend that can be opened here. */
#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#include "analyzer.h"
#include "contract.h"
#include "lexical.h"
#include "test.h"
#include "util.h"

#define DIM 32

static const char *const DOCS[][3] = {
    /* id, text, lang */
    {"d1", "The cat sat on the mat.", "en"},
    {"d2", "Dogs and cats are popular pets.", "en"},
    {"d3", "Stock market prices fell sharply today.", "en"},
    {"d4", "Cat food: the cat eats, the cats sleep.", "en"},
    {"d5", "Le chat dort sur le tapis.", "fr"},
    {"d6", "Market report: cats, dogs and prices of pet food.", "fr"},
};
#define NDOCS (sizeof DOCS / sizeof DOCS[0])

static bool add_docs(contract_env *env, rg_collection *c, size_t from, size_t to)
{
    rg_error err;
    rg_record recs[NDOCS] = {{0}};
    float vecs[NDOCS][DIM];
    json_t *meta[NDOCS];
    size_t n = 0;
    for (size_t i = from; i < to; i++, n++) {
        const char *t[1] = {DOCS[i][1]};
        rg_embedder_embed(env->emb, t, 1, RG_EMBED_DOCUMENT, vecs[n], &err);
        meta[n] = json_pack("{s:s, s:I}", "lang", DOCS[i][2], "num", (json_int_t)i);
        recs[n] = (rg_record){(char *)DOCS[i][0], (char *)DOCS[i][1], meta[n], vecs[n], false};
    }
    rg_status rc = rg_collection_upsert(c, recs, n, &err);
    for (size_t i = 0; i < n; i++)
        json_decref(meta[i]);
    if (rc != RG_OK)
        fprintf(stderr, "    upsert: %s\n", err.msg);
    return rc == RG_OK;
}

static rg_collection *fresh(contract_env *env, const char *stem)
{
    char name[64];
    contract_collection_name(name, sizeof name, stem);
    rg_error err;
    rg_store_delete_collection(env->store, name, &err);
    rg_collection *c = NULL;
    if (rg_collection_open(env->store, name, env->emb, true, &c, &err) != RG_OK) {
        fprintf(stderr, "    open %s: %s\n", name, err.msg);
        return NULL;
    }
    return c;
}

static rg_collection *reopen(contract_env *env, rg_collection *c)
{
    char *name = rg_xstrdup(rg_collection_name(c));
    rg_collection_close(c);
    rg_error err;
    rg_collection *o = NULL;
    if (rg_collection_open(env->store, name, env->emb, false, &o, &err) != RG_OK)
        fprintf(stderr, "    reopen %s: %s\n", name, err.msg);
    free(name);
    return o;
}

static bool search(rg_collection *c, const char *q, const rg_filter *where, rg_hits *h)
{
    rg_error err;
    rg_hits_init(h);
    rg_query_opts o = {.k = 10, .where = where, .include = RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS};
    if (rg_collection_query_lexical(c, q, &o, h, &err) != RG_OK) {
        fprintf(stderr, "    lexical query: %s\n", err.msg);
        return false;
    }
    return true;
}

/* A query on an index out of step: refused with the message naming the
 * fix, and nothing written (a query never rebuilds: issue 17). */
/* The index's state: journal entries, manifest, segment files ("" when
 * there is no index). */
static char *index_state(const char *path)
{
    rg_buf b;
    rg_buf_init(&b);
    char *dir = rg_xasprintf("%s.bm25", path);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strstr(e->d_name, ".seg")) {
            rg_buf_append(&b, e->d_name, strlen(e->d_name));
            rg_buf_append(&b, "\n", 1);
        }
    if (d)
        closedir(d);
    char *db_path = rg_xasprintf("%s/index.sqlite", dir);
    sqlite3 *db = NULL;
    if (d && sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        static const char *const sql[] = {"SELECT count(*) FROM journal", "SELECT hex(data) FROM manifest"};
        for (size_t i = 0; i < 2; i++) {
            sqlite3_stmt *st = NULL;
            if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
                const char *t = (const char *)sqlite3_column_text(st, 0);
                rg_buf_append(&b, t ? t : "", t ? strlen(t) : 0);
                rg_buf_append(&b, "\n", 1);
            }
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(db);
    free(db_path);
    free(dir);
    rg_buf_append(&b, "", 1);
    return b.data;
}

static bool refused(rg_collection *c, const char *q, const char *path)
{
    char *before = index_state(path);
    rg_error err;
    rg_hits h;
    rg_hits_init(&h);
    rg_query_opts o = {.k = 10};
    rg_status rc = rg_collection_query_lexical(c, q, &o, &h, &err);
    rg_hits_free(&h);
    if (rc != RG_ERR_MISMATCH || !strstr(err.msg, "collections reindex")) {
        fprintf(stderr, "    not refused (%d): %s\n", (int)rc, rc ? err.msg : "answered");
        return false;
    }
    char *after = index_state(path);
    bool same = !strcmp(before, after);
    if (!same)
        fprintf(stderr, "    the query changed the index:\n%s\n---\n%s\n", before, after);
    free(before);
    free(after);
    return same;
}

static bool has(const rg_hits *h, const char *id)
{
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->items[i].id, id))
            return true;
    return false;
}

static char *sidecar_path(contract_env *env, rg_collection *c)
{
    char key[64];
    snprintf(key, sizeof key, "vectorstore.%s.persist_directory", env->backend);
    char *dir = rg_path_join(rg_config_str(env->cfg, key), ".lexical");
    char *p = rg_path_join(dir, rg_collection_name(c));   /* the index's files start with it */
    free(dir);
    return p;
}

/* Hand-computed BM25 (k1 1.2, b 0.75, Lucene's IDF) of one document for a
 * query, from the analysed term lists. */
static double bm25_oracle(rg_analyzer *an, const char *query, size_t doc, size_t ndocs)
{
    rg_buf qb, db;
    rg_buf_init(&qb);
    rg_buf_init(&db);
    rg_analyzer_terms(an, query, &qb);
    size_t total = 0, len_doc = 0;
    double score = 0;
    char **terms[NDOCS];
    size_t nterms[NDOCS];
    for (size_t d = 0; d < ndocs; d++) {
        db.len = 0;
        rg_analyzer_terms(an, DOCS[d][1], &db);
        terms[d] = NULL;
        nterms[d] = 0;
        for (char *t = strtok(db.data, " "); t; t = strtok(NULL, " ")) {
            terms[d] = rg_xrealloc(terms[d], (nterms[d] + 1) * sizeof(char *));
            terms[d][nterms[d]++] = rg_xstrdup(t);
        }
        total += nterms[d];
    }
    len_doc = nterms[doc];
    double avgdl = (double)total / (double)ndocs;
    char *save = NULL;
    for (char *q = strtok_r(qb.data, " ", &save); q; q = strtok_r(NULL, " ", &save)) {
        size_t df = 0, tf = 0;
        for (size_t d = 0; d < ndocs; d++) {
            bool in = false;
            for (size_t i = 0; i < nterms[d]; i++)
                if (!strcmp(terms[d][i], q)) {
                    in = true;
                    if (d == doc)
                        tf++;
                }
            df += in;
        }
        double idf = log(1.0 + ((double)ndocs - (double)df + 0.5) / ((double)df + 0.5));
        score += idf * (double)tf * 2.2 / ((double)tf + 1.2 * (0.25 + 0.75 * (double)len_doc / avgdl));
    }
    for (size_t d = 0; d < ndocs; d++) {
        for (size_t i = 0; i < nterms[d]; i++)
            free(terms[d][i]);
        free(terms[d]);
    }
    rg_buf_free(&qb);
    rg_buf_free(&db);
    return score;
}

#define FOR_EACH_BACKEND                                                                           \
    for (const char *const *bn_ = rg_store_backend_names(); *bn_; bn_++)                           \
        for (contract_env env, *once_ = contract_env_open(&env, *bn_, DIM) ? &env : NULL; once_;    \
             contract_env_close(&env), once_ = NULL)

TEST(lexical_bm25_ranks_hand_corpus)
{
    FOR_EACH_BACKEND
    {
        fprintf(stderr, "    [%s]\n", env.backend);
        rg_collection *c = fresh(&env, "lexrank");
        CHECK(c);
        CHECK(add_docs(&env, c, 0, NDOCS));
        rg_hits h;
        CHECK(search(c, "Which cats eat cat food?", NULL, &h));
        /* Stemming: "cats" finds "cat"; d4 says cat three times and food. */
        CHECK(h.n == 4);
        CHECK_EQ_STR(h.items[0].id, "d4");
        CHECK(has(&h, "d1") && has(&h, "d2") && has(&h, "d6"));
        CHECK(!has(&h, "d3") && !has(&h, "d5"));
        CHECK(h.items[0].document && strstr(h.items[0].document, "Cat food"));
        CHECK(json_object_get(h.items[0].metadata, "lang"));
        rg_analyzer *an;
        rg_error err;
        CHECK_OK(rg_analyzer_new(rg_config_str(env.cfg, "retrieval.bm25_stemmer"), &an, &err), &err);
        for (size_t i = 0; i < h.n; i++) {
            size_t d = (size_t)(h.items[i].id[1] - '1');
            double want = bm25_oracle(an, "Which cats eat cat food?", d, NDOCS);
            CHECK_MSG(fabs(-h.items[i].distance - want) < 1e-4, "%s: bm25 %f, expected %f", h.items[i].id,
                      -h.items[i].distance, want);
            if (i)
                CHECK(h.items[i - 1].distance <= h.items[i].distance);
        }
        rg_analyzer_free(an);
        rg_hits_free(&h);
        /* Nothing searchable: no hits, no error. */
        CHECK(search(c, "the of and", NULL, &h));
        CHECK_EQ_INT(h.n, 0);
        rg_hits_free(&h);
        rg_collection_close(c);
    }
}

/* Issue 21 item 8: a query of a pasted document took seconds (one FTS5
 * phrase per query word, each walked for every matching row).  Past the
 * limit it is a clear invalid-input error; at the limit, with thousands of
 * distinct and repeated words, it answers and ranks like the short query
 * made of its distinct words (repetitions only weight them). */
TEST(lexical_long_query_bounded)
{
    FOR_EACH_BACKEND
    {
        fprintf(stderr, "    [%s]\n", env.backend);
        rg_collection *c = fresh(&env, "lexlong");
        CHECK(c);
        CHECK(add_docs(&env, c, 0, NDOCS));
        rg_buf q;
        rg_buf_init(&q);
        for (unsigned i = 0; q.len < RG_LEXICAL_QUERY_MAX - 64; i++)
            rg_buf_printf(&q, "w%uq cat ", i * 7919u % 100000u);
        rg_hits h;
        CHECK(search(c, q.data, NULL, &h));
        CHECK(h.n == 4);
        CHECK_EQ_STR(h.items[0].id, "d4");
        rg_hits_free(&h);
        while (q.len <= RG_LEXICAL_QUERY_MAX)
            rg_buf_puts(&q, "cat ");
        rg_error err;
        rg_hits_init(&h);
        rg_query_opts o = {.k = 10};
        CHECK(rg_collection_query_lexical(c, q.data, &o, &h, &err) == RG_ERR_INVALID);
        CHECK(strstr(err.msg, "at most 16384 bytes") != NULL);
        CHECK_EQ_INT(h.n, 0);
        rg_hits_free(&h);
        rg_buf_free(&q);
        rg_collection_close(c);
    }
}

TEST(lexical_filters_apply)
{
    FOR_EACH_BACKEND
    {
        fprintf(stderr, "    [%s]\n", env.backend);
        rg_collection *c = fresh(&env, "lexfilter");
        CHECK(c);
        CHECK(add_docs(&env, c, 0, NDOCS));
        rg_filter *f;
        rg_error err;
        CHECK_OK(rg_filter_parse("{\"lang\": \"fr\"}", &f, &err), &err);
        rg_hits h;
        CHECK(search(c, "cats and dogs", f, &h));
        CHECK_EQ_INT(h.n, 1);
        CHECK_EQ_STR(h.items[0].id, "d6");
        rg_hits_free(&h);
        rg_filter_free(f);
        CHECK_OK(rg_filter_parse("{\"$and\": [{\"lang\": \"en\"}, {\"num\": {\"$gte\": 2}}]}", &f, &err), &err);
        CHECK(search(c, "cats and dogs", f, &h));
        CHECK_EQ_INT(h.n, 1);
        CHECK_EQ_STR(h.items[0].id, "d4");
        rg_hits_free(&h);
        rg_filter_free(f);
        /* A delete by filter keeps the sidecar in step. */
        CHECK_OK(rg_filter_parse("{\"lang\": \"fr\"}", &f, &err), &err);
        size_t deleted = 0;
        CHECK_OK(rg_collection_delete(c, NULL, 0, f, &deleted, &err), &err);
        CHECK_EQ_INT(deleted, 2);
        rg_filter_free(f);
        CHECK(search(c, "market prices", NULL, &h));
        CHECK_EQ_INT(h.n, 1);
        CHECK_EQ_STR(h.items[0].id, "d3");
        rg_hits_free(&h);
        /* Upsert replaces the text. */
        rg_record r = {(char *)"d3", (char *)"Glaciers melt in summer.", NULL, NULL, false};
        float v[DIM];
        const char *t[1] = {r.document};
        rg_embedder_embed(env.emb, t, 1, RG_EMBED_DOCUMENT, v, &err);
        r.embedding = v;
        CHECK_OK(rg_collection_upsert(c, &r, 1, &err), &err);
        CHECK(search(c, "market prices", NULL, &h));
        CHECK_EQ_INT(h.n, 0);
        rg_hits_free(&h);
        CHECK(search(c, "glacier", NULL, &h));
        CHECK_EQ_INT(h.n, 1);
        rg_hits_free(&h);
        rg_collection_close(c);
    }
}

TEST(lexical_sidecar_catches_up)
{
    FOR_EACH_BACKEND
    {
        fprintf(stderr, "    [%s]\n", env.backend);
        if (!strcmp(env.backend, "chromadb"))
            continue; /* its sidecar lives elsewhere; covered by the other tests */
        rg_collection *c = fresh(&env, "lexsync");
        CHECK(c);
        CHECK(add_docs(&env, c, 0, 3));
        char *path = sidecar_path(&env, c);
        char cname[64];
        snprintf(cname, sizeof cname, "%s", rg_collection_name(c));
        CHECK((rg_lexical_bytes(path) > 0));
        rg_hits h;
        rg_error err;

        /* 1. Deleted index: a query refuses (and creates nothing);
         * reindex rebuilds it from the backend. */
        c = reopen(&env, c);
        CHECK(c);
        rg_lexical_remove_files(path);
        CHECK(refused(c, "cat", path));
        CHECK(!(rg_lexical_bytes(path) > 0));
        bool converted = true;
        int64_t nrec = 0;
        CHECK_OK(rg_collection_lexical_reindex(c, &converted, &nrec, &err), &err);
        CHECK(!converted);
        CHECK_EQ_INT(nrec, 3);
        CHECK(search(c, "cat", NULL, &h));
        CHECK_EQ_INT(h.n, 2);
        rg_hits_free(&h);
        CHECK((rg_lexical_bytes(path) > 0));

        /* 2. Stale copy (as if another tool wrote records meanwhile): the
         * record counts differ; a query refuses, the write side's catch-up
         * (what every write and the end of ingest run) rebuilds it. */
        c = reopen(&env, c);
        CHECK(c);
        rg_collection_close(c);
        char *cmd = rg_xasprintf("rm -rf '%s.stale' && cp -a '%s.bm25' '%s.stale'", path, path, path);
        CHECK(system(cmd) == 0);
        free(cmd);
        c = NULL;
        CHECK_OK(rg_collection_open(env.store, cname, env.emb, false, &c, &err), &err);
        CHECK(add_docs(&env, c, 3, NDOCS));
        rg_collection_close(c);
        rg_lexical_remove_files(path);
        cmd = rg_xasprintf("mv '%s.stale' '%s.bm25'", path, path);
        CHECK(system(cmd) == 0);
        free(cmd);
        CHECK_OK(rg_collection_open(env.store, cname, env.emb, false, &c, &err), &err);
        CHECK(refused(c, "cat", path));
        CHECK_OK(rg_collection_lexical_sync(c, &err), &err);
        CHECK(search(c, "cat", NULL, &h));
        CHECK_EQ_INT(h.n, 4); /* d1, d2 and the later d4, d6 */
        rg_hits_free(&h);

        /* 3. A journal entry left by a writer that died between the backend
         * write and the index update: a query refuses; the write side
         * replays it from the backend. */
        c = reopen(&env, c);
        CHECK(c);
        {
            rg_lexical_params p = {"", 1.2, 0.75};
            snprintf(p.stemmer, sizeof p.stemmer, "%s", rg_config_str(env.cfg, "retrieval.bm25_stemmer"));
            rg_lexical *lx;
            CHECK_OK(rg_lexical_open(path, &p, &lx, &err), &err);
            const char *ids[1] = {"d4"};
            int64_t op1, op2;
            CHECK_OK(rg_lexical_begin(lx, ids, 1, &op1, &err), &err);
            rg_lexical_end(lx); /* "crash": op1 stays */
            /* Make the sidecar wrong about d4 without touching the count:
             * replace its text. */
            CHECK_OK(rg_lexical_begin(lx, ids, 1, &op2, &err), &err);
            rg_record r = {(char *)"d4", (char *)"nothing relevant here", NULL, NULL, false};
            CHECK_OK(rg_lexical_put(lx, op2, &r, 1, &err), &err);
            rg_lexical_end(lx);
            rg_lexical_close(lx);
        }
        CHECK(refused(c, "cat food", path));
        CHECK_OK(rg_collection_lexical_sync(c, &err), &err);
        CHECK(search(c, "cat food", NULL, &h));
        CHECK(has(&h, "d4"));
        CHECK_EQ_STR(h.items[0].id, "d4");
        rg_hits_free(&h);

        /* 4. Rename moves (or drops) the sidecar; delete removes it. */
        char *name = rg_xstrdup(rg_collection_name(c));
        rg_collection_close(c);
        char to[64];
        contract_collection_name(to, sizeof to, "lexsync2");
        rg_store_delete_collection(env.store, to, &err);
        CHECK_OK(rg_store_rename_collection(env.store, name, to, &err), &err);
        CHECK(!(rg_lexical_bytes(path) > 0));
        CHECK_OK(rg_collection_open(env.store, to, env.emb, false, &c, &err), &err);
        CHECK(search(c, "cat", NULL, &h));
        CHECK_EQ_INT(h.n, 4);
        rg_hits_free(&h);
        char *path2 = sidecar_path(&env, c);
        rg_collection_close(c);
        CHECK_OK(rg_store_delete_collection(env.store, to, &err), &err);
        CHECK(!(rg_lexical_bytes(path2) > 0));
        free(path2);
        free(name);
        free(path);
    }
}

TEST(analyzer_terms)
{
    rg_analyzer *an;
    rg_error err;
    CHECK_OK(rg_analyzer_new("english", &an, &err), &err);
    rg_buf b;
    rg_buf_init(&b);
    CHECK_EQ_INT(rg_analyzer_terms(an, "The Running CATS of Café-Société", &b), 4);
    CHECK_EQ_STR(b.data, "run cat cafe societ");
    CHECK_EQ_INT(rg_analyzer_terms(an, "and the", &b), 0);
    CHECK_EQ_INT(rg_analyzer_terms(an, "dogs", &b), 1);
    CHECK_EQ_STR(b.data, "run cat cafe societ dog");
    rg_buf_free(&b);
    rg_analyzer_free(an);
    CHECK(rg_analyzer_new("klingon", &an, &err) == RG_ERR_INVALID);
}

static void count_words_cb(void *ctx, const char *w, size_t len)
{
    (void)w;
    (void)len;
    (*(size_t *)ctx)++;
}

/* rg_text_fold's ASCII path must give what utf8proc gives (the vectors of
 * the builtin embedder and the BM25 terms depend on it), and word splitting
 * must agree with the Unicode categories for every ASCII character. */
TEST(text_fold_ascii_matches_utf8proc)
{
    for (int c = 1; c < 128; c++) {
        char in[4] = {'x', (char)c, 'Y', '\0'};
        size_t n = 0;
        char *fast = rg_text_fold(in, 3, &n);
        utf8proc_uint8_t *ref = NULL;
        utf8proc_ssize_t rn = utf8proc_map((const utf8proc_uint8_t *)in, 3, &ref,
                                           UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_DECOMPOSE |
                                               UTF8PROC_COMPAT | UTF8PROC_IGNORE);
        CHECK(fast && rn >= 0);
        CHECK_MSG(n == (size_t)rn && !memcmp(fast, ref, n), "character %d folds differently", c);
        size_t words = 0;
        rg_text_words(fast, n, count_words_cb, &words);
        utf8proc_category_t cat = utf8proc_category(c);
        bool word_char = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
        CHECK_MSG(words == (word_char ? 1u : 2u), "character %d splits words differently", c);
        free(fast);
        free(ref);
    }
    /* Mixed text is folded run by run; the result must be the whole-text fold. */
    static const char *const mixed[] = {"Ünïcödé CAFÉ", "e\xcc\x81t\xc3\xa9", "\xef\xac\x81le \xc2\xbd x\xc2\xb2",
                                        "soft\xc2\xadhyphen", "Heading\xc2\xb6", "\xe2\x84\xaa" "elvin Stra\xc3\x9f" "e",
                                        "a\xcc\x81\xcc\xa3" "b \xc7\x85", "\xe2\x80\x9cquoted\xe2\x80\x9d", ""};
    for (size_t i = 0; i < RG_ARRAY_LEN(mixed); i++) {
        size_t n = 0, len = strlen(mixed[i]);
        char *fast = rg_text_fold(mixed[i], len, &n);
        utf8proc_uint8_t *ref = NULL;
        utf8proc_ssize_t rn = utf8proc_map((const utf8proc_uint8_t *)mixed[i], (utf8proc_ssize_t)len, &ref,
                                           UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_DECOMPOSE |
                                               UTF8PROC_COMPAT | UTF8PROC_IGNORE);
        CHECK(fast && rn >= 0);
        CHECK_MSG(n == (size_t)rn && !memcmp(fast, ref, n), "\"%s\" folds to \"%s\", utf8proc gives \"%s\"",
                  mixed[i], fast, (char *)ref);
        free(fast);
        free(ref);
    }
    size_t n = 0;
    char *s = rg_text_fold("Ünïcödé CAFÉ", strlen("Ünïcödé CAFÉ"), &n);
    CHECK_EQ_STR(s, "unicode cafe");
    CHECK_EQ_INT(n, 12);
    free(s);
    CHECK(rg_text_fold("bad \xff byte", 10, &n) == NULL);
}

/* A fake backend of n records d1.. from DOCS. */
typedef struct fake_src {
    size_t n;
} fake_src;

static rg_status fake_get(void *ctx, const char *const *ids, size_t nids, size_t offset, size_t limit,
                          rg_record_batch *out, rg_error *err)
{
    (void)ids;
    (void)nids;
    (void)err;
    fake_src *f = ctx;
    for (size_t i = offset; i < f->n && (!limit || i < offset + limit); i++)
        rg_record_batch_push(out, DOCS[i][0], DOCS[i][1], NULL, NULL);
    return RG_OK;
}

static rg_status fake_count(void *ctx, int64_t *out, rg_error *err)
{
    (void)err;
    *out = (int64_t)((fake_src *)ctx)->n;
    return RG_OK;
}

/* A new sidecar is marked for a rebuild; for an empty collection the mark
 * is dropped (the first search after a fresh ingest rebuilt everything),
 * for a collection with records it stays. */
TEST(lexical_new_sidecar_rebuilds_only_when_backend_has_records)
{
    rg_lexical_params p = {"english", 1.2, 0.75};
    rg_error err;
    for (size_t n = 0; n <= 3; n += 3) {
        char *path = rg_xasprintf("%s/settle-%zu", rg_test_tmpdir(), n);
        rg_lexical *lx;
        CHECK_OK(rg_lexical_open(path, &p, &lx, &err), &err);
        fake_src f = {n};
        rg_lexical_source src = {fake_get, fake_count, &f};
        CHECK_OK(rg_lexical_settle_empty(lx, &src, &err), &err);
        bool rebuilt = false;
        CHECK_OK(rg_lexical_sync(lx, &src, false, &rebuilt, &err), &err);
        CHECK_MSG(rebuilt == (n > 0), "backend of %zu records: rebuilt %d", n, (int)rebuilt);
        int64_t count = -1;
        CHECK_OK(rg_lexical_count(lx, &count, &err), &err);
        CHECK_EQ_INT(count, (int64_t)n);
        rg_lexical_close(lx);
        free(path);
    }
}
