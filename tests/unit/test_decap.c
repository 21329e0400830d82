/*
 * Packet fixtures for the replica's decap program (bpf/steer_decap.bpf.c),
 * run in the kernel with BPF_PROG_TEST_RUN: each case is a named input
 * packet, the verdict it must get, the packet it must leave (the input
 * itself when unchanged) and the counter it must move. The program is
 * loaded with its maps pinned in a private directory under /sys/fs/bpf,
 * removed afterwards; without root (or BPF) every case is skipped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include "bpf/steer_abi.h"
#include "steer_decap.skel.h"

#define NODE4	 "198.18.0.2"
#define REPLICA4 "198.18.0.1"
#define CLIENT4	 "198.18.5.7"
#define VIP4	 "198.18.100.1"
#define OTHER4	 "198.18.100.2" /* not a VIP of the map */
#define NODE6	 "fd00:18::2"
#define REPLICA6 "fd00:18::1"
#define CLIENT6	 "fd00:5::7"
#define VIP6	 "fd00:100::1"
#define OTHER6	 "fd00:100::2"

#define ECN_ECT0 0x2
#define ECN_CE	 0x3

/* A packet being built, inside out: each builder wraps what it is given. */
struct bytes {
	uint8_t b[256];
	size_t len;
};

static struct bytes prepend(const void *hdr, size_t hlen, struct bytes in)
{
	struct bytes out = {.len = hlen + in.len};

	assert_true(out.len <= sizeof(out.b));
	memcpy(out.b, hdr, hlen);
	memcpy(out.b + hlen, in.b, in.len);
	return out;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A TCP SYN from port 40000 to 8080, with an MSS option. The checksum is
 * left zero: the program never reads it, and the stack is not involved. */
static struct bytes tcp_syn(void)
{
	static const uint8_t syn[24] = {0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 1, 0,	  0,	0,    0,
					0x60, 0x02, 0xfa, 0xf0, 0, 0, 0, 0, 0x02, 0x04, 0x05, 0xb4};
	struct bytes out = {.len = sizeof(syn)};

	memcpy(out.b, syn, sizeof(syn));
	return out;
}

/* IPv4 with optlen bytes of options (NOPs then an end of list), the
 * checksum computed. frag: the frag_off field (host order). */
static struct bytes ipv4(const char *src, const char *dst, uint8_t proto, uint8_t tos,
			 size_t optlen, uint16_t frag, struct bytes payload)
{
	uint8_t h[60] = {0};
	size_t hlen = 20 + optlen;
	uint16_t tot = (uint16_t)(hlen + payload.len), c;

	assert_true(hlen <= sizeof(h) && optlen % 4 == 0);
	h[0] = (uint8_t)(0x40 | hlen / 4);
	h[1] = tos;
	h[2] = (uint8_t)(tot >> 8);
	h[3] = (uint8_t)tot;
	h[4] = 0x12;
	h[5] = 0x34;
	h[6] = (uint8_t)(frag >> 8);
	h[7] = (uint8_t)frag;
	h[8] = 64;
	h[9] = proto;
	assert_int_equal(inet_pton(AF_INET, src, h + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, h + 16), 1);
	for (size_t i = 0; i < optlen; i++)
		h[20 + i] = i + 1 < optlen ? 1 : 0; /* NOP ... EOL */
	c = csum(h, hlen);
	h[10] = (uint8_t)(c >> 8);
	h[11] = (uint8_t)c;
	return prepend(h, hlen, payload);
}

/* IPv6 with traffic class tc and flow label 0x12345. */
static struct bytes ipv6(const char *src, const char *dst, uint8_t next, uint8_t tc,
			 struct bytes payload)
{
	uint8_t h[40] = {0};

	h[0] = (uint8_t)(0x60 | tc >> 4);
	h[1] = (uint8_t)((tc & 0xf) << 4 | 0x1);
	h[2] = 0x23;
	h[3] = 0x45;
	h[4] = (uint8_t)(payload.len >> 8);
	h[5] = (uint8_t)payload.len;
	h[6] = next;
	h[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, h + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, h + 24), 1);
	return prepend(h, sizeof(h), payload);
}

