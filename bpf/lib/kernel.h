/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few kernel types steer's tracing and iterator programs read, as CO-RE
 * relocations against the running kernel's BTF: the programs carry no
 * vmlinux.h, and libbpf fixes the offsets at load.
 */
#ifndef STEER_KERNEL_H
#define STEER_KERNEL_H

#include <linux/types.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>

/* TCP states as the kernel numbers them; a connected UDP socket is
 * "established" too. */
#define SK_ESTABLISHED 1

struct sock_common {
	__be32 skc_daddr;     /* remote */
	__be32 skc_rcv_saddr; /* local */
	__be16 skc_dport;     /* remote, network order */
	__u16 skc_num;	      /* local, host order */
	unsigned short skc_family;
	volatile unsigned char skc_state;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
	int sk_err; /* the error a failed connect ended with; 0 if the owner closed it */
} __attribute__((preserve_access_index));

struct bpf_iter_meta;
struct udp_sock;
struct tcp_sock;

/* The contexts of iter/udp and iter/tcp: fixed by the kernel's
 * DEFINE_BPF_ITER_FUNC() prototypes, so plain layouts. */
struct bpf_iter__udp {
	struct bpf_iter_meta *meta;
	struct udp_sock *udp_sk;
	__u32 uid;
	int bucket;
};

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	__u32 uid;
};

/* Abort a socket as `ss -K` does: the application's next call on it fails
 * with ECONNABORTED (kernel 6.5+, iterator programs only). */
extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

#endif /* STEER_KERNEL_H */
