/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between steer's BPF datapath and its agent: every map key and
 * value, every enum and limit both sides use. Includes nothing but
 * linux/types.h so it compiles next to the BPF headers and in userspace.
 *
 * Byte order: addresses and ports are network order (as the kernel hands them
 * to sock_addr programs); everything else is host order.
 *
 * A layout change here must bump the map's name suffix (_v1 -> _v2) so an old
 * pinned map is never read with the new layout.
 */
#ifndef STEER_ABI_H
#define STEER_ABI_H

#include <linux/types.h>

/* Limits. Each can be overridden at build time so tests can build small maps. */
#ifndef STEER_MAX_SERVICES
#define STEER_MAX_SERVICES 256
#endif
#ifndef STEER_MAX_SLOTS
#define STEER_MAX_SLOTS 64 /* replicas per service */
#endif
#ifndef STEER_MAX_REPLICAS
#define STEER_MAX_REPLICAS 4096 /* replicas across all services */
#endif
#ifndef STEER_MAX_REVNAT
#define STEER_MAX_REVNAT 65536 /* sockets whose peer is shown as a VIP */
#endif

/* Two slot banks per service: the agent fills the idle one, then flips. */
#define STEER_SLOT_BANKS 2

/* Address families as stored in maps (values of AF_INET / AF_INET6). */
enum steer_family {
	STEER_FAMILY_NONE = 0,
	STEER_FAMILY_V4 = 2,
	STEER_FAMILY_V6 = 10,
};

/* Replica states kept by the agent (health checks build on these). */
enum steer_replica_state {
	STEER_REPLICA_UNUSED = 0, /* id free; never routed to */
	STEER_REPLICA_ACTIVE = 1, /* receives new connections */
};

/* Pinned map names (stable: bpftool users and restarts rely on them). */
#define STEER_MAP_SERVICES	"steer_svc_v1"
#define STEER_MAP_SLOTS		"steer_slots_v1"
#define STEER_MAP_REPLICAS	"steer_replicas_v1"
#define STEER_MAP_SVC_STATS	"steer_svc_stats_v1"
#define STEER_MAP_REPLICA_STATS "steer_replica_stats_v1"
#define STEER_MAP_REVNAT	"steer_revnat_v1"
#define STEER_MAP_SVC_NAMES	"steer_svc_names_v1"

/* Longest service name, including the NUL. */
#define STEER_SVC_NAME_LEN 64

/* Key of steer_svc_v1: one service, i.e. one VIP:port and protocol. */
struct steer_svc_key {
	__be32 addr[4]; /* VIP, network order; IPv4 uses addr[0], rest zero */
	__be16 port;	/* VIP port, network order */
	__u8 family;	/* enum steer_family */
	__u8 proto;	/* IPPROTO_TCP or IPPROTO_UDP */
};

/* Value of steer_svc_v1. Replaced whole by the agent, so a reader sees either
 * the old (bank, count) pair or the new one, never a mix. */
struct steer_svc_value {
	__u32 svc_id; /* index into per-service arrays, < STEER_MAX_SERVICES */
	__u16 count;  /* live slots in the active bank, <= STEER_MAX_SLOTS */
	__u8 bank;    /* active slot bank, 0 or 1 */
	__u8 flags;   /* reserved, zero */
};

/* Value of steer_slots_v1 (an array indexed by steer_slot_index()). */
struct steer_slot {
	__u32 replica_id; /* index into steer_replicas_v1 */
};

/* Value of steer_replicas_v1 (an array indexed by replica id). */
struct steer_replica {
	__be32 addr[4]; /* replica address, network order; IPv4 uses addr[0] */
	__be16 port;	/* replica port, network order */
	__u8 family;	/* enum steer_family */
	__u8 state;	/* enum steer_replica_state */
	__u32 svc_id;	/* owning service */
};

/* Value of steer_svc_stats_v1 (per-CPU array indexed by svc_id). */
struct steer_svc_stats {
	__u64 steered; /* connects and datagrams rewritten to a replica */
	__u64 misses;  /* connects or datagrams that found no routable replica */
	__u64 errors;  /* refused because a map lookup failed (fail closed) */
};

/* Value of steer_replica_stats_v1 (per-CPU array indexed by replica id). */
struct steer_replica_stats {
	__u64 steered; /* connects and datagrams sent to this replica */
};

/* Key of steer_revnat_v1: a socket and the replica it was steered to. */
struct steer_revnat_key {
	__u64 cookie;	/* socket cookie */
	__be32 addr[4]; /* replica address, network order */
	__be16 port;	/* replica port, network order */
	__u8 family;	/* enum steer_family */
	__u8 pad[5];	/* zero */
};

/* Value of steer_revnat_v1: what getpeername()/recvfrom() show instead. */
struct steer_revnat_value {
	__be32 addr[4]; /* VIP, network order */
	__be16 port;	/* VIP port, network order */
	__u8 family;	/* enum steer_family */
	__u8 pad[1];	/* zero */
};

/* Value of steer_svc_names_v1 (array indexed by svc_id): the config's name
 * for the service, so `steer status` and bpftool need no config file. Written
 * by the agent only; the datapath never reads it. */
struct steer_svc_name {
	char name[STEER_SVC_NAME_LEN]; /* NUL-terminated */
};

/* Index of a slot in steer_slots_v1. */
static inline __u32 steer_slot_index(__u32 svc_id, __u32 bank, __u32 slot)
{
	return (svc_id * STEER_SLOT_BANKS + bank) * STEER_MAX_SLOTS + slot;
}

#define STEER_MAX_SLOT_ENTRIES (STEER_MAX_SERVICES * STEER_SLOT_BANKS * STEER_MAX_SLOTS)

_Static_assert(sizeof(struct steer_svc_key) == 20, "steer_svc_key layout changed");
_Static_assert(sizeof(struct steer_svc_value) == 8, "steer_svc_value layout changed");
_Static_assert(sizeof(struct steer_slot) == 4, "steer_slot layout changed");
_Static_assert(sizeof(struct steer_replica) == 24, "steer_replica layout changed");
_Static_assert(sizeof(struct steer_svc_stats) == 24, "steer_svc_stats layout changed");
_Static_assert(sizeof(struct steer_replica_stats) == 8, "steer_replica_stats layout changed");
_Static_assert(sizeof(struct steer_revnat_key) == 32, "steer_revnat_key layout changed");
_Static_assert(sizeof(struct steer_revnat_value) == 20, "steer_revnat_value layout changed");
_Static_assert(sizeof(struct steer_svc_name) == 64, "steer_svc_name layout changed");

#endif /* STEER_ABI_H */
