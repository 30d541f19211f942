/* Secret masking (secret.c) on server answers: arbitrary bytes, the key
 * taken from the input's first line.  Properties: blanking keeps the length
 * and leaves no span that spells the key; masking a text leaves no span that
 * spells it either. */
#include "fuzz.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 16))
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t klen = nl ? (size_t)(nl - data) : RG_MIN(size, (size_t)8);
    if (klen < RG_SECRET_MIN || klen > 64 || memchr(data, 0, klen))
        return 0;
    char *key = rg_xstrndup((const char *)data, klen);
    size_t n = size - klen;
    char *body = rg_xmalloc(n + 1);
    memcpy(body, data + klen, n);
    body[n] = 0;
    rg_secret_blank(body, n, key);
    for (size_t i = 0; i < n && !strchr(key, '*'); i++)
        FUZZ_CHECK(rg_secret_span(body + i, n - i, key, true) == 0, "key still spelled at %zu after blanking", i);
    /* As text: up to the first NUL.  Unless the key could be spelled with
     * the replacement's own letters ("[redacted]"), no span is left. */
    memcpy(body, data + klen, n);
    char *masked = rg_mask_secret(body, key);
    size_t ml = strlen(masked);
    bool overlaps = strpbrk(key, "[]") || strcasestr("redacted", key);
    for (size_t i = 0; i < ml && !overlaps; i++)
        FUZZ_CHECK(rg_secret_span(masked + i, ml - i, key, true) == 0, "key still spelled at %zu after masking", i);
    free(masked);
    free(body);
    free(key);
    return 0;
}
