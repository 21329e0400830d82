/*
 * The capacity of the maps, set when the datapath is loaded: the
 * STEER_MAX_SERVICES, STEER_MAX_REPLICAS_PER_SERVICE and STEER_MAX_REPLICAS
 * the agent was started with, lowered to what pinned maps it adopts hold
 * (datapath_load()). Every check and message of the config, and every array
 * the agent sizes by service or replica id, reads these, never the
 * compile-time ceilings of steer_abi.h.
 */
#ifndef STEER_LIMITS_H
#define STEER_LIMITS_H

#include <stdint.h>

#include "bpf/steer_abi.h"

struct steer_limits {
	uint32_t services;	       /* service ids: 1..STEER_MAX_SERVICES */
	uint32_t replicas_per_service; /* slots of one bank: 1..STEER_MAX_SLOTS */
	uint32_t replicas;	       /* replica ids, all services: 1..STEER_MAX_REPLICAS */
	uint32_t slots; /* entries of steer_slots_v1; 0: steer_limits_slot_entries() */
};

/* The limits in force: the ceilings until steer_limits_set(). */
extern struct steer_limits steer_limits;

void steer_limits_set(const struct steer_limits *l);

/* Entries of steer_slots_v1 (and steer_slot_attrs_v1) for limits l: every
 * replica once in its service's live bank and once more in the bank being
 * written, plus one service's worth, so a rewrite of every service at once
 * fits (see maps/slot_space.h). */
uint32_t steer_limits_slot_entries(const struct steer_limits *l);

#endif
