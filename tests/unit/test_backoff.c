/* Unit tests for agent/backoff.c: the retry schedule, its jitter, its limits
 * for extreme inputs, validation messages and the schedule's text. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "miss/backoff.h"

#define DEFAULTS                                                                                   \
	{                                                                                          \
		25, 2.0, 500, 0.0, 30000                                                           \
	}

static uint64_t ms(uint64_t v)
{
	return v * 1000;
}

/* xorshift32: a fixed, seeded sequence, so a failure reproduces. */
static uint32_t next_rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_backoff_first_attempt_has_no_delay(void **state)
{
	static const struct backoff_params ps[] = {
	    DEFAULTS,
	    {0, 1.0, 1, 0.0, 1},
	    {3600000, 1000000.0, 3600000, 1.0, 86400000},
	    {5, 3.0, 50, 0.5, 1000},
	};
	static const uint32_t rnds[] = {0, 1, 0x80000000u, UINT32_MAX};

	(void)state;
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		assert_int_equal(backoff_base_us(&ps[i], 1), 0);
		for (size_t r = 0; r < sizeof(rnds) / sizeof(rnds[0]); r++)
			assert_int_equal(backoff_wait_us(&ps[i], 1, rnds[r]), 0);
	}
}

/* A schedule without jitter: base and wait agree, whatever rnd is. */
static const struct {
	const char *what;
	struct backoff_params p;
	uint64_t want_ms[12]; /* waits before attempts 1, 2, ... */
	int n;
} schedules[] = {
    {"defaults 25 ms x2 max 500 ms", DEFAULTS, {0, 25, 50, 100, 200, 400, 500, 500, 500}, 9},
    {"initial 5 x3 max 50", {5, 3.0, 50, 0.0, 1000}, {0, 5, 15, 45, 50, 50}, 6},
    {"multiplier 1 waits the same each time", {40, 1.0, 500, 0.0, 1000}, {0, 40, 40, 40, 40}, 5},
    {"initial equal to max is a constant wait", {70, 4.0, 70, 0.0, 1000}, {0, 70, 70, 70}, 4},
    {"initial 0 never waits", {0, 2.0, 500, 0.0, 1000}, {0, 0, 0, 0}, 4},
    {"the cap is reached exactly", {1, 2.0, 8, 0.0, 1000}, {0, 1, 2, 4, 8, 8, 8}, 7},
    {"the cap cuts a step short", {3, 10.0, 1000, 0.0, 1000}, {0, 3, 30, 300, 1000, 1000}, 6},
    {"a huge multiplier jumps to the cap",
     {1, 1e6, 3600000, 0.0, 1000},
     {0, 1, 1000000, 3600000, 3600000},
     5},
    {"largest values", {3600000, 1e6, 3600000, 0.0, 1000}, {0, 3600000, 3600000}, 3},
};

static void test_backoff_schedules_without_jitter(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(schedules) / sizeof(schedules[0]); i++) {
		const struct backoff_params *p = &schedules[i].p;

		for (int a = 1; a <= schedules[i].n; a++) {
			uint64_t want = ms(schedules[i].want_ms[a - 1]);

			if (backoff_base_us(p, (uint32_t)a) != want)
				fail_msg("%s: attempt %d: expected %llu us, got %llu us",
					 schedules[i].what, a, (unsigned long long)want,
					 (unsigned long long)backoff_base_us(p, (uint32_t)a));
			assert_int_equal(backoff_wait_us(p, (uint32_t)a, 0), want);
			assert_int_equal(backoff_wait_us(p, (uint32_t)a, UINT32_MAX), want);
		}
	}
}

static void test_backoff_default_sequence_is_exact(void **state)
{
	static const uint64_t want[] = {0, 25, 50, 100, 200, 400, 500, 500};
	const struct backoff_params p = DEFAULTS;

	(void)state;
	for (uint32_t a = 1; a <= sizeof(want) / sizeof(want[0]); a++)
		assert_int_equal(backoff_base_us(&p, a), ms(want[a - 1]));
}

static void test_backoff_never_exceeds_the_cap(void **state)
{
	static const struct backoff_params ps[] = {
	    DEFAULTS,
	    {5, 3.0, 50, 0.0, 1000},
	    {1, 1.0000001, 3600000, 0.0, 1000},
	    {1, 1.5, 3600000, 0.0, 1000},
	    {499, 1.001, 500, 0.0, 1000},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t prev = 0;

		for (uint32_t a = 1; a <= 100000; a++) {
			uint64_t w = backoff_base_us(&ps[i], a);

			assert_true(w <= ms(ps[i].max_ms));
			assert_true(w >= prev); /* and never shrinks */
			prev = w;
		}
		assert_int_equal(backoff_base_us(&ps[i], UINT32_MAX), ms(ps[i].max_ms));
	}
}

