/*
 * The map layer: every read and write of a pinned map the agent makes goes
 * through struct map_ops, so each module above it (reconcile, checker, hold,
 * status, metrics) can be tested against an in-memory fake. The real
 * implementation over map fds is maps/map_fds.c; only it, the loader
 * (maps/datapath.c) and the upgrade of older maps' contents
 * (maps/stats_upgrade.c) call bpf_map_*.
 *
 * Every op returns 0 or a negative errno (-ENOENT: no such entry).
 */
#ifndef STEER_MAP_OPS_H
#define STEER_MAP_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/addr.h"
#include "bpf/steer_abi.h"

struct map_ops {
	void *ctx;

	/* steer_svc_v1. svc_next: the first key when prev is NULL; -ENOENT
	 * after the last. */
	int (*svc_next)(void *ctx, const struct steer_svc_key *prev, struct steer_svc_key *next);
	int (*svc_get)(void *ctx, const struct steer_svc_key *key, struct steer_svc_value *val);
	int (*svc_put)(void *ctx, const struct steer_svc_key *key,
		       const struct steer_svc_value *val);
	int (*svc_del)(void *ctx, const struct steer_svc_key *key);

	/* steer_slot_ranges_v1 (steer_bank_index()): where a bank's slots
	 * are in steer_slots_v1. get in a pin dir older than the map: the
	 * fixed layout of then (maps/slot_space.h). */
	int (*range_get)(void *ctx, uint32_t idx, struct steer_slot_range *r);
	int (*range_put)(void *ctx, uint32_t idx, const struct steer_slot_range *r);

	/* steer_slots_v1 and steer_replicas_v1 */
	int (*slot_get)(void *ctx, uint32_t idx, struct steer_slot *slot);
	int (*slot_put)(void *ctx, uint32_t idx, const struct steer_slot *slot);
	int (*replica_get)(void *ctx, uint32_t id, struct steer_replica *r);
	int (*replica_put)(void *ctx, uint32_t id, const struct steer_replica *r);

	/* steer_svc_names_v1 */
	int (*name_get)(void *ctx, uint32_t svc_id, struct steer_svc_name *name);
	int (*name_put)(void *ctx, uint32_t svc_id, const struct steer_svc_name *name);

	/* Per-CPU counters: summed over every possible CPU, or zeroed on every
	 * CPU for a service id / replica id being reused. */
	int (*svc_stats_sum)(void *ctx, uint32_t svc_id, struct steer_svc_stats *sum);
	int (*replica_stats_sum)(void *ctx, uint32_t replica_id, struct steer_replica_stats *sum);
	int (*svc_stats_reset)(void *ctx, uint32_t svc_id);
	/* Zeroes the replica's counters, steer_replica_active_v1 and
	 * steer_replica_relayed_v1 included: the id now names another replica.
	 * svc_stats_reset also zeroes steer_svc_lb_stats_v1 and deletes the
	 * service's check, hold and relay stats entries. */
	int (*replica_stats_reset)(void *ctx, uint32_t replica_id);
	/* steer_replica_active_v1: TCP connections open to the replica now
	 * (never below 0). */
	int (*replica_active_get)(void *ctx, uint32_t replica_id, uint64_t *active);

	/* steer_slot_attrs_v1 (indexed like slots) and steer_svc_banks_v1
	 * (steer_bank_index()): weights, max_conns, tiers, max_queued. */
	int (*slot_attrs_get)(void *ctx, uint32_t idx, struct steer_slot_attrs *a);
	int (*slot_attrs_put)(void *ctx, uint32_t idx, const struct steer_slot_attrs *a);
	int (*bank_get)(void *ctx, uint32_t idx, struct steer_bank *b);
	int (*bank_put)(void *ctx, uint32_t idx, const struct steer_bank *b);
	/* steer_replica_relayed_v1: the agent's relays open to a replica. */
	int (*relayed_get)(void *ctx, uint32_t replica_id, uint64_t *relayed);
	int (*relayed_put)(void *ctx, uint32_t replica_id, uint64_t relayed);
	/* steer_svc_lb_stats_v1 summed over CPUs (zero if the map is absent). */
	int (*lb_stats_sum)(void *ctx, uint32_t svc_id, struct steer_svc_lb_stats *sum);

	/* The XDP path's Maglev table of a bank (steer_bank_index()): its
	 * steer_xdp_banks_v1 entry, and the table in steer_maglev_v1, written
	 * with the entry (table NULL and maglev_size 0: no table). Both answer
	 * -EOPNOTSUPP when the XDP maps are absent (no STEER_XDP_IFACES). */
	int (*xdp_bank_get)(void *ctx, uint32_t idx, struct steer_xdp_bank *b);
	int (*maglev_put)(void *ctx, uint32_t idx, const uint32_t *table,
			  const struct steer_xdp_bank *b);
	/* steer_xdp_stats_v1 summed over CPUs (-EOPNOTSUPP without it). */
	int (*xdp_stats_sum)(void *ctx, struct steer_xdp_stats *sum);

	/* steer_registry_v1: the registry watch's state (get: zero and
	 * -ENOENT where the map is absent). */
	int (*registry_get)(void *ctx, struct steer_registry_status *st);
	int (*registry_put)(void *ctx, const struct steer_registry_status *st);

