/* DOCX, ODT and EPUB: zip archives written by the test (test_archive_util.h),
 * text in document order, titles from metadata, damaged and oversized
 * archives refused with the file named. */
#include "test_archive_util.h"
#include "test_reader_util.h"

static rg_status read_zip(const char *name, ta_zip *z, size_t max_bytes, rg_document *doc, rg_error *err)
{
    ta_zip_finish(z);
    char *path = rt_write(name, z->body.data, z->body.len);
    rg_status st = rg_document_read(path, max_bytes, doc, err);
    free(path);
    rg_buf_free(&z->body);
    return st;
}

#define W "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\""

static void docx_members(ta_zip *z, const char *body)
{
    ta_zip_add_str(z, "[Content_Types].xml", "<Types/>");
    ta_zip_add_str(z, "docProps/core.xml",
                   "<cp:coreProperties xmlns:cp=\"x\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
                   "<dc:title>Quarterly  Report</dc:title></cp:coreProperties>");
    ta_zip_add_str(z, "word/document.xml", body);
}

TEST(reader_docx_paragraphs_and_title)
{
    ta_zip z = {0};
    docx_members(&z, "<?xml version=\"1.0\"?><w:document " W "><w:body>"
                     "<w:p><w:pPr><w:pStyle w:val=\"Heading1\"/></w:pPr><w:r><w:t>Sales</w:t></w:r></w:p>"
                     "<w:p><w:r><w:t xml:space=\"preserve\">Revenue grew </w:t></w:r><w:r><w:t>12%</w:t></w:r>"
                     "<w:r><w:tab/><w:t>in Q3</w:t></w:r><w:del><w:r><w:delText>deleted words</w:delText></w:r></w:del>"
                     "<w:r><w:br/><w:t>next line</w:t></w:r></w:p>"
                     "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>cell one</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
                     "<w:p><w:r><w:instrText>PAGE \\* MERGEFORMAT</w:instrText></w:r><w:r><w:t>&amp; more</w:t></w:r></w:p>"
                     "</w:body></w:document>");
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(read_zip("report.docx", &z, 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "docx");
    CHECK_EQ_STR(doc.title, "Quarterly Report");
    CHECK_EQ_STR(doc.text, "Sales\n\nRevenue grew 12% in Q3\nnext line\n\ncell one\n\n& more");
    rg_document_free(&doc);
}

TEST(reader_odt_paragraphs_and_title)
{
    ta_zip z = {0};
    ta_zip_add(&z, "mimetype", "application/vnd.oasis.opendocument.text", 39, true);
    ta_zip_add_str(&z, "meta.xml",
                   "<office:document-meta xmlns:office=\"o\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
                   "<office:meta><dc:title>Field Notes</dc:title></office:meta></office:document-meta>");
    ta_zip_add_str(&z, "content.xml",
                   "<office:document-content xmlns:office=\"o\" xmlns:text=\"t\"><office:body><office:text>"
                   "<text:h text:outline-level=\"1\">Birds</text:h>\n"
                   "<text:p>Seen: <text:span>heron</text:span>,<text:s text:c=\"2\"/>egret<text:tab/>x"
                   "<office:annotation><text:p>reviewer comment</text:p></office:annotation></text:p>\n"
                   "<text:p>Line<text:line-break/>two</text:p>"
                   "</office:text></office:body></office:document-content>");
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(read_zip("notes.odt", &z, 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "odt");
    CHECK_EQ_STR(doc.title, "Field Notes");
    CHECK_EQ_STR(doc.text, "Birds\n\nSeen: heron,  egret x\n\nLine\ntwo");
    rg_document_free(&doc);
}

TEST(reader_epub_spine_order_and_title)
{
    ta_zip z = {0};
    ta_zip_add(&z, "mimetype", "application/epub+zip", 20, true);
    ta_zip_add_str(&z, "META-INF/container.xml",
                   "<container xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\"><rootfiles>"
                   "<rootfile full-path=\"OEBPS/book.opf\" media-type=\"application/oebps-package+xml\"/>"
                   "</rootfiles></container>");
    /* Archive order differs from reading order; hrefs are relative,
     * percent-encoded and go through "..". */
    ta_zip_add_str(&z, "OEBPS/text/ch 2.xhtml",
                   "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>Two</title></head>"
                   "<body><h1>Chapter Two</h1><p>The lighthouse keeper slept.</p></body></html>");
    ta_zip_add_str(&z, "OEBPS/text/ch1.xhtml",
                   "<html><body><h1>Chapter One</h1><p>A storm came in from the west.</p></body></html>");
    ta_zip_add_str(&z, "OEBPS/book.opf",
                   "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\">"
                   "<metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>The Keeper</dc:title></metadata>"
                   "<manifest><item id=\"c2\" href=\"text/../text/ch%202.xhtml\" media-type=\"application/xhtml+xml\"/>"
                   "<item id=\"c1\" href=\"./text/ch1.xhtml#start\" media-type=\"application/xhtml+xml\"/>"
                   "<item id=\"img\" href=\"cover.png\" media-type=\"image/png\"/></manifest>"
                   "<spine><itemref idref=\"c1\"/><itemref idref=\"img\"/><itemref idref=\"c2\"/></spine></package>");
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(read_zip("keeper.epub", &z, 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "epub");
    CHECK_EQ_STR(doc.title, "The Keeper");
    CHECK_EQ_STR(doc.text, "Chapter One\n\nA storm came in from the west.\n\nChapter Two\n\nThe lighthouse keeper slept.");
    rg_document_free(&doc);
}

TEST(reader_office_damage_and_bombs_are_refused)
{
    rg_document doc;
    rg_error err = {0};
    rt_capture cap;
    rt_capture_begin(&cap);
    /* Not a zip at all. */
    CHECK(rt_read("fake.docx", "plain text pretending", 21, &doc, &err) == RG_ERR_INVALID);
    CHECK(strstr(err.msg, "fake.docx") && strstr(err.msg, "not a zip"));
    /* A zip without the document part. */
    ta_zip z = {0};
    ta_zip_add_str(&z, "other.xml", "<a/>");
    CHECK(read_zip("empty.docx", &z, 0, &doc, &err) == RG_ERR_INVALID);
    CHECK(strstr(err.msg, "word/document.xml") != NULL);
    /* Broken XML in the body. */
    memset(&z, 0, sizeof z);
    ta_zip_add_str(&z, "content.xml", "<office:document-content><<<&&&");
    rg_status st = read_zip("broken.odt", &z, 0, &doc, &err);
    CHECK(st == RG_OK || (st == RG_ERR_INVALID && strstr(err.msg, "broken.odt")));
    if (st == RG_OK)
        rg_document_free(&doc);
    /* 4 MiB of text deflates to a few KiB; the bound is 1 MiB. */
    memset(&z, 0, sizeof z);
    size_t big = 4u << 20;
    char *s = malloc(big);
    memset(s, ' ', big);
    memcpy(s, "<w:document>", 12);
    ta_zip_add(&z, "word/document.xml", s, big, false);
    free(s);
    CHECK(read_zip("bomb.docx", &z, 1u << 20, &doc, &err) == RG_ERR_INVALID);
    CHECK(strstr(err.msg, "bomb.docx") && strstr(err.msg, "zip bomb"));
    /* A truncated archive. */
    memset(&z, 0, sizeof z);
    docx_members(&z, "<w:document><w:body><w:p><w:r><w:t>words</w:t></w:r></w:p></w:body></w:document>");
    ta_zip_finish(&z);
    st = rt_read("cut.docx", z.body.data, z.body.len / 2, &doc, &err);
    CHECK(st == RG_ERR_INVALID);
    CHECK(strstr(err.msg, "cut.docx") != NULL);
    rg_buf_free(&z.body);
    /* An EPUB with neither package nor chapters. */
    memset(&z, 0, sizeof z);
    ta_zip_add_str(&z, "readme.txt", "hi");
    CHECK(read_zip("nothing.epub", &z, 0, &doc, &err) == RG_ERR_INVALID);
    CHECK(strstr(err.msg, "nothing.epub") && strstr(err.msg, "no package"));
    CHECK_EQ_INT(rt_capture_end(&cap), 0);
}