/* Non-integer steps round to the nearest microsecond. */
static void test_backoff_rounds_fractional_waits_to_microseconds(void **state)
{
	const struct backoff_params p = {1, 1.5, 1000, 0.0, 1000};

	(void)state;
	assert_int_equal(backoff_base_us(&p, 2), 1000);
	assert_int_equal(backoff_base_us(&p, 3), 1500);
	assert_int_equal(backoff_base_us(&p, 4), 2250);
	assert_int_equal(backoff_base_us(&p, 5), 3375);
	assert_int_equal(backoff_base_us(&p, 6), 5063); /* 5062.5 */
}

static const struct {
	struct backoff_params p;
	uint32_t attempt;
	uint64_t lo, hi; /* base * (1 - jitter), base * (1 + jitter), in us */
} jitters[] = {
    {{25, 2.0, 500, 0.2, 1000}, 2, 20000, 30000},
    {{25, 2.0, 500, 0.1, 1000}, 7, 450000, 550000},
    {{100, 2.0, 500, 1.0, 1000}, 2, 0, 200000},
    {{100, 2.0, 3600000, 0.5, 1000}, 30, 1800000000, 5400000000},
    {{1, 1.0, 1, 0.25, 1000}, 9, 750, 1250},
};

static void test_backoff_jitter_stays_in_bounds_and_averages_to_base(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(jitters) / sizeof(jitters[0]); i++) {
		const struct backoff_params *p = &jitters[i].p;
		uint64_t base = backoff_base_us(p, jitters[i].attempt);
		uint32_t seed = 0x2545f491u + (uint32_t)i;
		double sum = 0, mean;
		const int draws = 100000;

		/* the ends: u = 0 gives exactly the lower bound; the largest u,
		 * 1 - 2^-32, falls short of the upper one by base * jitter *
		 * 2^-31, under 1 us for any valid base */
		assert_int_equal(backoff_wait_us(p, jitters[i].attempt, 0), jitters[i].lo);
		assert_in_range(backoff_wait_us(p, jitters[i].attempt, UINT32_MAX),
				jitters[i].hi - 1, jitters[i].hi);
		assert_int_equal(backoff_wait_us(p, jitters[i].attempt, 0x80000000u), base);

		for (int d = 0; d < draws; d++) {
			uint64_t w = backoff_wait_us(p, jitters[i].attempt, next_rnd(&seed));

			if (w < jitters[i].lo || w > jitters[i].hi)
				fail_msg("case %zu: %llu us outside [%llu, %llu]", i,
					 (unsigned long long)w, (unsigned long long)jitters[i].lo,
					 (unsigned long long)jitters[i].hi);
			sum += (double)w;
		}
		mean = sum / draws;
		if (mean < 0.99 * (double)base || mean > 1.01 * (double)base)
			fail_msg("case %zu: mean %.1f us is not within 1%% of %llu us", i, mean,
				 (unsigned long long)base);
	}
}

static void test_backoff_zero_jitter_gives_exactly_base(void **state)
{
	const struct backoff_params p = {7, 1.7, 900, 0.0, 1000};
	uint32_t seed = 99;

	(void)state;
	for (uint32_t a = 1; a <= 1000; a++)
		assert_int_equal(backoff_wait_us(&p, a, next_rnd(&seed)), backoff_base_us(&p, a));
}

/* The largest accepted values, every attempt up to 10^6 and the last one:
 * nothing overflows, and with UBSan nothing is undefined. */
static void test_backoff_huge_multiplier_and_attempts_do_not_overflow(void **state)
{
	static const struct backoff_params ps[] = {
	    {1, 1e6, 3600000, 1.0, 86400000},	   {3600000, 1e6, 3600000, 1.0, 86400000},
	    {0, 1e6, 3600000, 1.0, 86400000},	   {1, 1.0, 3600000, 1.0, 86400000},
	    {1, 1.000001, 3600000, 0.5, 86400000}, DEFAULTS,
	};
	static const uint32_t rnds[] = {0, 0x80000000u, UINT32_MAX};

	(void)state;
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		const struct backoff_params *p = &ps[i];
		double limit = (double)ms(p->max_ms) * (1 + p->jitter);
		uint32_t seed = 7;

		for (uint32_t a = 1; a <= 1000000; a++) {
			assert_true(backoff_base_us(p, a) <= ms(p->max_ms));
			assert_true((double)backoff_wait_us(p, a, next_rnd(&seed)) <= limit);
		}
		for (size_t r = 0; r < sizeof(rnds) / sizeof(rnds[0]); r++)
			assert_true((double)backoff_wait_us(p, UINT32_MAX, rnds[r]) <= limit);
		assert_true(backoff_base_us(p, UINT32_MAX) <= ms(p->max_ms));
	}
}

