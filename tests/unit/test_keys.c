/* Unit tests for agent/keys.c: config objects encoded as map keys and values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "maps/keys.h"

static struct endpoint ep(const char *text)
{
	struct endpoint e;
	char err[256];

	/* Garbage first: endpoint_parse() must fill every byte we compare. */
	memset(&e, 0xa5, sizeof(e));
	if (endpoint_parse(text, &e, err, sizeof(err)))
		fail_msg("endpoint_parse('%s'): %s", text, err);
	return e;
}

static const struct {
	const char *vip;
	uint8_t proto;
} svc_cases[] = {
    {"10.96.0.1:80", IPPROTO_TCP},
    {"255.255.255.255:65535", IPPROTO_UDP},
    {"0.0.0.1:1", IPPROTO_TCP},
    {"[fd00::53]:53", IPPROTO_UDP},
    {"[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:443", IPPROTO_TCP},
    {"[::1]:8080", IPPROTO_TCP},
};

static void test_keys_svc_key_round_trips_v4_and_v6(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(svc_cases) / sizeof(svc_cases[0]); i++) {
		struct endpoint vip = ep(svc_cases[i].vip), back;
		struct steer_svc_key key;
		uint8_t proto = 0;
		char buf[ADDR_STRLEN];

		svc_key_encode(&vip, svc_cases[i].proto, &key);
		memset(&back, 0x5a, sizeof(back));
		svc_key_decode(&key, &back, &proto);
		assert_true(endpoint_equal(&vip, &back));
		assert_string_equal(endpoint_format(&back, buf, sizeof(buf)), svc_cases[i].vip);
		assert_int_equal(proto, svc_cases[i].proto);
		assert_int_equal(key.family, vip.family);
		assert_int_equal(key.proto, svc_cases[i].proto);
	}
}

/* The key is hashed byte for byte by the kernel: a stray byte in an unused
 * address word would make the datapath's lookup miss. */
static void test_keys_svc_key_v4_unused_address_words_are_zero(void **state)
{
	struct endpoint vip = ep("10.96.0.1:80");
	struct steer_svc_key key, want;

	(void)state;
	memset(&key, 0xff, sizeof(key));
	svc_key_encode(&vip, IPPROTO_TCP, &key);

	memset(&want, 0, sizeof(want));
	want.addr[0] = htonl(0x0a600001);
	want.port = htons(80);
	want.family = STEER_FAMILY_V4;
	want.proto = IPPROTO_TCP;
	assert_memory_equal(&key, &want, sizeof(key));
}

static void test_keys_svc_key_v6_is_exactly_address_port_family_proto(void **state)
{
	struct endpoint vip = ep("[fd00::53]:53");
	struct steer_svc_key key, want;

	(void)state;
	memset(&key, 0xff, sizeof(key));
	svc_key_encode(&vip, IPPROTO_UDP, &key);

	memset(&want, 0, sizeof(want));
	want.addr[0] = htonl(0xfd000000);
	want.addr[3] = htonl(0x53);
	want.port = htons(53);
	want.family = STEER_FAMILY_V6;
	want.proto = IPPROTO_UDP;
	assert_memory_equal(&key, &want, sizeof(key));
}

/* Ports are network order in the key: the bytes are big-endian whatever the
 * host, as the kernel hands them to sock_addr programs. */
static void test_keys_svc_key_port_is_network_order(void **state)
{
	static const struct {
		const char *vip;
		uint8_t hi, lo;
	} cases[] = {
	    {"10.0.0.1:80", 0x00, 0x50},
	    {"10.0.0.1:8080", 0x1f, 0x90},
	    {"10.0.0.1:65535", 0xff, 0xff},
	    {"[::1]:258", 0x01, 0x02},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct endpoint vip = ep(cases[i].vip);
		struct steer_svc_key key;
		const uint8_t *p = (const uint8_t *)&key.port;

		svc_key_encode(&vip, IPPROTO_TCP, &key);
		assert_int_equal(p[0], cases[i].hi);
		assert_int_equal(p[1], cases[i].lo);
	}
}

static void test_keys_svc_key_address_bytes_are_network_order(void **state)
{
	struct endpoint vip = ep("192.168.1.2:80");
	struct steer_svc_key key;
	const uint8_t *p = (const uint8_t *)key.addr;

	(void)state;
	svc_key_encode(&vip, IPPROTO_TCP, &key);
	assert_int_equal(p[0], 192);
	assert_int_equal(p[1], 168);
	assert_int_equal(p[2], 1);
	assert_int_equal(p[3], 2);
}

