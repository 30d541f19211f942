/* HTML reader: visible text, headings as paragraphs, noise dropped, quiet on
 * broken markup. */
#include "test_reader_util.h"

#define READ_LIT(name, lit, doc, err) rt_read(name, lit, sizeof(lit) - 1, doc, err)

TEST(reader_html_structure_title_and_noise)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("page.html",
                      "<!DOCTYPE html><html><head><title> Backup\n Guide </title>"
                      "<style>body { color: red }</style><script>var x = 'secret';</script></head>"
                      "<body><nav><a href='/'>Home</a> | <a href='/about'>About</a></nav>"
                      "<h1>Backups</h1><p>Run   <b>restic</b> every\n night at 02:00.</p>"
                      "<h2>Restore &amp; test</h2><p>Caf&eacute; &#8364;5 &lt;ok&gt;&nbsp;done</p>"
                      "<ul><li>one</li><li>two</li></ul>"
                      "<div hidden>hidden text</div><div aria-hidden=\"true\">icon</div>"
                      "<pre>line 1\n  line 2</pre>"
                      "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>"
                      "<p>split<i>word</i> and a<br>break</p>"
                      "<footer>Footer words</footer></body></html>",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.title, "Backup Guide");
    CHECK_EQ_STR(doc.format, "html");
    CHECK_EQ_STR(doc.text, "Backups\n\n"
                           "Run restic every night at 02:00.\n\n"
                           "Restore & test\n\n"
                           "Café €5 <ok> done\n\n"
                           "one\ntwo\n\n"
                           "line 1\n  line 2\n\n"
                           "a b\nc d\n\n"
                           "splitword and a\nbreak\n\n"
                           "Footer words");
    rg_document_free(&doc);
}

TEST(reader_html_title_falls_back_to_h1)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("notitle.htm", "<html><body><p>intro</p><h1>First <em>Heading</em></h1><h1>Second</h1></body></html>",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.title, "First Heading");
    CHECK_EQ_STR(doc.text, "intro\n\nFirst Heading\n\nSecond");
    rg_document_free(&doc);
    CHECK_OK(READ_LIT("bare.html", "<p>no title at all</p>", &doc, &err), &err);
    CHECK(doc.title == NULL);
    CHECK_EQ_STR(doc.text, "no title at all");
    rg_document_free(&doc);
}

TEST(reader_html_broken_markup_is_quiet)
{
    rg_document doc;
    rg_error err = {0};
    rt_capture cap;
    rt_capture_begin(&cap);
    rg_status st = READ_LIT("broken.html",
                            "<html><body></div><p>one<p>two<div>three</span><h2>Head<p>after heading"
                            "<table><td>cell</tr></table><script>unterminated <b>bold</b> &bogus; &#xZZ; <a href=x>link",
                            &doc, &err);
    long leaked = rt_capture_end(&cap);
    CHECK_OK(st, &err);
    CHECK_EQ_INT(leaked, 0);
    CHECK(strstr(doc.text, "one\n\ntwo\n\nthree\n\nHead\n\nafter heading") != NULL);
    CHECK(strstr(doc.text, "cell") != NULL);
    CHECK(rg_utf8_valid(doc.text, doc.len));
    rg_document_free(&doc);
}

TEST(reader_html_deep_nesting_does_not_crash)
{
    rg_buf b;
    rg_buf_init(&b);
    rg_buf_puts(&b, "<html><body>");
    for (int i = 0; i < 50000; i++)
        rg_buf_puts(&b, "<div><span>");
    rg_buf_puts(&b, "deep text");
    rg_document doc;
    rg_error err = {0};
    rt_capture cap;
    rt_capture_begin(&cap);
    rg_status st = rt_read("deep.html", b.data, b.len, &doc, &err);
    long leaked = rt_capture_end(&cap);
    rg_buf_free(&b);
    CHECK_EQ_INT(leaked, 0);
    /* libxml2 caps the depth; whatever it keeps must come out as valid text. */
    if (st == RG_OK) {
        CHECK(rg_utf8_valid(doc.text, doc.len));
        rg_document_free(&doc);
    } else {
        CHECK_MSG(strstr(err.msg, "deep.html"), "message: %s", err.msg);
    }
}

