/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service lookup and replica selection for the socket hooks.
 *
 * Contract: helpers return 0 or a negative errno and never decide a verdict;
 * only the SEC() entry points in steer.bpf.c turn an error into one.
 * -EHOSTUNREACH means "service known, no routable replica" (a miss); any other
 * error means a map was inconsistent and the connect fails closed.
 *
 * Consistency with the agent: the agent never edits the active slot bank. It
 * fills the idle bank, then replaces the service value (bank, count) in one
 * hash update, so a reader sees a complete old or new replica set. Replica ids
 * are reused round-robin across STEER_MAX_REPLICAS, so an id read from an old
 * bank still names the replica it named when the bank was live.
 */
#ifndef STEER_LB_H
#define STEER_LB_H

#include <stdbool.h>
#include <linux/errno.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/steer_abi.h"
#include "bpf/lib/maps.h"
#include "bpf/sock/peer.h"

/* A socket address in map form, read from or written to a sock_addr ctx. */
struct sock_endpoint {
	__be32 addr[4];
	__be16 port;
	__u8 family;
};

/* Map keys and values hold addresses as four words; IPv4 uses the first. */
static __always_inline void addr_copy(__be32 dst[4], const __be32 src[4])
{
	dst[0] = src[0];
	dst[1] = src[1];
	dst[2] = src[2];
	dst[3] = src[3];
}

/* ::ffff:a.b.c.d, the form an IPv4 address takes on a dual-stack AF_INET6
 * socket (Java, Node.js, Python and others connect that way). */
static __always_inline bool addr_is_v4_mapped(const __be32 a[4])
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0x0000ffff);
}

/* The address an AF_INET6 socket is shown for IPv4 address v4. */
static __always_inline void addr_v4_mapped(__be32 out[4], __be32 v4)
{
	out[0] = 0;
	out[1] = 0;
	out[2] = bpf_htonl(0x0000ffff);
	out[3] = v4;
}

static __always_inline void ctx_get_peer(const struct bpf_sock_addr *ctx, __u8 family,
					 struct sock_endpoint *ep)
{
	ep->family = family;
	if (family == STEER_FAMILY_V4) {
		ep->addr[0] = ctx->user_ip4;
		ep->addr[1] = 0;
		ep->addr[2] = 0;
		ep->addr[3] = 0;
	} else {
		ep->addr[0] = ctx->user_ip6[0];
		ep->addr[1] = ctx->user_ip6[1];
		ep->addr[2] = ctx->user_ip6[2];
		ep->addr[3] = ctx->user_ip6[3];
	}
	ep->port = (__be16)ctx->user_port;
}

static __always_inline void ctx_set_peer(struct bpf_sock_addr *ctx, const __be32 addr[4],
					 __be16 port, __u8 family)
{
	if (family == STEER_FAMILY_V4) {
		ctx->user_ip4 = addr[0];
	} else {
		ctx->user_ip6[0] = addr[0];
		ctx->user_ip6[1] = addr[1];
		ctx->user_ip6[2] = addr[2];
		ctx->user_ip6[3] = addr[3];
	}
	ctx->user_port = (__u32)port;
}

static __always_inline const struct steer_svc_value *svc_lookup(const struct sock_endpoint *dst,
								__u8 proto)
{
	struct steer_svc_key key = {};

	addr_copy(key.addr, dst->addr);
	key.port = dst->port;
	key.family = dst->family;
	key.proto = proto;
	return bpf_map_lookup_elem(&steer_svc_v1, &key);
}

static __always_inline struct steer_svc_stats *svc_stats(__u32 svc_id)
{
	return bpf_map_lookup_elem(&steer_svc_stats_v1, &svc_id);
}

static __always_inline const struct steer_backend *backend_of(const struct steer_replica *r,
							      __u8 proto)
{
	struct steer_backend_key key = {};

	addr_copy(key.addr, r->addr);
	key.port = r->port;
	key.family = r->family;
	key.proto = proto;
	return bpf_map_lookup_elem(&steer_backends_v1, &key);
}

/* UP in the agent's view and not ejected by the datapath since. A replica
 * without a backend entry is routable: the agent writes the entry before
 * the replica can be UP, so a missing one only means "never ejected". */
