/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The miss path of remote clients. With no routable replica the XDP
 * program passes a VIP's packet to the stack; the VIP's local route
 * (`ip route add local VIP dev lo`, which `steer run` adds) makes the stack
 * take it, and this sk_lookup program gives a TCP SYN to the agent's hold
 * listener of the packet's family, the one the connect hook sends local
 * misses to (one for every service). The accepted connection's local
 * address is the VIP:port itself, which tells the agent its service. The
 * agent holds the connection, retries and relays it as for a local client.
 * Only the listener in steer_hold_socks_v2 is ever chosen: a socket leaves
 * that SOCKMAP when it closes.
 */
#ifndef STEER_XDP_HOLD_H
#define STEER_XDP_HOLD_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/lib/maps.h"

static __always_inline void hold_lookup_key(const struct bpf_sk_lookup *ctx,
					    struct steer_svc_key *key)
{
	if (ctx->family == AF_INET) {
		key->addr[0] = ctx->local_ip4;
		key->family = STEER_FAMILY_V4;
	} else {
		key->addr[0] = ctx->local_ip6[0];
		key->addr[1] = ctx->local_ip6[1];
		key->addr[2] = ctx->local_ip6[2];
		key->addr[3] = ctx->local_ip6[3];
		key->family = STEER_FAMILY_V6;
	}
	key->port = bpf_htons((__u16)ctx->local_port); /* host order in the context */
	key->proto = IPPROTO_TCP;
}

/* Give the connection to the hold listener of its family, if it is to a
 * VIP and the agent has the listener open. Never refuses: anything else is looked up as
 * usual. */
static __always_inline void hold_take(struct bpf_sk_lookup *ctx)
{
	struct steer_svc_key key = {};
	const struct steer_svc_value *svc;
	struct bpf_sock *sk;
	__u32 idx;

	if (ctx->protocol != IPPROTO_TCP)
		return;
	hold_lookup_key(ctx, &key);
	svc = bpf_map_lookup_elem(&steer_svc_v1, &key);
	if (!svc)
		return;
	idx = steer_hold_index(key.family);
	sk = bpf_map_lookup_elem(&steer_hold_socks_v2, &idx);
	if (!sk)
		return;
	bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
}

#endif /* STEER_XDP_HOLD_H */
