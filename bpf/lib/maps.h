/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* steer's maps. Layouts live in steer_abi.h; every map is pinned by name under
 * the agent's pin directory so the datapath outlives the agent. */
#ifndef STEER_MAPS_H
#define STEER_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bpf/steer_abi.h"

/* VIP:port/proto -> service id, active slot bank and slot count. No prealloc,
 * so a replaced value is freed only after readers are done with it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct steer_svc_key);
	__type(value, struct steer_svc_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_svc_v1 SEC(".maps");

/* (service, bank) -> where the bank's slots are in steer_slots_v1. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_SERVICES *STEER_SLOT_BANKS);
	__type(key, __u32);
	__type(value, struct steer_slot_range);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_slot_ranges_v1 SEC(".maps");

/* Slot -> replica id: each bank's slots are a range of it (above). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_SLOT_ENTRIES);
	__type(key, __u32);
	__type(value, struct steer_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_slots_v1 SEC(".maps");

/* Replica id -> address, port and state. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_REPLICAS);
	__type(key, __u32);
	__type(value, struct steer_replica);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_replicas_v1 SEC(".maps");

/* Service id -> steered/miss/error counters, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct steer_svc_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_svc_stats_v1 SEC(".maps");

/* Replica id -> steered counter, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_MAX_REPLICAS);
	__type(key, __u32);
	__type(value, struct steer_replica_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_replica_stats_v1 SEC(".maps");

/* Socket cookie -> the VIPs the socket is shown instead of its replicas,
 * and the replica it connected to. Created at the steered connect/sendmsg,
 * deleted at cgroup/sock_release, so it holds only open sockets and nothing
 * is evicted while fewer than STEER_MAX_SOCKS are open. An LRU, so past
 * that the least used entry goes rather than a connect failing; one LRU
 * for all CPUs (BPF_F_NO_COMMON_LRU would split the bound between them). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STEER_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct steer_sock);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_socks_v1 SEC(".maps");

/* Replica id -> TCP connections open to it (steered, not yet closed). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_REPLICAS);
	__type(key, __u32);
	__type(value, struct steer_replica_active);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_replica_active_v1 SEC(".maps");

/* Sockets with a steer_socks_v1 entry: tracked, released, destroyed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_sock_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_sock_stats_v1 SEC(".maps");

/* (socket cookie, replica) -> VIP: the reverse NAT of steer versions before
 * steer_socks_v1. Read, never written, so sockets steered before an
 * upgrade keep showing their VIP; the agent sizes it to the pinned map it
 * adopts, or to a minimum on a fresh node. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STEER_MAX_REVNAT);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct steer_revnat_key);
	__type(value, struct steer_revnat_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_revnat_v1 SEC(".maps");

/* Service id -> config name. Agent-only: for status and bpftool readers. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct steer_svc_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_svc_names_v1 SEC(".maps");

/* Replica endpoint -> ejection state and failed-connect counters. The agent
 * creates entries; the datapath only updates existing ones. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_REPLICAS);
	__type(key, struct steer_backend_key);
	__type(value, struct steer_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_backends_v1 SEC(".maps");

/* Ejections, for the agent: struct steer_event records. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, STEER_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_events_v1 SEC(".maps");

/* Replica id -> the health checker's view, for status. Agent-only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_REPLICAS);
	__type(key, __u32);
	__type(value, struct steer_replica_status);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_replica_status_v1 SEC(".maps");

/* steer_hold_index(family) -> where the agent's hold listener is, and its
 * counters, for operators and status; the datapath never reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_HOLD_FAMILIES);
	__type(key, __u32);
	__type(value, struct steer_hold);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_hold_v2 SEC(".maps");

/* steer_hold_index(family) -> the agent's hold listener itself, one for all
 * TCP services of the family. A socket leaves a SOCKMAP when it closes, so
 * a miss can only ever reach a listener the agent holds open now, never a
 * port somebody else bound after the agent died. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, STEER_HOLD_FAMILIES);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_hold_socks_v2 SEC(".maps");

/*
 * The per-service counters the agent writes: hashes without preallocation,
 * so kernel memory is paid only for services that have a non-zero counter
 * (most never hold a connection). The agent creates an entry at a service's
 * first count and deletes it when the service id is freed; no entry reads
 * as all zero. An array of STEER_MAX_SERVICES would pay for every id.
 */

/* Service id -> the miss path's counters and histograms. Written by the
 * agent only; the connect hook reads held_now (max_queued). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct steer_hold_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_hold_stats_v2 SEC(".maps");

/* Service id -> the relays of served held connections: counters. Agent-only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct steer_relay_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_relay_stats_v2 SEC(".maps");

/* Service id -> active-check and ejection counters. Agent-only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct steer_check_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_check_stats_v2 SEC(".maps");

/* Slot -> the slot's weight and max_conns; indexed like steer_slots_v1
 * and written with it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_SLOT_ENTRIES);
	__type(key, __u32);
	__type(value, struct steer_slot_attrs);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_slot_attrs_v1 SEC(".maps");

/* (service, bank) -> locality tiers, their weights, and max_queued. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_SERVICES *STEER_SLOT_BANKS);
	__type(key, __u32);
	__type(value, struct steer_bank);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_svc_banks_v1 SEC(".maps");

/* Replica id -> the agent's relays open to it (max_conns counts them). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_REPLICAS);
	__type(key, __u32);
	__type(value, struct steer_replica_relayed);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_replica_relayed_v1 SEC(".maps");

/* Service id -> connects by the pass that served them, refused misses; per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct steer_svc_lb_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_svc_lb_stats_v1 SEC(".maps");

/* The agent's registry state, for status and metrics. Agent-only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_registry_status);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} steer_registry_v1 SEC(".maps");

#endif /* STEER_MAPS_H */
