/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsers for the XDP and tc programs, one per header, each with a
 * cursor: it checks bounds before every access, advances the cursor past
 * its header and returns what comes next, or a negative errno.
 *
 * -EBADMSG: the packet is truncated or a header is inconsistent (it is
 *  passed untouched and counted as malformed).
 * -EOPNOTSUPP: not something steer handles (other ethertypes, ICMP, IPv6
 *  extension headers): passed untouched.
 * -EAGAIN: an IP fragment: passed to the stack, which reassembles it.
 */
#ifndef STEER_XDP_PARSE_H
#define STEER_XDP_PARSE_H

#include <stdbool.h>
#include <linux/errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>

#include "bpf/steer_abi.h"

struct cursor {
	void *pos;
	void *end;
	/* XDP sees whole packets, so a length field past the end is a
	 * truncated packet; an skb's payload may sit in pages past its linear
	 * end (tc), so there only the headers are checked. */
	bool whole;
};

#define IP_MF	  0x2000
#define IP_OFFSET 0x1fff

/* Where the parsed headers are, and the packet's flow in map form. */
struct pkt {
	struct ethhdr *eth;
	void *l3;      /* struct iphdr or struct ipv6hdr */
	void *l4;      /* struct tcphdr or struct udphdr */
	__u32 l3_len;  /* IPv4 total length or IPv6 40 + payload length */
	bool syn_only; /* a TCP SYN without ACK: a connection being opened */
	struct steer_flow_key flow;
};

/* Ethernet: returns the ethertype (host order). VLAN tags are not
 * parsed: a tagged frame is not steered. */
static __always_inline int parse_eth(struct cursor *c, struct pkt *p)
{
	struct ethhdr *eth = c->pos;

	if ((void *)(eth + 1) > c->end)
		return -EBADMSG;
	c->pos = eth + 1;
	p->eth = eth;
	return bpf_ntohs(eth->h_proto);
}

/* IPv4, options included: returns the protocol. */
static __always_inline int parse_ipv4(struct cursor *c, struct pkt *p)
{
	struct iphdr *ip = c->pos;
	__u32 hlen;

	if ((void *)(ip + 1) > c->end)
		return -EBADMSG;
	hlen = ip->ihl * 4;
	if (ip->version != 4 || hlen < sizeof(*ip) || c->pos + hlen > c->end)
		return -EBADMSG;
	/* A GSO packet of BIG TCP leaves tc with tot_len 0: its length is the
	 * skb's. */
	if (c->whole ? bpf_ntohs(ip->tot_len) < hlen || c->pos + bpf_ntohs(ip->tot_len) > c->end
		     : ip->tot_len && bpf_ntohs(ip->tot_len) < hlen)
		return -EBADMSG;
	p->l3 = ip;
	p->l3_len = bpf_ntohs(ip->tot_len);
	p->flow.family = STEER_FAMILY_V4;
	p->flow.saddr[0] = ip->saddr;
	p->flow.daddr[0] = ip->daddr;
	c->pos += hlen;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return -EAGAIN;
	return ip->protocol;
}

/* IPv6 without extension headers: returns the next header. A fragment
 * header or any other extension header stops here. */
static __always_inline int parse_ipv6(struct cursor *c, struct pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > c->end)
		return -EBADMSG;
	if (ip6->version != 6 ||
	    (c->whole && (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > c->end))
		return -EBADMSG;
	p->l3 = ip6;
	p->l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	p->flow.family = STEER_FAMILY_V6;
	__builtin_memcpy(p->flow.saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->flow.daddr, &ip6->daddr, 16);
	c->pos = ip6 + 1;
	switch (ip6->nexthdr) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		return ip6->nexthdr;
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_ESP:
		return -EAGAIN;
	default:
		return -EOPNOTSUPP;
	}
}

/* Does an L4 header end past what the IP length covers (padding behind
 * a short packet is not its header)? */
static __always_inline bool past_l3(const struct cursor *c, const struct pkt *p, void *hdr_end)
{
	return c->whole && (long)hdr_end - (long)p->l3 > (long)p->l3_len;
}

/* TCP or UDP: the ports. A TCP header must be whole (its checksum is
 * rewritten), data offset included. */
static __always_inline int parse_l4(struct cursor *c, struct pkt *p, int proto)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = c->pos;

		if ((void *)(th + 1) > c->end || th->doff < 5 || past_l3(c, p, th + 1))
			return -EBADMSG;
		p->flow.sport = th->source;
		p->flow.dport = th->dest;
		p->syn_only = th->syn && !th->ack;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = c->pos;

		if ((void *)(uh + 1) > c->end || past_l3(c, p, uh + 1))
			return -EBADMSG;
		p->flow.sport = uh->source;
		p->flow.dport = uh->dest;
	} else {
		return -EOPNOTSUPP;
	}
	p->l4 = c->pos;
	p->flow.proto = proto;
	return 0;
}

/* The pipeline up to L4: Ethernet, IPv4 or IPv6, TCP or UDP. */
static __always_inline int parse_packet(void *data, void *data_end, bool whole, struct pkt *p)
{
	struct cursor c = {.pos = data, .end = data_end, .whole = whole};
	int proto = parse_eth(&c, p);

	if (proto == ETH_P_IP)
		proto = parse_ipv4(&c, p);
	else if (proto == ETH_P_IPV6)
		proto = parse_ipv6(&c, p);
	else if (proto >= 0)
		return -EOPNOTSUPP;
	if (proto < 0)
		return proto;
	return parse_l4(&c, p, proto);
}

#endif /* STEER_XDP_PARSE_H */