/* A Destination Options header with the Tunnel Encapsulation Limit
 * option (RFC 2473), as Linux's ip6tnl sends it. */
static struct bytes dstopts(uint8_t next, struct bytes payload)
{
	const uint8_t h[8] = {next, 0, 0x04, 0x01, 0x04, 0x01, 0x01, 0x00};

	return prepend(h, sizeof(h), payload);
}

/* An IPv6 fragment header: the first fragment of a larger packet. */
static struct bytes frag6(uint8_t next, struct bytes payload)
{
	const uint8_t h[8] = {next, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef};

	return prepend(h, sizeof(h), payload);
}

static struct bytes eth(uint16_t type, struct bytes payload)
{
	uint8_t h[ETH_HLEN] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};

	h[12] = (uint8_t)(type >> 8);
	h[13] = (uint8_t)type;
	return prepend(h, sizeof(h), payload);
}

static struct bytes cut(struct bytes in, size_t len)
{
	assert_true(len <= in.len);
	in.len = len;
	return in;
}

/* The client's packets as the node sent them, and as the replica's stack
 * must see them. */
static struct bytes inner4(const char *dst, uint8_t tos)
{
	return ipv4(CLIENT4, dst, IPPROTO_TCP, tos, 0, 0x4000, tcp_syn());
}

static struct bytes inner6(const char *dst, uint8_t tc)
{
	return ipv6(CLIENT6, dst, IPPROTO_TCP, tc, tcp_syn());
}

static struct bytes ipip4(struct bytes inner)
{
	return eth(ETH_P_IP, ipv4(NODE4, REPLICA4, IPPROTO_IPIP, 0, 0, 0, inner));
}

static struct bytes ip6ip6(struct bytes inner)
{
	return eth(ETH_P_IPV6, ipv6(NODE6, REPLICA6, IPPROTO_IPV6, 0, inner));
}

/* The cases, one input and expected output each. */
static struct bytes in_ipip4(void)
{
	return ipip4(inner4(VIP4, 0));
}
static struct bytes out_inner4(void)
{
	return eth(ETH_P_IP, inner4(VIP4, 0));
}
static struct bytes in_ipip4_options(void)
{
	return eth(ETH_P_IP, ipv4(NODE4, REPLICA4, IPPROTO_IPIP, 0, 12, 0, inner4(VIP4, 0)));
}
static struct bytes in_ipip4_inner_options(void)
{
	return ipip4(ipv4(CLIENT4, VIP4, IPPROTO_TCP, 0, 4, 0, tcp_syn()));
}
static struct bytes out_inner4_options(void)
{
	return eth(ETH_P_IP, ipv4(CLIENT4, VIP4, IPPROTO_TCP, 0, 4, 0, tcp_syn()));
}
static struct bytes in_ipip4_padded(void)
{
	struct bytes p = ipip4(inner4(VIP4, 0));

	memset(p.b + p.len, 0, 6); /* Ethernet padding after the outer packet */
	p.len += 6;
	return p;
}
static struct bytes out_inner4_padded(void)
{
	struct bytes p = out_inner4();

