// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Entry points of the socket-level datapath: thin wrappers that call lb.h and
 * turn its errors into verdicts. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/sock/lb.h"
#include "bpf/sock/eject.h"

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
	return verdict(sock_steer(ctx, STEER_FAMILY_V4));
}

SEC("cgroup/connect6")
int sock6_connect(struct bpf_sock_addr *ctx)
{
	return verdict(sock_steer(ctx, STEER_FAMILY_V6));
}

SEC("cgroup/sendmsg4")
int sock4_sendmsg(struct bpf_sock_addr *ctx)
{
	return verdict(sock_steer(ctx, STEER_FAMILY_V4));
}

SEC("cgroup/sendmsg6")
int sock6_sendmsg(struct bpf_sock_addr *ctx)
{
	return verdict(sock_steer(ctx, STEER_FAMILY_V6));
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