static __always_inline bool replica_is_routable(const struct steer_replica *r, __u8 family,
						__u8 proto)
{
	const struct steer_backend *b;

	if (!steer_replica_may_take(r, family))
		return false;
	b = backend_of(r, proto);
	return !b || !b->ejected_ns;
}

/* Pick a routable replica of svc in the order of steer_pick_slot(). */
static __always_inline int svc_pick_replica(__u32 svc_id, __u32 bank, __u32 count, __u32 hint,
					    __u8 family, __u8 proto, __u32 *replica_id,
					    const struct steer_replica **replica)
{
	__u32 i;

	if (count == 0)
		return -EHOSTUNREACH;
	if (count > STEER_MAX_SLOTS || bank >= STEER_SLOT_BANKS)
		return -EINVAL;

	for (i = 0; i < STEER_PICK_DRAWS + STEER_MAX_SLOTS && i < steer_pick_steps(count); i++) {
		__u32 idx = steer_slot_index(svc_id, bank, steer_pick_slot(hint, count, i));
		const struct steer_slot *s = bpf_map_lookup_elem(&steer_slots_v1, &idx);
		const struct steer_replica *r;
		__u32 rid;

		if (!s)
			return -ENOENT;
		rid = s->replica_id;
		r = bpf_map_lookup_elem(&steer_replicas_v1, &rid);
		if (!r)
			return -ENOENT;
		if (replica_is_routable(r, family, proto)) {
			*replica_id = rid;
			*replica = r;
			return 0;
		}
	}
	return -EHOSTUNREACH;
}

static __always_inline __s64 replica_active(__u32 rid)
{
	const struct steer_replica_active *a = bpf_map_lookup_elem(&steer_replica_active_v1, &rid);

	return a ? a->active : 0;
}

/*
 * Power of two choices: a second routable candidate, distinct from the
 * first (rid, r), from up to STEER_PICK_DRAWS draws of another hint; the
 * one with fewer active connections wins, a tie goes by a bit of the hint.
 * If those draws find no second candidate (most replicas are down), the
 * first stands. A bounded number of draws and no walk: a second full pick
 * is more than the verifier will follow.
 */
static __always_inline void svc_pick_p2c(__u32 svc_id, __u32 bank, __u32 count, __u32 hint,
					 __u8 family, __u32 *rid, const struct steer_replica **r)
{
	const struct steer_replica *r2 = NULL;
	__u32 rid2 = 0, i;
	__s64 a1, a2;

	if (count < 2 || count > STEER_MAX_SLOTS || bank >= STEER_SLOT_BANKS)
		return;
	for (i = 0; i < STEER_PICK_DRAWS; i++) {
		__u32 slot = steer_pick_mix(hint ^ (0x27d4eb2fu + i * 0x9e3779b9u)) % count;
		__u32 idx = steer_slot_index(svc_id, bank, slot);
		const struct steer_slot *s = bpf_map_lookup_elem(&steer_slots_v1, &idx);
		const struct steer_replica *c;
		__u32 id;

		if (!s || s->replica_id == *rid)
			continue;
		id = s->replica_id;
		c = bpf_map_lookup_elem(&steer_replicas_v1, &id);
		if (c && replica_is_routable(c, family, IPPROTO_TCP)) {
			rid2 = id;
			r2 = c;
			break;
		}
	}
	if (!r2)
		return;
	a1 = replica_active(*rid);
	a2 = replica_active(rid2);
	if (a2 < a1 || (a2 == a1 && (hint & 0x80000000u))) {
		*rid = rid2;
		*r = r2;
	}
}

/* The reverse NAT of steer before socket storage (steer_revnat_v1): only
 * sockets steered before an upgrade still have entries there. */
static __always_inline const struct steer_revnat_value *
legacy_revnat_lookup(__u64 cookie, const struct sock_endpoint *peer)
{
	struct steer_revnat_key key = {};

	key.cookie = cookie;
	addr_copy(key.addr, peer->addr);
	key.port = peer->port;
	key.family = peer->family;
	return bpf_map_lookup_elem(&steer_revnat_v1, &key);
}

