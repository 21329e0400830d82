// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Entry points of the XDP path, for clients on other hosts: the XDP
 * program on the interfaces of STEER_XDP_IFACES, the tc program that turns
 * local replicas' replies back to the VIP, and the sk_lookup program of the
 * miss path. The pipeline: parse, look up the VIP, the flow, forward.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "bpf/xdp/parse.h"
#include "bpf/xdp/flow.h"
#include "bpf/xdp/forward.h"
#include "bpf/xdp/reply.h"
#include "bpf/xdp/hold.h"

/* Not ours, or not something steer can steer: untouched, counted. */
static __always_inline int pass_unsteered(int err)
{
	if (err == -EBADMSG)
		XDP_COUNT(malformed);
	else if (err == -EAGAIN)
		XDP_COUNT(frag_passed);
	else
		XDP_COUNT(passed);
	return XDP_PASS;
}

SEC("xdp")
int xdp_steer(struct xdp_md *ctx)
{
	struct pkt p = {};
	const struct steer_svc_value *svc;
	struct steer_flow to = {};
	int err = parse_packet((void *)(long)ctx->data, (void *)(long)ctx->data_end, true, &p);

	if (err)
		return pass_unsteered(err);
	svc = xdp_svc_lookup(&p);
	if (!svc)
		return pass_unsteered(-ENOENT);
	err = flow_replica(&p, svc, &to);
	if (err == -EHOSTUNREACH) {
		struct steer_svc_stats *ss = bpf_map_lookup_elem(&steer_svc_stats_v1, &svc->svc_id);

		if (ss)
			ss->misses++;
		XDP_COUNT(miss_passed);
		return XDP_PASS; /* to the hold listener, through hold_lookup */
	}
	if (err) {
		XDP_COUNT(errors);
		return XDP_DROP; /* fail closed: the maps are inconsistent */
	}
	if (to.local)
		return xdp_nat_to_local(ctx, &p, &to);
	if (p.flow.family == STEER_FAMILY_V4)
		return xdp_encap_ipip4(ctx, &p, &to);
	return xdp_encap_ipip6(ctx, &p, &to);
}

/* Egress of the same interfaces: TC_ACT_UNSPEC lets the packet go on to
 * any other program and out, rewritten or not (tcx: TCX_NEXT). */
SEC("tc")
int tc_reply_unnat(struct __sk_buff *skb)
{
	if (reply_rewrite(skb))
		XDP_COUNT(errors);
	return TC_ACT_UNSPEC;
}

SEC("sk_lookup")
int hold_lookup(struct bpf_sk_lookup *ctx)
{
	hold_take(ctx);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
