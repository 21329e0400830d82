/*
 * Packet fixtures of the XDP path: each case is one row of the table below,
 * {name, setup of the maps, input packet, expected verdict, expected
 * output, counters that move}, run through bpf_prog_test_run_opts() on
 * xdp_steer or tc_reply_unnat (katran's tester, cilium's bpf/tests).
 *
 * Every case starts from the base state of world.h; the flow table, the
 * rnat table and the counters are empty. After the run the runner checks
 * the verdict, the output bytes (built from scratch by packet.c: an
 * encapsulated packet is the outer headers the replica's route says around
 * the input, a NAT is the input rebuilt with the replica as destination),
 * that exactly the named steer_xdp_stats counters moved, by one each, the
 * service and replica counters, the flow table entry of a steered packet
 * and the rnat entry of a NAT.
 *
 * Usage: xdp-fixtures [NAME]  runs the cases whose name contains NAME;
 * V=1 dumps both packets of a failed case. The network comes from the
 * XDP_FIX_* variables that tests/integration/test_xdp_fixtures.sh sets.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "fixture.h"

#define CLIENT4 "198.18.5.7"
#define CLIENT6 "fd00:5::7"
#define CPORT	40000
#define IN_DMAC "02:00:00:00:0a:01" /* the input frames' MACs: the datapath never reads them */
#define IN_SMAC "02:00:00:00:0c:01"

#define IN_ETH .dmac = IN_DMAC, .smac = IN_SMAC
#define TCP4(...)                                                                                  \
	{                                                                                          \
		IN_ETH, .family = 4, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP,            \
			.sport = CPORT, .dport = VIP_TCP_PORT, .tcp_flags = PKT_ACK,               \
			.payload_len = 32, __VA_ARGS__                                             \
	}
#define UDP4(...)                                                                                  \
	{                                                                                          \
		IN_ETH, .family = 4, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP,            \
			.sport = CPORT, .dport = VIP_UDP_PORT, .payload_len = 32, __VA_ARGS__      \
	}
#define TCP6(...)                                                                                  \
	{                                                                                          \
		IN_ETH, .family = 6, .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP,            \
			.sport = CPORT, .dport = VIP_TCP_PORT, .tcp_flags = PKT_ACK,               \
			.payload_len = 32, __VA_ARGS__                                             \
	}
#define UDP6(...)                                                                                  \
	{                                                                                          \
		IN_ETH, .family = 6, .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP,            \
			.sport = CPORT, .dport = VIP_UDP_PORT, .payload_len = 32, __VA_ARGS__      \
	}
#define ARP4(...)                                                                                  \
	{                                                                                          \
		.dmac = "ff:ff:ff:ff:ff:ff", .smac = IN_SMAC, .arp = true, .src = CLIENT4,         \
		.dst = VIP4, __VA_ARGS__                                                           \
	}
/* A local replica's reply to the client, as it leaves (tc). */
#define REPLY_TCP4(...)                                                                            \
	TCP4(.src = "@local", .dst = CLIENT4, .sport = REP_TCP_PORT, .dport = CPORT, __VA_ARGS__)
#define REPLY_UDP4(...)                                                                            \
	UDP4(.src = "@local", .dst = CLIENT4, .sport = REP_UDP_PORT, .dport = CPORT, __VA_ARGS__)
#define REPLY_TCP6(...)                                                                            \
	TCP6(.src = "@local", .dst = CLIENT6, .sport = REP_TCP_PORT, .dport = CPORT, __VA_ARGS__)
#define REPLY_UDP6(...)                                                                            \
	UDP6(.src = "@local", .dst = CLIENT6, .sport = REP_UDP_PORT, .dport = CPORT, __VA_ARGS__)
#define RA_OPTION .ip_opts = {0x94, 0x04, 0x00, 0x00}, .ip_opts_len = 4 /* router alert */
#define MF	  0x2000
#define DF	  0x4000
#define UNSPEC	  TC_ACT_UNSPEC

