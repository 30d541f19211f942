/* Postings blobs of the leann metadata index (leann_filter.c, table
 * rec_post) as read back from leann.sqlite.  Properties:
 * - decoding any bytes never crashes: a count of offsets or -1;
 * - what decodes is strictly ascending and inside the block, and encodes
 *   back to the very same bytes (the encoding is unique, which the check
 *   of `collections check` relies on when it compares blobs). */
#include "fuzz.h"
#include "leann_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    uint16_t offs[LEANN_POST_SPAN];
    int n = leann_postings_decode(data, size, offs);
    FUZZ_CHECK(n == -1 || (n > 0 && n <= (int)LEANN_POST_SPAN), "decode gave %d", n);
    if (n < 0)
        return 0;
    for (int i = 0; i < n; i++)
        FUZZ_CHECK(offs[i] < LEANN_POST_SPAN && (i == 0 || offs[i] > offs[i - 1]), "offset %d out of order", i);
    rg_buf b;
    rg_buf_init(&b);
    leann_postings_encode(offs, (size_t)n, &b);
    FUZZ_CHECK(b.len == size && memcmp(b.data, data, size) == 0, "encode(decode(x)) != x");
    rg_buf_free(&b);
    return 0;
}
