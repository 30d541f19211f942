/* The excerpt of `ragged query` (query_output.c): passage text and query
 * words from outside (any bytes).  Input: a flags byte (bit 0 whole text,
 * bit 1 colour), the query up to the first 0x01 byte, then the passage.  Properties: never a crash; the output is valid
 * UTF-8 and carries no control byte except the highlighting's own
 * ESC[1m / ESC[22m and, for the whole text, newline and tab; an excerpt
 * stays within a bound of its requested length. */
#include "fuzz.h"
#include "query_output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    bool full = data[0] & 1, color = data[0] & 2;
    const uint8_t *sep = memchr(data + 1, 0x01, size - 1);
    size_t qlen = sep ? (size_t)(sep - (data + 1)) : 0;
    char *query = fuzz_cstr(data + 1, qlen);
    const uint8_t *body = sep ? sep + 1 : data + 1;
    char *text = fuzz_cstr(body, size - (size_t)(body - data));
    char *ex = rg_query_excerpt(text, query, qlen > 3 ? query + 3 : NULL, 60, full, color);
    size_t n = strlen(ex);
    FUZZ_CHECK(rg_utf8_valid(ex, n), "excerpt is not UTF-8");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)ex[i];
        if (c == 0x1b) {
            bool sgr = color && (!strncmp(ex + i, "\x1b[1m", 4) || !strncmp(ex + i, "\x1b[22m", 5));
            FUZZ_CHECK(sgr, "raw ESC at %zu", i);
            continue;
        }
        FUZZ_CHECK(c >= 0x20 || (full && (c == '\n' || c == '\t')), "control byte 0x%02x at %zu", c, i);
        FUZZ_CHECK(c != 0x7f, "DEL at %zu", i);
    }
    /* 60 characters, each at most 4 escaped bytes (\xNN x4 for a bad
     * sequence is 16), plus markers and highlighting. */
    if (!full)
        FUZZ_CHECK(n <= 60 * 16 + 8 + 9 * 60, "excerpt of %zu bytes", n);
    free(ex);
    free(query);
    free(text);
    return 0;
}
