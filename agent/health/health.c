/* A replica's health state machine: rise/fall hysteresis, ejection by the
 * datapath, and an operator drain that is orthogonal to the state. Pure: the
 * caller passes the time and does the logging and map writes that a returned
 * transition asks for. */
#include <string.h>

#include "health/health.h"

void health_init(struct health *h, uint8_t map_state, uint64_t now_ns)
{
	memset(h, 0, sizeof(*h));
	h->since_ns = now_ns;
	switch (map_state) {
	case STEER_REPLICA_DRAINING:
		/* A drained replica was UP (or it would not matter): adopt it as
		 * such, so undraining puts it back into selection. */
		h->draining = true;
		h->state = STEER_REPLICA_UP;
		break;
	case STEER_REPLICA_UP:
	case STEER_REPLICA_DOWN:
		h->state = map_state;
		break;
	default:
		/* UNKNOWN, UNUSED (a new replica) or a value this agent does not
		 * know: nothing is known about its health yet. */
		h->state = STEER_REPLICA_UNKNOWN;
		break;
	}
}

/* Add one to a counter without wrapping to 0 (a replica checked every 10 ms
 * would wrap a uint32_t in about 16 months). */
static uint32_t inc_sat(uint32_t n)
{
	return n == UINT32_MAX ? n : n + 1;
}

enum health_change health_record(struct health *h, const struct health_params *p, bool ok,
				 uint64_t now_ns)
{
	if (ok) {
		h->consecutive_fail = 0;
		h->consecutive_ok = inc_sat(h->consecutive_ok);
		if (h->state != STEER_REPLICA_UP && h->consecutive_ok >= p->rise) {
			h->state = STEER_REPLICA_UP;
			h->since_ns = now_ns;
			return HEALTH_NOW_UP;
		}
	} else {
		h->consecutive_ok = 0;
		h->consecutive_fail = inc_sat(h->consecutive_fail);
		if (h->state != STEER_REPLICA_DOWN && h->consecutive_fail >= p->fall) {
			h->state = STEER_REPLICA_DOWN;
			h->since_ns = now_ns;
			return HEALTH_NOW_DOWN;
		}
	}
	return HEALTH_SAME;
}

enum health_change health_eject(struct health *h, uint64_t now_ns)
{
	/* Good checks seen before the ejection do not count towards `rise`: the
	 * datapath has just seen the replica fail. */
	h->consecutive_ok = 0;
	if (h->state == STEER_REPLICA_DOWN)
		return HEALTH_SAME;
	h->state = STEER_REPLICA_DOWN;
	h->consecutive_fail = 0;
	h->since_ns = now_ns;
	return HEALTH_NOW_DOWN;
}

bool health_set_draining(struct health *h, bool draining)
{
	uint8_t before = health_map_state(h);

	h->draining = draining;
	return health_map_state(h) != before;
}

uint8_t health_map_state(const struct health *h)
{
	return h->draining ? STEER_REPLICA_DRAINING : h->state;
}

const char *health_state_name(uint8_t map_state)
{
	switch (map_state) {
	case STEER_REPLICA_UNUSED:
		return "unused";
	case STEER_REPLICA_UP:
		return "up";
	case STEER_REPLICA_DOWN:
		return "down";
	case STEER_REPLICA_UNKNOWN:
		return "unknown";
	case STEER_REPLICA_DRAINING:
		return "draining";
	}
	/* Not one of the five: a map written by a newer agent, or corrupted.
	 * Say so rather than pass it off as one of them. */
	return "invalid";
}

uint64_t health_first_offset(uint64_t interval_ns, uint32_t rnd)
{
	/* floor(interval_ns * rnd / 2^32) without a 96-bit product: with
	 * interval_ns = hi * 2^32 + lo, it is hi * rnd + floor(lo * rnd / 2^32).
	 * Both products fit in 64 bits, and so does the sum, which is below
	 * interval_ns because rnd < 2^32. */
	uint64_t hi = interval_ns >> 32, lo = interval_ns & UINT32_MAX;

	return hi * rnd + ((lo * rnd) >> 32);
}

uint64_t health_second_delay(uint64_t interval_ns, uint32_t rnd)
{
	uint64_t half = interval_ns / 2, off = health_first_offset(interval_ns, rnd);

	return off > UINT64_MAX - half ? UINT64_MAX : half + off;
}
