#include <math.h>

#include "metrics.h"
#include "test.h"

TEST(metrics_ndcg_and_recall_match_hand_computation)
{
    json_t *judged = json_pack("{s:f, s:f, s:f}", "a", 1.0, "b", 2.0, "z", 1.0);
    const char *ranked[] = {"x", "b", "a", "y"};
    /* DCG@3 = 2/log2(3) + 1/log2(4) = 1.26186 + 0.5; IDCG@3 = 2/1 + 1/log2(3) + 1/2 = 3.13093 */
    double want = (2.0 / log2(3.0) + 0.5) / (2.0 + 1.0 / log2(3.0) + 0.5);
    CHECK(fabs(rg_ndcg_at(ranked, 4, judged, 3) - want) < 1e-12);
    CHECK(fabs(rg_ndcg_at(ranked, 4, judged, 1) - 0.0) < 1e-12);
    CHECK(fabs(rg_recall_at(ranked, 4, judged, 2) - 1.0 / 3.0) < 1e-12);
    CHECK(fabs(rg_recall_at(ranked, 4, judged, 10) - 2.0 / 3.0) < 1e-12);
    const char *perfect[] = {"b", "a", "z"};
    CHECK(fabs(rg_ndcg_at(perfect, 3, judged, 10) - 1.0) < 1e-12);
    json_t *none = json_object();
    CHECK(rg_ndcg_at(ranked, 4, none, 10) == 0.0);
    json_decref(none);
    json_decref(judged);
}
