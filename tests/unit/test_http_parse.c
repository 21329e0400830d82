/* Unit tests for agent/http_parse.c: the HTTP/1.x status line parser, fed
 * whole, one byte at a time and split in two at every boundary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "health/http_parse.h"

#define T(s) s, sizeof(s) - 1 /* a literal and its length; it may hold NULs */

static const struct {
	const char *text;
	size_t len;
	int status;
} good[] = {
    {T("HTTP/1.1 200 OK\r\n"), 200},
    {T("HTTP/1.0 200 OK\r\n"), 200},
    {T("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"), 503},
    {T("HTTP/1.1 204 \r\n"), 204},		      /* empty reason */
    {T("HTTP/1.1 301\r\nLocation: /x\r\n\r\n"), 301}, /* no reason, no SP */
    {T("HTTP/1.1 404 Not Found\n"), 404},	      /* LF only */
    {T("HTTP/1.0 302\n"), 302},
    {T("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), 100},
    {T("HTTP/1.1 599 x\r\n"), 599},
    {T("HTTP/1.1 200 Ok \t caf\xc3\xa9 (fine)\r\n"), 200}, /* HTAB, obs-text */
    {T("HTTP/1.1 500 Internal Server Error\r\n\0\xff\x01garbage"), 500},
};

static size_t first_lf(const char *text, size_t len)
{
	const char *lf = memchr(text, '\n', len);

	assert_non_null(lf);
	return (size_t)(lf - text);
}

static void test_http_parse_accepts_whole_status_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct http_status_parser p;
		int status = -1;

		http_parser_init(&p);
		assert_int_equal(http_parser_feed(&p, good[i].text, good[i].len, &status),
				 HTTP_PARSE_DONE);
		assert_int_equal(status, good[i].status);
	}
}

static void test_http_parse_byte_at_a_time_is_done_exactly_at_the_lf(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t lf = first_lf(good[i].text, good[i].len);
		struct http_status_parser p;

		http_parser_init(&p);
		for (size_t j = 0; j < good[i].len; j++) {
			int status = -1;
			enum http_parse_result r =
			    http_parser_feed(&p, good[i].text + j, 1, &status);

			if (j < lf) {
				assert_int_equal(r, HTTP_PARSE_MORE);
				assert_int_equal(status, -1);
			} else {
				assert_int_equal(r, HTTP_PARSE_DONE);
				assert_int_equal(status, good[i].status);
			}
		}
	}
}

static void test_http_parse_every_two_chunk_split_gives_the_same_status(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t lf = first_lf(good[i].text, good[i].len);

		for (size_t cut = 0; cut <= good[i].len; cut++) {
			struct http_status_parser p;
			int status = -1;
			enum http_parse_result r;

			http_parser_init(&p);
			r = http_parser_feed(&p, good[i].text, cut, &status);
			assert_int_equal(r, cut > lf ? HTTP_PARSE_DONE : HTTP_PARSE_MORE);
			r = http_parser_feed(&p, good[i].text + cut, good[i].len - cut, &status);
			assert_int_equal(r, HTTP_PARSE_DONE);
			assert_int_equal(status, good[i].status);
		}
	}
}

static const struct {
	const char *text;
	size_t len;
} bad[] = {
    {T("garbage\r\n")},
    {T("http/1.1 200 OK\r\n")},
    {T("HTTP/2 200\r\n")},
    {T("HTTP/2.0 200 OK\r\n")},
    {T("HTTP/1.x 200 OK\r\n")},
    {T("HTTP/1.1 99 Low\r\n")},
    {T("HTTP/1.1 099 Low\r\n")},
    {T("HTTP/1.1 600 High\r\n")},
    {T("HTTP/1.1 20x OK\r\n")},
    {T("HTTP/1.1 2000 OK\r\n")},
    {T("HTTP/1.1 200OK\r\n")},
    {T("HTTP/1.1  200 OK\r\n")},
    {T("HTTP/1.1\t200 OK\r\n")},
    {T("HTTP/1.1 20\r\n")},
    {T("HTTP/1.1 \r\n")},
    {T("HTTP/1.1\r\n")},
    {T("HTTP/1.1\n")},
    {T("HTTP/1.\r\n")},
    {T("HTTP\n")},
    {T("\n")},
    {T("\r\nHTTP/1.1 200 OK\r\n")},
    {T(" HTTP/1.1 200 OK\r\n")},
    {T("HTTP/1.1 200 O\0K\r\n")},   /* NUL in the reason */
    {T("HTTP/1.1 200 O\x01K\r\n")}, /* control byte */
    {T("HTTP/1.1 200 O\x7fK\r\n")}, /* DEL */
    {T("HTTP/1.1 200 O\rK\r\n")},   /* CR not before LF */
    {T("HTTP/1.1 200 OK\r\r\n")},
    {T("HTTP/1.1 200\r \n")},
    {T("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")},
    {T("\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00")}, /* a TLS record */
    {T("SSH-2.0-OpenSSH_9.2\r\n")},
    {T("Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")}, /* headers, no status */
    {T("<html><body>It works</body></html>\n")},
};

static void test_http_parse_rejects_bad_status_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_status_parser p;
		int status = -1;

		http_parser_init(&p);
		assert_int_equal(http_parser_feed(&p, bad[i].text, bad[i].len, &status),
				 HTTP_PARSE_BAD);
		assert_int_equal(status, -1);
	}
}