/* The spec macros give defaults that a row then overrides: designated
 * initializers that name a field twice, on purpose. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"

static const struct fixture fixtures[] = {
    /* Remote replicas: encapsulated, out of the interface the route names. */
    {"tcp4 remote: IPIP back out of the ingress interface (XDP_TX), flow entry created",
     .in = TCP4(), .verdict = XDP_TX, .out = ENCAP, .to = R_A, .counters = "flow_new encap"},
    {"udp4 remote: IPIP, XDP_TX", .in = UDP4(), .verdict = XDP_TX, .out = ENCAP, .to = R_A,
     .counters = "flow_new encap"},
    {"tcp6 remote: IPv6-in-IPv6, XDP_TX", .in = TCP6(), .verdict = XDP_TX, .out = ENCAP, .to = R_A,
     .counters = "flow_new encap"},
    {"udp6 remote: IPv6-in-IPv6, XDP_TX", .in = UDP6(), .verdict = XDP_TX, .out = ENCAP, .to = R_A,
     .counters = "flow_new encap"},
    {"tcp4 remote behind the other interface: IPIP, XDP_REDIRECT", .table = R_REDIRECT,
     .in = TCP4(), .verdict = XDP_REDIRECT, .out = ENCAP, .to = R_REDIRECT,
     .counters = "flow_new encap"},
    {"udp4 remote behind the other interface: XDP_REDIRECT", .table = R_REDIRECT, .in = UDP4(),
     .verdict = XDP_REDIRECT, .out = ENCAP, .to = R_REDIRECT, .counters = "flow_new encap"},
    {"tcp6 remote behind the other interface: XDP_REDIRECT", .table = R_REDIRECT, .in = TCP6(),
     .verdict = XDP_REDIRECT, .out = ENCAP, .to = R_REDIRECT, .counters = "flow_new encap"},
    {"udp6 remote behind the other interface: XDP_REDIRECT", .table = R_REDIRECT, .in = UDP6(),
     .verdict = XDP_REDIRECT, .out = ENCAP, .to = R_REDIRECT, .counters = "flow_new encap"},
    {"tcp4 TOS copied to the outer header", .in = TCP4(.tos = 0xb8), .verdict = XDP_TX,
     .out = ENCAP, .to = R_A, .counters = "flow_new encap"},
    {"tcp6 traffic class copied, outer flow label from the flow hash",
     .in = TCP6(.tos = 0xb8, .flow_label = 0x12345), .verdict = XDP_TX, .out = ENCAP, .to = R_A,
     .counters = "flow_new encap"},
    {"tcp4 with an option (router alert): steered, the option kept inside", .in = TCP4(RA_OPTION),
     .verdict = XDP_TX, .out = ENCAP, .to = R_A, .counters = "flow_new encap"},
    {"udp4 with 40 bytes of options (ihl 15): steered", .in = UDP4(.ip_opts_len = 40),
     .verdict = XDP_TX, .out = ENCAP, .to = R_A, .counters = "flow_new encap"},
    {"tcp4 with DF: not a fragment, steered", .in = TCP4(.frag_off = DF), .verdict = XDP_TX,
     .out = ENCAP, .to = R_A, .counters = "flow_new encap"},
    {"tcp4 ACK in a padded 60-byte frame: the padding stays behind the packet",
     .in = TCP4(.payload_len = 0, .pad_to = 60), .verdict = XDP_TX, .out = ENCAP, .to = R_A,
     .counters = "flow_new encap"},
    {"tcp4 with 8 bytes of XDP metadata ahead: IPIP, the metadata kept", .meta = 8, .in = TCP4(),
     .verdict = XDP_TX, .out = ENCAP, .to = R_A, .counters = "flow_new encap"},
    {"tcp4 SYN of a new connection", .in = TCP4(.tcp_flags = PKT_SYN), .verdict = XDP_TX,
     .out = ENCAP, .to = R_A, .counters = "flow_new encap"},
    {"tcp4 exactly the redirect MTU once encapsulated: sent", .table = R_REDIRECT, .fill = FILL_MTU,
     .in = TCP4(), .verdict = XDP_REDIRECT, .out = ENCAP, .to = R_REDIRECT,
     .counters = "flow_new encap"},
    {"tcp4 one byte past the MTU once encapsulated: DROP, too_big", .table = R_REDIRECT,
     .fill = FILL_PAST_MTU, .in = TCP4(), .verdict = XDP_DROP, .out = SAME, .to = R_REDIRECT,
     .counters = "flow_new too_big"},
    {"udp6 exactly the redirect MTU once encapsulated: sent", .table = R_REDIRECT, .fill = FILL_MTU,
     .in = UDP6(), .verdict = XDP_REDIRECT, .out = ENCAP, .to = R_REDIRECT,
     .counters = "flow_new encap"},
    {"tcp6 one byte past the MTU once encapsulated: DROP, too_big", .table = R_REDIRECT,
     .fill = FILL_PAST_MTU, .in = TCP6(), .verdict = XDP_DROP, .out = SAME, .to = R_REDIRECT,
     .counters = "flow_new too_big"},
    {"tcp4 next hop without a neighbour: PASS, encapsulated, original MACs", .table = R_NONEIGH,
     .in = TCP4(), .verdict = XDP_PASS, .out = ENCAP, .to = R_NONEIGH,
     .counters = "flow_new encap"},
    {"udp6 next hop without a neighbour: PASS, encapsulated, original MACs", .table = R_NONEIGH,
     .in = UDP6(), .verdict = XDP_PASS, .out = ENCAP, .to = R_NONEIGH,
     .counters = "flow_new encap"},
    {"tcp4 no route to the replica: DROP, fib_failed", .table = R_NOROUTE, .in = TCP4(),
     .verdict = XDP_DROP, .out = SAME, .to = R_NOROUTE, .counters = "flow_new fib_failed"},
    {"tcp6 no route to the replica: DROP, fib_failed", .table = R_NOROUTE, .in = TCP6(),
     .verdict = XDP_DROP, .out = SAME, .to = R_NOROUTE, .counters = "flow_new fib_failed"},
    {"udp4 unreachable route: DROP, fib_failed", .table = R_UNREACH, .in = UDP4(),
     .verdict = XDP_DROP, .out = SAME, .to = R_UNREACH, .counters = "flow_new fib_failed"},
    {"tcp6 unreachable route: DROP, fib_failed", .table = R_UNREACH, .in = TCP6(),
     .verdict = XDP_DROP, .out = SAME, .to = R_UNREACH, .counters = "flow_new fib_failed"},

    /* Local replicas: NAT, passed to the stack, rnat entry written. */
    {"tcp4 local replica: NAT, rnat entry written", .table = R_LOCAL, .in = TCP4(),
     .verdict = XDP_PASS, .out = NAT, .to = R_LOCAL, .counters = "flow_new nat_local"},
    {"udp4 local replica: NAT", .table = R_LOCAL, .in = UDP4(), .verdict = XDP_PASS, .out = NAT,
     .to = R_LOCAL, .counters = "flow_new nat_local"},
    {"udp4 without a checksum (0) to a local replica: stays 0", .table = R_LOCAL,
     .in = UDP4(.udp_nocsum = true), .verdict = XDP_PASS, .out = NAT, .to = R_LOCAL,
     .counters = "flow_new nat_local"},
    {"udp4 local NAT whose checksum computes to 0: sent as 0xffff", .table = R_LOCAL,
     .zero_csum = true, .in = UDP4(), .verdict = XDP_PASS, .out = NAT, .to = R_LOCAL,
     .counters = "flow_new nat_local"},
    {"tcp6 local replica: NAT", .table = R_LOCAL, .in = TCP6(), .verdict = XDP_PASS, .out = NAT,
     .to = R_LOCAL, .counters = "flow_new nat_local"},
    {"udp6 local replica: NAT", .table = R_LOCAL, .in = UDP6(), .verdict = XDP_PASS, .out = NAT,
     .to = R_LOCAL, .counters = "flow_new nat_local"},
    {"udp6 local NAT whose checksum computes to 0: sent as 0xffff", .table = R_LOCAL,
     .zero_csum = true, .in = UDP6(), .verdict = XDP_PASS, .out = NAT, .to = R_LOCAL,
     .counters = "flow_new nat_local"},
    {"udp6 with 4 bytes of XDP metadata ahead to a local replica: NAT", .meta = 4, .table = R_LOCAL,
     .in = UDP6(), .verdict = XDP_PASS, .out = NAT, .to = R_LOCAL,
     .counters = "flow_new nat_local"},
    {"tcp4 with an option to a local replica: NAT", .table = R_LOCAL, .in = TCP4(RA_OPTION),
     .verdict = XDP_PASS, .out = NAT, .to = R_LOCAL, .counters = "flow_new nat_local"},
    {"tcp4 padded 60-byte frame to a local replica: NAT", .table = R_LOCAL,
     .in = TCP4(.payload_len = 0, .pad_to = 60), .verdict = XDP_PASS, .out = NAT, .to = R_LOCAL,
     .counters = "flow_new nat_local"},

    /* Not for a service: untouched. */
    {"tcp4 to an address that is no VIP: passed", .in = TCP4(.dst = "198.18.100.9"),
     .verdict = XDP_PASS, .out = SAME, .counters = "passed"},
    {"tcp6 to an address that is no VIP: passed", .in = TCP6(.dst = "fd00:100::9"),
     .verdict = XDP_PASS, .out = SAME, .counters = "passed"},
    {"tcp4 to the VIP on another port: passed", .in = TCP4(.dport = 81), .verdict = XDP_PASS,
     .out = SAME, .counters = "passed"},
    {"udp6 to the VIP on another port: passed", .in = UDP6(.dport = 54), .verdict = XDP_PASS,
     .out = SAME, .counters = "passed"},
    {"udp4 to the VIP's TCP port: passed", .in = UDP4(.dport = VIP_TCP_PORT), .verdict = XDP_PASS,
     .out = SAME, .counters = "passed"},
    {"tcp6 to the VIP's UDP port: passed", .in = TCP6(.dport = VIP_UDP_PORT), .verdict = XDP_PASS,
     .out = SAME, .counters = "passed"},
    {"icmp echo to the VIP: passed", .in = TCP4(.proto = IPPROTO_ICMP), .verdict = XDP_PASS,
     .out = SAME, .counters = "passed"},
    {"icmpv6 echo to the VIP: passed", .in = TCP6(.proto = IPPROTO_ICMPV6), .verdict = XDP_PASS,
     .out = SAME, .counters = "passed"},
    {"arp request for the VIP: passed", .in = ARP4(), .verdict = XDP_PASS, .out = SAME,
     .counters = "passed"},
    {"802.1Q-tagged tcp4 to the VIP: not parsed, passed", .in = TCP4(.vlan = 100),
     .verdict = XDP_PASS, .out = SAME, .counters = "passed"},
    {"tcp4 first fragment (MF): passed to the stack", .in = TCP4(.frag_off = MF),
     .verdict = XDP_PASS, .out = SAME, .counters = "frag_passed"},
    {"tcp4 last fragment (offset 1480): passed to the stack", .in = TCP4(.frag_off = 185),
     .verdict = XDP_PASS, .out = SAME, .counters = "frag_passed"},
    {"udp4 middle fragment (MF, offset 1480): passed to the stack",
     .in = UDP4(.frag_off = MF | 185), .verdict = XDP_PASS, .out = SAME, .counters = "frag_passed"},
    {"tcp6 behind a fragment header: passed to the stack", .in = TCP6(.ext = PKT_EXT_FRAGMENT),
     .verdict = XDP_PASS, .out = SAME, .counters = "frag_passed"},
    {"udp6 behind a hop-by-hop header: passed to the stack", .in = UDP6(.ext = PKT_EXT_HOPOPTS),
     .verdict = XDP_PASS, .out = SAME, .counters = "frag_passed"},

    /* Truncated or inconsistent: passed untouched, malformed. */
    /* A frame under 14 bytes cannot be run: test_run refuses it (EINVAL),
     * metadata or not. The shortest: an Ethernet header alone. */
    {"ethernet header alone, IPv4 ethertype: malformed", .in = TCP4(.truncate = 14),
     .verdict = XDP_PASS, .out = SAME, .counters = "malformed"},
    {"ethernet header alone, IPv6 ethertype: malformed", .in = TCP6(.truncate = 14),
     .verdict = XDP_PASS, .out = SAME, .counters = "malformed"},
    {"ipv4 header cut at 19 bytes: malformed", .in = TCP4(.truncate = 14 + 19), .verdict = XDP_PASS,
     .out = SAME, .counters = "malformed"},
    {"ipv6 header cut at 39 bytes: malformed", .in = TCP6(.truncate = 14 + 39), .verdict = XDP_PASS,
     .out = SAME, .counters = "malformed"},
    {"tcp4 header cut at 19 bytes: malformed",
     .in = TCP4(.payload_len = 0, .len_delta = -1, .truncate = 14 + 20 + 19), .verdict = XDP_PASS,
     .out = SAME, .counters = "malformed"},
    {"tcp6 header cut at 19 bytes: malformed",
     .in = TCP6(.payload_len = 0, .len_delta = -1, .truncate = 14 + 40 + 19), .verdict = XDP_PASS,
     .out = SAME, .counters = "malformed"},
    {"udp4 header cut at 7 bytes: malformed",
     .in = UDP4(.payload_len = 0, .len_delta = -1, .truncate = 14 + 20 + 7), .verdict = XDP_PASS,
     .out = SAME, .counters = "malformed"},
    {"udp6 header cut at 7 bytes: malformed",
     .in = UDP6(.payload_len = 0, .len_delta = -1, .truncate = 14 + 40 + 7), .verdict = XDP_PASS,
     .out = SAME, .counters = "malformed"},
    {"ipv4 ihl 4: malformed", .in = TCP4(.ihl = 4), .verdict = XDP_PASS, .out = SAME,
     .counters = "malformed"},
    {"ipv4 ihl 15 past the end of the packet: malformed", .in = TCP4(.ihl = 15, .payload_len = 0),
     .verdict = XDP_PASS, .out = SAME, .counters = "malformed"},
    {"ipv4 total length one byte past the packet: malformed", .in = TCP4(.len_delta = 1),
     .verdict = XDP_PASS, .out = SAME, .counters = "malformed"},
    {"ipv4 total length shorter than its header: malformed",
     .in = TCP4(.payload_len = 0, .len_delta = -21), .verdict = XDP_PASS, .out = SAME,
     .counters = "malformed"},
    {"ipv6 payload length one byte past the packet: malformed", .in = TCP6(.len_delta = 1),
     .verdict = XDP_PASS, .out = SAME, .counters = "malformed"},
    {"ipv4 version 6 under the IPv4 ethertype: malformed", .in = TCP4(.version = 6),
     .verdict = XDP_PASS, .out = SAME, .counters = "malformed"},
    {"ipv6 version 4 under the IPv6 ethertype: malformed", .in = TCP6(.version = 4),
     .verdict = XDP_PASS, .out = SAME, .counters = "malformed"},
    {"tcp4 data offset 4: malformed", .in = TCP4(.tcp_doff = 4), .verdict = XDP_PASS, .out = SAME,
     .counters = "malformed"},
    {"tcp4 header past the IPv4 total length, padding behind: malformed",
     .in = TCP4(.payload_len = 0, .len_delta = -1, .pad_to = 60), .verdict = XDP_PASS, .out = SAME,
     .counters = "malformed"},
    {"udp4 header past the IPv4 total length, padding behind: malformed",
     .in = UDP4(.payload_len = 0, .len_delta = -1, .pad_to = 60), .verdict = XDP_PASS, .out = SAME,
     .counters = "malformed"},
    {"tcp6 header past the IPv6 payload length: malformed",
     .in = TCP6(.payload_len = 0, .len_delta = -1), .verdict = XDP_PASS, .out = SAME,
     .counters = "malformed"},

    /* The flow table. */
    {"tcp4 flow table hit: stays on B while Maglev says A", .setup = setup_flow_b, .in = TCP4(),
     .verdict = XDP_TX, .out = ENCAP, .to = R_B, .counters = "flow_hits encap"},
    {"tcp6 flow table hit: stays on B", .setup = setup_flow_b, .in = TCP6(), .verdict = XDP_TX,
     .out = ENCAP, .to = R_B, .counters = "flow_hits encap"},
    {"udp4 flow table hit: stays on B", .setup = setup_flow_b, .in = UDP4(), .verdict = XDP_TX,
     .out = ENCAP, .to = R_B, .counters = "flow_hits encap"},
    {"udp6 flow table hit: stays on B", .setup = setup_flow_b, .in = UDP6(), .verdict = XDP_TX,
     .out = ENCAP, .to = R_B, .counters = "flow_hits encap"},
    {"tcp4 flow table hit of a flow NATed to the local replica: NAT", .setup = setup_flow_local,
     .in = TCP4(), .verdict = XDP_PASS, .out = NAT, .to = R_LOCAL,
     .counters = "flow_hits nat_local"},
    {"tcp4 hit on a replica now down: hashed again, to A", .setup = setup_flow_b_down, .in = TCP4(),
     .verdict = XDP_TX, .out = ENCAP, .to = R_A, .counters = "flow_new encap"},
    {"udp6 hit on a replica now down: hashed again, to A", .setup = setup_flow_b_down, .in = UDP6(),
     .verdict = XDP_TX, .out = ENCAP, .to = R_A, .counters = "flow_new encap"},
    {"tcp4 hit on a draining replica: kept", .setup = setup_flow_b_draining, .in = TCP4(),
     .verdict = XDP_TX, .out = ENCAP, .to = R_B, .counters = "flow_hits encap"},
    {"udp6 hit on a draining replica: kept", .setup = setup_flow_b_draining, .in = UDP6(),
     .verdict = XDP_TX, .out = ENCAP, .to = R_B, .counters = "flow_hits encap"},
    {"tcp6 hit on an ejected backend: hashed again, to A", .setup = setup_flow_b_ejected,
     .in = TCP6(), .verdict = XDP_TX, .out = ENCAP, .to = R_A, .counters = "flow_new encap"},
    {"tcp4 hit whose replica id has another address now: hashed again",
     .setup = setup_flow_b_moved_addr, .in = TCP4(), .verdict = XDP_TX, .out = ENCAP, .to = R_A,
     .counters = "flow_new encap"},
    {"udp4 hit whose replica id has another port now: hashed again",
     .setup = setup_flow_b_moved_port, .in = UDP4(), .verdict = XDP_TX, .out = ENCAP, .to = R_A,
     .counters = "flow_new encap"},
    {"tcp4 SYN ignores an existing flow entry", .setup = setup_flow_b,
     .in = TCP4(.tcp_flags = PKT_SYN), .verdict = XDP_TX, .out = ENCAP, .to = R_A,
     .counters = "flow_new encap"},
    {"tcp6 SYN ignores an existing flow entry", .setup = setup_flow_b,
     .in = TCP6(.tcp_flags = PKT_SYN), .verdict = XDP_TX, .out = ENCAP, .to = R_A,
     .counters = "flow_new encap"},
    {"tcp4 SYN+ACK uses the flow entry", .setup = setup_flow_b,
     .in = TCP4(.tcp_flags = PKT_SYN | PKT_ACK), .verdict = XDP_TX, .out = ENCAP, .to = R_B,
     .counters = "flow_hits encap"},

    /* Maglev picks. */
    {"tcp4 new flow: first draw's backend ejected, the next draw takes B",
     .setup = setup_draw0_ejected, .in = TCP4(), .verdict = XDP_TX, .out = ENCAP, .to = R_B,
     .counters = "flow_new encap"},
    {"tcp6 new flow: first draw's backend ejected, the next draw takes B",
     .setup = setup_draw0_ejected, .in = TCP6(), .verdict = XDP_TX, .out = ENCAP, .to = R_B,
     .counters = "flow_new encap"},
    {"tcp4 new flow never picks a draining replica", .setup = setup_draw0_draining, .in = TCP4(),
     .verdict = XDP_TX, .out = ENCAP, .to = R_B, .counters = "flow_new encap"},
    {"udp6 new flow never picks a draining replica", .setup = setup_draw0_draining, .in = UDP6(),
     .verdict = XDP_TX, .out = ENCAP, .to = R_B, .counters = "flow_new encap"},
    {"tcp4 first draw a replica of the other family: skipped", .setup = setup_draw0_other_family,
     .in = TCP4(), .verdict = XDP_TX, .out = ENCAP, .to = R_B, .counters = "flow_new encap"},
    {"udp4 first draw another service's replica: skipped", .setup = setup_draw0_other_service,
     .in = UDP4(), .verdict = XDP_TX, .out = ENCAP, .to = R_B, .counters = "flow_new encap"},
    {"tcp4 three draws on a down replica, the fourth takes B", .setup = setup_draw3_b, .in = TCP4(),
     .verdict = XDP_TX, .out = ENCAP, .to = R_B, .counters = "flow_new encap"},
    {"tcp4 four draws on a down replica: a miss although B is up", .setup = setup_draws4_down,
     .in = TCP4(), .verdict = XDP_PASS, .out = SAME, .counters = "miss_passed"},
    {"udp4 an ejected TCP backend on the same endpoint does not stop UDP",
     .setup = setup_udp_tcp_backend_ejected, .in = UDP4(), .verdict = XDP_TX, .out = ENCAP,
     .to = R_A, .counters = "flow_new encap"},
    {"tcp4 every replica down: PASS untouched, miss", .setup = setup_all_down, .in = TCP4(),
     .verdict = XDP_PASS, .out = SAME, .counters = "miss_passed"},
    {"udp6 every replica never seen up: PASS untouched, miss", .setup = setup_all_unknown,
     .in = UDP6(), .verdict = XDP_PASS, .out = SAME, .counters = "miss_passed"},
    {"tcp6 maglev_size 0: miss", .setup = setup_size0, .in = TCP6(), .verdict = XDP_PASS,
     .out = SAME, .counters = "miss_passed"},
    {"udp4 no live slot (count 0): miss", .setup = setup_count0, .in = UDP4(), .verdict = XDP_PASS,
     .out = SAME, .counters = "miss_passed"},
    {"tcp4 the active bank (1) is the table used", .setup = setup_bank1, .in = TCP4(),
     .verdict = XDP_TX, .out = ENCAP, .to = R_B, .counters = "flow_new encap"},
    {"tcp4 no table for the active bank: DROP, errors", .setup = setup_no_table, .in = TCP4(),
     .verdict = XDP_DROP, .out = SAME, .counters = "errors"},
    {"tcp6 maglev_size past the table: DROP, errors", .setup = setup_size_past_table, .in = TCP6(),
     .verdict = XDP_DROP, .out = SAME, .counters = "errors"},

    /* tc: replies of local replicas get the VIP back as their source. */
    {"tc tcp4 reply of a local replica: from the VIP again", .prog = TC, .setup = setup_rnat,
     .in = REPLY_TCP4(), .verdict = UNSPEC, .out = RNAT, .counters = "rnat"},
    {"tc udp4 reply: from the VIP again", .prog = TC, .setup = setup_rnat, .in = REPLY_UDP4(),
     .verdict = UNSPEC, .out = RNAT, .counters = "rnat"},
    {"tc tcp6 reply: from the VIP again", .prog = TC, .setup = setup_rnat, .in = REPLY_TCP6(),
     .verdict = UNSPEC, .out = RNAT, .counters = "rnat"},
    {"tc udp6 reply: from the VIP again", .prog = TC, .setup = setup_rnat, .in = REPLY_UDP6(),
     .verdict = UNSPEC, .out = RNAT, .counters = "rnat"},
    {"tc udp4 reply without a checksum (0): stays 0", .prog = TC, .setup = setup_rnat,
     .in = REPLY_UDP4(.udp_nocsum = true), .verdict = UNSPEC, .out = RNAT, .counters = "rnat"},
    {"tc udp4 reply whose checksum computes to 0: sent as 0xffff", .prog = TC, .setup = setup_rnat,
     .zero_csum = true, .in = REPLY_UDP4(), .verdict = UNSPEC, .out = RNAT, .counters = "rnat"},
    {"tc udp6 reply whose checksum computes to 0: sent as 0xffff", .prog = TC, .setup = setup_rnat,
     .zero_csum = true, .in = REPLY_UDP6(), .verdict = UNSPEC, .out = RNAT, .counters = "rnat"},
    {"tc tcp4 reply with an IP option: from the VIP again", .prog = TC, .setup = setup_rnat,
     .in = REPLY_TCP4(RA_OPTION), .verdict = UNSPEC, .out = RNAT, .counters = "rnat"},
    {"tc tcp4 reply without an rnat entry: unchanged", .prog = TC, .in = REPLY_TCP4(),
     .verdict = UNSPEC, .out = SAME, .counters = ""},
    {"tc udp6 reply without an rnat entry: unchanged", .prog = TC, .in = REPLY_UDP6(),
     .verdict = UNSPEC, .out = SAME, .counters = ""},
    {"tc tcp4 reply cut in its TCP header: unchanged", .prog = TC, .setup = setup_rnat,
     .in = REPLY_TCP4(.payload_len = 0, .len_delta = -1, .truncate = 14 + 20 + 19),
     .verdict = UNSPEC, .out = SAME, .counters = ""},
    {"tc arp: unchanged", .prog = TC, .in = ARP4(), .verdict = UNSPEC, .out = SAME, .counters = ""},
    {"tc tcp4 round trip: the reply of a flow xdp_steer NATed", .prog = TC,
     .setup = setup_xdp_first, .table = R_LOCAL, .in = REPLY_TCP4(), .verdict = UNSPEC, .out = RNAT,
     .counters = "rnat"},
    {"tc udp6 round trip: the reply of a flow xdp_steer NATed", .prog = TC,
     .setup = setup_xdp_first, .table = R_LOCAL, .in = REPLY_UDP6(), .verdict = UNSPEC, .out = RNAT,
     .counters = "rnat"},
};

#pragma GCC diagnostic pop

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (world_open())
		return 2;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const struct fixture *f = &fixtures[i];

		if (only && !strstr(f->name, only))
			continue;
		if (fixture_run(f)) {
			passed++;
			printf("ok   %s\n", f->name);
		} else {
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed || !passed ? 1 : 0;
}