static void test_keys_replica_encode_sets_state_and_svc_id(void **state)
{
	static const struct {
		const char *ep;
		uint32_t svc_id;
		uint8_t state;
	} cases[] = {
	    {"10.0.0.1:8080", 0, STEER_REPLICA_UP},
	    {"10.0.0.2:1", 7, STEER_REPLICA_UNKNOWN},
	    {"[fd00::1]:5353", STEER_MAX_SERVICES - 1, STEER_REPLICA_DRAINING},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct endpoint e = ep(cases[i].ep), back;
		struct steer_replica r, want;
		char buf[ADDR_STRLEN];

		memset(&r, 0xff, sizeof(r));
		replica_encode(&e, cases[i].svc_id, cases[i].state, &r);

		memset(&want, 0, sizeof(want));
		memcpy(want.addr, e.addr, sizeof(want.addr));
		want.port = htons(e.port);
		want.family = e.family;
		want.state = cases[i].state;
		want.svc_id = cases[i].svc_id;
		assert_memory_equal(&r, &want, sizeof(r));

		replica_decode(&r, &back);
		assert_string_equal(endpoint_format(&back, buf, sizeof(buf)), cases[i].ep);
	}
}

static void test_keys_replica_matches_same_endpoint_only(void **state)
{
	static const struct {
		const char *replica, *probe;
		bool match;
	} cases[] = {
	    {"10.0.0.1:8080", "10.0.0.1:8080", true},
	    {"10.0.0.1:8080", "10.0.0.1:8081", false}, /* port differs */
	    {"10.0.0.1:8080", "10.0.0.2:8080", false}, /* address differs */
	    {"10.0.0.1:8080", "1.0.0.10:8080", false}, /* byte order matters */
	    {"[fd00::1]:80", "[fd00::1]:80", true},
	    {"[fd00::1]:80", "[fd00::2]:80", false},
	    {"[::]:80", "0.0.0.0:80", false},	    /* all-zero address, family differs */
	    {"[::a00:1]:80", "10.0.0.1:80", false}, /* v4 bits in a v6 address */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct endpoint rep = ep(cases[i].replica), probe = ep(cases[i].probe);
		struct steer_replica r;

		replica_encode(&rep, 3, STEER_REPLICA_UP, &r);
		if (replica_matches(&r, &probe) != cases[i].match)
			fail_msg("replica_matches(%s, %s): expected %d", cases[i].replica,
				 cases[i].probe, cases[i].match);
	}
}

/* A retired (zeroed) replica stands for no endpoint a config can hold. */
static void test_keys_replica_matches_false_for_zeroed_replica(void **state)
{
	const struct steer_replica zero = {0};
	struct endpoint e = ep("10.0.0.1:8080");

	(void)state;
	assert_false(replica_matches(&zero, &e));
}

static void test_keys_proto_name_names_tcp_and_udp(void **state)
{
	(void)state;
	assert_string_equal(proto_name(IPPROTO_TCP), "tcp");
	assert_string_equal(proto_name(IPPROTO_UDP), "udp");
}

/* Protocols steer never stores print as "other", not as garbage. */
static void test_keys_proto_name_names_other_protocols_other(void **state)
{
	(void)state;
	assert_string_equal(proto_name(IPPROTO_SCTP), "other");
	assert_string_equal(proto_name(0), "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_svc_key_round_trips_v4_and_v6),
	    cmocka_unit_test(test_keys_svc_key_v4_unused_address_words_are_zero),
	    cmocka_unit_test(test_keys_svc_key_v6_is_exactly_address_port_family_proto),
	    cmocka_unit_test(test_keys_svc_key_port_is_network_order),
	    cmocka_unit_test(test_keys_svc_key_address_bytes_are_network_order),
	    cmocka_unit_test(test_keys_replica_encode_sets_state_and_svc_id),
	    cmocka_unit_test(test_keys_replica_matches_same_endpoint_only),
	    cmocka_unit_test(test_keys_replica_matches_false_for_zeroed_replica),
	    cmocka_unit_test(test_keys_proto_name_names_tcp_and_udp),
	    cmocka_unit_test(test_keys_proto_name_names_other_protocols_other),
	};

	return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