	memset(p.b + p.len, 0, 6);
	p.len += 6;
	return p;
}
static struct bytes in_ip6ip6(void)
{
	return ip6ip6(inner6(VIP6, 0));
}
static struct bytes out_inner6(void)
{
	return eth(ETH_P_IPV6, inner6(VIP6, 0));
}
static struct bytes in_ip6ip6_dstopts(void)
{
	return eth(ETH_P_IPV6, ipv6(NODE6, REPLICA6, IPPROTO_DSTOPTS, 0,
				    dstopts(IPPROTO_IPV6, inner6(VIP6, 0))));
}
static struct bytes in_ipip4_ce(void)
{
	return eth(ETH_P_IP,
		   ipv4(NODE4, REPLICA4, IPPROTO_IPIP, ECN_CE, 0, 0, inner4(VIP4, ECN_ECT0)));
}
static struct bytes out_inner4_ce(void)
{
	return eth(ETH_P_IP, inner4(VIP4, ECN_CE)); /* checksum computed afresh */
}
static struct bytes in_ipip4_ce_not_ect(void)
{
	return eth(ETH_P_IP, ipv4(NODE4, REPLICA4, IPPROTO_IPIP, ECN_CE, 0, 0, inner4(VIP4, 0)));
}
static struct bytes in_ip6ip6_ce(void)
{
	return eth(ETH_P_IPV6, ipv6(NODE6, REPLICA6, IPPROTO_IPV6, ECN_CE, inner6(VIP6, ECN_ECT0)));
}
static struct bytes out_inner6_ce(void)
{
	return eth(ETH_P_IPV6, inner6(VIP6, ECN_CE));
}
static struct bytes in_ipip4_other(void)
{
	return ipip4(inner4(OTHER4, 0));
}
static struct bytes in_ip6ip6_other(void)
{
	return ip6ip6(inner6(OTHER6, 0));
}
static struct bytes in_ipip4_v6_inner_vip(void)
{
	/* An IPv4 outer header saying IPIP, carrying a packet that is IPv6. */
	return ipip4(inner6(VIP6, 0));
}
static struct bytes in_plain4(void)
{
	return eth(ETH_P_IP, inner4(VIP4, 0));
}
static struct bytes in_plain6(void)
{
	return eth(ETH_P_IPV6, inner6(VIP6, 0));
}
static struct bytes in_6in4(void)
{
	return eth(ETH_P_IP, ipv4(NODE4, REPLICA4, IPPROTO_IPV6, 0, 0, 0, inner6(VIP6, 0)));
}
static struct bytes in_4in6(void)
{
	return eth(ETH_P_IPV6, ipv6(NODE6, REPLICA6, IPPROTO_IPIP, 0, inner4(VIP4, 0)));
}
static struct bytes in_arp(void)
{
	struct bytes body = {.len = 28};

	return eth(ETH_P_ARP, body);
}
static struct bytes in_short_eth(void)
{
	return cut(in_ipip4(), ETH_HLEN + 10);
}
static struct bytes in_cut_outer4(void)
{
	return cut(in_ipip4(), ETH_HLEN + 20 + 8); /* tot_len says more */
}
static struct bytes in_cut_inner4(void)
{
	/* The outer header is consistent, but carries 12 bytes of IPv4. */
	return ipip4(cut(inner4(VIP4, 0), 12));
}
static struct bytes in_inner4_longer(void)
{
	/* The inner header claims more than the outer carries. */
	struct bytes inner = inner4(VIP4, 0);

	inner.b[3] += 8;
	return ipip4(inner);
}
static struct bytes in_cut_outer6(void)
{
	return cut(in_ip6ip6(), ETH_HLEN + 40 + 20);
}
static struct bytes in_cut_inner6(void)
{
	return ip6ip6(cut(inner6(VIP6, 0), 30));
}
static struct bytes in_frag4_first(void)
{
	return eth(ETH_P_IP, ipv4(NODE4, REPLICA4, IPPROTO_IPIP, 0, 0, 0x2000, inner4(VIP4, 0)));
}
static struct bytes in_frag4_later(void)
{
	return eth(ETH_P_IP, ipv4(NODE4, REPLICA4, IPPROTO_IPIP, 0, 0, 0x0010, inner4(VIP4, 0)));
}
static struct bytes in_frag6(void)
{
	return eth(ETH_P_IPV6, ipv6(NODE6, REPLICA6, IPPROTO_FRAGMENT, 0,
				    frag6(IPPROTO_IPV6, inner6(VIP6, 0))));
}

enum counter { DECAPSULATED, REFUSED, PASSED };

