/* Unit tests for agent/health/dns_msg.c: the names and types of
 * `health = dns`, the query it sends, and the check of the reply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "health/dns_msg.h"

#define M(s) (const uint8_t *)s, sizeof(s) - 1 /* a literal and its length */

static void test_dns_names_valid_and_not(void **state)
{
	static const char *const good[] = {
	    ".", "a", "example.com", "example.com.", "_dns.x-1.Y", "a.b.c.d.e.f.g"};
	static const char *const bad[] = {
	    "",
	    "..",
	    ".a",
	    "a..b",
	    "a b",
	    "a\\.b",
	    "caf\xc3\xa9",
	    "a/b",
	    "-"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".b"};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(dns_name_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(dns_name_valid(bad[i]));
}

static void test_dns_name_of_253_characters_fits_and_254_does_not(void **state)
{
	char name[300];
	size_t n = 0;

	(void)state;
	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters: 255 bytes on the wire. */
	for (int l = 0; l < 4; l++) {
		int len = l < 3 ? 63 : 61;

		memset(name + n, 'a', (size_t)len);
		n += (size_t)len;
		name[n++] = '.';
	}
	name[--n] = '\0';
	assert_int_equal(strlen(name), 253);
	assert_true(dns_name_valid(name));
	strcat(name, "."); /* the final dot changes nothing */
	assert_true(dns_name_valid(name));
	name[253] = 'a';
	name[254] = '\0'; /* 254 characters without a final dot: 256 on the wire */
	assert_false(dns_name_valid(name));
}

static void test_dns_types_parse_by_name_and_number(void **state)
{
	static const struct {
		const char *text;
		int ret;
		uint16_t type;
	} cases[] = {
	    {"A", 0, 1},     {"aaaa", 0, 28},	{"Ns", 0, 2},
	    {"SOA", 0, 6},   {"TYPE64", 0, 64}, {"type65535", 0, 65535},
	    {"16", 0, 16},   {"ANY", 0, 255},	{"TYPE0", -1, 0},
	    {"0", -1, 0},    {"65536", -1, 0},	{"AAA", -1, 0},
	    {"TYPE", -1, 0}, {"+1", -1, 0},	{"01", -1, 0},
	    {" 1", -1, 0},   {"", -1, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t t = 0;

		assert_int_equal(dns_type_parse(cases[i].text, &t), cases[i].ret);
		if (cases[i].ret == 0)
			assert_int_equal(t, cases[i].type);
	}
}

static void test_dns_query_is_one_question_with_rd(void **state)
{
	uint8_t q[DNS_QUERY_MAX];
	size_t n;

	(void)state;
	n = dns_query_encode("Example.com", 28, 0xbeef, q, sizeof(q));
	assert_int_equal(n, 12 + 13 + 4);
	assert_memory_equal(q,
			    "\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
			    "\x07"
			    "Example\x03"
			    "com\x00\x00\x1c\x00\x01",
			    n);
	n = dns_query_encode(".", DNS_TYPE_NS, 1, q, sizeof(q));
	assert_int_equal(n, 17);
	assert_memory_equal(q + 12, "\x00\x00\x02\x00\x01", 5);
	assert_int_equal(dns_query_encode("a..b", 1, 1, q, sizeof(q)), 0);
	assert_int_equal(dns_query_encode("example.com", 1, 1, q, 20), 0); /* no room */
}

/* Replies to the query for "example.com" A, id 0x1234. */
#define QQ                                                                                         \
	"\x07"                                                                                     \
	"example\x03"                                                                              \
	"com\x00\x00\x01\x00\x01"

static const struct {
	const char *what;
	const uint8_t *msg;
	size_t len;
	bool cut;
	enum dns_reply_result want;
	uint8_t rcode;
} replies[] = {
    {"NOERROR with an answer",
     M("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" QQ "\xc0\x0c\x00\x01\x00\x01\x00\x00"
       "\x00\x3c\x00\x04\xc6\x12\x05\x05"),
     false, DNS_REPLY_GOOD, 0},
    {"NXDOMAIN, no records", M("\x12\x34\x81\x83\x00\x01\x00\x00\x00\x00\x00\x00" QQ), false,
     DNS_REPLY_GOOD, 3},
    {"question in another case",
     M("\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x07"
       "EXAMPLE\x03"
       "Com\x00\x00\x01\x00\x01"),
     false, DNS_REPLY_GOOD, 0},
    {"SERVFAIL", M("\x12\x34\x81\x82\x00\x01\x00\x00\x00\x00\x00\x00" QQ), false,
     DNS_REPLY_BAD_RCODE, 2},
    {"REFUSED without the question", M("\x12\x34\x81\x05\x00\x00\x00\x00\x00\x00\x00\x00"), false,
     DNS_REPLY_BAD_RCODE, 5},
    {"another id", M("\x12\x35\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00" QQ), false,
     DNS_REPLY_NOT_OURS, 0},
    {"a query", M("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" QQ), false, DNS_REPLY_NOT_OURS,
     0},
    {"shorter than a header", M("\x12\x34\x81\x80\x00"), false, DNS_REPLY_MALFORMED, 0},
    {"another question",
     M("\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x07"
       "example\x03"
       "org\x00\x00\x01\x00\x01"),
     false, DNS_REPLY_MALFORMED, 0},
    {"another type",
     M("\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x07"
       "example\x03"
       "com\x00\x00\x1c\x00\x01"),
     false, DNS_REPLY_MALFORMED, 0},
    {"two questions", M("\x12\x34\x81\x80\x00\x02\x00\x00\x00\x00\x00\x00" QQ QQ), false,
     DNS_REPLY_MALFORMED, 0},
    {"ends in the question",
     M("\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x07"
       "exam"),
     false, DNS_REPLY_MALFORMED, 0},
    {"opcode STATUS", M("\x12\x34\x91\x80\x00\x01\x00\x00\x00\x00\x00\x00" QQ), false,
     DNS_REPLY_MALFORMED, 0},
    {"an answer past the end",
     M("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" QQ "\xc0\x0c\x00\x01\x00\x01\x00\x00"
       "\x00\x3c\x00\x04\xc6\x12"),
     false, DNS_REPLY_MALFORMED, 0},
    {"the same, truncated (TC)",
     M("\x12\x34\x83\x80\x00\x01\x00\x01\x00\x00\x00\x00" QQ "\xc0\x0c\x00\x01\x00\x01\x00\x00"
       "\x00\x3c\x00\x04\xc6\x12"),
     false, DNS_REPLY_GOOD, 0},
    {"the same, cut by the reader",
     M("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" QQ "\xc0\x0c\x00\x01\x00\x01\x00\x00"
       "\x00\x3c\x00\x04\xc6\x12"),
     true, DNS_REPLY_GOOD, 0},
    {"counts more records than there are", M("\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\xff\xff" QQ),
     false, DNS_REPLY_MALFORMED, 0},
    {"a pointer forwards",
     M("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" QQ "\xc0\x1f\x00\x01\x00\x01\x00\x00"
       "\x00\x3c\x00\x00"),
     false, DNS_REPLY_MALFORMED, 0},
    {"a pointer to itself",
     M("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" QQ "\xc0\x1d\x00\x01\x00\x01\x00\x00"
       "\x00\x3c\x00\x00"),
     false, DNS_REPLY_MALFORMED, 0},
    {"a reserved label type",
     M("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" QQ "\x41\x00\x00\x01\x00\x01\x00\x00"
       "\x00\x3c\x00\x00"),
     false, DNS_REPLY_MALFORMED, 0},
};

static void test_dns_reply_check_table(void **state)
{
	uint8_t q[DNS_QUERY_MAX];
	size_t qlen = dns_query_encode("example.com", DNS_TYPE_A, 0x1234, q, sizeof(q));

	(void)state;
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		struct dns_reply_info info;
		enum dns_reply_result r =
		    dns_reply_check(replies[i].msg, replies[i].len, replies[i].cut, q, qlen, &info);

		if (r != replies[i].want)
			fail_msg("%s: result %d, want %d (%s)", replies[i].what, r, replies[i].want,
				 info.reason ? info.reason : "");
		if (r == DNS_REPLY_GOOD || r == DNS_REPLY_BAD_RCODE)
			assert_int_equal(info.rcode, replies[i].rcode);
		else
			assert_non_null(info.reason);
	}
}

static void test_dns_reply_cut_at_every_byte_never_reads_past_it(void **state)
{
	static const uint8_t whole[] =
	    "\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" QQ
	    "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc6\x12\x05\x05";
	uint8_t q[DNS_QUERY_MAX];
	size_t qlen = dns_query_encode("example.com", DNS_TYPE_A, 0x1234, q, sizeof(q));

	(void)state;
	for (size_t n = 0; n < sizeof(whole) - 1; n++) {
		enum dns_reply_result whole_read = dns_reply_check(whole, n, false, q, qlen, NULL);
		enum dns_reply_result cut_read = dns_reply_check(whole, n, true, q, qlen, NULL);

		assert_int_equal(whole_read, DNS_REPLY_MALFORMED); /* a record is missing */
		assert_int_equal(cut_read, n < qlen ? DNS_REPLY_MALFORMED : DNS_REPLY_GOOD);
	}
}

static void test_dns_rcode_and_type_names(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(dns_rcode_name(0, buf, sizeof(buf)), "NOERROR");
	assert_string_equal(dns_rcode_name(5, buf, sizeof(buf)), "REFUSED");
	assert_string_equal(dns_rcode_name(15, buf, sizeof(buf)), "RCODE15");
	assert_string_equal(dns_type_name(28, buf, sizeof(buf)), "AAAA");
	assert_string_equal(dns_type_name(64, buf, sizeof(buf)), "TYPE64");
	assert_int_equal(dns_default_type("."), DNS_TYPE_NS);
	assert_int_equal(dns_default_type("example.com"), DNS_TYPE_A);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dns_names_valid_and_not),
	    cmocka_unit_test(test_dns_name_of_253_characters_fits_and_254_does_not),
	    cmocka_unit_test(test_dns_types_parse_by_name_and_number),
	    cmocka_unit_test(test_dns_query_is_one_question_with_rd),
	    cmocka_unit_test(test_dns_reply_check_table),
	    cmocka_unit_test(test_dns_reply_cut_at_every_byte_never_reads_past_it),
	    cmocka_unit_test(test_dns_rcode_and_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
