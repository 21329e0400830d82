/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where a socket was steered (steer_socks_v1, keyed by socket cookie): the
 * VIP getpeername() and recvfrom() show instead of the replica, and the
 * replica a connected socket uses, which the sweep (sweep.h) compares with
 * the replica set.
 *
 * The record is created by the hook that first steers the socket and
 * deleted when its owner closes it (cgroup/sock_release), so the map holds
 * open sockets only: whatever the connection churn, no entry is evicted
 * while fewer than STEER_MAX_SOCKS are open, and none outlives its socket.
 * A preallocated LRU rather than socket-local storage or a hash without
 * preallocation: both allocate per connect (and charge the memory cgroup),
 * which measured 3 to 4 times the whole hook's cost here; an LRU insert
 * reuses an element a closed socket gave back.
 *
 * Contract: helpers return a pointer or NULL and never decide a verdict.
 */
#ifndef STEER_PEER_H
#define STEER_PEER_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "bpf/steer_abi.h"
#include "bpf/lib/maps.h"

static __always_inline bool addr_eq(const __be32 a[4], const __be32 b[4])
{
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]));
}

static __always_inline struct steer_sock_stats *sock_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&steer_sock_stats_v1, &zero);
}

/* A new record starts as this (a map value may be the source of an update,
 * so no 200-byte zero needs to live on the stack). */
static const struct steer_sock sock_record_zero;

/* The socket's record, created on first use. NULL only if the insert
 * failed (the caller fails closed). */
static __always_inline struct steer_sock *sock_record(struct bpf_sock_addr *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct steer_sock_stats *st;

	/* Insert first: most sockets are steered once (a TCP connect), so a
	 * lookup first would nearly always miss. */
	if (bpf_map_update_elem(&steer_socks_v1, &cookie, &sock_record_zero, BPF_NOEXIST) == 0) {
		st = sock_stats();
		if (st)
			st->tracked++; /* per-CPU: no atomic needed */
	}
	return bpf_map_lookup_elem(&steer_socks_v1, &cookie);
}

/* The socket's record if it has one; never creates. */
static __always_inline struct steer_sock *sock_record_find(struct bpf_sock_addr *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);

	return bpf_map_lookup_elem(&steer_socks_v1, &cookie);
}

/* Remember that the socket's datagrams or connection to (addr, port) are
 * shown as coming from vip. The entry for the same destination is reused;
 * past STEER_SOCK_PEERS destinations the oldest is replaced. */
static __always_inline void sock_peer_remember(struct steer_sock *s, const __be32 addr[4],
					       __be16 port, __u8 family, const __be32 vip[4],
					       __be16 vip_port, __u8 vip_family)
{
	struct steer_sock_peer *p;
	__u32 i, slot = STEER_SOCK_PEERS;

	for (i = 0; i < STEER_SOCK_PEERS; i++) {
		p = &s->peer[i];
		if (!p->family ||
		    (p->family == family && p->port == port && addr_eq(p->addr, addr))) {
			slot = i;
			break;
		}
	}
	if (slot == STEER_SOCK_PEERS) {
		slot = s->next % STEER_SOCK_PEERS;
		s->next = (__u8)((slot + 1) % STEER_SOCK_PEERS);
	}
	p = &s->peer[slot % STEER_SOCK_PEERS];
	p->addr[0] = addr[0];
	p->addr[1] = addr[1];
	p->addr[2] = addr[2];
	p->addr[3] = addr[3];
	p->port = port;
	p->family = family;
	p->vip[0] = vip[0];
	p->vip[1] = vip[1];
	p->vip[2] = vip[2];
	p->vip[3] = vip[3];
	p->vip_port = vip_port;
	p->vip_family = vip_family;
}

static __always_inline bool sock_peer_is(const struct steer_sock_peer *p, const __be32 addr[4],
					 __be16 port, __u8 family)
{
	return p->family == family && p->port == port && addr_eq(p->addr, addr);
}

