#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "test.h"
#include "util.h"

static char *write_tmp(const char *name, const char *text)
{
    char *path = rg_path_join(rg_test_tmpdir(), name);
    rg_error err;
    rg_write_file_atomic(path, text, strlen(text), &err);
    return path;
}

TEST(config_defaults_and_spec_keys)
{
    rg_config *cfg = rg_config_new_defaults();
    CHECK_EQ_STR(rg_config_str(cfg, "vectorstore.backend"), "leann");
    CHECK_EQ_INT(rg_config_int(cfg, "vectorstore.leann.graph_degree"), 32);
    CHECK_EQ_INT(rg_config_int(cfg, "vectorstore.leann.search_complexity"), 1000);
    CHECK(strstr(rg_config_str(cfg, "vectorstore.leann.persist_directory"), "ragged/leann"));
    CHECK_EQ_INT(rg_config_source_of(cfg, "vectorstore.backend"), RG_SRC_DEFAULT);
    rg_config_free(cfg);
}

TEST(config_file_env_flag_layering)
{
    char *path = write_tmp("ragged.yml", "vectorstore:\n  backend: exact\n  leann:\n    persist_directory: ./data/leann\n"
                                         "    graph_degree: 48\nretrieval:\n  k: 7\n");
    rg_config *cfg = rg_config_new_defaults();
    rg_error err;
    CHECK_OK(rg_config_load_file(cfg, path, &err), &err);
    CHECK_EQ_STR(rg_config_str(cfg, "vectorstore.backend"), "exact");
    CHECK_EQ_INT(rg_config_int(cfg, "vectorstore.leann.graph_degree"), 48);
    /* relative paths resolve against the file's directory */
    char *want = rg_path_join(rg_test_tmpdir(), "./data/leann");
    CHECK_EQ_STR(rg_config_str(cfg, "vectorstore.leann.persist_directory"), want);
    free(want);
    CHECK(strstr(rg_config_origin(cfg, "retrieval.k"), "ragged.yml:7"));
    /* env beats file, flag beats env */
    setenv("RAGGED_RETRIEVAL_K", "9", 1);
    CHECK_OK(rg_config_apply_env(cfg, &err), &err);
    CHECK_EQ_INT(rg_config_int(cfg, "retrieval.k"), 9);
    CHECK_EQ_STR(rg_config_origin(cfg, "retrieval.k"), "env:RAGGED_RETRIEVAL_K");
    CHECK_OK(rg_config_set(cfg, "retrieval.k", "11", RG_SRC_FLAG, &err), &err);
    CHECK_EQ_INT(rg_config_int(cfg, "retrieval.k"), 11);
    unsetenv("RAGGED_RETRIEVAL_K");
    /* a bad env value is an error naming the variable */
    setenv("RAGGED_VECTORSTORE_BACKEND", "pinecone", 1);
    CHECK_EQ_INT(rg_config_apply_env(cfg, &err), RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "RAGGED_VECTORSTORE_BACKEND") && strstr(err.msg, "leann|chromadb|exact"), "%s", err.msg);
    unsetenv("RAGGED_VECTORSTORE_BACKEND");
    rg_config_free(cfg);
    free(path);
}

TEST(config_errors_name_file_line_and_fix)
{
    static const struct {
        const char *yaml;
        const char *parts[3];
    } cases[] = {
        {"vectorstore:\n  backnd: leann\n", {"bad.yml:2", "unknown key 'vectorstore.backnd'", "did you mean 'vectorstore.backend'"}},
        {"vectorstore:\n  backend: chroma\n", {"bad.yml:2", "valid choices: leann|chromadb|exact", "did you mean 'chromadb'"}},
        {"vectorstore:\n  leann:\n    graph_degree: lots\n", {"bad.yml:3", "whole number", "graph_degree"}},
        {"vectorstore:\n  leann:\n    graph_degree: 100000\n", {"out of range", "4 to 256", NULL}},
        {"retrieval: [1, 2]\n", {"'retrieval' is a section", NULL, NULL}},
        {"vectorstore:\n  backend: [leann]\n", {"takes a single value", NULL, NULL}},
        {"vectorstore: {backend: leann\n", {"bad.yml:", "invalid YAML", NULL}},
        {"colour: blue\n", {"unknown key 'colour'", "valid keys: vectorstore, embedding", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = write_tmp("bad.yml", cases[i].yaml);
        rg_config *cfg = rg_config_new_defaults();
        rg_error err;
        CHECK_EQ_INT(rg_config_load_file(cfg, path, &err), RG_ERR_INVALID);
        for (int p = 0; p < 3; p++)
            CHECK_MSG(!cases[i].parts[p] || strstr(err.msg, cases[i].parts[p]), "case %zu: '%s' not in: %s", i,
                      cases[i].parts[p], err.msg);
        rg_config_free(cfg);
        free(path);
    }
}

TEST(config_yaml_output_reloads_to_same_values)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_error err;
    CHECK_OK(rg_config_set(cfg, "embedding.query_prefix", "query: \"x\" # y", RG_SRC_FLAG, &err), &err);
    char *yaml = rg_config_to_yaml(cfg, true);
    char *path = write_tmp("round.yml", yaml);
    rg_config *back = rg_config_new_defaults();
    CHECK_OK(rg_config_load_file(back, path, &err), &err);
    json_t *a = rg_config_to_json(cfg, false), *b = rg_config_to_json(back, false);
    CHECK(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    rg_config_free(back);
    rg_config_free(cfg);
    free(yaml);
    free(path);
}