/*
 * A miss: count it, then hand a TCP connect to the agent's hold listener for
 * the service, which retries replicas with backoff and relays once one
 * answers. The client's connect succeeds and getpeername() shows the VIP.
 * The listener is the socket in steer_hold_socks_v1, and the connect goes
 * to that socket's own address: a closed listener has left the map, so a
 * port somebody else bound after the agent died is never reached.
 * UDP, or no live listener (no agent running): -EHOSTUNREACH.
 */
static __always_inline int svc_handle_miss(struct bpf_sock_addr *ctx, __u32 svc_id, __u8 proto,
					   const struct sock_endpoint *vip, __u8 svc_family,
					   struct steer_svc_stats *stats)
{
	struct sock_endpoint hold = {};
	struct bpf_sock *listener;
	struct steer_sock *rec;
	__be32 ip4;
	bool usable;

	if (stats)
		stats->misses++; /* per-CPU: no atomic needed */
	if (proto != IPPROTO_TCP)
		return -EHOSTUNREACH;
	listener = bpf_map_lookup_elem(&steer_hold_socks_v1, &svc_id);
	if (!listener)
		return -EHOSTUNREACH;
	/* Every field read up front, whatever the family: reads chosen by a
	 * branch compile to arithmetic on the socket pointer, which the
	 * verifier refuses. */
	usable = listener->state == BPF_TCP_LISTEN && listener->family == svc_family;
	ip4 = listener->src_ip4;
	hold.addr[0] = listener->src_ip6[0];
	hold.addr[1] = listener->src_ip6[1];
	hold.addr[2] = listener->src_ip6[2];
	hold.addr[3] = listener->src_ip6[3];
	hold.port = bpf_htons((__u16)listener->src_port); /* bpf_sock has it in host order */
	bpf_sk_release(listener);
	if (svc_family == STEER_FAMILY_V4 && vip->family == STEER_FAMILY_V6) {
		addr_v4_mapped(hold.addr, ip4);
	} else if (svc_family == STEER_FAMILY_V4) {
		hold.addr[0] = ip4;
		hold.addr[1] = 0;
		hold.addr[2] = 0;
		hold.addr[3] = 0;
	}
	if (!usable || !hold.port)
		return -EHOSTUNREACH;
	rec = sock_record(ctx);
	if (!rec)
		return -EHOSTUNREACH;
	sock_peer_remember(rec, hold.addr, hold.port, vip->family, vip->addr, vip->port,
			   vip->family);
	sock_conn_set(rec, 0, NULL, proto);
	ctx_set_peer(ctx, hold.addr, hold.port, vip->family);
	return 0;
}

/*
 * Rewrite ctx's destination if it is a VIP. Returns 0 when rewritten or when
 * the destination is not a service (untouched), else a negative errno.
 * TCP picks by the service's policy (p2c unless STEER_SVC_F_RANDOM); UDP hashes the socket cookie
 * so a UDP socket keeps its replica across datagrams. connecting: from connect(), whose choice the
 * socket keeps (a datagram's sendmsg is a choice of the moment).
 */
