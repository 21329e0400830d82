/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Passive, in-kernel ejection, driven by the sock/inet_sock_set_state
 * tracepoint (TCP) and the sock/inet_sk_error_report one (UDP):
 *  - a listening socket of a replica on this host closes (LISTEN -> CLOSE):
 *    the replica is ejected at once; a wildcard listener ejects every local
 *    replica on its port;
 *  - connects to a replica fail (SYN_SENT -> CLOSE) eject_after_failures
 *    times in a row: the replica is ejected;
 *  - connected UDP sockets that steer connected to a UDP replica get an ICMP
 *    error from it (port or host unreachable) eject_after_failures times
 *    with no passing check between: the replica is ejected. The kernel
 *    reports the error only to the socket whose 4-tuple the ICMP quotes
 *    (__udp4_lib_err(), __udp6_lib_err()), so it is the replica's answer
 *    to a datagram the socket sent; and only the replica steer chose
 *    counts: a client that connected itself elsewhere, or to another port
 *    of the same host, counts for nothing. UDP replicas have a backend
 *    entry only while their service has checks (the agent writes it), so a
 *    replica is never ejected that nothing would bring back.
 * Ejecting sets steer_backend.ejected_ns, which the connect hook checks, and
 * tells the agent through the steer_events_v1 ring buffer. Only the agent
 * clears an ejection, once active checks see the replica healthy again.
 *
 * Contract: helpers return nothing the verdict depends on; a tracepoint
 * program cannot fail a connect.
 */
#ifndef STEER_EJECT_H
#define STEER_EJECT_H

#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/steer_abi.h"
#include "bpf/lib/maps.h"
#include "bpf/lib/kernel.h"
#include "bpf/sock/peer.h"

/* Failed connects in a row that eject a replica (0: never). Set by the agent
 * from STEER_PASSIVE_EJECT_FAILURES before load. */
const volatile __u32 eject_after_failures = 3;

/* What a state change is about, read once from the socket. */
struct sock_state_rec {
	__u16 sport; /* local, host order */
	__u16 dport; /* remote, host order */
	__u16 family;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
	int err; /* sk_err */
};

static __always_inline void sock_state_read(const struct sock *sk, struct sock_state_rec *r)
{
	__be32 a;

	r->sport = sk->__sk_common.skc_num;
	r->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	r->family = sk->__sk_common.skc_family;
	a = sk->__sk_common.skc_rcv_saddr;
	__builtin_memcpy(r->saddr, &a, 4);
	a = sk->__sk_common.skc_daddr;
	__builtin_memcpy(r->daddr, &a, 4);
	for (int i = 0; i < 4; i++) {
		a = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[i];
		__builtin_memcpy(r->saddr_v6 + 4 * i, &a, 4);
		a = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[i];
		__builtin_memcpy(r->daddr_v6 + 4 * i, &a, 4);
	}
	r->err = sk->sk_err;
}

/* A failed connect that is the replica's doing: it refused (RST), could not
 * be reached (the SYN retries ran out), or the network said so (ICMP). A
 * connect its owner closed before it completed (a client's own timeout, the
 * agent's timed-out probe) ends with no error and says nothing about the
 * replica. */
static __always_inline bool connect_error_is_replicas(int err)
{
	return err == ECONNREFUSED || err == ETIMEDOUT || err == EHOSTUNREACH || err == ENETUNREACH;
}

struct bpf_map;

static __always_inline void emit_event(const struct steer_backend_key *key, __u8 reason, __u64 now)
{
	struct steer_event *ev = bpf_ringbuf_reserve(&steer_events_v1, sizeof(*ev), 0);

	if (!ev)
		return; /* the map already says ejected; the agent's checks catch up */
	ev->ts_ns = now;
	__builtin_memcpy(ev->addr, key->addr, sizeof(ev->addr));
	ev->port = key->port;
	ev->family = key->family;
	ev->reason = reason;
	ev->svc_id = 0;
	bpf_ringbuf_submit(ev, 0);
}

/* Mark b ejected unless it already is; tell the agent. */
static __always_inline void backend_eject(const struct steer_backend_key *key,
					  struct steer_backend *b, __u8 reason, __u64 now)
{
	if (b->ejected_ns)
		return;
	b->ejected_ns = now;
	b->reason = reason;
	emit_event(key, reason, now);
}

/* Key of the endpoint a tracepoint record names (src for listeners, dst for
 * connects). Returns false for families steer does not steer. */
static __always_inline bool tp_endpoint(const struct sock_state_rec *ctx, bool src,
					struct steer_backend_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->port = bpf_htons(src ? ctx->sport : ctx->dport);
	if (ctx->family == STEER_FAMILY_V4) {
		__builtin_memcpy(&key->addr[0], src ? ctx->saddr : ctx->daddr, 4);
	} else if (ctx->family == STEER_FAMILY_V6) {
		__builtin_memcpy(key->addr, src ? ctx->saddr_v6 : ctx->daddr_v6, 16);
	} else {
		return false;
	}
	key->family = (__u8)ctx->family;
	key->proto = IPPROTO_TCP;
	/* A dual-stack socket's ::ffff:a.b.c.d is the IPv4 endpoint a.b.c.d. */
	if (key->family == STEER_FAMILY_V6 && !key->addr[0] && !key->addr[1] &&
	    key->addr[2] == bpf_htonl(0x0000ffff)) {
		key->addr[0] = key->addr[3];
		key->addr[3] = 0;
		key->addr[2] = 0;
		key->family = STEER_FAMILY_V4;
	}
	return true;
}

