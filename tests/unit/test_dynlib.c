/* rg_dynlib_load: a library that is missing or lacks a function gives one
 * message naming the library, the function and the package to install. */
#include <stddef.h>

#include "dynlib.h"
#include "test.h"

TEST(dynlib_missing_library_names_it_and_the_package)
{
    static const rg_dynlib lib = {"libragged-no-such-library.so.7", "libragged-no-such7", "reading FOO files"};
    static const char *const names[] = {"foo_open"};
    void *syms[1] = {0};
    rg_error err = {0};
    CHECK_EQ_INT(rg_dynlib_load(&lib, names, 1, syms, &err), RG_ERR_UNAVAILABLE);
    CHECK(strstr(err.msg, "reading FOO files needs the shared library libragged-no-such-library.so.7") != NULL);
    CHECK(strstr(err.msg, "apt-get install libragged-no-such7") != NULL);
    CHECK(syms[0] == NULL);

    /* Without a known package the message still says what to install. */
    static const rg_dynlib nopkg = {"libragged-no-such-library.so.7", "", "reading FOO files"};
    CHECK_EQ_INT(rg_dynlib_load(&nopkg, names, 1, syms, &err), RG_ERR_UNAVAILABLE);
    CHECK(strstr(err.msg, "install the package that provides libragged-no-such-library.so.7") != NULL);
}

/* The C library is loaded in every process, so this needs no fixture. */
TEST(dynlib_resolves_functions_and_names_a_missing_one)
{
    static const rg_dynlib libc = {"libc.so.6", "libc6", "testing"};
    static const char *const good[] = {"strlen", "memchr"};
    void *syms[2] = {0};
    rg_error err = {0};
    CHECK_OK(rg_dynlib_load(&libc, good, 2, syms, &err), &err);
    size_t (*len)(const char *) = (size_t(*)(const char *))syms[0];
    CHECK(syms[1] != NULL);
    CHECK_EQ_INT(len("four"), 4);

    static const char *const bad[] = {"strlen", "rg_no_such_function_in_libc"};
    CHECK_EQ_INT(rg_dynlib_load(&libc, bad, 2, syms, &err), RG_ERR_UNAVAILABLE);
    CHECK(strstr(err.msg, "testing needs rg_no_such_function_in_libc from libc.so.6") != NULL);
    CHECK(strstr(err.msg, "apt-get install libc6") != NULL);
}