/* Out-of-range parameters (which validate rejects) still give a wait in
 * [0, 2 * max] without undefined behaviour. */
static void test_backoff_unvalidated_params_stay_in_range(void **state)
{
	static const struct backoff_params ps[] = {
	    {25, 0.5, 500, 0.0, 1000},	    /* multiplier < 1: constant */
	    {25, NAN, 500, NAN, 1000},	    /* NaN: constant, no jitter */
	    {25, INFINITY, 500, 5.0, 1000}, /* inf multiplier, jitter > 1 */
	    {25, 1e300, 500, -1.0, 1000},   {UINT32_MAX, 2.0, UINT32_MAX, 1.0, 0},
	    {600, 2.0, 500, 0.0, 1000}, /* initial > max: max */
	    {5, 2.0, 0, 0.0, 1000},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		const struct backoff_params *p = &ps[i];
		uint64_t cap = ms(p->max_ms);

		for (uint32_t a = 1; a <= 100; a++) {
			assert_true(backoff_base_us(p, a) <= cap);
			assert_true(backoff_wait_us(p, a, UINT32_MAX) <= 2 * cap);
			assert_true(backoff_wait_us(p, a, 0) <= 2 * cap);
		}
		assert_true(backoff_wait_us(p, UINT32_MAX, UINT32_MAX) <= 2 * cap);
	}
	assert_int_equal(backoff_base_us(&ps[0], 5), ms(25));
	assert_int_equal(backoff_base_us(&ps[1], 5), ms(25));
	assert_int_equal(backoff_wait_us(&ps[1], 5, 0), ms(25));
	assert_int_equal(backoff_base_us(&ps[2], 3), ms(500));
	assert_int_equal(backoff_wait_us(&ps[2], 3, 0), 0); /* jitter taken as 1 */
	assert_int_equal(backoff_base_us(&ps[5], 2), ms(500));
}

static void test_backoff_validate_accepts_the_edges(void **state)
{
	static const struct backoff_params ps[] = {
	    DEFAULTS,
	    {0, 1.0, 1, 0.0, 1},
	    {3600000, 1000000.0, 3600000, 1.0, 86400000},
	    {500, 2.0, 500, 0.5, 30000},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		char err[256] = "junk";

		assert_int_equal(backoff_validate(&ps[i], err, sizeof(err)), 0);
		assert_string_equal(err, "");
	}
}

#define INITIAL_RANGE " expected an integer >= 0 and <= 3600000"
#define MULT_RANGE    " expected a decimal >= 1 and <= 1000000"
#define MAX_RANGE     " expected an integer >= 1 and <= 3600000"
#define JITTER_RANGE  " expected a decimal >= 0 and <= 1"
#define TIMEOUT_RANGE " expected an integer >= 1 and <= 86400000"

