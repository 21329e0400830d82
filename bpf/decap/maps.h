/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The maps of the replica's decap program, pinned by name in the replica's
 * own pin directory (`steer replica-setup --pin-dir`). The node datapath's
 * maps (bpf/lib/maps.h) have no place on a replica host. */
#ifndef STEER_DECAP_MAPS_H
#define STEER_DECAP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bpf/steer_abi.h"

/* VIP -> 1: the inner destinations whose tunnelled packets are unwrapped.
 * The value is a placeholder; what counts is the key being there. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_DECAP_VIPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct steer_decap_vip);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_decap_vips_v1 SEC(".maps");

/* What the program did, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_decap_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_decap_stats_v1 SEC(".maps");

#define DECAP_COUNT(field)                                                                         \
	do {                                                                                       \
		__u32 zero__ = 0;                                                                  \
		struct steer_decap_stats *st__ =                                                   \
		    bpf_map_lookup_elem(&steer_decap_stats_v1, &zero__);                           \
		if (st__)                                                                          \
			st__->field++;                                                             \
	} while (0)

#endif /* STEER_DECAP_MAPS_H */
