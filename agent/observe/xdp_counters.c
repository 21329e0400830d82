#include "observe/xdp_counters.h"

#define COUNTER(f)                                                                                 \
	{                                                                                          \
#f, offsetof(struct steer_xdp_stats, f)                                            \
	}

const struct xdp_counter xdp_counters[] = {
    COUNTER(passed),	COUNTER(flow_hits),   COUNTER(flow_new),    COUNTER(encap),
    COUNTER(nat_local), COUNTER(miss_passed), COUNTER(frag_passed), COUNTER(malformed),
    COUNTER(too_big),	COUNTER(fib_failed),  COUNTER(errors),	    COUNTER(rnat),
};

const size_t xdp_ncounters = sizeof(xdp_counters) / sizeof(xdp_counters[0]);

_Static_assert(sizeof(xdp_counters) / sizeof(xdp_counters[0]) ==
		   sizeof(struct steer_xdp_stats) / sizeof(uint64_t),
	       "every counter of struct steer_xdp_stats has a name");
