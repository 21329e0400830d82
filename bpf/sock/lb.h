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

/* Connections open to replica rid: the kernel's count of steered ones, and
 * (limited: the service has max_conns) the agent's relays, which max_conns
 * counts too. */
static __always_inline __s64 replica_load(__u32 rid, bool limited)
{
	const struct steer_replica_active *a = bpf_map_lookup_elem(&steer_replica_active_v1, &rid);
	const struct steer_replica_relayed *rl;
	__s64 n = a ? a->active : 0;

	if (limited) {
		rl = bpf_map_lookup_elem(&steer_replica_relayed_v1, &rid);
		if (rl)
			n += (__s64)rl->relayed;
	}
	return n;
}

/* Enough halvings to search any tier of STEER_MAX_SLOTS slots. */
#define STEER_SEARCH_STEPS (33 - __builtin_clz(STEER_MAX_SLOTS))

/*
 * The helpers of a pick below are global functions: the verifier checks
 * each once, on its own, and a call to one costs the caller's loop a
 * handful of instructions. Inlined, the walk of up to STEER_MAX_SLOTS
 * steps times a binary search times three tiers is more states than the
 * verifier will explore. Five arguments at most, so some come packed.
 */

/* The slot of [lo, hi) whose weight range holds x: the first whose
 * weight_end exceeds it. A binary search, so weights cost log2(slots)
 * lookups per draw and no slot expansion. */
