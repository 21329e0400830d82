/*
 * A small packet builder for the XDP fixtures: Ethernet (optionally
 * 802.1Q-tagged) or ARP, IPv4 with options or IPv6 with one extension
 * header, TCP, UDP, ICMP or ICMPv6, and the outer headers of IPIP and
 * IPv6-in-IPv6. Every length and checksum is computed from scratch, so an
 * expected packet never depends on the datapath's incremental updates.
 *
 * Addresses and MACs are text ("198.18.0.1", "fd00::1", "02:00:00:00:00:01");
 * ports and other fields are host order. A spec that cannot be built (an
 * address that does not parse, a frame past the buffer) aborts with the
 * field and the value: the table is wrong, not the datapath.
 */
#ifndef STEER_TESTS_XDP_PACKET_H
#define STEER_TESTS_XDP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 2048 /* the largest frame a spec builds */

/* TCP flags (the byte at offset 13). */
#define PKT_FIN 0x01
#define PKT_SYN 0x02
#define PKT_RST 0x04
#define PKT_PSH 0x08
#define PKT_ACK 0x10

/* The IPv6 extension header a spec may carry (not the protocol numbers:
 * hop-by-hop options are 0). */
enum pkt_ext {
	PKT_EXT_NONE,
	PKT_EXT_HOPOPTS,  /* hop-by-hop options (PadN) */
	PKT_EXT_FRAGMENT, /* a fragment header: offset 0, more fragments */
};

struct pkt_spec {
	/* Ethernet */
	const char *dmac, *smac; /* NULL: all zero */
	uint16_t vlan;		 /* VID of an 802.1Q tag before the ethertype; 0: untagged */
	bool arp;		 /* an ARP request (src asks who has dst) instead of IP */
	/* IP */
	int family; /* 4 or 6 */
	const char *src, *dst;
	uint8_t tos;	     /* IPv4 TOS, IPv6 traffic class */
	uint32_t flow_label; /* IPv6, 20 bits */
	uint8_t ttl;	     /* TTL, hop limit; 0: 64 */
	uint16_t ip_id;	     /* IPv4 identification */
	uint16_t frag_off;   /* IPv4 flags and fragment offset, host order (0x2000: MF) */
	uint8_t ip_opts[40]; /* IPv4 options, as sent */
	uint8_t ip_opts_len; /* a multiple of 4, at most 40 */
	enum pkt_ext ext;    /* IPv6: an extension header before L4 */
	/* L4 */
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 */
	uint16_t sport, dport;
	uint8_t tcp_flags;    /* PKT_SYN, PKT_ACK, ... */
	uint16_t payload_len; /* bytes after the L4 header (a fixed pattern) */
	bool set_tail;	      /* the last two payload bytes are tail, big-endian */
	uint16_t tail;
	bool udp_nocsum; /* UDP checksum 0: none (IPv4 only) */
	/* Deliberate damage, for the malformed cases; checksums are computed
	 * on the damaged headers. */
	uint8_t ihl;	   /* IPv4 header length in words; 0: from the options */
	uint8_t version;   /* IP version field; 0: from the family */
	int len_delta;	   /* added to the IPv4 total length or IPv6 payload length */
	uint8_t tcp_doff;  /* TCP data offset in words; 0: 5 */
	uint16_t truncate; /* the frame is cut to this many bytes; 0: whole */
	uint16_t pad_to;   /* zero bytes appended up to this frame length (Ethernet padding) */
};

/* Where a built frame's headers are (offsets into the frame). */
struct pkt_info {
	size_t len;    /* frame length */
	size_t l3;     /* IP header */
	size_t l3_len; /* IPv4 total length, IPv6 40 + payload length (as written) */
	size_t l4;     /* L4 header */
};

/* The outer headers of an encapsulated frame. */
struct pkt_outer {
	const char *dmac, *smac;
	int family; /* 4: IPIP (protocol 4), 6: IPv6-in-IPv6 (next header 41) */
	const char *src, *dst;
	uint8_t tos;	     /* TOS or traffic class */
	uint32_t flow_label; /* IPv6 */
	uint8_t ttl;	     /* TTL, hop limit */
};

/* Builds the frame spec describes into out (PKT_MAX bytes); returns its
 * length. info, if not NULL, says where its headers are. */
size_t pkt_build(const struct pkt_spec *spec, uint8_t *out, struct pkt_info *info);

/* Wraps the IP packet of frame (untagged Ethernet, its IP header at 14,
 * inner_l3_len bytes long, followed by anything up to len, padding
 * included) in outer's headers: | eth | outer IP | frame from byte 14 |.
 * Returns the new length. */
size_t pkt_encap(const struct pkt_outer *outer, const uint8_t *frame, size_t len,
		 size_t inner_l3_len, uint8_t *out);

/* The Internet checksum (RFC 1071) of len bytes, over a partial sum. */
uint16_t pkt_csum(const void *data, size_t len, uint32_t sum);

/* The tail (for set_tail; the payload's length must be even) that makes the
 * frame's UDP checksum compute to 0, which is then sent as 0xffff: the
 * case that must not be sent as "no checksum". */
uint16_t pkt_tail_for_zero_udp_csum(const struct pkt_spec *spec);

/* Text to binary; abort naming what with a bad value. */
void pkt_parse_mac(const char *text, uint8_t mac[6], const char *what);
int pkt_parse_addr(int family, const char *text, uint8_t addr[16], const char *what);

#endif /* STEER_TESTS_XDP_PACKET_H */
