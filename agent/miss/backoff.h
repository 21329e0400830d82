/* The miss path's retry schedule (pure: no I/O, no clock). The first attempt
 * happens at once; before attempt n >= 2 the wait is
 * min(initial * multiplier^(n-2), max), with uniform +/- jitter. */
#ifndef STEER_BACKOFF_H
#define STEER_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct backoff_params {
	uint32_t initial_ms; /* wait before attempt 2 */
	double multiplier;   /* >= 1 */
	uint32_t max_ms;     /* cap on any wait, >= initial_ms */
	double jitter;	     /* 0..1: fraction of the wait, uniform +/- */
	uint32_t timeout_ms; /* give up this long after the connection arrived */
};

/* Wait before attempt `attempt` (1-based) without jitter, in microseconds:
 * 0 for attempt 1. Never overflows, for any attempt up to UINT32_MAX. */
uint64_t backoff_base_us(const struct backoff_params *p, uint32_t attempt);

/* The same with jitter applied: base * (1 + jitter * (2u - 1)) where u is
 * rnd / 2^32, so within [base * (1 - jitter), base * (1 + jitter)]. */
uint64_t backoff_wait_us(const struct backoff_params *p, uint32_t attempt, uint32_t rnd);

/* The wait before a held connection's next attempt, on the caller's clock:
 * attempts_made attempts so far, arrived_ns and now_ns on one monotonic
 * clock. Returns false when its time (timeout_ms after arrival) is up;
 * otherwise true with *wait_ns, which never reaches past the deadline. */
bool backoff_next_wait(const struct backoff_params *p, uint32_t attempts_made, uint64_t arrived_ns,
		       uint64_t now_ns, uint32_t rnd, uint64_t *wait_ns);

/* 0, or -1 with err naming the bad field, its value and the accepted range
 * (multiplier < 1, initial > max, jitter outside 0..1, timeout 0...). */
int backoff_validate(const struct backoff_params *p, char *err, size_t errlen);

/* "0, 25, 50, 100, 200, 400, 500, 500 ms": the first n waits, no jitter. */
void backoff_format_schedule(const struct backoff_params *p, int n, char *buf, size_t len);

#endif
