/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unwrapping a tunnelled packet whose inner destination is a listed VIP:
 * the congestion mark carried over (RFC 6040), then the outer header cut
 * out. Every pointer into the packet is re-derived after
 * bpf_xdp_adjust_head().
 */
#ifndef STEER_DECAP_STRIP_H
#define STEER_DECAP_STRIP_H

#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/decap/parse.h"
#include "bpf/xdp/csum.h"

#define ECN_MASK 0x3
#define ECN_CE	 0x3

/* The ECN field of an IPv6 header: the low 2 bits of the traffic class,
 * which straddles priority and the first byte of the flow label. */
static __always_inline __u8 ipv6_ecn(const struct ipv6hdr *ip6)
{
	return (ip6->flow_lbl[0] >> 4) & ECN_MASK;
}

/*
 * A router on the way may have marked the outer header Congestion
 * Experienced. The mark would be lost with the outer header, and the
 * client's flow would see no congestion until packets drop: it is copied
 * into an ECN-capable inner header (RFC 6040, the normal mode). An inner
 * header that is not ECN-capable is left as it is, since its sender would
 * not act on the mark. Only the CE codepoint is copied: the inner header
 * is otherwise untouched.
 */
static __always_inline void ecn_propagate(const struct tunnel *t, int ethertype)
{
	if (ethertype == ETH_P_IP) {
		const struct iphdr *outer = t->outer;
		struct iphdr *inner = t->inner;
		__be16 before, after;

		if ((outer->tos & ECN_MASK) != ECN_CE || !(inner->tos & ECN_MASK) ||
		    (inner->tos & ECN_MASK) == ECN_CE)
			return;
		before = *(__be16 *)inner; /* version, ihl and tos: one checksummed word */
		inner->tos |= ECN_CE;
		after = *(__be16 *)inner;
		csum_replace2(&inner->check, before, after);
	} else {
		const struct ipv6hdr *outer = t->outer;
		struct ipv6hdr *inner = t->inner;

		if (ipv6_ecn(outer) != ECN_CE || !ipv6_ecn(inner) || ipv6_ecn(inner) == ECN_CE)
			return;
		inner->flow_lbl[0] |= ECN_CE << 4; /* no checksum covers it */
	}
}

/*
 * Cut the outer header out.
 * Before: | eth | outer IP (+ IPv4 options or IPv6 dest options) | inner IP | L4 ... |
 * After:  | eth | inner IP | L4 ... |
 * The Ethernet header keeps its addresses; its ethertype is the inner
 * header's. Returns 0, or -EFAULT, which cannot happen once the headers
 * are parsed.
 */
static __always_inline int strip_outer(struct xdp_md *ctx, __u32 outer_len, int ethertype)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr eth, *moved;

	if (data + sizeof(eth) > data_end)
		return -EFAULT;
	__builtin_memcpy(&eth, data, sizeof(eth));
	if (bpf_xdp_adjust_head(ctx, (int)outer_len))
		return -EFAULT;
	moved = (void *)(long)ctx->data;
	if ((void *)(moved + 1) > (void *)(long)ctx->data_end)
		return -EFAULT;
	__builtin_memcpy(moved, &eth, sizeof(eth));
	moved->h_proto = bpf_htons(ethertype);
	return 0;
}

#endif /* STEER_DECAP_STRIP_H */
