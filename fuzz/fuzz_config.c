/* The YAML configuration loader.  Properties: a hostile file is refused with
 * a message or loads; when it loads, the YAML that `config show` prints
 * loads again to the same effective configuration. */
#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *path = fuzz_write("config.yml", data, size);
    rg_config *cfg = rg_config_new_defaults();
    rg_error err = {0};
    rg_status st = rg_config_load_file(cfg, path, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK) {
        json_t *j1 = rg_config_to_json(cfg, false);
        char *yaml = rg_config_to_yaml(cfg, true);
        char *path2 = fuzz_write("config-shown.yml", yaml, strlen(yaml));
        rg_config *again = rg_config_new_defaults();
        st = rg_config_load_file(again, path2, &err);
        FUZZ_CHECK(st == RG_OK, "the YAML printed by config show does not load: %s\n%s", err.msg, yaml);
        json_t *j2 = rg_config_to_json(again, false);
        if (!json_equal(j1, j2)) {
            char *a = json_dumps(j1, JSON_SORT_KEYS), *b = json_dumps(j2, JSON_SORT_KEYS);
            FUZZ_CHECK(json_equal(j1, j2), "config show changed values:\n%s\n->\n%s", a, b);
        }
        json_decref(j1);
        json_decref(j2);
        rg_config_free(again);
        free(yaml);
        free(path2);
    }
    rg_config_free(cfg);
    free(path);
    return 0;
}