	/* Return once no running datapath program can still see old values. */
	int (*wait_for_readers)(void *ctx);

	/* steer_backends_v1: passive-ejection entries, one per TCP replica
	 * endpoint. */
	int (*backend_next)(void *ctx, const struct steer_backend_key *prev,
			    struct steer_backend_key *next);
	int (*backend_get)(void *ctx, const struct steer_backend_key *key, struct steer_backend *b);
	int (*backend_put)(void *ctx, const struct steer_backend_key *key,
			   const struct steer_backend *b);
	int (*backend_del)(void *ctx, const struct steer_backend_key *key);

	/* Agent-only records the datapath never reads: the checker's view of a
	 * replica, check, hold and relay counters per service, and where the miss
	 * path's listener is (read by the datapath, written here only).
	 * The check, hold and relay stats (steer_*_stats_v2) are hashes that
	 * hold only services with a non-zero counter: get of a service without
	 * one answers -ENOENT and fills *s with zeros; put of an all-zero value
	 * deletes the service's entry (0 if there was none). */
	int (*status_get)(void *ctx, uint32_t replica_id, struct steer_replica_status *st);
	int (*status_put)(void *ctx, uint32_t replica_id, const struct steer_replica_status *st);
	int (*check_stats_get)(void *ctx, uint32_t svc_id, struct steer_check_stats *s);
	int (*check_stats_put)(void *ctx, uint32_t svc_id, const struct steer_check_stats *s);
	int (*hold_stats_get)(void *ctx, uint32_t svc_id, struct steer_hold_stats *s);
	int (*hold_stats_put)(void *ctx, uint32_t svc_id, const struct steer_hold_stats *s);
	int (*relay_stats_get)(void *ctx, uint32_t svc_id, struct steer_relay_stats *s);
	int (*relay_stats_put)(void *ctx, uint32_t svc_id, const struct steer_relay_stats *s);
	/* steer_hold_v2, indexed by steer_hold_index(): the hold listener of a
	 * family, where it is and what reached it (get: -ENOENT where the map
	 * is absent). */
	int (*hold_get)(void *ctx, uint32_t idx, struct steer_hold *h);
	int (*hold_put)(void *ctx, uint32_t idx, const struct steer_hold *h);
	/* steer_hold_socks_v2: the hold listener socket itself (a SOCKMAP; the
	 * kernel drops the entry when the socket closes). */
	int (*hold_sock_put)(void *ctx, uint32_t idx, int listen_fd);
	int (*hold_sock_del)(void *ctx, uint32_t idx);
	/* steer_socks_v1: the datapath's record of the socket with this cookie
	 * (what it was steered to and the VIP it is shown); -ENOENT if none. */
	int (*sock_get)(void *ctx, uint64_t cookie, struct steer_sock *rec);

	/* steer_sock_stats_v1 summed over CPUs: the sockets the datapath keeps
	 * a record for (steer_socks_v1). */
	int (*sock_stats_sum)(void *ctx, struct steer_sock_stats *sum);

	/* Is ep's address on this host (for wildcard-listener ejection)? */
	bool (*is_local)(void *ctx, const struct endpoint *ep);
};

/* The table of an implementation whose static functions are named after the
 * ops (svc_next, svc_get, ...), so none is forgotten: `MAP_OPS_NAMED(ctx)`. */
#define MAP_OPS_NAMED(context)                                                                     \
	(struct map_ops)                                                                           \
	{                                                                                          \
		.ctx = (context), .svc_next = svc_next, .svc_get = svc_get, .svc_put = svc_put,    \
		.svc_del = svc_del, .range_get = range_get, .range_put = range_put,                \
		.slot_get = slot_get, .slot_put = slot_put, .replica_get = replica_get,            \
		.replica_put = replica_put, .name_get = name_get, .name_put = name_put,            \
		.svc_stats_sum = svc_stats_sum, .replica_stats_sum = replica_stats_sum,            \
		.svc_stats_reset = svc_stats_reset, .replica_stats_reset = replica_stats_reset,    \
		.replica_active_get = replica_active_get, .slot_attrs_get = slot_attrs_get,        \
		.slot_attrs_put = slot_attrs_put, .bank_get = bank_get, .bank_put = bank_put,      \
		.relayed_get = relayed_get, .relayed_put = relayed_put,                            \
		.lb_stats_sum = lb_stats_sum, .xdp_bank_get = xdp_bank_get,                        \
		.maglev_put = maglev_put, .xdp_stats_sum = xdp_stats_sum,                          \
		.registry_get = registry_get, .registry_put = registry_put,                        \
		.wait_for_readers = wait_for_readers, .backend_next = backend_next,                \
		.backend_get = backend_get, .backend_put = backend_put,                            \
		.backend_del = backend_del, .status_get = status_get, .status_put = status_put,    \
		.check_stats_get = check_stats_get, .check_stats_put = check_stats_put,            \
		.hold_stats_get = hold_stats_get, .hold_stats_put = hold_stats_put,                \
		.relay_stats_get = relay_stats_get, .relay_stats_put = relay_stats_put,            \
		.hold_get = hold_get, .hold_put = hold_put, .hold_sock_put = hold_sock_put,        \
		.hold_sock_del = hold_sock_del, .sock_get = sock_get,                              \
		.sock_stats_sum = sock_stats_sum, .is_local = is_local,                            \
	}

#endif
