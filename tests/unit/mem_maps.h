/*
 * An in-memory stand-in for the pinned maps behind the map layer, for unit
 * tests of the modules above it (checker, hold). Every map is a plain array;
 * every write is logged in order so a test can assert what was written when.
 */
#ifndef STEER_TEST_MEM_MAPS_H
#define STEER_TEST_MEM_MAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/addr.h"
#include "maps/map_ops.h"
#include "bpf/steer_abi.h"

enum mem_write_kind {
	MEM_SVC_PUT,
	MEM_SLOT_PUT,
	MEM_REPLICA_PUT,
	MEM_BACKEND_PUT,
	MEM_STATUS_PUT,
	MEM_CHECK_STATS_PUT,
	MEM_HOLD_STATS_PUT,
	MEM_RELAY_STATS_PUT,
	MEM_HOLD_PUT,
	MEM_HOLD_SOCK,
	MEM_OTHER,
};

struct mem_write {
	enum mem_write_kind kind;
	uint32_t id;	     /* replica id, svc id or slot index; 0 for keyed maps */
	uint8_t state;	     /* MEM_REPLICA_PUT: the state written */
	uint64_t ejected_ns; /* MEM_BACKEND_PUT: the value written */
};

#define MEM_LOG_MAX  4096
#define MEM_BACKENDS 64
#define MEM_SOCKS    64

struct mem_maps {
	int nsvc;
	struct steer_svc_key svc_key[STEER_MAX_SERVICES];
	struct steer_svc_value svc_val[STEER_MAX_SERVICES];
	struct steer_slot_range ranges[STEER_MAX_SERVICES * STEER_SLOT_BANKS];
	struct steer_slot slots[STEER_MAX_SLOT_ENTRIES];
	struct steer_replica replicas[STEER_MAX_REPLICAS];
	struct steer_svc_name names[STEER_MAX_SERVICES];
	struct steer_svc_stats svc_stats[STEER_MAX_SERVICES];
	struct steer_replica_stats replica_stats[STEER_MAX_REPLICAS];
	struct steer_replica_active replica_active[STEER_MAX_REPLICAS];
	uint64_t relayed[STEER_MAX_REPLICAS];
	struct steer_slot_attrs slot_attrs[STEER_MAX_SLOT_ENTRIES];
	struct steer_bank banks[STEER_MAX_SERVICES * STEER_SLOT_BANKS];
	struct steer_svc_lb_stats lb_stats[STEER_MAX_SERVICES];
	struct steer_replica_status status[STEER_MAX_REPLICAS];
	/* The stats hashes: all zero = no entry (get answers -ENOENT). */
	struct steer_check_stats check_stats[STEER_MAX_SERVICES];
	struct steer_hold_stats hold_stats[STEER_MAX_SERVICES];
	struct steer_sock_stats sock_stats;
	struct steer_relay_stats relay_stats[STEER_MAX_SERVICES];
	struct steer_hold hold[STEER_HOLD_FAMILIES];
	int hold_sock[STEER_HOLD_FAMILIES]; /* the listener fd + 1; 0 = none */
	/* steer_socks_v1: records by socket cookie (mem_maps_sock_put()). */
	int nsocks;
	uint64_t sock_cookie[MEM_SOCKS];
	struct steer_sock socks[MEM_SOCKS];
	int nbackends;
	struct steer_backend_key backend_key[MEM_BACKENDS];
	struct steer_backend backend[MEM_BACKENDS];
	bool local; /* what is_local() answers */
	/* The XDP maps; without xdp their ops answer -EOPNOTSUPP. */
	bool xdp;
	struct steer_xdp_bank xdp_banks[STEER_MAX_SERVICES * STEER_SLOT_BANKS];
	uint32_t *maglev[STEER_MAX_SERVICES * STEER_SLOT_BANKS]; /* malloc'd copies */
	int maglev_writes;
	struct steer_registry_status registry;

	int nlog;
	struct mem_write log[MEM_LOG_MAX];
};

/* Where mem_maps_add_service() puts the slots of (svc_id, bank): 64 per
 * bank, so tests' small ids fit. */
static inline struct steer_slot_range mem_maps_range(uint32_t svc_id, uint32_t bank)
{
	return (struct steer_slot_range){.base = steer_bank_index(svc_id, bank) * 64, .cap = 64};
}

/* A zeroed instance (calloc: it is large) and the map layer over it. */
struct mem_maps *mem_maps_new(void);
struct map_ops mem_maps_ops(struct mem_maps *m);
void mem_maps_free(struct mem_maps *m);

/* Set up service svc_id at vip/proto with n replicas (ids first_id...) in
 * bank 0, each in state, each TCP one with a backend entry. */
void mem_maps_add_service(struct mem_maps *m, uint32_t svc_id, const struct endpoint *vip,
			  uint8_t proto, const struct endpoint *replicas, uint32_t n,
			  uint32_t first_id, uint8_t state);

/* Give the socket with cookie the record rec (steer_socks_v1), as the
 * connect hook does. */
void mem_maps_sock_put(struct mem_maps *m, uint64_t cookie, const struct steer_sock *rec);

/* The backend entry of a TCP endpoint, or NULL. */
struct steer_backend *mem_maps_backend(struct mem_maps *m, const struct endpoint *ep);

/* Index in the log of the first write of kind (and for MEM_REPLICA_PUT, of
 * state; pass 0xff for any) at or after from; -1 if none. */
int mem_maps_find_write(const struct mem_maps *m, int from, enum mem_write_kind kind,
			uint8_t state);

#endif