struct decap_case {
	const char *name;
	struct bytes (*in)(void);
	int verdict;
	struct bytes (*out)(void); /* NULL: the input, untouched */
	enum counter counter;
};

static const struct decap_case cases[] = {
    {"ipip4_to_a_vip_leaves_the_inner_packet", in_ipip4, XDP_PASS, out_inner4, DECAPSULATED},
    {"ipip4_outer_options_are_removed_too", in_ipip4_options, XDP_PASS, out_inner4, DECAPSULATED},
    {"ipip4_inner_options_are_kept", in_ipip4_inner_options, XDP_PASS, out_inner4_options,
     DECAPSULATED},
    {"ipip4_ethernet_padding_stays_after_the_inner_packet", in_ipip4_padded, XDP_PASS,
     out_inner4_padded, DECAPSULATED},
    {"ip6ip6_to_a_vip_leaves_the_inner_packet", in_ip6ip6, XDP_PASS, out_inner6, DECAPSULATED},
    {"ip6ip6_destination_options_are_removed_too", in_ip6ip6_dstopts, XDP_PASS, out_inner6,
     DECAPSULATED},
    {"ipip4_outer_ce_marks_an_ect_inner_packet", in_ipip4_ce, XDP_PASS, out_inner4_ce,
     DECAPSULATED},
    {"ipip4_outer_ce_leaves_a_not_ect_inner_packet", in_ipip4_ce_not_ect, XDP_PASS, out_inner4,
     DECAPSULATED},
    {"ip6ip6_outer_ce_marks_an_ect_inner_packet", in_ip6ip6_ce, XDP_PASS, out_inner6_ce,
     DECAPSULATED},
    {"ipip4_to_another_address_is_dropped", in_ipip4_other, XDP_DROP, NULL, REFUSED},
    {"ip6ip6_to_another_address_is_dropped", in_ip6ip6_other, XDP_DROP, NULL, REFUSED},
    {"ipip4_carrying_ipv6_is_passed", in_ipip4_v6_inner_vip, XDP_PASS, NULL, PASSED},
    {"plain_tcp4_to_the_vip_is_passed", in_plain4, XDP_PASS, NULL, PASSED},
    {"plain_tcp6_to_the_vip_is_passed", in_plain6, XDP_PASS, NULL, PASSED},
    {"ipv6_in_ipv4_is_passed", in_6in4, XDP_PASS, NULL, PASSED},
    {"ipv4_in_ipv6_is_passed", in_4in6, XDP_PASS, NULL, PASSED},
    {"arp_is_passed", in_arp, XDP_PASS, NULL, PASSED},
    {"short_ethernet_payload_is_passed", in_short_eth, XDP_PASS, NULL, PASSED},
    {"truncated_outer4_is_passed", in_cut_outer4, XDP_PASS, NULL, PASSED},
    {"truncated_inner4_is_passed", in_cut_inner4, XDP_PASS, NULL, PASSED},
    {"inner4_longer_than_the_outer_payload_is_passed", in_inner4_longer, XDP_PASS, NULL, PASSED},
    {"truncated_outer6_is_passed", in_cut_outer6, XDP_PASS, NULL, PASSED},
    {"truncated_inner6_is_passed", in_cut_inner6, XDP_PASS, NULL, PASSED},
    {"first_outer4_fragment_is_passed", in_frag4_first, XDP_PASS, NULL, PASSED},
    {"later_outer4_fragment_is_passed", in_frag4_later, XDP_PASS, NULL, PASSED},
    {"outer6_fragment_is_passed", in_frag6, XDP_PASS, NULL, PASSED},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static struct {
	struct steer_decap_bpf *skel;
	char pin_dir[64];
	const char *why_skipped;
} world;

static void add_vip(int family, const char *text)
{
	struct steer_decap_vip key = {.family = (uint8_t)family};
	uint8_t one = 1;

	assert_int_equal(inet_pton(family == STEER_FAMILY_V4 ? AF_INET : AF_INET6, text, key.addr),
			 1);
	assert_int_equal(bpf_map__update_elem(world.skel->maps.steer_decap_vips_v1, &key,
					      sizeof(key), &one, sizeof(one), BPF_ANY),
			 0);
}

static int load(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		world.why_skipped = "not root";
		return 0;
	}
	snprintf(world.pin_dir, sizeof(world.pin_dir), "/sys/fs/bpf/steer-test-XXXXXX");
	if (!mkdtemp(world.pin_dir)) {
		world.why_skipped = "no bpffs at /sys/fs/bpf";
		return 0;
	}
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = world.pin_dir);
	world.skel = steer_decap_bpf__open_opts(&opts);
	if (!world.skel || steer_decap_bpf__load(world.skel)) {
		fprintf(stderr, "cannot load the decap program: %s\n", strerror(errno));
		return -1;
	}
	add_vip(STEER_FAMILY_V4, VIP4);
	add_vip(STEER_FAMILY_V6, VIP6);
	return 0;
}

