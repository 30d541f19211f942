/* Masking of secrets (API keys, auth tokens) in text ragged shows: error
 * messages, JSON output, a streamed answer, and the bodies servers send
 * back, which a hostile or misconfigured server fills with the request's
 * own headers.  A secret is recognised however the text spells it: in
 * another letter case, and, in bytes not yet decoded, with any character
 * written as a JSON escape (\u0073, \/), a \xHH escape, a %HH URL escape or
 * an HTML character reference (&#115; &#x73;). */
#ifndef RG_SECRET_H
#define RG_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

/* Secrets shorter than this are not masked (they would hide ordinary text;
 * a real API key is never that short). */
#define RG_SECRET_MIN 4

/* Length of the span at the start of s[0..n) that spells secret (see
 * above; `encoded` also accepts the escaped spellings), or 0. */
size_t rg_secret_span(const char *s, size_t n, const char *secret, bool encoded);
/* Copy of text with every spelling of secret replaced by "[redacted]". */
char *rg_mask_secret(const char *text, const char *secret);
/* Overwrites every spelling of secret in data[0..len) with '*', in place:
 * for raw bodies, whose length and JSON syntax stay intact. */
void rg_secret_blank(char *data, size_t len, const char *secret);
/* Masks an error message in place (also a secret's prefix cut off at the
 * message's end). */
void rg_error_mask_secret(rg_error *err, const char *secret);

#endif
