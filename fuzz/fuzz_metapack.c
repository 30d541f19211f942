/* Packed metadata (metapack.c) as read back from a store file.  Properties:
 * - decoding any bytes never crashes: it gives an object or NULL;
 * - an object it gives encodes and decodes to the same object, with or
 *   without a document hash to derive content_hash from, and a derived
 *   content_hash comes back only when the decoder is given the hash. */
#include <jansson.h>

#include "fuzz.h"
#include "metapack.h"

static const char HASH[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

static const char *give_hash(void *ctx)
{
    (void)ctx;
    return HASH;
}

static void round_trip(const json_t *obj, const char *doc_hash)
{
    rg_buf b;
    rg_buf_init(&b);
    rg_metapack_encode_doc(obj, doc_hash, &b);
    json_t *back = rg_metapack_decode_doc(b.data, b.len, give_hash, NULL);
    FUZZ_CHECK(back && json_equal(back, obj), "encode/decode changed the object");
    json_decref(back);
    /* without the hash, only a derived content_hash may be missing */
    json_t *partial = rg_metapack_decode_doc(b.data, b.len, NULL, NULL);
    FUZZ_CHECK(partial != NULL, "decode without the document hash failed");
    json_t *expect = json_deep_copy(obj);
    const char *h = json_string_value(json_object_get(obj, RG_METAPACK_DOC_HASH_KEY));
    if (doc_hash && h && !strcmp(h, doc_hash))
        json_object_del(expect, RG_METAPACK_DOC_HASH_KEY);
    FUZZ_CHECK(json_equal(partial, expect), "decode without the document hash differs beyond content_hash");
    json_decref(expect);
    json_decref(partial);
    rg_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    json_t *obj = rg_metapack_decode_doc(data, size, give_hash, NULL);
    if (obj) {
        round_trip(obj, NULL);
        round_trip(obj, HASH);
        json_decref(obj);
    }
    json_decref(rg_metapack_decode(data, size));
    return 0;
}
