/*
 * Reading a service the way the datapath does, through the map layer: its
 * active slot bank (the one walk status, metrics and the checker share), and
 * the pick of one routable replica that the miss path makes for a held
 * connection (the rule of steer_pick_slot() and steer_replica_may_take() in
 * bpf/steer_abi.h, which the connect hook follows too).
 */
#ifndef STEER_SVC_WALK_H
#define STEER_SVC_WALK_H

#include <stdint.h>

#include "lib/addr.h"
#include "maps/map_ops.h"
#include "bpf/steer_abi.h"

struct svc_member {
	uint32_t id;		/* replica id in steer_replicas_v1 */
	struct steer_replica r; /* its value as read */
};

/* A service's active bank at one moment. */
struct svc_members {
	struct steer_svc_value val; /* the service value the bank was read from */
	uint32_t n;		    /* members read, <= val.count */
	uint32_t unreadable;	    /* slots whose slot or replica could not be read */
	struct svc_member m[STEER_MAX_SLOTS];
};

/* Where the slots of v's bank start in steer_slots_v1: 0, -EUCLEAN if the
 * bank's range is smaller than its count, or the lookup's error. */
int svc_bank_base(const struct map_ops *ops, const struct steer_svc_value *v, uint32_t *base);

/* Read the members of the service with key. Returns 0 (even if some slots
 * were unreadable: see out->unreadable), -ENOENT for no such service, or
 * -EUCLEAN when the service value is out of range. */
int svc_read_members(const struct map_ops *ops, const struct steer_svc_key *key,
		     struct svc_members *out);

/* The replica a new connection of service key would get, hint standing in
 * for the datapath's random number. Returns 0 with *ep and *replica_id set,
 * -EHOSTUNREACH when no member is routable (a miss), or another negative
 * errno when the maps cannot be read. */
int svc_pick_routable(const struct map_ops *ops, const struct steer_svc_key *key, uint32_t hint,
		      struct endpoint *ep, uint32_t *replica_id);

#endif
