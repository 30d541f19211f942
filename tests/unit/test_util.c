#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util.h"

TEST(sha256_known_vectors)
{
    char hex[65];
    rg_sha256_hex("", 0, hex);
    CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    rg_sha256_hex("abc", 3, hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* spans two blocks */
    rg_sha256_hex(two, strlen(two), hex);
    CHECK_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(crc32c_known_vector)
{
    CHECK_EQ_INT(rg_crc32c(0, "123456789", 9), 0xe3069283u);
    /* incremental == one shot */
    uint32_t c = rg_crc32c(0, "12345", 5);
    CHECK_EQ_INT(rg_crc32c(c, "6789", 4), 0xe3069283u);
}

/* The 8-bytes-at-a-time path against the bitwise definition, for every
 * length and start offset around the 8-byte steps. */
TEST(crc32c_sliced_matches_bitwise)
{
    unsigned char buf[80];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; off + len <= sizeof buf; len++) {
            uint32_t ref = ~0u;
            for (size_t i = 0; i < len; i++) {
                ref ^= buf[off + i];
                for (int k = 0; k < 8; k++)
                    ref = (ref & 1) ? 0x82f63b78u ^ (ref >> 1) : ref >> 1;
            }
            ref = ~ref;
            CHECK_MSG(rg_crc32c(0, buf + off, len) == ref, "offset %zu length %zu", off, len);
        }
    /* Any split gives the same as one shot. */
    uint32_t whole = rg_crc32c(0, buf, sizeof buf);
    for (size_t cut = 0; cut <= sizeof buf; cut += 5)
        CHECK_EQ_INT(rg_crc32c(rg_crc32c(0, buf, cut), buf + cut, sizeof buf - cut), whole);
}

TEST(utf8_validation)
{
    CHECK(rg_utf8_valid("plain", 5));
    CHECK(rg_utf8_valid("Köln 東京 🎉", strlen("Köln 東京 🎉")));
    CHECK(!rg_utf8_valid("\xc0\xaf", 2));         /* overlong */
    CHECK(!rg_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    CHECK(!rg_utf8_valid("\xe6\x9d", 2));         /* truncated */
    CHECK(!rg_utf8_valid("\xff", 1));
    CHECK(!rg_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}

TEST(atomic_write_and_tree_removal)
{
    const char *dir = rg_test_tmpdir();
    char *sub = rg_path_join(dir, "a/b/c");
    rg_error err;
    CHECK_OK(rg_mkdir_p(sub, 0700, &err), &err);
    char *file = rg_path_join(sub, "f.txt");
    CHECK_OK(rg_write_file_atomic(file, "hello", 5, &err), &err);
    CHECK_OK(rg_write_file_atomic(file, "world!", 6, &err), &err);
    char *data;
    size_t len;
    CHECK_OK(rg_read_file(file, 0, &data, &len, &err), &err);
    CHECK_EQ_INT(len, 6);
    CHECK_EQ_STR(data, "world!");
    free(data);
    CHECK_EQ_INT(rg_read_file(file, 3, &data, &len, &err), RG_ERR_INVALID); /* over the size limit */
    CHECK_EQ_INT(rg_dir_size(dir), 6);
    char *top = rg_path_join(dir, "a");
    CHECK_OK(rg_remove_tree(top, &err), &err);
    CHECK(!rg_path_exists(top));
    free(top);
    free(file);
    free(sub);
}

TEST(memrchr_finds_last_byte)
{
    const char s[] = "a@b@c\0@";
    CHECK(rg_memrchr(s, '@', 5) == s + 3);
    CHECK(rg_memrchr(s, '@', 3) == s + 1);
    CHECK(rg_memrchr(s, '@', 7) == s + 6);   /* past a NUL: bytes, not a string */
    CHECK(rg_memrchr(s, 'a', 5) == s);
    CHECK(rg_memrchr(s, 'z', 5) == NULL);
    CHECK(rg_memrchr(s, '@', 0) == NULL);
    const unsigned char hi[] = {0x10, 0xff, 0x20};
    CHECK(rg_memrchr(hi, 0xff, 3) == hi + 1);
}

/* A message that quotes the error's own previous message (store.c did this
 * when the BM25 index would not open) is formatted aside, not over its own
 * input. */
TEST(error_set_may_quote_its_own_message)
{
    rg_error e;
    rg_error_set(&e, RG_ERR_CORRUPT, "inner reason %d", 42);
    rg_error_set(&e, RG_ERR_IO, "cannot open the index (%s); delete %s", e.msg, "/x/y");
    CHECK_EQ_STR(e.msg, "cannot open the index (inner reason 42); delete /x/y");
    CHECK_EQ_INT(e.code, RG_ERR_IO);
}
