/* `ragged config set`'s line edit of a YAML file (rg_config_yaml_set).
 * Input: a byte picking the key (from the schema), then the file.
 * Properties: never a crash; when the file loads and the edited file loads
 * with the key at the new value (otherwise `config set` refuses and leaves
 * the file alone), every other key keeps the value it had. */
#include "cli.h"
#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    size_t nkeys = 0;
    while (rg_config_schema[nkeys].key)
        nkeys++;
    const rg_config_key *k = &rg_config_schema[data[0] % nkeys];
    /* A valid value of the key's type, as config set writes it. */
    const char *value = k->type == RG_CFG_BOOL ? "true"
                        : k->type == RG_CFG_INT || k->type == RG_CFG_FLOAT ? NULL
                        : k->type == RG_CFG_ENUM ? NULL
                                                 : "\"a: b # c\"";
    char num[64], choice[64];
    if (k->type == RG_CFG_INT || k->type == RG_CFG_FLOAT) {
        snprintf(num, sizeof num, "%.0f", k->min);
        value = num;
    } else if (k->type == RG_CFG_ENUM) {
        snprintf(choice, sizeof choice, "%.*s", (int)strcspn(k->choices, "|"), k->choices);
        value = choice;
    }
    char *text = fuzz_cstr(data + 1, size - 1);
    char *edited = rg_config_yaml_set(text, k->key, value);
    char *p1 = fuzz_write("before.yml", text, strlen(text));
    char *p2 = fuzz_write("after.yml", edited, strlen(edited));
    rg_config *before = rg_config_new_defaults(), *after = rg_config_new_defaults();
    rg_error err = {0};
    if (rg_config_load_file(before, p1, &err) == RG_OK && rg_config_load_file(after, p2, &err) == RG_OK) {
        rg_config *want = rg_config_new_defaults();
        char *plain = k->type == RG_CFG_STRING || k->type == RG_CFG_PATH ? rg_xstrdup("a: b # c") : rg_xstrdup(value);
        rg_config_set(want, k->key, plain, RG_SRC_FLAG, &err);
        if (!strcmp(rg_config_str(after, k->key), rg_config_str(want, k->key))) {
            for (size_t i = 0; i < nkeys; i++) {
                const char *key = rg_config_schema[i].key;
                if (key == k->key)
                    continue;
                FUZZ_CHECK(!strcmp(rg_config_str(before, key), rg_config_str(after, key)),
                           "setting %s changed %s: '%s' -> '%s'", k->key, key, rg_config_str(before, key),
                           rg_config_str(after, key));
            }
        }
        free(plain);
        rg_config_free(want);
    }
    rg_config_free(before);
    rg_config_free(after);
    free(p1);
    free(p2);
    free(edited);
    free(text);
    return 0;
}