static const struct {
	struct backoff_params p;
	const char *err;
} invalid[] = {
    {{3600001, 2.0, 500, 0.0, 1000}, "STEER_RETRY_INITIAL_BACKOFF_MS=3600001:" INITIAL_RANGE},
    {{UINT32_MAX, 2.0, 500, 0.0, 1000}, "STEER_RETRY_INITIAL_BACKOFF_MS=4294967295:" INITIAL_RANGE},
    {{25, 0.5, 500, 0.0, 1000}, "STEER_RETRY_BACKOFF_MULTIPLIER=0.5:" MULT_RANGE},
    {{25, 0.0, 500, 0.0, 1000}, "STEER_RETRY_BACKOFF_MULTIPLIER=0:" MULT_RANGE},
    {{25, -2.0, 500, 0.0, 1000}, "STEER_RETRY_BACKOFF_MULTIPLIER=-2:" MULT_RANGE},
    {{25, 0.999999, 500, 0.0, 1000}, "STEER_RETRY_BACKOFF_MULTIPLIER=0.999999:" MULT_RANGE},
    {{25, 1000000.5, 500, 0.0, 1000}, "STEER_RETRY_BACKOFF_MULTIPLIER=1000000.5:" MULT_RANGE},
    {{25, 1e7, 500, 0.0, 1000}, "STEER_RETRY_BACKOFF_MULTIPLIER=10000000:" MULT_RANGE},
    {{25, 1e300, 500, 0.0, 1000}, "STEER_RETRY_BACKOFF_MULTIPLIER=1e+300:" MULT_RANGE},
    {{25, NAN, 500, 0.0, 1000}, "STEER_RETRY_BACKOFF_MULTIPLIER=nan:" MULT_RANGE},
    {{25, INFINITY, 500, 0.0, 1000}, "STEER_RETRY_BACKOFF_MULTIPLIER=inf:" MULT_RANGE},
    {{25, 2.0, 0, 0.0, 1000}, "STEER_RETRY_MAX_BACKOFF_MS=0:" MAX_RANGE},
    {{25, 2.0, 3600001, 0.0, 1000}, "STEER_RETRY_MAX_BACKOFF_MS=3600001:" MAX_RANGE},
    {{25, 2.0, 500, -0.1, 1000}, "STEER_RETRY_JITTER=-0.1:" JITTER_RANGE},
    {{25, 2.0, 500, 1.5, 1000}, "STEER_RETRY_JITTER=1.5:" JITTER_RANGE},
    {{25, 2.0, 500, 1.0000001, 1000}, "STEER_RETRY_JITTER=1.0000001:" JITTER_RANGE},
    {{25, 2.0, 500, NAN, 1000}, "STEER_RETRY_JITTER=nan:" JITTER_RANGE},
    {{25, 2.0, 500, -INFINITY, 1000}, "STEER_RETRY_JITTER=-inf:" JITTER_RANGE},
    {{25, 2.0, 500, 0.0, 0}, "STEER_RETRY_TIMEOUT_MS=0:" TIMEOUT_RANGE},
    {{25, 2.0, 500, 0.0, 86400001}, "STEER_RETRY_TIMEOUT_MS=86400001:" TIMEOUT_RANGE},
    {{600, 2.0, 500, 0.0, 1000},
     "STEER_RETRY_INITIAL_BACKOFF_MS=600 is more than "
     "STEER_RETRY_MAX_BACKOFF_MS=500 (accepted: initial <= max)"},
    {{2, 2.0, 1, 0.0, 1000},
     "STEER_RETRY_INITIAL_BACKOFF_MS=2 is more than "
     "STEER_RETRY_MAX_BACKOFF_MS=1 (accepted: initial <= max)"},
    /* several bad fields: the first in struct order is named */
    {{3600001, 0.5, 0, 2.0, 0}, "STEER_RETRY_INITIAL_BACKOFF_MS=3600001:" INITIAL_RANGE},
    {{25, 2.0, 0, 2.0, 0}, "STEER_RETRY_MAX_BACKOFF_MS=0:" MAX_RANGE},
};

static void test_backoff_validate_names_variable_value_and_range(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		char err[256] = "";

		assert_int_equal(backoff_validate(&invalid[i].p, err, sizeof(err)), -1);
		assert_string_equal(err, invalid[i].err);
	}
}

static void test_backoff_validate_truncates_its_message_safely(void **state)
{
	const struct backoff_params p = {600, 2.0, 500, 0.0, 1000};
	char err[16];

	(void)state;
	memset(err, 'X', sizeof(err));
	assert_int_equal(backoff_validate(&p, err, 8), -1);
	assert_string_equal(err, "STEER_R");
	assert_int_equal(err[8], 'X');
	assert_int_equal(backoff_validate(&p, NULL, 0), -1);
}

static const struct {
	struct backoff_params p;
	int n;
	const char *want;
} formats[] = {
    {DEFAULTS, 8, "0, 25, 50, 100, 200, 400, 500, 500 ms"},
    {{5, 3.0, 50, 0.0, 1000}, 6, "0, 5, 15, 45, 50, 50 ms"},
    {{1, 2.5, 100, 0.0, 1000}, 5, "0, 1, 2.5, 6.25, 15.625 ms"},
    {{1, 1.5, 100, 0.0, 1000}, 6, "0, 1, 1.5, 2.25, 3.375, 5.063 ms"},
    {{3600000, 2.0, 3600000, 0.0, 1000}, 2, "0, 3600000 ms"},
    {DEFAULTS, 1, "0 ms"},
    {DEFAULTS, 0, ""},
    {DEFAULTS, -3, ""},
    /* jitter is not shown */
    {{25, 2.0, 500, 0.5, 1000}, 3, "0, 25, 50 ms"},
};

static void test_backoff_format_schedule_lists_waits_in_ms(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char buf[128];

		memset(buf, 'X', sizeof(buf));
		backoff_format_schedule(&formats[i].p, formats[i].n, buf, sizeof(buf));
		assert_string_equal(buf, formats[i].want);
	}
}

/* Any len gives the longest prefix that fits, NUL-terminated, and nothing is
 * written past len. */
