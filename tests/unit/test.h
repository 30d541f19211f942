/* A minimal unit-test harness.  Tests register themselves (constructor
 * attribute) so adding a test file needs no central list:
 *
 *   TEST(filter_parses_eq) { ... CHECK(cond); CHECK_EQ_INT(a, b); ... }
 *
 * `build/test_unit [substring]` runs the tests whose name contains the
 * substring; it ends with "N passed, N failed". */
#ifndef RG_TEST_H
#define RG_TEST_H

#include <stdio.h>
#include <string.h>

typedef void (*rg_test_fn)(void);
void rg_test_register(const char *name, const char *file, rg_test_fn fn);
void rg_test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A fresh empty directory for this test, removed afterwards. */
const char *rg_test_tmpdir(void);
/* ../shared relative to the repository, or NULL (tests then skip). */
const char *rg_test_shared_dir(void);
void rg_test_skip(const char *why);

#define TEST(name)                                                            \
    static void test_##name(void);                                            \
    __attribute__((constructor)) static void register_##name(void)            \
    {                                                                         \
        rg_test_register(#name, __FILE__, test_##name);                       \
    }                                                                         \
    static void test_##name(void)

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            rg_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);             \
            return;                                                           \
        }                                                                     \
    } while (0)

#define CHECK_MSG(cond, ...)                                                  \
    do {                                                                      \
        if (!(cond)) {                                                        \
            rg_test_fail(__FILE__, __LINE__, __VA_ARGS__);                    \
            return;                                                           \
        }                                                                     \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                    \
    do {                                                                      \
        long long va_ = (long long)(a), vb_ = (long long)(b);                 \
        if (va_ != vb_) {                                                     \
            rg_test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, va_, vb_); \
            return;                                                           \
        }                                                                     \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                    \
    do {                                                                      \
        const char *sa_ = (a), *sb_ = (b);                                    \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                          \
            rg_test_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", #a, #b, \
                         sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");         \
            return;                                                           \
        }                                                                     \
    } while (0)

/* Checks an rg_status is RG_OK, printing the error message otherwise. */
#define CHECK_OK(expr, errp)                                                  \
    do {                                                                      \
        int rc_ = (int)(expr);                                                \
        if (rc_ != 0) {                                                       \
            rg_test_fail(__FILE__, __LINE__, "%s failed (%d): %s", #expr, rc_, (errp)->msg); \
            return;                                                           \
        }                                                                     \
    } while (0)

#endif
