/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The two ways a steered packet leaves the XDP program, one function each.
 * They return an XDP verdict. Every pointer into the packet is re-derived
 * after bpf_xdp_adjust_head().
 */
#ifndef STEER_XDP_FORWARD_H
#define STEER_XDP_FORWARD_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/xdp/csum.h"
#include "bpf/xdp/maps.h"
#include "bpf/xdp/parse.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#define IPIP_TTL 64

/*
 * Where the encapsulated packet goes: the route to the replica gives the
 * egress interface, the node's source address on it and the next hop's
 * MAC. Returns a bpf_fib_lookup() result; on success or a missing
 * neighbour, fib->ipv4_src / ipv6_src hold the outer source.
 */
static __always_inline int route_to_replica(struct xdp_md *ctx, const struct steer_flow *to,
					    __u32 outer_len, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = ctx->ingress_ifindex;
	fib->tot_len = outer_len;
	if (to->family == STEER_FAMILY_V4) {
		fib->family = AF_INET;
		fib->ipv4_dst = to->addr[0];
	} else {
		fib->family = AF_INET6;
		__builtin_memcpy(fib->ipv6_dst, to->addr, 16);
	}
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), BPF_FIB_LOOKUP_SRC);
}

/* Out of the interface the route names: back out of the one it came in
 * (XDP_TX), or another (redirect). With no neighbour entry yet the packet
 * goes to the stack, which resolves it and forwards the packet. */
static __always_inline int send_routed(struct xdp_md *ctx, int fib_ret,
				       const struct bpf_fib_lookup *fib)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	if (fib_ret == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS;
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	if (fib->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib->ifindex, 0);
}