static void test_backoff_format_schedule_truncates_safely(void **state)
{
	const struct backoff_params p = DEFAULTS;
	const char *full = "0, 25, 50, 100, 200, 400, 500, 500 ms";
	size_t n = strlen(full);

	(void)state;
	for (size_t len = 0; len <= n + 2; len++) {
		char buf[64];

		memset(buf, 'X', sizeof(buf));
		backoff_format_schedule(&p, 8, buf, len);
		for (size_t k = len; k < sizeof(buf); k++)
			assert_int_equal(buf[k], 'X');
		if (len == 0)
			continue;
		assert_int_equal(strlen(buf), len - 1 < n ? len - 1 : n);
		assert_memory_equal(buf, full, strlen(buf));
	}
	backoff_format_schedule(&p, 8, NULL, 0);
}

/* A held connection on a fake clock: it arrived at t0; each row is one
 * moment it asks when its next attempt is, after `made` attempts. */
static void test_backoff_next_wait_follows_the_schedule_on_a_fake_clock(void **state)
{
	const struct backoff_params p = {25, 2.0, 500, 0.0, 1000};
	const uint64_t ms = 1000000ull, t0 = 5000 * ms;
	static const struct {
		uint32_t made;
		uint64_t now_ms; /* since arrival */
		bool again;
		uint64_t wait_ms;
	} rows[] = {
	    {0, 0, true, 0},   /* the first attempt never waits */
	    {1, 0, true, 25},  /* attempt 1 failed at once */
	    {2, 25, true, 50}, /* then 50, 100, 200 ... */
	    {3, 75, true, 100},	 {4, 175, true, 200}, {5, 375, true, 400},
	    {6, 775, true, 225}, /* 500 capped, then cut at the 1000 ms deadline */
	    {7, 999, true, 1},	 {7, 1000, false, 0}, /* time is up */
	    {7, 4000, false, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t wait = 12345;
		bool again =
		    backoff_next_wait(&p, rows[i].made, t0, t0 + rows[i].now_ms * ms, 0, &wait);

		if (again != rows[i].again || (again && wait != rows[i].wait_ms * ms))
			fail_msg(
			    "row %zu (made %u at +%llu ms): expected %s %llu ms, got %s %llu ns", i,
			    rows[i].made, (unsigned long long)rows[i].now_ms,
			    rows[i].again ? "wait" : "timeout", (unsigned long long)rows[i].wait_ms,
			    again ? "wait" : "timeout", (unsigned long long)wait);
	}
}

static void test_backoff_next_wait_applies_jitter_within_bounds(void **state)
{
	const struct backoff_params p = {100, 2.0, 1000, 0.5, 60000};
	uint64_t lo = UINT64_MAX, hi = 0;

	(void)state;
	for (uint32_t r = 0; r < 64; r++) {
		uint64_t wait;

		assert_true(backoff_next_wait(&p, 1, 0, 0, r * 0x04000000u, &wait));
		lo = wait < lo ? wait : lo;
		hi = wait > hi ? wait : hi;
	}
	assert_true(lo >= 50000000ull);
	assert_true(hi <= 150000000ull);
	assert_true(hi - lo > 90000000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_first_attempt_has_no_delay),
	    cmocka_unit_test(test_backoff_schedules_without_jitter),
	    cmocka_unit_test(test_backoff_default_sequence_is_exact),
	    cmocka_unit_test(test_backoff_never_exceeds_the_cap),
	    cmocka_unit_test(test_backoff_rounds_fractional_waits_to_microseconds),
	    cmocka_unit_test(test_backoff_jitter_stays_in_bounds_and_averages_to_base),
	    cmocka_unit_test(test_backoff_zero_jitter_gives_exactly_base),
	    cmocka_unit_test(test_backoff_huge_multiplier_and_attempts_do_not_overflow),
	    cmocka_unit_test(test_backoff_unvalidated_params_stay_in_range),
	    cmocka_unit_test(test_backoff_validate_accepts_the_edges),
	    cmocka_unit_test(test_backoff_validate_names_variable_value_and_range),
	    cmocka_unit_test(test_backoff_validate_truncates_its_message_safely),
	    cmocka_unit_test(test_backoff_format_schedule_lists_waits_in_ms),
	    cmocka_unit_test(test_backoff_format_schedule_truncates_safely),
	    cmocka_unit_test(test_backoff_next_wait_follows_the_schedule_on_a_fake_clock),
	    cmocka_unit_test(test_backoff_next_wait_applies_jitter_within_bounds),
	};

	return cmocka_run_group_tests_name("backoff", tests, NULL, NULL);
}
