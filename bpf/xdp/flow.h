/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which replica a packet's flow goes to: the flow table first, else the
 * Maglev table of the service's active bank.
 *
 * Contract: flow_replica() returns 0 with *out filled, -EHOSTUNREACH when
 * the service has no routable replica (a miss), or another negative errno
 * when a map is inconsistent (the packet is dropped and counted).
 *
 * A flow keeps its replica while the replica is UP or DRAINING, still has
 * the endpoint the flow recorded (ids are reused) and its backend is not
 * ejected. Otherwise, and for every TCP SYN (a new connection, maybe on a
 * reused port), the flow is hashed again.
 */
#ifndef STEER_XDP_FLOW_H
#define STEER_XDP_FLOW_H

#include <stdbool.h>
#include <linux/errno.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "bpf/steer_abi.h"
#include "bpf/xdp/maps.h"
#include "bpf/xdp/parse.h"

/* Draws in the Maglev table before a miss, when the agent has not yet
 * rebuilt it around a replica the datapath ejected. */
#define MAGLEV_DRAWS 4

/* CPUs a flow-table miss looks on (below). */
#ifndef STEER_XDP_MAX_CPUS
#define STEER_XDP_MAX_CPUS 256
#endif

/* Possible CPUs, set by the loader (libbpf_num_possible_cpus()). */
const volatile __u32 nr_cpus = 1;

static __always_inline const struct steer_svc_value *xdp_svc_lookup(const struct pkt *p)
{
	struct steer_svc_key key = {};

	__builtin_memcpy(key.addr, p->flow.daddr, sizeof(key.addr));
	key.port = p->flow.dport;
	key.family = p->flow.family;
	key.proto = p->flow.proto;
	return bpf_map_lookup_elem(&steer_svc_v1, &key);
}

static __always_inline bool same_addr(const __be32 a[4], const __be32 b[4])
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* Not ejected by passive ejection (TCP endpoints only have an entry). */
static __always_inline bool backend_is_up(const struct steer_replica *r, __u8 proto)
{
	struct steer_backend_key key = {};
	const struct steer_backend *b;

	if (proto != IPPROTO_TCP)
		return true;
	__builtin_memcpy(key.addr, r->addr, sizeof(key.addr));
	key.port = r->port;
	key.family = r->family;
	key.proto = IPPROTO_TCP;
	b = bpf_map_lookup_elem(&steer_backends_v1, &key);
	return !b || !b->ejected_ns;
}

static __always_inline bool flow_still_valid(const struct steer_flow *f, __u8 proto, __u32 svc_id)
{
	__u32 id = f->replica_id;
	const struct steer_replica *r = bpf_map_lookup_elem(&steer_replicas_v1, &id);

	/* The id may name the same endpoint in another service now. */
	if (!r || r->svc_id != svc_id || r->family != f->family || r->port != f->port ||
	    !same_addr(r->addr, f->addr))
		return false;
	if (r->state != STEER_REPLICA_UP && r->state != STEER_REPLICA_DRAINING)
		return false;
	return backend_is_up(r, proto);
}

/* A new flow's replica from the Maglev table of the active bank. */
static __always_inline int maglev_pick(const struct pkt *p, const struct steer_svc_value *svc,
				       struct steer_flow *out)
{
	__u32 bank = steer_bank_index(svc->svc_id, svc->bank);
	const struct steer_xdp_bank *xb = bpf_map_lookup_elem(&steer_xdp_banks_v1, &bank);
	__u32 hash = steer_flow_hash(&p->flow);
	void *table;

	if (!xb)
		return -ENOENT;
	if (!xb->maglev_size || !svc->count)
		return -EHOSTUNREACH;
	table = bpf_map_lookup_elem(&steer_maglev_v1, &bank);
	if (!table)
		return -ENOENT;
	for (int i = 0; i < MAGLEV_DRAWS; i++) {
		__u32 idx = (i ? steer_pick_mix(hash + i * 0x9e3779b9u) : hash) % xb->maglev_size;
		const __u32 *entry = bpf_map_lookup_elem(table, &idx);
		const struct steer_replica *r;
		__u32 id;

		if (!entry)
			return -ENOENT;
		id = *entry & STEER_MAGLEV_ID_MASK;
		r = bpf_map_lookup_elem(&steer_replicas_v1, &id);
		if (!r)
			return -ENOENT;
		/* A table two generations old may name an id now given to
		 * another service's replica: never send a flow there. */
		if (r->svc_id != svc->svc_id || !steer_replica_may_take(r, p->flow.family) ||
		    !backend_is_up(r, p->flow.proto))
			continue;
		__builtin_memcpy(out->addr, r->addr, sizeof(out->addr));
		out->port = r->port;
		out->family = r->family;
		out->replica_id = id;
		out->local = !!(*entry & STEER_MAGLEV_F_LOCAL);
		return 0;
	}
	return -EHOSTUNREACH;
}

static __always_inline void count_steered(__u32 svc_id, __u32 replica_id)
{
	struct steer_svc_stats *ss = bpf_map_lookup_elem(&steer_svc_stats_v1, &svc_id);
	struct steer_replica_stats *rs = bpf_map_lookup_elem(&steer_replica_stats_v1, &replica_id);

	if (ss)
		ss->steered++;
	if (rs)
		rs->steered++;
}

/*
 * The flow's entry on this CPU. A flow whose packets move between CPUs (a
 * NIC without RSS, veth, a sender that migrates) has the key but no value
 * here yet: the first CPU that has one lends it, so the flow keeps its
 * replica even after the Maglev table changed. With RSS this never loops.
 */
static __always_inline struct steer_flow *flow_lookup(const struct steer_flow_key *key)
{
	struct steer_flow *f = bpf_map_lookup_elem(&steer_xdp_flows_v1, key);

	if (!f || f->family)
		return f;
	for (__u32 cpu = 0; cpu < STEER_XDP_MAX_CPUS && cpu < nr_cpus; cpu++) {
		const struct steer_flow *o =
		    bpf_map_lookup_percpu_elem(&steer_xdp_flows_v1, key, cpu);

		if (o && o->family) {
			*f = *o;
			break;
		}
	}
	return f;
}

static __always_inline int flow_replica(const struct pkt *p, const struct steer_svc_value *svc,
					struct steer_flow *out)
{
	struct steer_flow *f = NULL;
	__u64 now = bpf_ktime_get_ns();
	int err;

	if (!p->syn_only)
		f = flow_lookup(&p->flow);
	if (f && flow_still_valid(f, p->flow.proto, svc->svc_id)) {
		f->seen_ns = now;
		*out = *f;
		XDP_COUNT(flow_hits);
		return 0;
	}
	err = maglev_pick(p, svc, out);
	if (err)
		return err;
	out->seen_ns = now;
	/* An LRU makes room; if it still fails, the flow is forwarded anyway:
	 * its next packet hashes to the same replica while the set is the same. */
	if (bpf_map_update_elem(&steer_xdp_flows_v1, &p->flow, out, BPF_ANY))
		XDP_COUNT(errors);
	count_steered(svc->svc_id, out->replica_id);
	XDP_COUNT(flow_new);
	return 0;
}

#endif /* STEER_XDP_FLOW_H */