TEST(reader_html_declared_charsets)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("latin1.html",
                      "<html><head><meta charset=\"iso-8859-1\"><title>Caf\xe9</title></head>"
                      "<body><p>cr\xe8me br\xfbl\xe9" "e</p></body></html>",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.title, "Café");
    CHECK_EQ_STR(doc.text, "crème brûlée");
    rg_document_free(&doc);

    /* KOI8-R is not guessable; the declaration makes it readable. */
    CHECK_OK(READ_LIT("koi8.html",
                      "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\"></head>"
                      "<body><p>\xf0\xd2\xc9\xd7\xc5\xd4</p></body></html>",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.text, "Привет");
    rg_document_free(&doc);

    CHECK_OK(READ_LIT("sjis.html", "<meta charset=\"shift_jis\"><p>\x93\xfa\x96\x7b\x8c\xea text</p>", &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "日本語 text");
    rg_document_free(&doc);

    /* An unknown charset name falls back to our own decoding, quietly. */
    rt_capture cap;
    rt_capture_begin(&cap);
    rg_status st = READ_LIT("bogus.html", "<meta charset=\"x-bogus\"><p>caf\xe9 ok</p>", &doc, &err);
    long leaked = rt_capture_end(&cap);
    CHECK_OK(st, &err);
    CHECK_EQ_INT(leaked, 0);
    CHECK_EQ_STR(doc.text, "café ok");
    rg_document_free(&doc);

    /* UTF-8 bytes with a wrong Latin-1 declaration stay UTF-8. */
    CHECK_OK(READ_LIT("liar.html", "<meta charset=\"iso-8859-1\"><p>naïve</p>", &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "naïve");
    rg_document_free(&doc);
}

TEST(reader_html_empty_and_binary)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(rt_read("empty.html", "", 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "");
    CHECK(doc.title == NULL);
    rg_document_free(&doc);
    CHECK_OK(READ_LIT("ws.html", "  \n <html></html>", &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "");
    rg_document_free(&doc);
    CHECK_EQ_INT(READ_LIT("bin.html", "<html>\0\0\0\x01\x02</html>", &doc, &err), RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "bin.html"), "message: %s", err.msg);
}

TEST(reader_html_sniffed_without_extension)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("index", "<!doctype html><title>T</title><p>x</p>", &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "html");
    CHECK_EQ_STR(doc.title, "T");
    CHECK_EQ_STR(doc.text, "x");
    rg_document_free(&doc);
}

TEST(reader_html_huge_text_node_is_not_truncated)
{
    rg_buf b;
    rg_buf_init(&b);
    rg_buf_puts(&b, "<html><body><p>");
    for (int i = 0; i < 2500000; i++) /* 12.5 MB in one text node, over libxml2's default cap */
        rg_buf_puts(&b, "word ");
    rg_buf_puts(&b, "END</p><p>after</p></body></html>");
    rg_document doc;
    rg_error err = {0};
    rg_status st = rt_read("huge.html", b.data, b.len, &doc, &err);
    rg_buf_free(&b);
    CHECK_OK(st, &err);
    CHECK(doc.len > 12500000);
    CHECK(strcmp(doc.text + doc.len - strlen("END\n\nafter"), "END\n\nafter") == 0);
    rg_document_free(&doc);
}

TEST(reader_html_main_content_only_when_marked)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(READ_LIT("site.html",
                      "<html><head><title>Post</title></head><body>"
                      "<div class=banner>Site Name</div><ul class=menu><li>Home</li><li>Blog</li></ul>"
                      "<main><h1>The Post</h1><p>What the page says.</p></main>"
                      "<aside>Related links</aside><footer>Copyright</footer></body></html>",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.title, "Post");
    CHECK_EQ_STR(doc.text, "The Post\n\nWhat the page says.");
    rg_document_free(&doc);

    CHECK_OK(READ_LIT("article.html",
                      "<body><div>Menu</div><article><p>Article body.</p></article><div>Footer</div></body>",
                      &doc, &err),
             &err);
    CHECK_EQ_STR(doc.text, "Article body.");
    rg_document_free(&doc);

    /* Several articles (an index page): everything is content. */
    CHECK_OK(READ_LIT("index.html", "<body><div>Menu</div><article>One.</article><article>Two.</article></body>", &doc,
                      &err),
             &err);
    CHECK_EQ_STR(doc.text, "Menu\n\nOne.\n\nTwo.");
    rg_document_free(&doc);
}

/* A tag with tens of thousands of attributes cost libxml2 N^2 (over a
 * minute for 80,000); attributes past 256 are dropped before parsing, and
 * what the reader uses (text, an early `hidden`) is unchanged. */
TEST(reader_html_many_attributes_are_capped)
{
    rg_buf b;
    rg_buf_init(&b);
    rg_buf_puts(&b, "<html><body><div hidden");
    for (int i = 0; i < 80000; i++)
        rg_buf_printf(&b, " a%d=\"v>%d\"", i, i);
    rg_buf_puts(&b, ">hidden words</div><p title='x'>visible words</p><p data-x=\"a b c\">more</p></body></html>");
    rg_document doc;
    rg_error err = {0};
    double t0 = rg_now();
    CHECK_OK(rt_read("wide.html", b.data, b.len, &doc, &err), &err);
    CHECK_MSG(rg_now() - t0 < 20.0, "reading took %.1f s", rg_now() - t0);
    CHECK_EQ_STR(doc.text, "visible words\n\nmore");
    rg_document_free(&doc);
    rg_buf_free(&b);
}
