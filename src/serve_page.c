/* The web page of `ragged serve` (src/serve_page.html), assembled into the
 * binary so the server needs no files at run time.  .incbin is read
 * relative to the directory make runs in (the repository root); the
 * Makefile makes this object depend on the HTML.  A NUL follows the page so
 * it can also be used as a C string. */
#include "serve.h"

__asm__(".section .rodata\n"
        ".global rg_serve_page\n"
        ".type rg_serve_page, %object\n"
        "rg_serve_page:\n"
        ".incbin \"src/serve_page.html\"\n"
        "rg_serve_page_end:\n"
        ".byte 0\n"
        ".size rg_serve_page, . - rg_serve_page\n"
        ".balign 4\n"
        ".global rg_serve_page_len\n"
        ".type rg_serve_page_len, %object\n"
        "rg_serve_page_len:\n"
        ".int rg_serve_page_end - rg_serve_page\n"
        ".size rg_serve_page_len, 4\n"
        ".previous\n");
