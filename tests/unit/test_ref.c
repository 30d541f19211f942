/* See test_ref.h. */
#include <stdlib.h>

#include "test.h"
#include "test_ref.h"
#include "util.h"

bool rg_test_have_reference(void)
{
    if (!rg_path_exists("tests/ref/bert_ref.py")) {
        rg_test_fail(__FILE__, __LINE__, "tests/ref/bert_ref.py not found: run the tests from the repository root");
        return false;
    }
    if (system(RG_TEST_PY " -c 'import numpy' >/dev/null 2>&1") != 0) {
        rg_test_skip(RG_TEST_PY " with numpy is not available (scripts/install-deps.sh installs python3-numpy)");
        return false;
    }
    return true;
}

bool rg_test_make_tiny_bert(const char *dir, const char *args)
{
    char *cmd = rg_xasprintf(RG_TEST_PY " tests/ref/make_tiny_bert.py '%s' %s", dir, args);
    int rc = system(cmd);
    free(cmd);
    if (rc != 0)
        rg_test_fail(__FILE__, __LINE__, "make_tiny_bert.py %s failed", args);
    return rc == 0;
}
