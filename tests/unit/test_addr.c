/* Unit tests for agent/addr.c: endpoint parsing, formatting, comparison. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "lib/addr.h"
#include "bpf/steer_abi.h"

static const struct {
	const char *text;
	uint8_t family;
	const char *host; /* as inet_pton takes it */
	uint16_t port;
	const char *formatted; /* endpoint_format() of the result */
} good[] = {
    {"1.2.3.4:80", STEER_FAMILY_V4, "1.2.3.4", 80, "1.2.3.4:80"},
    {"0.0.0.0:1", STEER_FAMILY_V4, "0.0.0.0", 1, "0.0.0.0:1"},
    {"255.255.255.255:65535", STEER_FAMILY_V4, "255.255.255.255", 65535, "255.255.255.255:65535"},
    {"10.0.0.1:0080", STEER_FAMILY_V4, "10.0.0.1", 80, "10.0.0.1:80"},
    {"[::1]:443", STEER_FAMILY_V6, "::1", 443, "[::1]:443"},
    {"[fd00:0:0::7]:8080", STEER_FAMILY_V6, "fd00::7", 8080, "[fd00::7]:8080"},
    {"[2001:db8::1:2:3:4]:53", STEER_FAMILY_V6, "2001:db8::1:2:3:4", 53, "[2001:db8::1:2:3:4]:53"},
    {"[::ffff:1.2.3.4]:80", STEER_FAMILY_V6, "::ffff:1.2.3.4", 80, "[::ffff:1.2.3.4]:80"},
};

static void test_addr_parses_accepted_forms(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct endpoint ep, want = {0};
		char err[256] = "", buf[ADDR_STRLEN];

		want.family = good[i].family;
		want.port = good[i].port;
		assert_int_equal(inet_pton(good[i].family, good[i].host, want.addr), 1);

		assert_int_equal(endpoint_parse(good[i].text, &ep, err, sizeof(err)), 0);
		assert_string_equal(err, "");
		assert_int_equal(ep.family, want.family);
		assert_int_equal(ep.port, want.port);
		assert_memory_equal(ep.addr, want.addr, sizeof(want.addr));
		assert_true(endpoint_equal(&ep, &want));
		assert_string_equal(endpoint_format(&ep, buf, sizeof(buf)), good[i].formatted);
	}
}

static void test_addr_ipv4_leaves_upper_words_zero(void **state)
{
	struct endpoint ep;
	char err[256];

	(void)state;
	memset(&ep, 0xff, sizeof(ep));
	assert_int_equal(endpoint_parse("192.168.1.2:9", &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.addr[0], htonl(0xc0a80102));
	assert_int_equal(ep.addr[1], 0);
	assert_int_equal(ep.addr[2], 0);
	assert_int_equal(ep.addr[3], 0);
}

#define BAD_ADDR(t)                                                                                \
	{                                                                                          \
		t, "bad address '" t "' (accepted: A.B.C.D:PORT or [IPV6]:PORT)"                   \
	}
#define BAD_PORT(p, t)                                                                             \
	{                                                                                          \
		t, "bad port '" p "' in '" t "' (accepted: 1-65535)"                               \
	}

static const struct {
	const char *text;
	const char *err;
} bad[] = {
    BAD_ADDR(""),
    BAD_ADDR("1.2.3:80"),
    BAD_ADDR("1.2.3.4"),
    BAD_ADDR("1.2.3.256:80"),
    BAD_ADDR("01.2.3.4:80"),
    BAD_ADDR("localhost:80"),
    BAD_ADDR(" 1.2.3.4:80"),
    BAD_ADDR(":80"),
    BAD_ADDR("::1:80"),
    BAD_ADDR("[::1]"),
    BAD_ADDR("[::1]80"),
    BAD_ADDR("[::1:80"),
    BAD_ADDR("[]:80"),
    BAD_ADDR("[1.2.3.4]:80"),
    BAD_ADDR("[fe80::1%eth0]:80"),
    BAD_ADDR("[ ::1]:80"),
    BAD_PORT("", "1.2.3.4:"),
    BAD_PORT("0", "1.2.3.4:0"),
    BAD_PORT("65536", "1.2.3.4:65536"),
    BAD_PORT("70000", "1.2.3.4:70000"),
    BAD_PORT("99999999999999999999", "1.2.3.4:99999999999999999999"),
    BAD_PORT("+80", "1.2.3.4:+80"),
    BAD_PORT("-1", "1.2.3.4:-1"),
    BAD_PORT("80 ", "1.2.3.4:80 "),
    BAD_PORT(" 80", "1.2.3.4: 80"),
    BAD_PORT("80x", "1.2.3.4:80x"),
    BAD_PORT("0x50", "1.2.3.4:0x50"),
    BAD_PORT("80:81", "1.2.3.4:80:81"),
    BAD_PORT("0", "[::1]:0"),
    BAD_PORT("", "[::1]:"),
    BAD_PORT("65536", "[::1]:65536"),
};

static void test_addr_rejects_bad_forms_naming_text_and_accepted_form(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct endpoint ep = {0};
		char err[256] = "";

		assert_int_equal(endpoint_parse(bad[i].text, &ep, err, sizeof(err)), -1);
		assert_string_equal(err, bad[i].err);
		assert_int_equal(ep.family, 0); /* untouched on failure */
	}
}

static void test_addr_format_round_trips(void **state)
{
	static const char *const texts[] = {"1.2.3.4:1", "[::]:65535", "[fe80::1:2]:22",
					    "127.0.0.1:8080"};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct endpoint a, b;
		char err[256], buf[ADDR_STRLEN];

		assert_int_equal(endpoint_parse(texts[i], &a, err, sizeof(err)), 0);
		endpoint_format(&a, buf, sizeof(buf));
		assert_string_equal(buf, texts[i]);
		assert_int_equal(endpoint_parse(buf, &b, err, sizeof(err)), 0);
		assert_true(endpoint_equal(&a, &b));
	}
}

static void test_addr_longest_form_fits_addr_strlen(void **state)
{
	const char *text = "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535";
	char err[256], buf[ADDR_STRLEN];
	struct endpoint ep;

	(void)state;
	assert_int_equal(endpoint_parse(text, &ep, err, sizeof(err)), 0);
	assert_string_equal(endpoint_format(&ep, buf, sizeof(buf)),
			    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

static void test_addr_equal_compares_family_addr_and_port(void **state)
{
	struct endpoint a, b;
	char err[256];

	(void)state;
	assert_int_equal(endpoint_parse("1.2.3.4:80", &a, err, sizeof(err)), 0);
	b = a;
	assert_true(endpoint_equal(&a, &b));
	b.port = 81;
	assert_false(endpoint_equal(&a, &b));
	b = a;
	b.addr[0] ^= htonl(1);
	assert_false(endpoint_equal(&a, &b));
	b = a;
	b.family = STEER_FAMILY_V6;
	assert_false(endpoint_equal(&a, &b));
	/* ::ffff:1.2.3.4 is another address than 1.2.3.4 as far as maps go */
	assert_int_equal(endpoint_parse("[::ffff:1.2.3.4]:80", &b, err, sizeof(err)), 0);
	assert_false(endpoint_equal(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_parses_accepted_forms),
	    cmocka_unit_test(test_addr_ipv4_leaves_upper_words_zero),
	    cmocka_unit_test(test_addr_rejects_bad_forms_naming_text_and_accepted_form),
	    cmocka_unit_test(test_addr_format_round_trips),
	    cmocka_unit_test(test_addr_longest_form_fits_addr_strlen),
	    cmocka_unit_test(test_addr_equal_compares_family_addr_and_port),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
