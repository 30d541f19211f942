/* Source code reader and the code chunker: language from the extension or
 * "#!", chunks that start at top-level definitions. */
#include "chunker_code.h"
#include "config.h"
#include "test_reader_util.h"

#define READ_LIT(name, lit, doc, err) rt_read(name, lit, sizeof(lit) - 1, doc, err)

static rg_embedder *builtin(void)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_embedder *e = NULL;
    rg_error err;
    rg_embedder_open(cfg, &e, &err);
    rg_config_free(cfg);
    return e;
}

TEST(reader_code_language)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("m.rs", "fn main() {\n    println!(\"hi\");\n}\n", &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "code");
    CHECK_EQ_STR(doc.language, "rust");
    CHECK_EQ_STR(doc.text, "fn main() {\n    println!(\"hi\");\n}");
    rg_document_free(&doc);
    CHECK_OK(READ_LIT("deploy", "#!/usr/bin/env python3\nprint('x')\n", &doc, &err), &err);
    CHECK_EQ_STR(doc.language, "python");
    rg_document_free(&doc);
    CHECK_OK(READ_LIT("run", "#!/bin/bash -e\necho hi\n", &doc, &err), &err);
    CHECK_EQ_STR(doc.language, "shell");
    rg_document_free(&doc);
    CHECK_OK(READ_LIT("lib.hpp", "int f();\n", &doc, &err), &err);
    CHECK_EQ_STR(doc.language, "cpp");
    rg_document_free(&doc);
    /* Extension-less text without "#!" stays text. */
    CHECK_OK(READ_LIT("NOTES", "just notes\n", &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "text");
    CHECK(doc.language == NULL);
    rg_document_free(&doc);
}

/* Index of the chunk that starts with prefix, or -1. */
static int chunk_starting(const char *t, const rg_chunks *ch, const char *prefix)
{
    for (size_t i = 0; i < ch->n; i++)
        if (strncmp(t + ch->items[i].start, prefix, strlen(prefix)) == 0)
            return (int)i;
    return -1;
}

/* Every non-space byte is inside some chunk, chunks are in order. */
static bool covers(const char *t, size_t len, const rg_chunks *ch)
{
    size_t covered = 0;
    for (size_t i = 0; i < ch->n; i++) {
        if (i && ch->items[i].start < ch->items[i - 1].start)
            return false;
        for (size_t k = covered; k < ch->items[i].start; k++)
            if (!strchr(" \n\t", t[k]))
                return false;
        covered = RG_MAX(covered, ch->items[i].end);
    }
    for (size_t k = covered; k < len; k++)
        if (!strchr(" \n\t", t[k]))
            return false;
    return true;
}

TEST(chunker_code_cuts_between_c_functions)
{
    rg_embedder *e = builtin();
    CHECK(e);
    rg_buf t;
    rg_buf_init(&t);
    rg_buf_puts(&t, "#include <stdio.h>\n\n");
    for (int f = 0; f < 6; f++) {
        rg_buf_printf(&t, "/* Function %d computes widget number %d. */\nstatic int\nwidget_%d(int a)\n{\n", f, f, f);
        for (int l = 0; l < 5; l++)
            rg_buf_printf(&t, "    a = a * %d + %d; /* step %d of the widget */\n", l + 2, f, l);
        rg_buf_puts(&t, "    if (a) {\n        return a;\n    }\n\n    return 0;\n}\n\n");
    }
    rg_chunks ch;
    rg_chunk_code(t.data, t.len, "c", e, 120, 10, &ch);
    CHECK(ch.n >= 3);
    CHECK(covers(t.data, t.len, &ch));
    /* Each chunk starts at a function's comment (or the file start) and
     * ends with a closing brace: no function is split. */
    for (size_t i = 0; i < ch.n; i++) {
        const char *s = t.data + ch.items[i].start;
        CHECK_MSG(i == 0 ? strncmp(s, "#include", 8) == 0 : strncmp(s, "/* Function", 11) == 0,
                  "chunk %zu starts with '%.20s'", i, s);
        CHECK_MSG(t.data[ch.items[i].end - 1] == '}', "chunk %zu ends with '%c'", i, t.data[ch.items[i].end - 1]);
        size_t tok = rg_embedder_count_tokens(e, s, ch.items[i].end - ch.items[i].start);
        CHECK_MSG(tok <= 120, "chunk %zu has %zu tokens", i, tok);
    }
    rg_chunks_free(&ch);
    rg_buf_free(&t);
    rg_embedder_free(e);
}

