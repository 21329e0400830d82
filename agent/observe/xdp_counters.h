/* The XDP path's packet counters (struct steer_xdp_stats) by name, in
 * their order, for status and metrics. */
#ifndef STEER_XDP_COUNTERS_H
#define STEER_XDP_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/steer_abi.h"

struct xdp_counter {
	const char *name; /* the field's name: status key, metrics label value */
	size_t off;	  /* its offset in struct steer_xdp_stats */
};

extern const struct xdp_counter xdp_counters[];
extern const size_t xdp_ncounters;

static inline uint64_t xdp_counter_value(const struct steer_xdp_stats *st, size_t i)
{
	return *(const uint64_t *)((const char *)st + xdp_counters[i].off);
}

#endif