__noinline __u32 steer_weighted_slot(__u32 base, __u32 lo, __u32 hi, __u32 x)
{
	__u32 top = hi, step;

	if (hi <= lo || hi > STEER_MAX_SLOTS)
		return lo;
	for (step = 0; step < STEER_SEARCH_STEPS && lo < hi; step++) {
		__u32 mid = lo + (hi - lo) / 2, idx = base + mid;
		const struct steer_slot_attrs *a = bpf_map_lookup_elem(&steer_slot_attrs_v1, &idx);

		if (!a)
			break;
		if (a->weight_end > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < top ? lo : top - 1;
}

/* Can slot idx take a new connection? Its replica routable, and under its
 * max_conns when the service has limits. Returns the replica id with its
 * weight in bits 32-47, or -1. opts = family | proto << 8 | flags << 16. */
__noinline __s64 steer_slot_take(__u32 idx, __u32 opts)
{
	__u8 family = opts & 0xff, proto = (opts >> 8) & 0xff, flags = (opts >> 16) & 0xff;
	const struct steer_slot *s = bpf_map_lookup_elem(&steer_slots_v1, &idx);
	const struct steer_slot_attrs *a;
	const struct steer_replica *r;
	__u64 weight = 1;
	__u32 id;

	if (!s)
		return -1;
	id = s->replica_id;
	r = bpf_map_lookup_elem(&steer_replicas_v1, &id);
	if (!r || !replica_is_routable(r, family, proto))
		return -1;
	if (!(flags & (STEER_SVC_F_WEIGHTED | STEER_SVC_F_LIMITED)))
		return id | weight << 32;
	a = bpf_map_lookup_elem(&steer_slot_attrs_v1, &idx);
	if (!a)
		return id | weight << 32;
	if ((flags & STEER_SVC_F_WEIGHTED) && a->weight)
		weight = a->weight;
	if ((flags & STEER_SVC_F_LIMITED) && a->max_conns &&
	    replica_load(id, true) >= (__s64)a->max_conns)
		return -1;
	return id | weight << 32;
}

/*
 * Pick a replica among the slots [lo, hi) of one locality tier (range =
 * lo | hi << 16); returns its id, -EHOSTUNREACH if none can take the
 * connection, -EINVAL on a bad range. base: the bank's slot 0; wtotal: the
 * tier's total weight, 0 for equal weights; opts as steer_slot_take().
 *
 * First candidate: the order of steer_pick_slot() (STEER_PICK_DRAWS draws,
 * by weight if wtotal, then a walk over every slot); the first slot that
 * takes wins. p2c (TCP without STEER_SVC_F_RANDOM): a second candidate
 * with another replica id, from up to STEER_PICK_DRAWS more draws; the
 * lower load / weight wins, a tie by the weights (w2 / (w1 + w2) for the second). If those draws
 * find no second one (most replicas are down or full), the first stands.
 */
/* One step of the first candidate's search (a bpf_loop() callback, so
 * the verifier checks one step, not STEER_MAX_SLOTS of them). */
struct pick_walk {
	__u32 base, lo, hi, n, wtotal, hint, opts;
	__s64 found; /* steer_slot_take() of the first slot that took, or -1 */
};

static long steer_pick_walk_step(__u64 index, void *arg)
{
	struct pick_walk *w = arg;
	__u32 i = (__u32)index, slot;

	if (w->wtotal && w->n > 1 && i < STEER_PICK_DRAWS)
		slot = steer_weighted_slot(
		    w->base, w->lo, w->hi,
		    (i ? steer_pick_mix(w->hint + i * 0x9e3779b9u) : w->hint) % w->wtotal);
	else
		slot = w->lo + steer_pick_slot(w->hint, w->n, i);
	w->found = steer_slot_take(w->base + slot, w->opts);
	return w->found >= 0; /* 1 ends the loop */
}

__noinline int steer_pick_tier(__u32 base, __u32 range, __u32 wtotal, __u32 hint, __u32 opts)
{
	__u32 lo = range & 0xffff, hi = range >> 16, n, i, slot, rid2, w1, w2;
	__u8 proto = (opts >> 8) & 0xff, flags = (opts >> 16) & 0xff;
	bool limited = flags & STEER_SVC_F_LIMITED;
	struct pick_walk w = {};
	__s64 c1, c2 = -1, a1, a2;

	if (hi <= lo || hi > STEER_MAX_SLOTS)
		return -EINVAL;
	n = hi - lo;
	w.base = base;
	w.lo = lo;
	w.hi = hi;
	w.n = n;
	w.wtotal = wtotal;
	w.hint = hint;
	w.opts = opts;
	w.found = -1;
	bpf_loop(steer_pick_steps(n), steer_pick_walk_step, &w, 0);
	c1 = w.found;
	if (c1 < 0)
		return -EHOSTUNREACH;
	if (proto != IPPROTO_TCP || (flags & STEER_SVC_F_RANDOM) || n < 2)
		return (int)(__u32)c1;
	for (i = 0; i < STEER_PICK_DRAWS; i++) {
		__u32 h2 = steer_pick_mix(hint ^ (0x27d4eb2fu + i * 0x9e3779b9u));

		slot = wtotal ? steer_weighted_slot(base, lo, hi, h2 % wtotal) : lo + h2 % n;
		c2 = steer_slot_take(base + slot, opts);
		if (c2 >= 0 && (__u32)c2 != (__u32)c1)
			break;
		c2 = -1;
	}
	if (c2 < 0)
		return (int)(__u32)c1;
	rid2 = (__u32)c2;
	w1 = (__u32)(c1 >> 32);
	w2 = (__u32)(c2 >> 32);
	/* load1 / w1 against load2 / w2, without division */
	a1 = replica_load((__u32)c1, limited) * (__s64)w2;
	a2 = replica_load(rid2, limited) * (__s64)w1;
	if (a2 < a1)
		return (int)rid2;
	/* A tie goes by weight, so equal loads keep the weights' shares: the
	 * draws that brought the two in are no longer enough once the second
	 * must differ from the first. */
	if (a2 == a1 && (hint >> 8) % (w1 + w2) < w2)
		return (int)rid2;
	return (int)(__u32)c1;
}

/*
 * Pick for a connect or datagram to service svc: the passes of its
 * locality tiers in order (this node, this zone, any), each by the
 * service's policy, with no delay between them. Returns 0 with *rid and
 * *pass set, -EHOSTUNREACH if no tier has a replica that can take it (a
 * miss), another negative errno if the maps are inconsistent.
 */
static __always_inline int svc_pick(__u32 svc_id, __u32 bank, __u32 count, __u8 flags, __u32 hint,
				    __u8 family, __u8 proto, __u32 *rid, __u32 *pass)
{
	__u32 base, t, lo = 0, bidx = steer_bank_index(svc_id, bank);
	const struct steer_slot_range *range;
	struct steer_bank b = {};

	if (count == 0)
		return -EHOSTUNREACH;
	if (count > STEER_MAX_SLOTS || bank >= STEER_SLOT_BANKS)
		return -EINVAL;
	range = bpf_map_lookup_elem(&steer_slot_ranges_v1, &bidx);
	if (!range || count > range->cap)
		return -EINVAL;
	base = range->base;
	if (flags & (STEER_SVC_F_WEIGHTED | STEER_SVC_F_LIMITED | STEER_SVC_F_TIERS)) {
		const struct steer_bank *bp = bpf_map_lookup_elem(&steer_svc_banks_v1, &bidx);

		if (bp)
			b = *bp;
	}
	if (!b.tier_end[STEER_TIER_ANY]) {
		/* A bank written before tiers: one tier, equal weights. */
		b.tier_end[STEER_TIER_LOCAL] = 0;
		b.tier_end[STEER_TIER_ZONE] = 0;
		b.tier_end[STEER_TIER_ANY] = count;
		flags &= ~STEER_SVC_F_WEIGHTED;
	}
	for (t = 0; t < STEER_TIERS; t++) {
		__u32 hi = b.tier_end[t] < count ? b.tier_end[t] : count;
		int ret;

		if (hi <= lo)
			continue;
		ret = steer_pick_tier(base, lo | hi << 16,
				      flags & STEER_SVC_F_WEIGHTED ? b.weight_total[t] : 0, hint,
				      family | (__u32)proto << 8 | (__u32)flags << 16);
		if (ret >= 0) {
			*rid = (__u32)ret;
			*pass = t;
			return 0;
		}
		if (ret != -EHOSTUNREACH)
			return ret;
		lo = hi;
	}
	return -EHOSTUNREACH;
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

/* max_queued connections of the service held already (the agent's count)?
 * Then a miss is refused here, before any handshake: the client's connect()
 * fails with ECONNREFUSED. Counted as refused_full. */
static __always_inline bool svc_queue_full(__u32 svc_id, __u32 bank)
{
	__u32 bidx = steer_bank_index(svc_id, bank);
	const struct steer_bank *b = bpf_map_lookup_elem(&steer_svc_banks_v1, &bidx);
	const struct steer_hold_stats *h;
	struct steer_svc_lb_stats *lb;

	if (!b || !b->max_queued)
		return false;
	h = bpf_map_lookup_elem(&steer_hold_stats_v2, &svc_id);
	if (!h || h->held_now < b->max_queued) /* no entry: none held */
		return false;
	lb = bpf_map_lookup_elem(&steer_svc_lb_stats_v1, &svc_id);
	if (lb)
		lb->refused_full++;
	return true;
}

/*
 * A miss: count it, then hand a TCP connect to the agent's hold listener of
 * the service's family (one for every service), which retries replicas with
 * backoff and relays once one answers. The client's connect succeeds and
 * getpeername() shows the VIP. The VIP goes into the socket's record
 * (steer_socks_v1, keyed by its cookie) with the listener as its peer: the
 * agent finds the record by the connection's cookie, and serves it for the
 * service of that VIP (a connection to the listener without such a record
 * is not a miss, and is reset). The listener is the socket in
 * steer_hold_socks_v2, and the connect goes to that socket's own address: a
 * closed listener has left the map, so a port somebody else bound after the
 * agent died is never reached.
 * UDP, or no live listener (no agent running): -EHOSTUNREACH.
 */
static __always_inline int svc_handle_miss(struct bpf_sock_addr *ctx, __u32 svc_id, __u32 bank,
					   __u8 proto, const struct sock_endpoint *vip,
					   __u8 svc_family, struct steer_svc_stats *stats)
{
	struct sock_endpoint hold = {};
	struct bpf_sock *listener;
	struct steer_sock *rec;
	__be32 ip4;
	bool usable;
	__u32 idx;

	if (stats)
		stats->misses++; /* per-CPU: no atomic needed */
	if (proto != IPPROTO_TCP)
		return -EHOSTUNREACH;
	if (svc_queue_full(svc_id, bank))
		return -ECONNREFUSED;
	idx = steer_hold_index(svc_family);
	listener = bpf_map_lookup_elem(&steer_hold_socks_v2, &idx);
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
	struct steer_svc_lb_stats *lbstats;
	struct steer_svc_stats *stats;
	struct steer_sock *rec;
	struct sock_endpoint vip;
	__u32 svc_id, bank, count, rid = 0, hint, pass = 0;
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

	err = svc_pick(svc_id, bank, count, flags, hint, svc_family, proto, &rid, &pass);
	if (err == -EHOSTUNREACH)
		return svc_handle_miss(ctx, svc_id, bank, proto, &vip, svc_family, stats);
	if (err)
		goto fail_closed;
	r = bpf_map_lookup_elem(&steer_replicas_v1, &rid);
	if (!r) {
		err = -ENOENT;
		goto fail_closed;
	}

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
	lbstats = bpf_map_lookup_elem(&steer_svc_lb_stats_v1, &svc_id);
	if (lbstats && pass < STEER_TIERS)
		lbstats->pass[pass]++;
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