static int unload(void **state)
{
	(void)state;
	if (world.skel)
		bpf_object__unpin_maps(world.skel->obj, NULL);
	steer_decap_bpf__destroy(world.skel);
	if (world.pin_dir[0] && rmdir(world.pin_dir))
		fprintf(stderr, "cannot remove %s: %s\n", world.pin_dir, strerror(errno));
	return 0;
}

/* The counters summed over the CPUs. */
static struct steer_decap_stats stats(void)
{
	int ncpu = libbpf_num_possible_cpus();
	struct steer_decap_stats *per = calloc((size_t)ncpu, sizeof(*per)), sum = {0};
	uint32_t zero = 0;

	assert_true(ncpu > 0 && per);
	assert_int_equal(bpf_map__lookup_elem(world.skel->maps.steer_decap_stats_v1, &zero,
					      sizeof(zero), per, sizeof(*per) * (size_t)ncpu, 0),
			 0);
	for (int i = 0; i < ncpu; i++) {
		sum.decapsulated += per[i].decapsulated;
		sum.refused += per[i].refused;
		sum.passed += per[i].passed;
	}
	free(per);
	return sum;
}

static void dump(const char *what, const uint8_t *b, size_t len)
{
	fprintf(stderr, "%s (%zu bytes):", what, len);
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", b[i]);
	fprintf(stderr, "\n");
}

static void run_case(void **state)
{
	const struct decap_case *c = *state;
	struct bytes in = c->in(), want = c->out ? c->out() : in;
	uint8_t out[sizeof(in.b) + 64];
	struct steer_decap_stats before, after;
	uint64_t moved[3];

	if (world.why_skipped) {
		fprintf(stderr, "skipped: %s\n", world.why_skipped);
		skip();
	}
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.b, .data_size_in = (__u32)in.len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	before = stats();
	assert_int_equal(
	    bpf_prog_test_run_opts(bpf_program__fd(world.skel->progs.decap_xdp), &opts), 0);
	after = stats();
	assert_int_equal(opts.retval, c->verdict);
	if (c->verdict == XDP_PASS &&
	    (opts.data_size_out != want.len || memcmp(out, want.b, want.len))) {
		dump("expected", want.b, want.len);
		dump("got", out, opts.data_size_out);
		fail_msg("%s: the output packet differs", c->name);
	}
	moved[DECAPSULATED] = after.decapsulated - before.decapsulated;
	moved[REFUSED] = after.refused - before.refused;
	moved[PASSED] = after.passed - before.passed;
	for (int i = 0; i < 3; i++)
		assert_int_equal(moved[i], i == (int)c->counter ? 1 : 0);
}

int main(void)
{
	struct CMUnitTest tests[NCASES];

	for (size_t i = 0; i < NCASES; i++)
		tests[i] =
		    (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, (void *)&cases[i]};
	return cmocka_run_group_tests_name("decap", tests, load, unload);
}
