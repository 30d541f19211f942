/* BEIR loaders and the metrics, on hand-computed examples. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beir.h"
#include "metrics.h"
#include "test.h"
#include "util.h"

TEST(beir_ndcg_recall_hand_computed)
{
    json_t *rels = json_pack("{s:i, s:i, s:i, s:i}", "a", 1, "b", 2, "c", 1, "z", 0);
    const char *ranked[] = {"x", "a", "b", "y", "z"};
    /* DCG@10 = 1/log2(3) + 2/log2(4) = 0.630930 + 1 ; IDCG = 2 + 1/log2(3) + 1/log2(4) = 3.130930 */
    CHECK(fabs(rg_ndcg_at(ranked, 5, rels, 10) - 1.630930 / 3.130930) < 1e-5);
    /* @2: DCG = 0.630930 ; IDCG = 2 + 0.630930 */
    CHECK(fabs(rg_ndcg_at(ranked, 5, rels, 2) - 0.630930 / 2.630930) < 1e-5);
    /* Grade 0 is not relevant: recall counts a, b, c only. */
    CHECK(fabs(rg_recall_at(ranked, 5, rels, 100) - 2.0 / 3.0) < 1e-9);
    CHECK(fabs(rg_recall_at(ranked, 5, rels, 2) - 1.0 / 3.0) < 1e-9);
    const char *perfect[] = {"b", "a", "c"};
    CHECK(fabs(rg_ndcg_at(perfect, 3, rels, 10) - 1.0) < 1e-9);
    CHECK(rg_ndcg_at(perfect, 0, rels, 10) == 0.0);
    json_decref(rels);
}

TEST(beir_loaders)
{
    const char *dir = rg_test_tmpdir();
    char *corpus = rg_path_join(dir, "corpus.jsonl"), *qrels = rg_path_join(dir, "q.tsv");
    const char *c = "{\"_id\": \"d1\", \"title\": \"T\", \"text\": \"one\"}\n\n{\"_id\": 7, \"text\": \"two\"}\n";
    const char *q = "query-id\tcorpus-id\tscore\n1\td1\t1\n1\t7\t2\n2\td1\t0\n";
    rg_error err;
    CHECK_OK(rg_write_file_atomic(corpus, c, strlen(c), &err), &err);
    CHECK_OK(rg_write_file_atomic(qrels, q, strlen(q), &err), &err);
    rg_beir_docs d;
    CHECK_OK(rg_beir_load_jsonl(corpus, &d, &err), &err);
    CHECK_EQ_INT(d.n, 2);
    CHECK_EQ_STR(d.items[0].title, "T");
    CHECK_EQ_STR(d.items[1].id, "7");
    CHECK_EQ_STR(d.items[1].title, "");
    rg_beir_docs_free(&d);
    char msg[256];
    json_t *j = rg_qrels_load(qrels, msg, sizeof msg);
    CHECK(j);
    CHECK_EQ_INT(json_object_size(j), 2);
    CHECK(json_number_value(json_object_get(json_object_get(j, "1"), "7")) == 2.0);
    json_decref(j);
    const char *bad = "{\"title\": \"no id\"}\n";
    CHECK_OK(rg_write_file_atomic(corpus, bad, strlen(bad), &err), &err);
    CHECK(rg_beir_load_jsonl(corpus, &d, &err) == RG_ERR_INVALID);
    CHECK(strstr(err.msg, ":1:"));
    free(corpus);
    free(qrels);
}
