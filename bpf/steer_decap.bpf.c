// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The replica host's side of the XDP path: steer's node agent sends a
 * VIP's packets to remote replicas in IPv4-in-IPv4 (RFC 2003) or
 * IPv6-in-IPv6 (RFC 2473), and this program, on the interface they arrive
 * on, unwraps those whose inner destination is a VIP of
 * steer_decap_vips_v1. The stack then sees the client's packet to the VIP
 * (held on lo) and the replica answers the client directly.
 *
 * Tunnelled packets for any other inner destination are dropped, so the
 * replica is no open tunnel into its network; everything else (not
 * tunnelled, truncated, fragments of the outer packet) passes untouched.
 * The outer destination is not checked: a packet for a VIP this host
 * holds is the host's, whichever of its addresses the node sent it to.
 * The pipeline: parse, look up the inner destination, strip.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bpf/decap/maps.h"
#include "bpf/decap/parse.h"
#include "bpf/decap/strip.h"

SEC("xdp")
int decap_xdp(struct xdp_md *ctx)
{
	struct tunnel t = {};
	int ethertype = parse_tunnel((void *)(long)ctx->data, (void *)(long)ctx->data_end, &t);

	if (ethertype < 0) {
		DECAP_COUNT(passed);
		return XDP_PASS;
	}
	if (!bpf_map_lookup_elem(&steer_decap_vips_v1, &t.vip)) {
		DECAP_COUNT(refused);
		return XDP_DROP;
	}
	ecn_propagate(&t, ethertype);
	if (strip_outer(ctx, t.outer_len, ethertype))
		return XDP_ABORTED; /* cannot happen (see strip_outer()); xdp_exception traces it */
	DECAP_COUNT(decapsulated);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