TEST(chunker_code_python_definitions_and_decorators)
{
    rg_embedder *e = builtin();
    CHECK(e);
    const char *py = "import os\n\n"
                     "@cache\n"
                     "def alpha(x):\n    \"\"\"Alpha doc.\n\n    def not_a_boundary(): inside a string\n    \"\"\"\n"
                     "    return [\n        x,\n    ]\n\n"
                     "class Beta:\n    def method(self):\n        return 1\n\n    def other(self):\n        return 2\n"
                     "value = alpha(\n    3)\n";
    rg_chunks ch;
    /* A tiny size forces one unit per chunk. */
    rg_chunk_code(py, strlen(py), "python", e, 8, 0, &ch);
    CHECK(covers(py, strlen(py), &ch));
    CHECK(chunk_starting(py, &ch, "@cache\ndef alpha") >= 0);
    CHECK(chunk_starting(py, &ch, "def not_a_boundary") < 0);
    CHECK(chunk_starting(py, &ch, "class Beta") >= 0);
    CHECK(chunk_starting(py, &ch, "    3)") < 0);
    CHECK(chunk_starting(py, &ch, "value = alpha(") >= 0);
    rg_chunks_free(&ch);
    rg_embedder_free(e);
}

TEST(chunker_code_long_function_and_long_line)
{
    rg_embedder *e = builtin();
    CHECK(e);
    rg_buf t;
    rg_buf_init(&t);
    rg_buf_puts(&t, "function big() {\n");
    for (int l = 0; l < 60; l++)
        rg_buf_printf(&t, "  total += compute(item%d, factor%d);\n", l, l);
    rg_buf_puts(&t, "  const s = \"");
    for (int w = 0; w < 200; w++)
        rg_buf_printf(&t, "word%d ", w);
    rg_buf_puts(&t, "\";\n}\n");
    rg_chunks ch;
    rg_chunk_code(t.data, t.len, "javascript", e, 64, 8, &ch);
    CHECK(ch.n > 4);
    CHECK(covers(t.data, t.len, &ch));
    for (size_t i = 0; i < ch.n; i++) {
        size_t tok = rg_embedder_count_tokens(e, t.data + ch.items[i].start, ch.items[i].end - ch.items[i].start);
        CHECK_MSG(tok <= 64 + 1, "chunk %zu has %zu tokens", i, tok);
    }
    rg_chunks_free(&ch);
    rg_buf_free(&t);
    rg_embedder_free(e);
}

TEST(chunker_code_long_class_is_cut_between_methods)
{
    rg_embedder *e = builtin();
    CHECK(e);
    rg_buf t;
    rg_buf_init(&t);
    rg_buf_puts(&t, "class Inventory:\n    \"\"\"Keeps the shelves.\"\"\"\n\n");
    for (int m = 0; m < 8; m++) {
        rg_buf_printf(&t, "    @property\n    def shelf_%d(self):\n", m);
        for (int l = 0; l < 4; l++)
            rg_buf_printf(&t, "        self.count_%d = self.count_%d + %d  # restock step %d\n", l, l, m, l);
        rg_buf_puts(&t, "        return self\n\n");
    }
    rg_chunks ch;
    rg_chunk_code(t.data, t.len, "python", e, 100, 10, &ch);
    CHECK(ch.n >= 3);
    CHECK(covers(t.data, t.len, &ch));
    /* The class is longer than a chunk: every chunk after the first starts
     * at a method's decorator, none inside a method. */
    for (size_t i = 1; i < ch.n; i++)
        CHECK_MSG(strncmp(t.data + ch.items[i].start, "    @property\n    def shelf_", 28) == 0,
                  "chunk %zu starts with '%.30s'", i, t.data + ch.items[i].start);
    rg_chunks_free(&ch);
    rg_buf_free(&t);
    rg_embedder_free(e);
}
