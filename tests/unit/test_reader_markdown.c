/* Markdown reader: readable text, headings as their own paragraphs, title. */
#include "test_reader_util.h"

#define READ_LIT(name, lit, doc, err) rt_read(name, lit, sizeof(lit) - 1, doc, err)

TEST(reader_md_headings_inline_markup_and_title)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("a.md",
                      "# The *Main* Title #\n"
                      "Some *emphasis* and **bold** text with a [link](http://example.invalid/x \"t\") and `a_code`.\n"
                      "## Section two\n"
                      "More text\non two lines, keep snake_case and 2 * 3 and a_b_c.\n",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.title, "The Main Title");
    CHECK_EQ_STR(doc.format, "markdown");
    CHECK_EQ_STR(doc.text, "The Main Title\n\n"
                           "Some emphasis and bold text with a link and a_code.\n\n"
                           "Section two\n\n"
                           "More text on two lines, keep snake_case and 2 * 3 and a_b_c.");
    rg_document_free(&doc);
}

TEST(reader_md_front_matter_title_wins)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("fm.md",
                      "---\ntitle: \"Front Matter Title\"\ntags: [alpha, beta]\n---\n\n# Heading\n\nBody text.\n",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.title, "Front Matter Title");
    CHECK_EQ_STR(doc.text, "Heading\n\nBody text.");
    rg_document_free(&doc);

    CHECK_OK(READ_LIT("toml.md", "+++\ntitle = 'Toml Title'\n+++\nBody.\n", &doc, &err), &err);
    CHECK_EQ_STR(doc.title, "Toml Title");
    CHECK_EQ_STR(doc.text, "Body.");
    rg_document_free(&doc);

    /* No closing fence: not front matter, and nothing is lost. */
    CHECK_OK(READ_LIT("open.md", "---\ntitle: x\nstill text\n", &doc, &err), &err);
    CHECK(strstr(doc.text, "still text") != NULL);
    rg_document_free(&doc);
}

TEST(reader_md_blocks)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("blocks.md",
                      "Setext Title\n============\n\n"
                      "Intro paragraph.\n\n"
                      "- first item\n* second *item*\n1. numbered\n\n"
                      "> quoted words\n> continue\n\n"
                      "```sh\n"
                      "pg_dump -Fc app > app.dump\n"
                      "```\n\n"
                      "| Name | Port |\n|------|-----:|\n| web | 8080 |\n\n"
                      "***\n\n"
                      "<!-- a comment\nover lines -->\n"
                      "![diagram of the rack](rack.png) Tom &amp; Jerry &eacute;t&#233; &#x41;\n\n"
                      "[ref]: http://example.invalid/\n"
                      "Subheading\n---\nEnd.\n",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.title, "Setext Title");
    CHECK_EQ_STR(doc.text, "Setext Title\n\n"
                           "Intro paragraph.\n\n"
                           "- first item\n- second item\n1. numbered\n\n"
                           "quoted words continue\n\n"
                           "pg_dump -Fc app > app.dump\n\n"
                           "Name | Port\nweb | 8080\n\n"
                           "diagram of the rack Tom & Jerry été A\n\n"
                           "Subheading\n\n"
                           "End.");
    rg_document_free(&doc);
}

TEST(reader_md_without_heading_has_no_title)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("plain.md", "\xEF\xBB\xBFJust a note.\r\nSecond line.\r\n", &doc, &err), &err);
    CHECK(doc.title == NULL);
    CHECK_EQ_STR(doc.text, "Just a note. Second line.");
    rg_document_free(&doc);
    CHECK_OK(rt_read("empty.md", "", 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "");
    CHECK(doc.title == NULL);
    rg_document_free(&doc);
}

TEST(reader_md_unbalanced_markup_is_kept)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("odd.md",
                      "an [unclosed link](http://x and `unclosed code and <not a tag and & alone\n"
                      "```\nunterminated fence\n",
                      &doc, &err),
             &err);
    CHECK(strstr(doc.text, "unclosed link") != NULL);
    CHECK(strstr(doc.text, "unclosed code") != NULL);
    CHECK(strstr(doc.text, "& alone") != NULL);
    CHECK(strstr(doc.text, "unterminated fence") != NULL);
    CHECK(rg_utf8_valid(doc.text, doc.len));
    rg_document_free(&doc);
}

TEST(reader_md_binary_is_refused)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_EQ_INT(READ_LIT("fake.md", "\0\0\0\x01binary", &doc, &err), RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "fake.md"), "message: %s", err.msg);
}

TEST(reader_md_inline_markup_across_lines)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("wrap.md", "A `long\ncode span` and [a\nlink](x) and **bold\nwords**.\n- item with `code\nspan` here\n",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.text, "A long code span and a link and bold words.\n- item with code span here");
    rg_document_free(&doc);
}

TEST(reader_md_indented_code_and_pipe_tables)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("code.md",
                      "Run these:\n\n"
                      "    sudo zpool status tank\n"
                      "\tsudo zpool scrub tank\n\n"
                      "- item\n\n"
                      "    continuation of the item\n\n"
                      "a | b\n--|--\nc | d\ne | f\n\nafter\n",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.text, "Run these:\n\n"
                           "sudo zpool status tank\nsudo zpool scrub tank\n\n"
                           "- item\n\n"
                           "continuation of the item\n\n"
                           "a | b\nc | d\ne | f\n\n"
                           "after");
    rg_document_free(&doc);
}
