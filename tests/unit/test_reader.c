/* Reader selection, byte-level decoding and plain text. */
#include "test_reader_util.h"

#define READ_LIT(name, lit, doc, err) rt_read(name, lit, sizeof(lit) - 1, doc, err)

TEST(reader_find_by_extension)
{
    CHECK(rg_reader_find("a/notes.txt", NULL, 0) == &rg_reader_text);
    CHECK(rg_reader_find("a/README.MD", NULL, 0) == &rg_reader_markdown);
    CHECK(rg_reader_find("x.markdown", NULL, 0) == &rg_reader_markdown);
    CHECK(rg_reader_find("page.HTM", NULL, 0) == &rg_reader_html);
    CHECK(rg_reader_find("page.html", NULL, 0) == &rg_reader_html);
    CHECK(rg_reader_find("paper.pdf", NULL, 0) == &rg_reader_pdf);
    CHECK(rg_reader_find("photo.png", NULL, 0) == NULL);
    CHECK(rg_reader_find("dir.d/archive", NULL, 0) == NULL); /* no extension, no content: nothing to sniff */
}

TEST(reader_find_sniffs_content)
{
    const unsigned char pdf[] = "%PDF-1.4\n...";
    CHECK(rg_reader_find("misnamed.txt", pdf, sizeof pdf - 1) == &rg_reader_pdf);
    const unsigned char html[] = "  <!DOCTYPE html><html><body>x</body></html>";
    CHECK(rg_reader_find("index", html, sizeof html - 1) == &rg_reader_html);
    CHECK(rg_reader_find("notes.txt", html, sizeof html - 1) == &rg_reader_text); /* the name wins for text */
    const unsigned char text[] = "Just some notes\nwith lines\n";
    CHECK(rg_reader_find("README", text, sizeof text - 1) == &rg_reader_text);
    CHECK(rg_reader_find(".hidden_notes", text, sizeof text - 1) == &rg_reader_text);
    const unsigned char elf[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0";
    CHECK(rg_reader_find("a.out", elf, sizeof elf - 1) == NULL);
    CHECK(rg_reader_find("program", elf, sizeof elf - 1) == NULL);
}

TEST(reader_text_crlf_bom_and_paragraphs)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("crlf.txt", "\xEF\xBB\xBF  line one  \r\nline two\r\n\r\n \t \r\n\r\nsecond para\rthird\r\n\r\n",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.text, "  line one\nline two\n\nsecond para\nthird");
    CHECK_EQ_INT(doc.len, strlen(doc.text));
    CHECK_EQ_STR(doc.format, "text");
    CHECK(doc.title == NULL);
    CHECK_EQ_INT(doc.npages, 0);
    CHECK_EQ_INT(rg_document_page_at(&doc, 3), 0);
    rg_document_free(&doc);
}

TEST(reader_text_empty_and_blank_files)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(rt_read("empty.txt", "", 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "");
    CHECK_EQ_INT(doc.len, 0);
    rg_document_free(&doc);
    CHECK_OK(READ_LIT("blank.txt", "\n\n  \r\n\t\n", &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "");
    rg_document_free(&doc);
    CHECK_OK(READ_LIT("bom-only.txt", "\xEF\xBB\xBF", &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "");
    rg_document_free(&doc);
}

TEST(reader_text_nul_near_start_is_binary)
{
    rg_document doc;
    rg_error err = {0};
    rg_status st = READ_LIT("data.txt", "abc\0def\0ghi", &doc, &err);
    CHECK_EQ_INT(st, RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "data.txt") && strstr(err.msg, "binary"), "message: %s", err.msg);
    CHECK(doc.text == NULL);
}

TEST(reader_text_stray_nul_far_in_is_dropped)
{
    /* A long log where a crash left two NUL bytes deep inside. */
    rg_buf b;
    rg_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        rg_buf_printf(&b, "log line %d ok\n", i);
    size_t at = b.len;
    rg_buf_append(&b, "\0\0tail line\n", 12);
    rg_document doc;
    rg_error err = {0};
    rg_status st = rt_read("app.log", b.data, b.len, &doc, &err);
    rg_buf_free(&b);
    CHECK_OK(st, &err);
    CHECK_EQ_INT(doc.len, strlen(doc.text));
    CHECK(strstr(doc.text, "log line 999 ok\ntail line") != NULL);
    CHECK_EQ_INT(doc.len, at + strlen("tail line"));
    rg_document_free(&doc);
}

TEST(reader_text_latin1_and_cp1252_transcoded)
{
    rg_document doc;
    rg_error err = {0};
    /* "café crème “quoted” – 5 €" in Windows-1252. */
    CHECK_OK(READ_LIT("old.txt", "caf\xe9 cr\xe8me \x93quoted\x94 \x96 5 \x80\n", &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "café crème “quoted” – 5 €");
    CHECK(rg_utf8_valid(doc.text, doc.len));
    rg_document_free(&doc);
}

TEST(reader_text_mostly_utf8_is_repaired)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("damaged.txt", "é è ü ö ä — naïve \xff end", &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "é è ü ö ä — naïve \xEF\xBF\xBD end");
    rg_document_free(&doc);
}

TEST(reader_text_undecodable_is_refused)
{
    rg_document doc;
    rg_error err = {0};
    /* KOI8-R Cyrillic: runs of high bytes that are neither UTF-8 nor Latin-1 prose. */
    rg_status st = READ_LIT("russian.txt", "\xf0\xd2\xc9\xd7\xc5\xd4 \xcd\xc9\xd2 \xf0\xd2\xc9\xd7\xc5\xd4\n", &doc,
                            &err);
    CHECK_EQ_INT(st, RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "russian.txt") && strstr(err.msg, "iconv"), "message: %s", err.msg);
}