/* Straight-line code, no loop with an early return: clang -O1 (the
 * upgrade test's build) turned that form into a read the verifier
 * refuses. */
static __always_inline const struct steer_sock_peer *
sock_peer_find(const struct steer_sock *s, const __be32 addr[4], __be16 port, __u8 family)
{
	_Static_assert(STEER_SOCK_PEERS == 2, "sock_peer_find() looks at 2 entries");
	if (sock_peer_is(&s->peer[0], addr, port, family))
		return &s->peer[0];
	if (sock_peer_is(&s->peer[1], addr, port, family))
		return &s->peer[1];
	return NULL;
}

/* Does replica id rid still name the endpoint s connected to? Not once
 * the replica was removed (its id is free, or given to another). */
static __always_inline const struct steer_replica *sock_conn_replica(const struct steer_sock *s)
{
	__u32 rid = s->conn_replica;
	const struct steer_replica *r = bpf_map_lookup_elem(&steer_replicas_v1, &rid);

	if (!r || r->family != s->conn_family || r->port != s->conn_port ||
	    !addr_eq(r->addr, s->conn_addr))
		return NULL;
	return r;
}

static __always_inline void replica_active_add(__u32 rid, __s64 delta)
{
	struct steer_replica_active *a = bpf_map_lookup_elem(&steer_replica_active_v1, &rid);

	if (a)
		__sync_fetch_and_add(&a->active, delta);
}

/* The socket no longer uses the replica its record names (it closed, or
 * connects again): a TCP connection leaves that replica's count. One
 * whose replica was removed was zeroed with it. */
/* A connection to r closed while the agent holds connections of r's
 * service: tell it, so it tries them now (one may fit under max_conns)
 * rather than at their next backoff step. */
static __always_inline void slot_free_notify(const struct steer_replica *r)
{
	__u32 svc_id = r->svc_id;
	const struct steer_hold_stats *h = bpf_map_lookup_elem(&steer_hold_stats_v2, &svc_id);
	struct steer_event *ev;

	if (!h || !h->held_now)
		return;
	ev = bpf_ringbuf_reserve(&steer_events_v1, sizeof(*ev), 0);
	if (!ev)
		return; /* the agent's backoff still retries them */
	ev->ts_ns = bpf_ktime_get_ns();
	ev->addr[0] = r->addr[0];
	ev->addr[1] = r->addr[1];
	ev->addr[2] = r->addr[2];
	ev->addr[3] = r->addr[3];
	ev->port = r->port;
	ev->family = r->family;
	ev->reason = STEER_EVENT_SLOT_FREE;
	ev->svc_id = svc_id;
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void sock_conn_leave(struct steer_sock *s)
{
	const struct steer_replica *r;

	if (s->conn_family && s->conn_proto == IPPROTO_TCP && (r = sock_conn_replica(s))) {
		replica_active_add(s->conn_replica, -1);
		slot_free_notify(r);
	}
	s->conn_family = 0;
}

/* connect() steered the socket to replica rid (r) over proto, or (r NULL)
 * elsewhere: to the hold listener, or to an address that is no service. A
 * TCP connection counts toward its replica until the socket closes. */
static __always_inline void sock_conn_set(struct steer_sock *s, __u32 rid,
					  const struct steer_replica *r, __u8 proto)
{
	sock_conn_leave(s);
	if (!r)
		return;
	s->conn_addr[0] = r->addr[0];
	s->conn_addr[1] = r->addr[1];
	s->conn_addr[2] = r->addr[2];
	s->conn_addr[3] = r->addr[3];
	s->conn_port = r->port;
	s->conn_replica = rid;
	s->conn_family = r->family;
	s->conn_proto = proto;
	if (proto == IPPROTO_TCP)
		replica_active_add(rid, 1);
}

#endif /* STEER_PEER_H */
