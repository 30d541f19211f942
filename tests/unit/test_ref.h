/* The Python references of the embedding-engine tests (tests/ref/): whether
 * they can run here, and the tiny random models they check against. */
#ifndef RG_TEST_REF_H
#define RG_TEST_REF_H

#include <stdbool.h>

#define RG_TEST_PY "/usr/bin/python3"

/* False (the test is failed or skipped with the reason) when tests/ref is
 * not reachable from the working directory or Python has no numpy. */
bool rg_test_have_reference(void);

/* Writes a tiny random model into dir with tests/ref/make_tiny_bert.py
 * ARGS; false (the test failed) when the script fails. */
bool rg_test_make_tiny_bert(const char *dir, const char *args);

#endif
