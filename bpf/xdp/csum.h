/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internet checksums for the XDP program, which has no csum_replace helpers:
 * incremental updates (RFC 1624) when a header field changes, and the sum
 * of a header steer writes whole (the outer IPv4 header of IPIP).
 */
#ifndef STEER_XDP_CSUM_H
#define STEER_XDP_CSUM_H

#include <linux/types.h>

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The checksum *csum after a 32-bit word of what it covers changed from
 * from to to: HC' = ~(~HC + ~m + m'). */
static __always_inline void csum_replace4(__sum16 *csum, __be32 from, __be32 to)
{
	__u32 sum = (__u16) ~*csum;

	sum += (__u16)~from + (__u16) ~(from >> 16);
	sum += (__u16)to + (__u16)(to >> 16);
	*csum = (__sum16)~csum_fold32(sum);
}

static __always_inline void csum_replace2(__sum16 *csum, __be16 from, __be16 to)
{
	__u32 sum = (__u16) ~*csum;

	sum += (__u16)~from + (__u16)to;
	*csum = (__sum16)~csum_fold32(sum);
}

/* An address of four words (IPv6, or IPv4 in the first) changed. */
static __always_inline void csum_replace_addr(__sum16 *csum, const __be32 from[4],
					      const __be32 to[4], int words)
{
	for (int i = 0; i < 4; i++)
		if (i < words)
			csum_replace4(csum, from[i], to[i]);
}

/* The checksum of a 20-byte IPv4 header whose check field is zero. */
static __always_inline __sum16 csum_ipv4_header(const void *hdr)
{
	const __u16 *w = hdr;
	__u32 sum = 0;

	for (int i = 0; i < 10; i++)
		sum += w[i];
	return (__sum16)~csum_fold32(sum);
}

#endif /* STEER_XDP_CSUM_H */
