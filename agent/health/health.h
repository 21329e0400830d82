/* A replica's health state machine with rise/fall hysteresis (pure: no I/O,
 * no clock; the caller passes the time). */
#ifndef STEER_HEALTH_H
#define STEER_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/steer_abi.h"

struct health_params {
	uint32_t rise; /* consecutive good checks to become UP (>= 1) */
	uint32_t fall; /* consecutive failed checks to become DOWN (>= 1) */
};

struct health {
	uint8_t state;		   /* STEER_REPLICA_UNKNOWN, _UP or _DOWN */
	bool draining;		   /* operator drain: out of selection, still checked */
	uint32_t consecutive_ok;   /* good checks in a row */
	uint32_t consecutive_fail; /* failed checks in a row */
	uint64_t since_ns;	   /* when state last changed (caller's clock) */
};

enum health_change {
	HEALTH_SAME = 0,
	HEALTH_NOW_UP,	 /* became UP: rewrite the map, log once */
	HEALTH_NOW_DOWN, /* became DOWN: rewrite the map, log once */
};

/* Start in state (UNKNOWN for a new replica; what the map holds when a
 * restarted agent adopts one). DRAINING in the map means draining + UP. */
void health_init(struct health *h, uint8_t map_state, uint64_t now_ns);

/* Record one check result. */
enum health_change health_record(struct health *h, const struct health_params *p, bool ok,
				 uint64_t now_ns);

/* The datapath ejected the replica: DOWN at once; `rise` good checks bring
 * it back. */
enum health_change health_eject(struct health *h, uint64_t now_ns);

/* Drain or undrain. Returns true if the map state changes. */
bool health_set_draining(struct health *h, bool draining);

/* What the datapath should see: UP only when up and not draining; DRAINING
 * while drained; else the state. */
uint8_t health_map_state(const struct health *h);

/* "up", "down", "unknown", "draining", "unused". */
const char *health_state_name(uint8_t map_state);

/* Offset of a replica's first periodic check within one interval, spread
 * uniformly by rnd (a uniform 32-bit random number), so many replicas do not
 * probe in lockstep. Returns a value in [0, interval_ns). */
uint64_t health_first_offset(uint64_t interval_ns, uint32_t rnd);

/* Delay from a new replica's first check (which replicas added together all
 * have at once) to its second: in [interval_ns / 2, interval_ns / 2 +
 * interval_ns), spread uniformly by rnd, so the checks that follow fall at
 * phases spread over one interval while the mean delay stays one interval.
 * Saturates at UINT64_MAX. */
uint64_t health_second_delay(uint64_t interval_ns, uint32_t rnd);

#endif