static __always_inline bool key_is_wildcard(const struct steer_backend_key *key)
{
	return !(key->addr[0] | key->addr[1] | key->addr[2] | key->addr[3]);
}

struct wildcard_ctx {
	__be16 port;
	__u8 family; /* of the listener; an IPv6 one also takes IPv4 (dual stack) */
	bool opened; /* CLOSE -> LISTEN, else LISTEN -> CLOSE */
	__u64 now;
};

/* A listener of b's endpoint closed: eject it. One opened: only tell the
 * agent, which checks the replica at once if it is not up; the datapath
 * itself never trusts a replica again without a check. */
static __always_inline void listener_changed(const struct steer_backend_key *key,
					     struct steer_backend *b, bool opened, __u64 now)
{
	if (opened)
		emit_event(key, STEER_EVENT_LISTENER_UP, now);
	else
		backend_eject(key, b, STEER_EJECT_LISTENER_CLOSED, now);
}

static long local_listener_changed(struct bpf_map *map, const struct steer_backend_key *key,
				   struct steer_backend *b, struct wildcard_ctx *w)
{
	(void)map;
	if (b->local && key->port == w->port &&
	    (key->family == w->family || w->family == STEER_FAMILY_V6))
		listener_changed(key, b, w->opened, w->now);
	return 0;
}

/* A listener opened or closed on a local replica's endpoint, or on a
 * wildcard address, which covers every local replica on its port. */
static __always_inline void on_listener_change(const struct sock_state_rec *ctx, bool opened)
{
	struct steer_backend_key key;
	struct steer_backend *b;
	__u64 now = bpf_ktime_get_ns();

	if (!tp_endpoint(ctx, true, &key))
		return;
	if (key_is_wildcard(&key)) {
		struct wildcard_ctx w = {
		    .port = key.port, .family = key.family, .opened = opened, .now = now};

		bpf_for_each_map_elem(&steer_backends_v1, local_listener_changed, &w, 0);
		return;
	}
	b = bpf_map_lookup_elem(&steer_backends_v1, &key);
	if (b && b->local)
		listener_changed(&key, b, opened, now);
}

static __always_inline void on_connect_done(const struct sock_state_rec *ctx, bool ok)
{
	struct steer_backend_key key;
	struct steer_backend *b;
	__u32 failures;

	if (!tp_endpoint(ctx, false, &key))
		return;
	b = bpf_map_lookup_elem(&steer_backends_v1, &key);
	if (!b)
		return;
	if (ok) {
		if (b->consecutive_failures)
			b->consecutive_failures = 0;
		return;
	}
	if (!connect_error_is_replicas(ctx->err))
		return;
	__sync_fetch_and_add(&b->failed_connects, 1);
	failures = __sync_add_and_fetch(&b->consecutive_failures, 1);
	if (eject_after_failures && failures >= eject_after_failures)
		backend_eject(&key, b, STEER_EJECT_CONNECT_FAILED, bpf_ktime_get_ns());
}

/* An error a connected UDP socket was told of that is the replica's doing:
 * nothing listens on its port (ICMP port unreachable: ECONNREFUSED), or it
 * cannot be reached (host or network unreachable; the kernel reports these
 * to a connected socket only with IP_RECVERR). */
static __always_inline bool icmp_error_is_replicas(int err)
{
	return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH;
}

/* Did steer connect socket s to the endpoint key (over UDP)? */
static __always_inline bool sock_steered_to(const struct steer_sock *s,
					    const struct steer_backend_key *key)
{
	return s->conn_proto == IPPROTO_UDP && s->conn_family == key->family &&
	       s->conn_port == key->port && addr_eq(s->conn_addr, key->addr);
}

/* sk, a connected UDP socket, was told of an error (sk_err). */
static __always_inline void on_udp_error(const struct sock *sk)
{
	struct sock_state_rec rec;
	struct steer_backend_key key;
	struct steer_backend *b;
	struct steer_sock *s;
	__u64 cookie;
	__u32 failures;

	sock_state_read(sk, &rec);
	if (!icmp_error_is_replicas(rec.err) || !tp_endpoint(&rec, false, &key))
		return;
	key.proto = IPPROTO_UDP;
	cookie = bpf_get_socket_cookie((void *)sk);
	s = bpf_map_lookup_elem(&steer_socks_v1, &cookie);
	if (!s || !sock_steered_to(s, &key))
		return;
	b = bpf_map_lookup_elem(&steer_backends_v1, &key);
	if (!b)
		return; /* its service has no checks */
	__sync_fetch_and_add(&b->failed_connects, 1);
	failures = __sync_add_and_fetch(&b->consecutive_failures, 1);
	if (eject_after_failures && failures >= eject_after_failures)
		backend_eject(&key, b, STEER_EJECT_CONNECT_FAILED, bpf_ktime_get_ns());
}

#endif /* STEER_EJECT_H */
