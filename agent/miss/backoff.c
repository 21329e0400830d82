/* The miss path's retry schedule (see backoff.h), after Ray Serve's router:
 * no wait before the first attempt, then initial * multiplier^(n-2) capped at
 * max, with uniform +/- jitter.
 *
 * Every computation stays in range for any input, validated or not: the
 * power is taken by squaring and stops as soon as it reaches the cap (so at
 * most 32 steps, no libm, no inf or huge exponent), and a double becomes an
 * integer only once it is known to lie in [0, 2 * max] (max < 2^42 us). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "miss/backoff.h"
#include "lib/decimal.h"

#define ENV_INITIAL    "STEER_RETRY_INITIAL_BACKOFF_MS"
#define ENV_MULTIPLIER "STEER_RETRY_BACKOFF_MULTIPLIER"
#define ENV_MAX	       "STEER_RETRY_MAX_BACKOFF_MS"
#define ENV_JITTER     "STEER_RETRY_JITTER"
#define ENV_TIMEOUT    "STEER_RETRY_TIMEOUT_MS"

#define BACKOFF_MAX_MS	   3600000u  /* initial and max: one hour */
#define TIMEOUT_MAX_MS	   86400000u /* one day */
#define MULTIPLIER_MAX	   1000000.0
#define MULTIPLIER_MAX_TXT "1000000"

/* Round a double known to be below 2^53 to the nearest integer, negatives to 0. */
static uint64_t round_us(double w)
{
	return w > 0 ? (uint64_t)(w + 0.5) : 0;
}

uint64_t backoff_base_us(const struct backoff_params *p, uint32_t attempt)
{
	uint64_t initial_us = (uint64_t)p->initial_ms * 1000;
	uint64_t max_us = (uint64_t)p->max_ms * 1000;
	double initial = (double)initial_us, max = (double)max_us;
	double r = 1, b = p->multiplier;
	uint64_t w;
	uint32_t e;

	if (attempt <= 1)
		return 0;
	if (initial_us >= max_us)
		return max_us; /* also initial 0 with max 0 */
	/* A multiplier that is not > 1 (only an unvalidated one: < 1 or NaN)
	 * is taken as 1: constant waits. initial 0 stays 0 whatever it is. */
	if (!(b > 1) || initial_us == 0)
		return initial_us;

	/* r = b^e by squaring; r >= 1 and b >= 1 throughout, so once
	 * initial * r or, with bits of e still to come, initial * b reaches
	 * max, the result is max. Before that initial * b < max, so b < 4.3e9
	 * (max / initial, even unvalidated) and b * b stays far from the
	 * double's range. */
	for (e = attempt - 2; e; e >>= 1) {
		if (e & 1) {
			r *= b;
			if (initial * r >= max)
				return max_us;
		}
		if (e > 1) {
			if (initial * b >= max)
				return max_us;
			b *= b;
		}
	}
	/* initial * r < max < 2^42 here. */
	w = round_us(initial * r);
	return w < max_us ? w : max_us;
}

uint64_t backoff_wait_us(const struct backoff_params *p, uint32_t attempt, uint32_t rnd)
{
	uint64_t base = backoff_base_us(p, attempt);
	double j = p->jitter, u = (double)rnd / 4294967296.0, w;

	/* Unvalidated jitter: NaN or <= 0 means none, > 1 is taken as 1, so
	 * w is in [0, 2 * base], and base <= UINT32_MAX * 1000 < 2^42. */
	if (!(j > 0) || base == 0)
		return base;
	if (j > 1)
		j = 1;
	w = (double)base * (1 + j * (2 * u - 1));
	return round_us(w);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int bad_uint(char *err, size_t errlen, const char *name, uint32_t v, uint32_t lo,
		    uint32_t hi)
{
	return fail(err, errlen, "%s=%u: expected an integer >= %u and <= %u", name, (unsigned)v,
		    (unsigned)lo, (unsigned)hi);
}

static int bad_decimal(char *err, size_t errlen, const char *name, double v, const char *lo,
		       const char *hi)
{
	char text[64];

	decimal_format(v, text, sizeof(text));
	return fail(err, errlen, "%s=%s: expected a decimal >= %s and <= %s", name, text, lo, hi);
}

int backoff_validate(const struct backoff_params *p, char *err, size_t errlen)
{
	/* The comparisons are written so that NaN fails them. */
	if (p->initial_ms > BACKOFF_MAX_MS)
		return bad_uint(err, errlen, ENV_INITIAL, p->initial_ms, 0, BACKOFF_MAX_MS);
	if (!(p->multiplier >= 1 && p->multiplier <= MULTIPLIER_MAX))
		return bad_decimal(err, errlen, ENV_MULTIPLIER, p->multiplier, "1",
				   MULTIPLIER_MAX_TXT);
	if (p->max_ms < 1 || p->max_ms > BACKOFF_MAX_MS)
		return bad_uint(err, errlen, ENV_MAX, p->max_ms, 1, BACKOFF_MAX_MS);
	if (!(p->jitter >= 0 && p->jitter <= 1))
		return bad_decimal(err, errlen, ENV_JITTER, p->jitter, "0", "1");
	if (p->timeout_ms < 1 || p->timeout_ms > TIMEOUT_MAX_MS)
		return bad_uint(err, errlen, ENV_TIMEOUT, p->timeout_ms, 1, TIMEOUT_MAX_MS);
	if (p->initial_ms > p->max_ms)
		return fail(err, errlen, "%s=%u is more than %s=%u (accepted: initial <= max)",
			    ENV_INITIAL, (unsigned)p->initial_ms, ENV_MAX, (unsigned)p->max_ms);
	if (err && errlen)
		err[0] = '\0';
	return 0;
}

/* snprintf at *pos of buf[len], counting what did not fit: buf always holds
 * the longest prefix of the whole text that fits, NUL-terminated. */
static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*pos < len ? buf + *pos : NULL, *pos < len ? len - *pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

void backoff_format_schedule(const struct backoff_params *p, int n, char *buf, size_t len)
{
	size_t pos = 0;

	if (len)
		buf[0] = '\0';
	for (int i = 1; i <= n; i++) {
		uint64_t us = backoff_base_us(p, (uint32_t)i);
		unsigned frac = (unsigned)(us % 1000);
		int digits = 3;

		/* milliseconds, with up to 3 decimals and no trailing zeros */
		while (frac && frac % 10 == 0) {
			frac /= 10;
			digits--;
		}
		append(buf, len, &pos, "%s%llu", i > 1 ? ", " : "",
		       (unsigned long long)(us / 1000));
		if (frac)
			append(buf, len, &pos, ".%0*u", digits, frac);
	}
	if (n > 0)
		append(buf, len, &pos, " ms");
}

bool backoff_next_wait(const struct backoff_params *p, uint32_t attempts_made, uint64_t arrived_ns,
		       uint64_t now_ns, uint32_t rnd, uint64_t *wait_ns)
{
	uint64_t deadline = arrived_ns + (uint64_t)p->timeout_ms * 1000000ull;
	uint32_t next = attempts_made < UINT32_MAX ? attempts_made + 1 : UINT32_MAX;
	uint64_t wait = backoff_wait_us(p, next, rnd) * 1000ull;

	if (now_ns >= deadline)
		return false;
	*wait_ns = wait > deadline - now_ns ? deadline - now_ns : wait;
	return true;
}