static __always_inline int fib_refused(int fib_ret)
{
	if (fib_ret == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		XDP_COUNT(too_big);
	else
		XDP_COUNT(fib_failed);
	return XDP_DROP;
}

/*
 * IPv4 in IPv4 (RFC 2003) to a remote replica.
 * Before: | eth | IPv4 client -> VIP | L4 ... |
 * After:  | eth next hop | IPv4 node -> replica, proto 4 | IPv4 client -> VIP | L4 ... |
 * The inner packet is untouched, so the replica answers from the VIP.
 */
static __always_inline int xdp_encap_ipip4(struct xdp_md *ctx, const struct pkt *p,
					   const struct steer_flow *to)
{
	const struct iphdr *inner = p->l3;
	struct bpf_fib_lookup fib;
	struct ethhdr *eth;
	struct iphdr *outer;
	__u32 outer_len = p->l3_len + sizeof(struct iphdr);
	__u8 tos = inner->tos;
	int ret = route_to_replica(ctx, to, outer_len, &fib);

	if (ret != BPF_FIB_LKUP_RET_SUCCESS && ret != BPF_FIB_LKUP_RET_NO_NEIGH)
		return fib_refused(ret);
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return XDP_DROP;
	eth = (void *)(long)ctx->data;
	outer = (void *)(eth + 1);
	if ((void *)(outer + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	/* The MACs it came with, for the stack when there is no neighbour yet. */
	__builtin_memcpy(eth, (void *)eth + sizeof(struct iphdr), 2 * ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	outer->version = 4;
	outer->ihl = 5;
	outer->tos = tos;
	outer->tot_len = bpf_htons(outer_len);
	outer->id = 0;
	outer->frag_off = 0;
	outer->ttl = IPIP_TTL;
	outer->protocol = IPPROTO_IPIP;
	outer->check = 0;
	outer->saddr = fib.ipv4_src;
	outer->daddr = to->addr[0];
	outer->check = csum_ipv4_header(outer);
	XDP_COUNT(encap);
	return send_routed(ctx, ret, &fib);
}

/*
 * IPv6 in IPv6 (RFC 2473) to a remote replica.
 * Before: | eth | IPv6 client -> VIP | L4 ... |
 * After:  | eth next hop | IPv6 node -> replica, next header 41 | IPv6 client -> VIP | L4 ... |
 * The outer flow label carries the flow's hash, for ECMP on the way.
 */
static __always_inline int xdp_encap_ipip6(struct xdp_md *ctx, const struct pkt *p,
					   const struct steer_flow *to)
{
	const struct ipv6hdr *inner = p->l3;
	struct bpf_fib_lookup fib;
	struct ethhdr *eth;
	struct ipv6hdr *outer;
	__u32 outer_len = p->l3_len + sizeof(struct ipv6hdr);
	__u8 tc_hi = inner->priority, tc_lo = inner->flow_lbl[0] & 0xf0;
	__u32 label = steer_flow_hash(&p->flow) & 0xfffff;
	int ret = route_to_replica(ctx, to, outer_len, &fib);

	if (ret != BPF_FIB_LKUP_RET_SUCCESS && ret != BPF_FIB_LKUP_RET_NO_NEIGH)
		return fib_refused(ret);
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct ipv6hdr)))
		return XDP_DROP;
	eth = (void *)(long)ctx->data;
	outer = (void *)(eth + 1);
	if ((void *)(outer + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	/* The MACs it came with, for the stack when there is no neighbour yet. */
	__builtin_memcpy(eth, (void *)eth + sizeof(struct ipv6hdr), 2 * ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IPV6);
	outer->version = 6;
	outer->priority = tc_hi;
	outer->flow_lbl[0] = tc_lo | (label >> 16);
	outer->flow_lbl[1] = label >> 8;
	outer->flow_lbl[2] = label;
	outer->payload_len = bpf_htons(p->l3_len);
	outer->nexthdr = IPPROTO_IPV6;
	outer->hop_limit = IPIP_TTL;
	__builtin_memcpy(&outer->saddr, fib.ipv6_src, 16);
	__builtin_memcpy(&outer->daddr, to->addr, 16);
	XDP_COUNT(encap);
	return send_routed(ctx, ret, &fib);
}

/* The L4 checksum field, and whether it is in use (a UDP over IPv4 datagram
 * may carry none: 0). */
static __always_inline __sum16 *l4_csum(const struct pkt *p, void *data_end)
{
	if (p->flow.proto == IPPROTO_TCP) {
		struct tcphdr *th = p->l4;

		return (void *)(th + 1) <= data_end ? &th->check : NULL;
	}
	struct udphdr *uh = p->l4;

	if ((void *)(uh + 1) > data_end)
		return NULL;
	return uh->check || p->flow.family == STEER_FAMILY_V6 ? &uh->check : NULL;
}

/*
 * NAT to a replica on this node: the destination becomes the replica, the
 * checksums follow, and the stack delivers the packet. The tc program on
 * the same interfaces turns the replies back (steer_xdp_rnat_v1).
 * Before: | eth | IP client -> VIP:vport | L4 |
 * After:  | eth | IP client -> replica:rport | L4 |
 */
static __always_inline int xdp_nat_to_local(struct xdp_md *ctx, struct pkt *p,
					    const struct steer_flow *to)
{
	void *data_end = (void *)(long)ctx->data_end;
	int words = p->flow.family == STEER_FAMILY_V4 ? 1 : 4;
	__sum16 *l4c = l4_csum(p, data_end);
	__be16 *dport = p->flow.proto == IPPROTO_TCP ? &((struct tcphdr *)p->l4)->dest
						     : &((struct udphdr *)p->l4)->dest;

	if ((void *)(dport + 1) > data_end)
		return XDP_PASS;
	struct steer_rnat_key rk = {};

	__builtin_memcpy(rk.raddr, to->addr, sizeof(rk.raddr));
	__builtin_memcpy(rk.caddr, p->flow.saddr, sizeof(rk.caddr));
	rk.rport = to->port;
	rk.cport = p->flow.sport;
	rk.family = p->flow.family;
	rk.proto = p->flow.proto;
	/* Looked up first: a write per packet would cost more than the rest. */
	if (!bpf_map_lookup_elem(&steer_xdp_rnat_v1, &rk)) {
		struct steer_rnat rv = {};

		__builtin_memcpy(rv.vip, p->flow.daddr, sizeof(rv.vip));
		rv.vip_port = p->flow.dport;
		rv.family = p->flow.family;
		if (bpf_map_update_elem(&steer_xdp_rnat_v1, &rk, &rv, BPF_ANY)) {
			XDP_COUNT(errors);
			return XDP_DROP; /* its replies could not be turned back */
		}
	}
	if (p->flow.family == STEER_FAMILY_V4) {
		struct iphdr *ip = p->l3;

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		csum_replace4(&ip->check, ip->daddr, to->addr[0]);
		ip->daddr = to->addr[0];
	} else {
		struct ipv6hdr *ip6 = p->l3;

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		__builtin_memcpy(&ip6->daddr, to->addr, 16);
	}
	if (l4c) {
		csum_replace_addr(l4c, p->flow.daddr, to->addr, words);
		csum_replace2(l4c, *dport, to->port);
		if (p->flow.proto == IPPROTO_UDP && !*l4c)
			*l4c = (__sum16)0xffff; /* 0 means "no checksum" */
	}
	*dport = to->port;
	XDP_COUNT(nat_local);
	return XDP_PASS;
}

#endif /* STEER_XDP_FORWARD_H */
