#include <string.h>

#include "filter.h"
#include "test.h"

static bool matches(const char *filter, const char *meta)
{
    rg_filter *f = NULL;
    rg_error err;
    if (rg_filter_parse(filter, &f, &err) != RG_OK) {
        fprintf(stderr, "    parse %s: %s\n", filter, err.msg);
        return false;
    }
    json_t *m = json_loads(meta, 0, NULL);
    bool r = rg_filter_match(f, m);
    json_decref(m);
    rg_filter_free(f);
    return r;
}

TEST(filter_operators_in_memory)
{
    const char *m = "{\"year\": 2021, \"score\": 0.5, \"lang\": \"en\", \"ok\": true}";
    CHECK(matches("{\"year\": 2021}", m));
    CHECK(matches("{\"year\": 2021.0}", m)); /* numbers compare by value */
    CHECK(!matches("{\"year\": \"2021\"}", m)); /* but not with strings */
    CHECK(matches("{\"lang\": {\"$ne\": \"de\"}}", m));
    CHECK(matches("{\"missing\": {\"$ne\": 1}}", m)); /* $ne includes records without the key */
    CHECK(!matches("{\"missing\": {\"$eq\": 1}}", m));
    CHECK(matches("{\"year\": {\"$gt\": 2020}}", m));
    CHECK(!matches("{\"year\": {\"$gt\": 2021}}", m));
    CHECK(matches("{\"year\": {\"$gte\": 2021}}", m));
    CHECK(matches("{\"score\": {\"$lt\": 0.75}}", m));
    CHECK(matches("{\"score\": {\"$lte\": 0.5}}", m));
    CHECK(!matches("{\"lang\": {\"$gt\": 1}}", m)); /* ordering needs a number on both sides */
    CHECK(matches("{\"lang\": {\"$in\": [\"fr\", \"en\"]}}", m));
    CHECK(matches("{\"lang\": {\"$nin\": [\"fr\", \"de\"]}}", m));
    CHECK(matches("{\"ok\": true}", m));
    CHECK(!matches("{\"ok\": 1}", m)); /* booleans are not numbers */
    CHECK(matches("{\"$and\": [{\"year\": 2021}, {\"$or\": [{\"lang\": \"de\"}, {\"ok\": true}]}]}", m));
    CHECK(!matches("{\"$and\": [{\"year\": 2021}, {\"$or\": [{\"lang\": \"de\"}, {\"ok\": false}]}]}", m));
    CHECK(matches("{\"year\": 2021, \"lang\": \"en\"}", m)); /* several keys = $and */
    CHECK(!matches("{\"year\": 2021, \"lang\": \"de\"}", m));
}

TEST(filter_rejects_bad_input_with_clear_messages)
{
    static const struct {
        const char *filter;
        const char *msg_part;
    } cases[] = {
        {"{\"year\": {\"$gtx\": 1}}", "unknown operator '$gtx'"},
        {"{\"year\": {\"$gt\": \"a\"}}", "takes a number"},
        {"{\"year\": {\"$in\": []}}", "non-empty list"},
        {"{\"year\": {\"$in\": 3}}", "non-empty list"},
        {"{\"$and\": {}}", "non-empty list"},
        {"{\"$not\": [{}]}", "'$not' cannot stand"},
        {"[1, 2]", "JSON object"},
        {"{\"year\": ", "invalid JSON"},
        {"{\"year\": null}", "must map to"},
        {"{\"year\": {\"$eq\": 1, \"$ne\": 2}}", "exactly one operator"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rg_filter *f = NULL;
        rg_error err;
        CHECK_EQ_INT(rg_filter_parse(cases[i].filter, &f, &err), RG_ERR_INVALID);
        CHECK_MSG(strstr(err.msg, cases[i].msg_part), "%s -> %s", cases[i].filter, err.msg);
        CHECK(f == NULL);
    }
}

TEST(filter_kv_sugar_and_json_round_trip)
{
    rg_filter *f = NULL;
    rg_error err;
    CHECK_OK(rg_filter_from_kv("page_number=3", &f, &err), &err);
    json_t *j = rg_filter_to_json(f);
    char *s = json_dumps(j, JSON_COMPACT);
    CHECK_EQ_STR(s, "{\"page_number\":{\"$eq\":3}}");
    free(s);
    json_decref(j);
    rg_filter_free(f);
    CHECK_OK(rg_filter_from_kv("lang=en", &f, &err), &err);
    json_t *m = json_pack("{s:s}", "lang", "en");
    CHECK(rg_filter_match(f, m));
    json_decref(m);
    rg_filter_free(f);
    CHECK_EQ_INT(rg_filter_from_kv("novalue", &f, &err), RG_ERR_INVALID);
    /* parse(to_json(x)) == x, checked through the JSON form */
    const char *src = "{\"$or\":[{\"a\":{\"$in\":[1,2]}},{\"b\":{\"$lte\":2.5}}]}";
    CHECK_OK(rg_filter_parse(src, &f, &err), &err);
    j = rg_filter_to_json(f);
    s = json_dumps(j, JSON_COMPACT);
    CHECK_EQ_STR(s, src);
    free(s);
    json_decref(j);
    rg_filter_free(f);
}

/* Size limits: over RG_FILTER_MAX_TERMS comparisons or RG_FILTER_MAX_DEPTH
 * levels is RG_ERR_INVALID naming the limit; at the limit the SQL nests
 * logarithmically (SQLite refuses expressions over 1,000 deep). */
TEST(filter_size_limits_and_balanced_sql)
{
    rg_buf j;
    rg_buf_init(&j);
    rg_buf_puts(&j, "{\"k\": {\"$in\": [");
    for (int i = 0; i <= RG_FILTER_MAX_TERMS; i++)
        rg_buf_printf(&j, "%s%d", i ? "," : "", i);
    rg_buf_puts(&j, "]}}");
    rg_filter *f = NULL;
    rg_error err = {0};
    CHECK_EQ_INT(rg_filter_parse(j.data, &f, &err), RG_ERR_INVALID);
    CHECK(strstr(err.msg, "10000") != NULL);
    /* one value fewer is fine */
    char *comma = strrchr(j.data, ',');
    memmove(comma, comma + strcspn(comma, "]"), strlen(comma + strcspn(comma, "]")) + 1);
    CHECK_OK(rg_filter_parse(j.data, &f, &err), &err);
    rg_buf sql;
    rg_buf_init(&sql);
    json_t *params = json_array();
    rg_filter_to_sql(f, "m", &sql, params);
    int depth = 0, max = 0;
    for (size_t i = 0; i < sql.len; i++) {
        depth += sql.data[i] == '(';
        depth -= sql.data[i] == ')';
        if (depth > max)
            max = depth;
    }
    CHECK_MSG(max < 40, "SQL nests %d deep", max);
    /* one IN list: two key paths and the values */
    CHECK_EQ_INT(json_array_size(params), 2 + RG_FILTER_MAX_TERMS);
    json_decref(params);
    rg_buf_free(&sql);
    rg_filter_free(f);
    /* depth */
    j.len = 0;
    for (int i = 0; i <= RG_FILTER_MAX_DEPTH; i++)
        rg_buf_puts(&j, "{\"$and\": [{\"a\": 1}, ");
    rg_buf_puts(&j, "{\"a\": 1}");
    for (int i = 0; i <= RG_FILTER_MAX_DEPTH; i++)
        rg_buf_puts(&j, "]}");
    CHECK_EQ_INT(rg_filter_parse(j.data, &f, &err), RG_ERR_INVALID);
    CHECK(strstr(err.msg, "nested") != NULL);
    rg_buf_free(&j);
}
