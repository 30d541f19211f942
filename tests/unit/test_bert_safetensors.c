/* safetensors reader: dtype conversions and damaged files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"
#include "test.h"
#include "util.h"

TEST(safetensors_half_conversions)
{
    /* values exactly representable in binary16 */
    const float vals[] = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f, 0.333251953125f};
    for (size_t i = 0; i < RG_ARRAY_LEN(vals); i++) {
        uint16_t h = rg_f32_to_f16(vals[i]);
        CHECK_MSG(rg_f16_to_f32(h) == vals[i], "%g -> 0x%04x -> %g", vals[i], h, rg_f16_to_f32(h));
    }
    CHECK_EQ_INT(rg_f32_to_f16(1.0f), 0x3c00);
    CHECK_EQ_INT(rg_f32_to_f16(-2.0f), 0xc000);
    CHECK(isinf(rg_f16_to_f32(0x7c00)));
    CHECK(rg_bf16_to_f32(0x3f80) == 1.0f);
    CHECK(rg_bf16_to_f32(0xc040) == -3.0f);
}

static rg_status write_and_open(const char *bytes, size_t n, rg_safetensors **st, rg_error *err)
{
    char *p = rg_path_join(rg_test_tmpdir(), "t.safetensors");
    rg_status s = rg_write_file_atomic(p, bytes, n, err);
    if (s == RG_OK)
        s = rg_safetensors_open(p, st, err);
    free(p);
    return s;
}

TEST(safetensors_reads_and_checks)
{
    /* header + one F16 tensor [2, 2] and one I64 scalar */
    const char *hdr = "{\"w\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                      "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]},\"__metadata__\":{}}";
    size_t hl = strlen(hdr);
    rg_buf b;
    rg_buf_init(&b);
    uint64_t len = hl;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(len >> (8 * i));
    rg_buf_append(&b, le, 8);
    rg_buf_append(&b, hdr, hl);
    uint16_t h[4] = {rg_f32_to_f16(1), rg_f32_to_f16(-1), rg_f32_to_f16(0.5f), rg_f32_to_f16(2)};
    rg_buf_append(&b, h, 8);
    rg_buf_append(&b, "\x07\0\0\0\0\0\0\0", 8);
    rg_safetensors *st;
    rg_error err = {0};
    CHECK_OK(write_and_open(b.data, b.len, &st, &err), &err);
    CHECK_EQ_INT(rg_safetensors_count(st), 2);
    const rg_st_tensor *w = rg_safetensors_find(st, "w");
    CHECK(w && w->dtype == RG_ST_F16 && w->numel == 4);
    const float *data;
    float *owned;
    int64_t shape[2] = {2, 2}, bad[2] = {4, 1};
    CHECK_OK(rg_safetensors_get_f32(st, w, 2, shape, &data, &owned, &err), &err);
    CHECK(data[0] == 1 && data[1] == -1 && data[2] == 0.5f && data[3] == 2);
    free(owned);
    CHECK(rg_safetensors_get_f32(st, w, 2, bad, &data, &owned, &err) == RG_ERR_MISMATCH);
    CHECK_MSG(strstr(err.msg, "'w'") && strstr(err.msg, "[2, 2]") && strstr(err.msg, "[4, 1]"), "%s", err.msg);
    int64_t none[1] = {0};
    CHECK(rg_safetensors_get_f32(st, rg_safetensors_find(st, "n"), 0, none, &data, &owned, &err) == RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "I64"), "%s", err.msg);
    rg_safetensors_free(st);
    /* truncated data */
    CHECK(write_and_open(b.data, b.len - 4, &st, &err) == RG_ERR_CORRUPT);
    CHECK_MSG(strstr(err.msg, "truncated"), "%s", err.msg);
    /* garbage header length */
    CHECK(write_and_open("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10, &st, &err) == RG_ERR_CORRUPT);
    /* header not JSON */
    CHECK(write_and_open("\x04\0\0\0\0\0\0\0nope", 12, &st, &err) == RG_ERR_CORRUPT);
    rg_buf_free(&b);
}
