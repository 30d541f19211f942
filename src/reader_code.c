/* Source code: the text as written (indentation and line breaks are
 * meaning), format "code" and a language, which makes ingest use the
 * code chunker (chunker_code.c) that cuts between top-level definitions.
 * The language comes from the extension, or for extension-less scripts
 * from the "#!" line. */
#include <stdlib.h>
#include <string.h>

#include "reader.h"
#include "reader_priv.h"

typedef struct code_lang {
    const char *ext;
    const char *language;
} code_lang;

static const code_lang languages[] = {
    {"c", "c"},           {"h", "c"},           {"cc", "cpp"},          {"cpp", "cpp"},       {"cxx", "cpp"},
    {"c++", "cpp"},       {"hh", "cpp"},        {"hpp", "cpp"},         {"hxx", "cpp"},       {"h++", "cpp"},
    {"py", "python"},     {"pyi", "python"},    {"rs", "rust"},         {"go", "go"},         {"java", "java"},
    {"kt", "kotlin"},     {"kts", "kotlin"},    {"scala", "scala"},     {"swift", "swift"},   {"cs", "csharp"},
    {"js", "javascript"}, {"mjs", "javascript"}, {"cjs", "javascript"}, {"jsx", "javascript"}, {"ts", "typescript"},
    {"tsx", "typescript"}, {"mts", "typescript"}, {"cts", "typescript"}, {"sh", "shell"},     {"bash", "shell"},
    {"zsh", "shell"},     {"ksh", "shell"},     {"rb", "ruby"},         {"pl", "perl"},       {"pm", "perl"},
    {"lua", "lua"},       {"php", "php"},       {"sql", "sql"},         {"zig", "zig"},       {"dart", "dart"},
    {"hs", "haskell"},    {"ml", "ocaml"},      {"mli", "ocaml"},       {"cmake", "cmake"},   {"mk", "make"},
};

/* The extensions are the table above (no second list to keep in step). */
static bool code_extension(const char *ext)
{
    for (size_t i = 0; i < RG_ARRAY_LEN(languages); i++)
        if (strcmp(languages[i].ext, ext) == 0)
            return true;
    return false;
}

typedef struct shebang_lang {
    const char *interp;
    const char *language;
} shebang_lang;

static const shebang_lang interpreters[] = {
    {"sh", "shell"},  {"bash", "shell"}, {"dash", "shell"}, {"zsh", "shell"},   {"ksh", "shell"},
    {"python", "python"}, {"perl", "perl"}, {"ruby", "ruby"}, {"node", "javascript"}, {"lua", "lua"},
    {"php", "php"},
};

/* The interpreter of a "#!" line ("#!/usr/bin/env python3" is python), or
 * NULL. */
static const char *shebang_language(const unsigned char *head, size_t n)
{
    if (n < 4 || head[0] != '#' || head[1] != '!')
        return NULL;
    size_t e = 2;
    while (e < n && e < 256 && head[e] != '\n')
        e++;
    char line[257];
    memcpy(line, head + 2, e - 2);
    line[e - 2] = '\0';
    /* The program is the last path component of the first word, or the
     * word after "env" (skipping env's options). */
    char *save = NULL;
    char *word = strtok_r(line, " \t\r", &save);
    while (word) {
        const char *base = strrchr(word, '/');
        base = base ? base + 1 : word;
        if (strcmp(base, "env") != 0 && word[0] != '-') {
            for (size_t i = 0; i < RG_ARRAY_LEN(interpreters); i++) {
                size_t l = strlen(interpreters[i].interp);
                /* python3, python3.11, perl5.36: the name and a version. */
                if (strncmp(base, interpreters[i].interp, l) == 0 &&
                    (base[l] == '\0' || (base[l] >= '0' && base[l] <= '9')))
                    return interpreters[i].language;
            }
            return NULL;
        }
        word = strtok_r(NULL, " \t\r", &save);
    }
    return NULL;
}

static bool code_sniff(const unsigned char *head, size_t n)
{
    return shebang_language(head, n) != NULL && !memchr(head, 0, n);
}

/* The language of a file, or NULL for a file that is not code. */
static const char *code_language(const char *path, const unsigned char *head, size_t n)
{
    char ext[16];
    rg_path_extension(path, ext, sizeof ext);
    /* The name inside a gzip file decides ("x.py.gz"). */
    if (strcmp(ext, "gz") == 0) {
        size_t l = strlen(path);
        char *inner = rg_xstrndup(path, l - 3);
        rg_path_extension(inner, ext, sizeof ext);
        free(inner);
    }
    for (size_t i = 0; i < RG_ARRAY_LEN(languages); i++)
        if (strcmp(languages[i].ext, ext) == 0)
            return languages[i].language;
    return shebang_language(head, n);
}

static rg_status code_read(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    /* Lines are kept with their indentation; only trailing spaces and runs
     * of blank lines are normalised, as for every other format. */
    rg_status st = rg_text_read_document(path, data, len, doc, err);
    if (st != RG_OK)
        return st;
    doc->format = "code";
    const char *lang = code_language(path, (const unsigned char *)data, RG_MIN(len, (size_t)512));
    doc->language = lang ? lang : "unknown";
    return RG_OK;
}

const rg_reader_ops rg_reader_code = {
    .name = "code",
    .extension_match = code_extension,
    .sniff = code_sniff,
    .read = code_read,
};
