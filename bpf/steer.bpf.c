// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Entry points of the socket-level datapath: thin wrappers that call lb.h and
 * turn its errors into verdicts. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/sock/lb.h"
#include "bpf/sock/eject.h"
#include "bpf/sock/sweep.h"

#define SYS_REJECT  0
#define SYS_PROCEED 1

/* A refused connect/sendmsg reports the helper's errno (EHOSTUNREACH for a
 * miss) instead of the EPERM a bare reject would give. */
static __always_inline int verdict(int err)
{
	if (!err)
		return SYS_PROCEED;
	bpf_set_retval(err == -EHOSTUNREACH ? -EHOSTUNREACH : -ECONNREFUSED);
	return SYS_REJECT;
}

SEC("cgroup/connect4")
int sock4_connect(struct bpf_sock_addr *ctx)
{
	return verdict(sock_steer(ctx, STEER_FAMILY_V4, true));
}

SEC("cgroup/connect6")
int sock6_connect(struct bpf_sock_addr *ctx)
{
	return verdict(sock_steer(ctx, STEER_FAMILY_V6, true));
}

SEC("cgroup/sendmsg4")
int sock4_sendmsg(struct bpf_sock_addr *ctx)
{
	return verdict(sock_steer(ctx, STEER_FAMILY_V4, false));
}

SEC("cgroup/sendmsg6")
int sock6_sendmsg(struct bpf_sock_addr *ctx)
{
	return verdict(sock_steer(ctx, STEER_FAMILY_V6, false));
}

SEC("cgroup/recvmsg4")
int sock4_recvmsg(struct bpf_sock_addr *ctx)
{
	sock_unsteer(ctx, STEER_FAMILY_V4);
	return SYS_PROCEED;
}

SEC("cgroup/recvmsg6")
int sock6_recvmsg(struct bpf_sock_addr *ctx)
{
	sock_unsteer(ctx, STEER_FAMILY_V6);
	return SYS_PROCEED;
}

SEC("cgroup/getpeername4")
int sock4_getpeername(struct bpf_sock_addr *ctx)
{
	sock_unsteer(ctx, STEER_FAMILY_V4);
	return SYS_PROCEED;
}

SEC("cgroup/getpeername6")
int sock6_getpeername(struct bpf_sock_addr *ctx)
{
	sock_unsteer(ctx, STEER_FAMILY_V6);
	return SYS_PROCEED;
}

/* The socket's record goes with the socket. */
SEC("cgroup/sock_release")
int sock_release(struct bpf_sock *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct steer_sock_stats *st;
	struct steer_sock *s = bpf_map_lookup_elem(&steer_socks_v1, &cookie);

	if (!s)
		return SYS_PROCEED;
	sock_conn_leave(s);
	if (bpf_map_delete_elem(&steer_socks_v1, &cookie) == 0) {
		st = sock_stats();
		if (st)
			st->released++;
	}
	return SYS_PROCEED;
}

/* Run by the agent, never attached to a hook: see bpf/sock/sweep.h. */
SEC("iter/udp")
int sock_sweep_udp(struct bpf_iter__udp *ctx)
{
	struct sock *sk = (struct sock *)ctx->udp_sk;
	struct steer_sock *s;
	__u64 cookie;

	if (!sk || sk->__sk_common.skc_state != SK_ESTABLISHED)
		return 0; /* unconnected: steered per datagram, never touched */
	cookie = bpf_get_socket_cookie(sk);
	s = bpf_map_lookup_elem(&steer_socks_v1, &cookie);
	if (s && s->conn_family && sock_replica_gone(s, IPPROTO_UDP, false) &&
	    !bpf_sock_destroy((struct sock_common *)sk))
		sock_destroyed();
	return 0;
}

SEC("iter/tcp")
int sock_sweep_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	struct steer_sock *s;
	__u64 cookie;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc); /* NULL for time-wait and request sockets */
	if (!tp)
		return 0;
	cookie = bpf_get_socket_cookie(skc);
	s = bpf_map_lookup_elem(&steer_socks_v1, &cookie);
	if (s && s->conn_family && sock_replica_gone(s, IPPROTO_TCP, true) &&
	    !bpf_sock_destroy(skc))
		sock_destroyed();
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sock_state_watch, const struct sock *sk, int oldstate, int newstate)
{
	struct sock_state_rec rec;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	sock_state_read(sk, &rec);
	if (oldstate == BPF_TCP_LISTEN && newstate == BPF_TCP_CLOSE)
		on_listener_change(&rec, false);
	else if (oldstate == BPF_TCP_CLOSE && newstate == BPF_TCP_LISTEN)
		on_listener_change(&rec, true);
	else if (oldstate == BPF_TCP_SYN_SENT && newstate == BPF_TCP_CLOSE)
		on_connect_done(&rec, false);
	else if (oldstate == BPF_TCP_SYN_SENT && newstate == BPF_TCP_ESTABLISHED)
		on_connect_done(&rec, true);
	return 0;
}

/* Fires for every error reported to an inet socket of the node; only
 * connected UDP sockets are looked at (see bpf/sock/eject.h). */
SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(sock_error_watch, const struct sock *sk)
{
	if (sk->sk_protocol != IPPROTO_UDP || sk->__sk_common.skc_state != SK_ESTABLISHED)
		return 0;
	on_udp_error(sk);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