TEST(reader_text_control_bytes_are_binary)
{
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(1 + (i * 7) % 8); /* 0x01..0x08, no NUL */
    rg_document doc;
    rg_error err = {0};
    CHECK_EQ_INT(rt_read("junk.txt", junk, sizeof junk, &doc, &err), RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "junk.txt") && strstr(err.msg, "binary"), "message: %s", err.msg);
}

TEST(reader_text_utf16_with_bom)
{
    rg_document doc;
    rg_error err = {0};
    /* "hé\r\n😀" in UTF-16LE, then BE. */
    CHECK_OK(READ_LIT("le.txt", "\xff\xfeh\0\xe9\0\r\0\n\0\x3d\xd8\x00\xde", &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "hé\n😀");
    rg_document_free(&doc);
    CHECK_OK(READ_LIT("be.txt", "\xfe\xff\0h\0\xe9\0\n\xd8\x3d\xde\x00", &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "hé\n😀");
    rg_document_free(&doc);
}

TEST(reader_text_huge_single_line)
{
    size_t n = 5u << 21; /* 10 MiB of "word ", ending in a space */
    char *big = rg_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = "word "[i % 5];
    rg_document doc;
    rg_error err = {0};
    rg_status st = rt_read("oneline.txt", big, n, &doc, &err);
    free(big);
    CHECK_OK(st, &err);
    CHECK_EQ_INT(doc.len, n - 1); /* the trailing space is trimmed */
    CHECK(memchr(doc.text, '\n', doc.len) == NULL);
    rg_document_free(&doc);
}

TEST(reader_document_read_errors_name_the_file)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_EQ_INT(READ_LIT("image.png", "\x89PNG\r\n\x1a\n", &doc, &err), RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "image.png") && strstr(err.msg, ".png"), "message: %s", err.msg);

    CHECK_EQ_INT(READ_LIT("binaryblob", "\x01\x02\x03\0\0\x05", &doc, &err), RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "binaryblob"), "message: %s", err.msg);

    char *missing = rg_path_join(rg_test_tmpdir(), "missing.txt");
    CHECK_EQ_INT(rg_document_read(missing, 0, &doc, &err), RG_ERR_NOTFOUND);
    CHECK_MSG(strstr(err.msg, "missing.txt"), "message: %s", err.msg);
    free(missing);

    char *big = rt_write("big.txt", "0123456789", 10);
    CHECK_EQ_INT(rg_document_read(big, 5, &doc, &err), RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "big.txt"), "message: %s", err.msg);
    CHECK_OK(rg_document_read(big, 10, &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "0123456789");
    rg_document_free(&doc);
    free(big);
    rg_document_free(&doc); /* freeing twice after a reset is harmless */
}

TEST(reader_page_at)
{
    size_t offsets[] = {0, 10, 10, 25};
    rg_document doc = {.text = "", .npages = 4, .page_offsets = offsets};
    CHECK_EQ_INT(rg_document_page_at(&doc, 0), 1);
    CHECK_EQ_INT(rg_document_page_at(&doc, 9), 1);
    CHECK_EQ_INT(rg_document_page_at(&doc, 10), 3); /* page 2 is empty: the text is page 3's */
    CHECK_EQ_INT(rg_document_page_at(&doc, 24), 3);
    CHECK_EQ_INT(rg_document_page_at(&doc, 25), 4);
    CHECK_EQ_INT(rg_document_page_at(&doc, 100000), 4);
    rg_document one = {.text = "", .npages = 1, .page_offsets = offsets};
    CHECK_EQ_INT(rg_document_page_at(&one, 5), 1);
    rg_document none = {.text = ""};
    CHECK_EQ_INT(rg_document_page_at(&none, 0), 0);
    CHECK_EQ_INT(rg_document_page_at(NULL, 0), 0);
}
