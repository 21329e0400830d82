/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The tc half of NAT to a local replica: a reply leaving the node from a
 * replica the XDP program NATed a flow to gets the VIP back as its source.
 * Before: | eth | IP replica:rport -> client | L4 |
 * After:  | eth | IP VIP:vport -> client | L4 |
 * Checksums go through the skb helpers, which also keep a checksum the NIC
 * is still to complete (CHECKSUM_PARTIAL) right.
 */
#ifndef STEER_XDP_REPLY_H
#define STEER_XDP_REPLY_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "bpf/xdp/maps.h"
#include "bpf/xdp/parse.h"

#define REPLY_HEADERS (sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + sizeof(struct tcphdr))

static __always_inline int reply_parse(struct __sk_buff *skb, struct pkt *p)
{
	/* The headers may sit in paged data; pull at most what exists. */
	if ((void *)(long)skb->data + REPLY_HEADERS > (void *)(long)skb->data_end)
		bpf_skb_pull_data(skb, skb->len < REPLY_HEADERS ? skb->len : REPLY_HEADERS);
	return parse_packet((void *)(long)skb->data, (void *)(long)skb->data_end, false, p);
}

/* Offsets in the skb of the fields a rewrite changes. */
struct reply_offsets {
	__u32 l3_csum, saddr, l4_csum, sport;
};

static __always_inline void reply_offsets_of(const struct __sk_buff *skb, const struct pkt *p,
					     struct reply_offsets *o)
{
	__u32 l3 = (__u32)((long)p->l3 - (long)skb->data);
	__u32 l4 = (__u32)((long)p->l4 - (long)skb->data);

	o->l3_csum = l3 + offsetof(struct iphdr, check);
	o->saddr = l3 + (p->flow.family == STEER_FAMILY_V4 ? offsetof(struct iphdr, saddr)
							   : offsetof(struct ipv6hdr, saddr));
	o->l4_csum = l4 + (p->flow.proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
							: offsetof(struct udphdr, check));
	o->sport = l4; /* source port first in both */
}

static __always_inline int reply_rewrite(struct __sk_buff *skb)
{
	struct steer_rnat_key key = {};
	const struct steer_rnat *vip;
	struct reply_offsets o;
	struct pkt p = {};
	__u64 pseudo = BPF_F_PSEUDO_HDR;
	int words;

	if (reply_parse(skb, &p))
		return 0;
	__builtin_memcpy(key.raddr, p.flow.saddr, sizeof(key.raddr));
	__builtin_memcpy(key.caddr, p.flow.daddr, sizeof(key.caddr));
	key.rport = p.flow.sport;
	key.cport = p.flow.dport;
	key.family = p.flow.family;
	key.proto = p.flow.proto;
	vip = bpf_map_lookup_elem(&steer_xdp_rnat_v1, &key);
	if (!vip || vip->family != p.flow.family)
		return 0;
	reply_offsets_of(skb, &p, &o);
	words = p.flow.family == STEER_FAMILY_V4 ? 1 : 4;
	if (p.flow.proto == IPPROTO_UDP)
		pseudo |= BPF_F_MARK_MANGLED_0; /* a UDP/IPv4 checksum of 0 stays "none" */
	for (int i = 0; i < 4; i++) {
		if (i >= words)
			break;
		if (bpf_l4_csum_replace(skb, o.l4_csum, key.raddr[i], vip->vip[i], pseudo | 4))
			return -1;
		if (words == 1 && bpf_l3_csum_replace(skb, o.l3_csum, key.raddr[i], vip->vip[i], 4))
			return -1;
	}
	if (bpf_l4_csum_replace(skb, o.l4_csum, key.rport, vip->vip_port,
				(p.flow.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0) | 2))
		return -1;
	if (bpf_skb_store_bytes(skb, o.saddr, vip->vip, words * 4, 0) ||
	    bpf_skb_store_bytes(skb, o.sport, &vip->vip_port, 2, 0))
		return -1;
	XDP_COUNT(rnat);
	return 0;
}

#endif /* STEER_XDP_REPLY_H */
