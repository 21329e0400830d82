/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The maps of the XDP path, beside the shared ones of bpf/lib/maps.h
 * (services, banks, replicas, backends, counters), all pinned by name so
 * the socket hooks, the XDP program and the agent see the same ones. */
#ifndef STEER_XDP_MAPS_H
#define STEER_XDP_MAPS_H

#include "bpf/lib/maps.h"

/* One bank's Maglev table: replica ids (| STEER_MAGLEV_F_LOCAL). The agent
 * creates them at the size STEER_MAGLEV_SIZE says, which may differ from
 * this template's (BPF_F_INNER_MAP), and write them through mmap(). */
struct steer_maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAGLEV_SIZE);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
};

/* (service, bank) -> that bank's Maglev table (steer_bank_index()). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, STEER_MAX_SERVICES *STEER_SLOT_BANKS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct steer_maglev_table);
} steer_maglev_v1 SEC(".maps");

/* (service, bank) -> the size of that bank's Maglev table. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_SERVICES *STEER_SLOT_BANKS);
	__type(key, __u32);
	__type(value, struct steer_xdp_bank);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_xdp_banks_v1 SEC(".maps");

/* 5-tuple -> the replica the flow was given. Per CPU: a NIC queue (RSS)
 * keeps a flow on one CPU, so no lock and no cache line is shared; the
 * Maglev table gives a flow that lands on another CPU the same replica
 * while the set is unchanged. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, STEER_XDP_FLOWS);
	__type(key, struct steer_flow_key);
	__type(value, struct steer_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_xdp_flows_v1 SEC(".maps");

/* (local replica, client) -> VIP: how the tc program rewrites a local
 * replica's replies. Shared by all CPUs: the reply leaves on whichever CPU
 * the replica's socket runs. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STEER_XDP_RNAT);
	__type(key, struct steer_rnat_key);
	__type(value, struct steer_rnat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_xdp_rnat_v1 SEC(".maps");

/* What the XDP and tc programs did, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_xdp_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_xdp_stats_v1 SEC(".maps");

static __always_inline struct steer_xdp_stats *xdp_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&steer_xdp_stats_v1, &zero);
}

#define XDP_COUNT(field)                                                                           \
	do {                                                                                       \
		struct steer_xdp_stats *st__ = xdp_stats();                                        \
		if (st__)                                                                          \
			st__->field++;                                                             \
	} while (0)

#endif /* STEER_XDP_MAPS_H */