static void test_http_parse_rejects_bad_lines_at_every_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_status_parser p;
		enum http_parse_result r = HTTP_PARSE_MORE;

		/* one byte at a time: never DONE, BAD by the end and from then on */
		http_parser_init(&p);
		for (size_t j = 0; j < bad[i].len; j++) {
			enum http_parse_result prev = r;

			r = http_parser_feed(&p, bad[i].text + j, 1, NULL);
			assert_int_not_equal(r, HTTP_PARSE_DONE);
			if (prev == HTTP_PARSE_BAD)
				assert_int_equal(r, HTTP_PARSE_BAD);
		}
		assert_int_equal(r, HTTP_PARSE_BAD);

		for (size_t cut = 0; cut <= bad[i].len; cut++) {
			int status = -1;

			http_parser_init(&p);
			assert_int_not_equal(http_parser_feed(&p, bad[i].text, cut, &status),
					     HTTP_PARSE_DONE);
			assert_int_equal(
			    http_parser_feed(&p, bad[i].text + cut, bad[i].len - cut, &status),
			    HTTP_PARSE_BAD);
			assert_int_equal(status, -1);
		}
	}
}

/* "HTTP/1.1 200 " then padding up to len bytes, CR included if crlf. */
static size_t long_line(char *buf, size_t len, int crlf)
{
	static const char head[] = "HTTP/1.1 200 ";

	memset(buf, 'a', len);
	memcpy(buf, head, sizeof(head) - 1);
	if (crlf)
		buf[len - 1] = '\r';
	return len;
}

static void test_http_parse_line_of_max_length_is_accepted(void **state)
{
	char buf[HTTP_STATUS_LINE_MAX + 1];
	struct http_status_parser p;
	size_t n = long_line(buf, HTTP_STATUS_LINE_MAX, 1);
	int status = -1;

	(void)state;
	buf[n++] = '\n';
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, buf, n, &status), HTTP_PARSE_DONE);
	assert_int_equal(status, 200);

	n = long_line(buf, HTTP_STATUS_LINE_MAX, 0);
	buf[n++] = '\n';
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, buf, n, &status), HTTP_PARSE_DONE);
}

static void test_http_parse_line_without_lf_within_max_is_bad(void **state)
{
	char buf[HTTP_STATUS_LINE_MAX + 2];
	struct http_status_parser p;

	(void)state;
	/* MAX bytes: still waiting for the LF */
	long_line(buf, HTTP_STATUS_LINE_MAX, 0);
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, buf, HTTP_STATUS_LINE_MAX, NULL), HTTP_PARSE_MORE);
	/* one more byte that is not the LF */
	assert_int_equal(http_parser_feed(&p, "a", 1, NULL), HTTP_PARSE_BAD);

	/* the same with the CR pushed past the limit */
	long_line(buf, HTTP_STATUS_LINE_MAX + 2, 1);
	buf[HTTP_STATUS_LINE_MAX + 1] = '\n';
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, buf, sizeof(buf), NULL), HTTP_PARSE_BAD);
}

static void test_http_parse_nothing_fed_needs_more(void **state)
{
	struct http_status_parser p;
	int status = -1;

	(void)state;
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, "", 0, &status), HTTP_PARSE_MORE);
	assert_int_equal(http_parser_feed(&p, "HTTP/1.1 200 OK", 15, &status), HTTP_PARSE_MORE);
	assert_int_equal(status, -1);
}

static void test_http_parse_bytes_after_done_are_ignored(void **state)
{
	struct http_status_parser p;
	int status = -1;

	(void)state;
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, T("HTTP/1.0 418 I'm a teapot\r\n"), &status),
			 HTTP_PARSE_DONE);
	assert_int_equal(status, 418);
	status = -1;
	assert_int_equal(http_parser_feed(&p, T("\0\0garbage HTTP/1.1 500\r\n"), &status),
			 HTTP_PARSE_DONE);
	assert_int_equal(status, 418);
}

static void test_http_parse_bad_stays_bad(void **state)
{
	struct http_status_parser p;
	int status = -1;

	(void)state;
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, T("XTTP"), &status), HTTP_PARSE_BAD);
	assert_int_equal(http_parser_feed(&p, T("HTTP/1.1 200 OK\r\n"), &status), HTTP_PARSE_BAD);
	assert_int_equal(status, -1);
}

static void test_http_parse_init_resets_a_used_parser(void **state)
{
	struct http_status_parser p;
	int status = -1;

	(void)state;
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, T("junk"), &status), HTTP_PARSE_BAD);
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, T("HTTP/1.1 204\n"), &status), HTTP_PARSE_DONE);
	assert_int_equal(status, 204);
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, T("HTTP/1.1 2"), &status), HTTP_PARSE_MORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_parse_accepts_whole_status_lines),
	    cmocka_unit_test(test_http_parse_byte_at_a_time_is_done_exactly_at_the_lf),
	    cmocka_unit_test(test_http_parse_every_two_chunk_split_gives_the_same_status),
	    cmocka_unit_test(test_http_parse_rejects_bad_status_lines),
	    cmocka_unit_test(test_http_parse_rejects_bad_lines_at_every_split),
	    cmocka_unit_test(test_http_parse_line_of_max_length_is_accepted),
	    cmocka_unit_test(test_http_parse_line_without_lf_within_max_is_bad),
	    cmocka_unit_test(test_http_parse_nothing_fed_needs_more),
	    cmocka_unit_test(test_http_parse_bytes_after_done_are_ignored),
	    cmocka_unit_test(test_http_parse_bad_stays_bad),
	    cmocka_unit_test(test_http_parse_init_resets_a_used_parser),
	};

	return cmocka_run_group_tests_name("http_parse", tests, NULL, NULL);
}
