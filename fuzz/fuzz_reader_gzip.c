/* The gzip reader on arbitrary bytes (see fuzz_reader.h).  The first byte
 * picks the inner name, so the inner readers are reached through gzip. */
#include "fuzz_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"fuzz.txt.gz", "fuzz.md.gz", "fuzz.1.gz", "fuzz.html.gz",
                                        "fuzz.py.gz",  "changelog.gz", "fuzz.gz.gz"};
    if (size < 1 || size > (1u << 20))
        return 0;
    fuzz_reader(&rg_reader_gzip, names[data[0] % (sizeof names / sizeof names[0])], data + 1, size - 1);
    return 0;
}
