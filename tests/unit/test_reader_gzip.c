/* gzip reader: read by the inner name, concatenated members, and a bomb,
 * truncation or a lying name refused with the file named. */
#include "test_archive_util.h"
#include "test_reader_util.h"

/* Writes name as the gzip of s and reads it with max_bytes. */
static rg_status read_gz(const char *name, const char *s, size_t max_bytes, rg_document *doc, rg_error *err)
{
    rg_buf gz;
    rg_buf_init(&gz);
    ta_gzip(s, strlen(s), &gz);
    char *path = rt_write(name, gz.data, gz.len);
    rg_status st = rg_document_read(path, max_bytes, doc, err);
    free(path);
    rg_buf_free(&gz);
    return st;
}

TEST(reader_gzip_reads_by_inner_name)
{
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(read_gz("notes.txt.gz", "Plain words\r\n\r\n\r\nabout zebras.\n", 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "text");
    CHECK_EQ_STR(doc.text, "Plain words\n\nabout zebras.");
    rg_document_free(&doc);

    CHECK_OK(read_gz("guide.md.gz", "# Giraffes\n\nSome *long* necks.\n", 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "markdown");
    CHECK_EQ_STR(doc.title, "Giraffes");
    CHECK_EQ_STR(doc.text, "Giraffes\n\nSome long necks.");
    rg_document_free(&doc);

    CHECK_OK(read_gz("page.html.gz", "<html><title>T</title><p>Hello <b>web</b></p></html>", 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "html");
    CHECK_EQ_STR(doc.title, "T");
    CHECK_EQ_STR(doc.text, "Hello web");
    rg_document_free(&doc);

    /* Debian's names: no extension, or a suffix that is not a type. */
    CHECK_OK(read_gz("changelog.Debian.gz", "pkg (1.0-1) unstable; urgency=low\n\n  * Initial release.\n", 0, &doc,
                     &err),
             &err);
    CHECK_EQ_STR(doc.format, "text");
    CHECK(strstr(doc.text, "Initial release.") != NULL);
    rg_document_free(&doc);
    CHECK_OK(read_gz("changelog.gz", "2024-01-01  Someone\n\n\t* fixed things\n", 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "text");
    rg_document_free(&doc);
    CHECK_OK(read_gz("tool.1.gz", ".TH TOOL 1\n.SH NAME\ntool \\- does things\n", 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "man");
    CHECK_EQ_STR(doc.title, "tool - does things");
    rg_document_free(&doc);
    CHECK_OK(read_gz("script.py.gz", "def f():\n    return 1\n", 0, &doc, &err), &err);
    CHECK_EQ_STR(doc.format, "code");
    CHECK_EQ_STR(doc.language, "python");
    rg_document_free(&doc);
}

TEST(reader_gzip_selection)
{
    rg_buf gz;
    rg_buf_init(&gz);
    ta_gzip("hello text\n", 11, &gz);
    const unsigned char *h = (const unsigned char *)gz.data;
    CHECK(rg_reader_find("a.txt.gz", h, gz.len) == &rg_reader_gzip);
    CHECK(rg_reader_find("README.gz", h, gz.len) == &rg_reader_gzip);
    CHECK(rg_reader_find("a.txt.gz", NULL, 0) == &rg_reader_gzip);
    /* Archives and double compression are not documents. */
    CHECK(rg_reader_find("a.tar.gz", h, gz.len) == NULL);
    CHECK(rg_reader_find("a.txt.gz.gz", h, gz.len) == NULL);
    CHECK(rg_reader_find("a.png.gz", h, gz.len) == NULL);
    /* A binary inside an extension-less name is passed over. */
    rg_buf bin;
    rg_buf_init(&bin);
    static const char elf[] = "\x7f" "ELF\0\0\0\0binary";
    ta_gzip(elf, sizeof elf - 1, &bin);
    CHECK(rg_reader_find("README.gz", (const unsigned char *)bin.data, bin.len) == NULL);
    /* A rotated log is not a man page, inside gzip or not. */
    rg_buf log;
    rg_buf_init(&log);
    const char *lines = "Dec  6 07:00:01 host CRON[1]: job ran\nDec  6 07:01:01 host CRON[2]: job ran\n";
    ta_gzip(lines, strlen(lines), &log);
    CHECK(rg_reader_find("syslog.1.gz", (const unsigned char *)log.data, log.len) == NULL);
    CHECK(rg_reader_find("syslog.1", (const unsigned char *)lines, strlen(lines)) == NULL);
    rg_buf_free(&gz);
    rg_buf_free(&bin);
    rg_buf_free(&log);
}

TEST(reader_gzip_concatenated_members)
{
    rg_buf gz;
    rg_buf_init(&gz);
    ta_gzip("first part\n", 11, &gz);
    ta_gzip("second part\n", 12, &gz);
    rg_document doc;
    rg_error err = {0};
    CHECK_OK(rt_read("two.txt.gz", gz.data, gz.len, &doc, &err), &err);
    CHECK_EQ_STR(doc.text, "first part\nsecond part");
    rg_document_free(&doc);
    rg_buf_free(&gz);
}

TEST(reader_gzip_bomb_truncation_and_lies_are_refused)
{
    /* 8 MiB of zeros-as-text compresses to a few KiB; the bound is 1 MiB. */
    size_t big = 8u << 20;
    char *s = malloc(big + 1);
    memset(s, 'a', big);
    s[big] = '\0';
    rg_document doc;
    rg_error err = {0};
    CHECK(read_gz("bomb.txt.gz", s, 1u << 20, &doc, &err) == RG_ERR_INVALID);
    CHECK(strstr(err.msg, "bomb.txt.gz") != NULL);
    CHECK(strstr(err.msg, "decompresses to more than 1.0 MB") != NULL);
    CHECK(strstr(err.msg, "ingest.max_file_mb") != NULL);
    free(s);

    rg_buf gz;
    rg_buf_init(&gz);
    const char *text = "a sentence that will be cut short by truncation of the compressed stream\n";
    ta_gzip(text, strlen(text), &gz);
    CHECK(rt_read("cut.txt.gz", gz.data, gz.len - 12, &doc, &err) == RG_ERR_INVALID);
    CHECK(strstr(err.msg, "cut.txt.gz") != NULL);
    CHECK(strstr(err.msg, "truncated") != NULL || strstr(err.msg, "damaged") != NULL);
    /* A flipped byte in the deflate data (or the CRC) is damage. */
    gz.data[gz.len - 6] ^= 0x55;
    CHECK(rt_read("crc.txt.gz", gz.data, gz.len, &doc, &err) == RG_ERR_INVALID);
    CHECK(strstr(err.msg, "damaged") != NULL);
    rg_buf_free(&gz);

    CHECK(rt_read("plain.txt.gz", "not gzip at all, just text\n", 27, &doc, &err) == RG_ERR_INVALID);
    CHECK(strstr(err.msg, "not a gzip file") != NULL);
}
