/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsers of the replica's decap program, one per header, each with
 * a cursor: it checks bounds before every access, advances the cursor past
 * its header and returns what comes next, or a negative errno:
 *
 * -EBADMSG: truncated, or a header inconsistent with the packet's length;
 * -EAGAIN: a fragment of the outer packet (the stack reassembles it);
 * -EOPNOTSUPP: not IPv4-in-IPv4 or IPv6-in-IPv6.
 *
 * All three leave the packet to the stack untouched. These are not the node
 * datapath's parsers (bpf/xdp/parse.h): those stop at an IPv6 next header
 * 41 and build a flow key, while a tunnel needs the outer header's length
 * and the inner destination only.
 */
#ifndef STEER_DECAP_PARSE_H
#define STEER_DECAP_PARSE_H

#include <linux/errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>

#include "bpf/steer_abi.h"

struct cursor {
	void *pos;
	void *end;
};

#define IP_MF	  0x2000
#define IP_OFFSET 0x1fff

/* The outer header steer removes and the inner packet it uncovers. */
struct tunnel {
	void *outer;		    /* struct iphdr or struct ipv6hdr, just after Ethernet */
	void *inner;		    /* the inner IP header */
	__u32 outer_len;	    /* outer to inner, with IPv4 options or IPv6 dest options */
	__u32 payload_len;	    /* bytes the outer header says follow it */
	struct steer_decap_vip vip; /* the inner destination, as the map's key */
};

/* Ethernet: returns the ethertype (host order). A VLAN-tagged frame is
 * not parsed further: the stack handles it. */
static __always_inline int parse_eth(struct cursor *c)
{
	struct ethhdr *eth = c->pos;

	if ((void *)(eth + 1) > c->end)
		return -EBADMSG;
	c->pos = eth + 1;
	return bpf_ntohs(eth->h_proto);
}

/* The outer IPv4 header, options included: returns the protocol. */
static __always_inline int parse_outer_ipv4(struct cursor *c, struct tunnel *t)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > c->end)
		return -EBADMSG;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (ip->version != 4 || hlen < sizeof(*ip) || tot < hlen || c->pos + tot > c->end)
		return -EBADMSG;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return -EAGAIN;
	t->outer = ip;
	t->outer_len = hlen;
	t->payload_len = tot - hlen;
	c->pos += hlen;
	return ip->protocol;
}

/*
 * The outer IPv6 header: returns the next header after it and at most one
 * Destination Options header (RFC 2473 senders such as Linux's ip6tnl put
 * the Tunnel Encapsulation Limit option there; steer's encap adds none).
 * A fragment header, or any other extension header, is returned as is and
 * is not a tunnel to this program.
 */
static __always_inline int parse_outer_ipv6(struct cursor *c, struct tunnel *t)
{
	struct ipv6hdr *ip6 = c->pos;
	struct ipv6_opt_hdr *opt;
	__u32 olen;
	int next;

	if ((void *)(ip6 + 1) > c->end)
		return -EBADMSG;
	if (ip6->version != 6 || (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > c->end)
		return -EBADMSG;
	t->outer = ip6;
	t->outer_len = sizeof(*ip6);
	t->payload_len = bpf_ntohs(ip6->payload_len);
	c->pos = ip6 + 1;
	next = ip6->nexthdr;
	if (next != IPPROTO_DSTOPTS)
		return next;
	opt = c->pos;
	if ((void *)(opt + 1) > c->end)
		return -EBADMSG;
	olen = (opt->hdrlen + 1) * 8;
	if (olen > t->payload_len || c->pos + olen > c->end)
		return -EBADMSG;
	t->outer_len += olen;
	t->payload_len -= olen;
	c->pos += olen;
	return opt->nexthdr;
}

/* The inner IPv4 header, whole and within the outer's payload: its
 * destination goes into the key. */
static __always_inline int parse_inner_ipv4(struct cursor *c, struct tunnel *t)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > c->end)
		return -EBADMSG;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (ip->version != 4 || hlen < sizeof(*ip) || tot < hlen || tot > t->payload_len ||
	    c->pos + hlen > c->end)
		return -EBADMSG;
	t->inner = ip;
	t->vip.family = STEER_FAMILY_V4;
	t->vip.addr[0] = ip->daddr;
	return 0;
}

/* The inner IPv6 header, within the outer's payload. */
static __always_inline int parse_inner_ipv6(struct cursor *c, struct tunnel *t)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > c->end)
		return -EBADMSG;
	if (ip6->version != 6 || sizeof(*ip6) + bpf_ntohs(ip6->payload_len) > t->payload_len)
		return -EBADMSG;
	t->inner = ip6;
	t->vip.family = STEER_FAMILY_V6;
	__builtin_memcpy(t->vip.addr, &ip6->daddr, 16);
	return 0;
}

/* The pipeline: Ethernet, then IPv4 carrying IPv4 (protocol 4) or IPv6
 * carrying IPv6 (next header 41). Returns the ethertype on success. */
static __always_inline int parse_tunnel(void *data, void *data_end, struct tunnel *t)
{
	struct cursor c = {.pos = data, .end = data_end};
	int ethertype = parse_eth(&c), next;

	if (ethertype == ETH_P_IP) {
		next = parse_outer_ipv4(&c, t);
		if (next < 0)
			return next;
		if (next != IPPROTO_IPIP)
			return -EOPNOTSUPP;
		next = parse_inner_ipv4(&c, t);
	} else if (ethertype == ETH_P_IPV6) {
		next = parse_outer_ipv6(&c, t);
		if (next < 0)
			return next;
		if (next != IPPROTO_IPV6)
			return next == IPPROTO_FRAGMENT ? -EAGAIN : -EOPNOTSUPP;
		next = parse_inner_ipv6(&c, t);
	} else {
		return ethertype < 0 ? ethertype : -EOPNOTSUPP;
	}
	return next < 0 ? next : ethertype;
}

#endif /* STEER_DECAP_PARSE_H */