static __always_inline int sock_steer(struct bpf_sock_addr *ctx, __u8 family, bool connecting)
{
	const struct steer_svc_value *svc;
	const struct steer_replica *r = NULL;
	struct steer_replica_stats *rstats;
	struct steer_svc_stats *stats;
	struct steer_sock *rec;
	struct sock_endpoint vip;
	__u32 svc_id, bank, count, rid = 0, hint;
	__u8 flags;
	__u8 proto = ctx->protocol, svc_family = family;
	__be32 shown[4];
	__u64 cookie;
	int err;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	ctx_get_peer(ctx, family, &vip);
	svc = svc_lookup(&vip, proto);
	if (!svc && family == STEER_FAMILY_V6 && addr_is_v4_mapped(vip.addr)) {
		/* No IPv6 service there: an IPv4 one reached from a dual-stack
		 * socket is served by its IPv4 replicas, shown as ::ffff:. */
		struct sock_endpoint vip4 = {.port = vip.port, .family = STEER_FAMILY_V4};

		vip4.addr[0] = vip.addr[3];
		svc = svc_lookup(&vip4, proto);
		svc_family = STEER_FAMILY_V4;
	}
	if (!svc) {
		/* Connected elsewhere now: the sweep must not take this socket
		 * for one steer connected to a replica earlier. */
		if (connecting && (rec = sock_record_find(ctx)))
			sock_conn_set(rec, 0, NULL, proto);
		return 0;
	}
	/* Copy once: the agent may replace the value while we run. */
	svc_id = svc->svc_id;
	bank = svc->bank;
	count = svc->count;
	flags = svc->flags;

	stats = svc_stats(svc_id);
	if (proto == IPPROTO_TCP) {
		hint = bpf_get_prandom_u32();
	} else {
		cookie = bpf_get_socket_cookie(ctx);
		hint = (__u32)(cookie ^ (cookie >> 32));
	}

	err = svc_pick_replica(svc_id, bank, count, hint, svc_family, proto, &rid, &r);
	if (err == -EHOSTUNREACH)
		return svc_handle_miss(ctx, svc_id, proto, &vip, svc_family, stats);
	if (err || !r)
		goto fail_closed;
	if (proto == IPPROTO_TCP && !(flags & STEER_SVC_F_RANDOM))
		svc_pick_p2c(svc_id, bank, count, hint, svc_family, &rid, &r);

	/* What the socket will see as its peer, in its own family. */
	if (svc_family != family)
		addr_v4_mapped(shown, r->addr[0]);
	else
		addr_copy(shown, r->addr);
	rec = sock_record(ctx);
	if (!rec) {
		err = -ENOMEM;
		goto fail_closed;
	}
	sock_peer_remember(rec, shown, r->port, family, vip.addr, vip.port, vip.family);
	if (connecting)
		sock_conn_set(rec, rid, r, proto);

	ctx_set_peer(ctx, shown, r->port, family);
	/* Per-CPU counters: plain increments, no atomic needed. */
	if (stats)
		stats->steered++;
	rstats = bpf_map_lookup_elem(&steer_replica_stats_v1, &rid);
	if (rstats)
		rstats->steered++;
	return 0;

fail_closed:
	if (stats)
		stats->errors++;
	return err ? err : -EINVAL;
}

/* Where a socket's peer (as the socket sees it) is shown instead, or NULL.
 * out_* are filled from the record or, for a socket steered before an
 * upgrade, from the legacy map. */
static __always_inline bool sock_shown_peer(struct bpf_sock_addr *ctx, struct steer_sock *rec,
					    const struct sock_endpoint *peer,
					    struct sock_endpoint *shown)
{
	const struct steer_sock_peer *p;
	const struct steer_revnat_value *old;

	p = rec ? sock_peer_find(rec, peer->addr, peer->port, peer->family) : NULL;
	if (p) {
		addr_copy(shown->addr, p->vip);
		shown->port = p->vip_port;
		shown->family = p->vip_family;
		return true;
	}
	old = legacy_revnat_lookup(bpf_get_socket_cookie(ctx), peer);
	if (!old)
		return false;
	addr_copy(shown->addr, old->addr);
	shown->port = old->port;
	shown->family = old->family;
	return true;
}

/* Show the VIP instead of the replica as a socket's peer / datagram source. */
static __always_inline void sock_unsteer(struct bpf_sock_addr *ctx, __u8 family)
{
	struct steer_sock *rec = sock_record_find(ctx);
	struct sock_endpoint peer, peer4 = {}, vip;
	__be32 shown[4];

	ctx_get_peer(ctx, family, &peer);
	if (sock_shown_peer(ctx, rec, &peer, &vip)) {
		if (vip.family == family)
			ctx_set_peer(ctx, vip.addr, vip.port, family);
		return;
	}
	/* A datagram that a dual-stack socket sent to ::ffff:VIP went out
	 * through the IPv4 path (sendmsg4 steered and remembered it in IPv4
	 * form), but its reply is read here, in IPv6 form. */
	if (family != STEER_FAMILY_V6 || !addr_is_v4_mapped(peer.addr))
		return;
	peer4.addr[0] = peer.addr[3];
	peer4.port = peer.port;
	peer4.family = STEER_FAMILY_V4;
	if (sock_shown_peer(ctx, rec, &peer4, &vip) && vip.family == STEER_FAMILY_V4) {
		addr_v4_mapped(shown, vip.addr[0]);
		ctx_set_peer(ctx, shown, vip.port, family);
	}
}

#endif /* STEER_LB_H */
