/* Unit tests for agent/health.c: the rise/fall state machine, ejection,
 * draining and the spread of first checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "health/health.h"

#define UNKNOWN	 STEER_REPLICA_UNKNOWN
#define UP	 STEER_REPLICA_UP
#define DOWN	 STEER_REPLICA_DOWN
#define DRAINING STEER_REPLICA_DRAINING
#define SAME	 HEALTH_SAME
#define NOW_UP	 HEALTH_NOW_UP
#define NOW_DOWN HEALTH_NOW_DOWN

#define T0 7 /* time of health_init() */

/* One event and what must hold after it. */
struct step {
	char ev; /* '+' good check, '-' failed check, 'e' ejection; 0 ends the script */
	enum health_change want;
	uint8_t state;
	uint32_t ok, fail; /* consecutive_ok, consecutive_fail */
};

struct script {
	const char *what;
	uint8_t init; /* map state given to health_init() */
	struct health_params p;
	struct step steps[12];
};

static const struct script scripts[] = {
    {"unknown becomes up after exactly rise good checks",
     UNKNOWN,
     {3, 2},
     {{'+', SAME, UNKNOWN, 1, 0}, {'+', SAME, UNKNOWN, 2, 0}, {'+', NOW_UP, UP, 3, 0}}},
    {"unknown becomes down after fall failed checks",
     UNKNOWN,
     {2, 3},
     {{'-', SAME, UNKNOWN, 0, 1}, {'-', SAME, UNKNOWN, 0, 2}, {'-', NOW_DOWN, DOWN, 0, 3}}},
    {"up goes down only after fall failures in a row",
     UP,
     {2, 3},
     {{'-', SAME, UP, 0, 1},
      {'-', SAME, UP, 0, 2},
      {'+', SAME, UP, 1, 0},
      {'-', SAME, UP, 0, 1},
      {'-', SAME, UP, 0, 2},
      {'-', NOW_DOWN, DOWN, 0, 3},
      {'-', SAME, DOWN, 0, 4}}},
    {"down comes up only after rise good checks in a row",
     DOWN,
     {3, 2},
     {{'+', SAME, DOWN, 1, 0},
      {'+', SAME, DOWN, 2, 0},
      {'-', SAME, DOWN, 0, 1},
      {'+', SAME, DOWN, 1, 0},
      {'+', SAME, DOWN, 2, 0},
      {'+', NOW_UP, UP, 3, 0},
      {'+', SAME, UP, 4, 0}}},
    {"good checks while up are no transition",
     UP,
     {2, 2},
     {{'+', SAME, UP, 1, 0}, {'+', SAME, UP, 2, 0}, {'+', SAME, UP, 3, 0}}},
    {"flapping from up never transitions with rise=fall=2",
     UP,
     {2, 2},
     {{'-', SAME, UP, 0, 1},
      {'+', SAME, UP, 1, 0},
      {'-', SAME, UP, 0, 1},
      {'+', SAME, UP, 1, 0},
      {'-', SAME, UP, 0, 1},
      {'+', SAME, UP, 1, 0}}},
    {"flapping from down never transitions with rise=fall=2",
     DOWN,
     {2, 2},
     {{'+', SAME, DOWN, 1, 0},
      {'-', SAME, DOWN, 0, 1},
      {'+', SAME, DOWN, 1, 0},
      {'-', SAME, DOWN, 0, 1},
      {'+', SAME, DOWN, 1, 0},
      {'-', SAME, DOWN, 0, 1}}},
    {"flapping from unknown never transitions with rise=fall=2",
     UNKNOWN,
     {2, 2},
     {{'+', SAME, UNKNOWN, 1, 0},
      {'-', SAME, UNKNOWN, 0, 1},
      {'+', SAME, UNKNOWN, 1, 0},
      {'-', SAME, UNKNOWN, 0, 1},
      {'+', SAME, UNKNOWN, 1, 0},
      {'-', SAME, UNKNOWN, 0, 1}}},
    {"rise=fall=1 follows every result",
     UNKNOWN,
     {1, 1},
     {{'+', NOW_UP, UP, 1, 0},
      {'-', NOW_DOWN, DOWN, 0, 1},
      {'-', SAME, DOWN, 0, 2},
      {'+', NOW_UP, UP, 1, 0}}},
    {"eject from unknown is down at once",
     UNKNOWN,
     {2, 2},
     {{'+', SAME, UNKNOWN, 1, 0}, {'e', NOW_DOWN, DOWN, 0, 0}}},
    {"eject from up is down at once and clears the counters",
     UP,
     {2, 3},
     {{'-', SAME, UP, 0, 1}, {'e', NOW_DOWN, DOWN, 0, 0}, {'-', SAME, DOWN, 0, 1}}},
    {"eject from down is no transition but restarts rise",
     DOWN,
     {3, 2},
     {{'-', SAME, DOWN, 0, 1},
      {'+', SAME, DOWN, 1, 0},
      {'+', SAME, DOWN, 2, 0},
      {'e', SAME, DOWN, 0, 0},
      {'+', SAME, DOWN, 1, 0},
      {'+', SAME, DOWN, 2, 0},
      {'+', NOW_UP, UP, 3, 0}}},
    {"eject keeps the failure count of a down replica",
     DOWN,
     {2, 2},
     {{'-', SAME, DOWN, 0, 1}, {'e', SAME, DOWN, 0, 1}, {'-', SAME, DOWN, 0, 2}}},
    {"after an eject rise good checks bring it back",
     UP,
     {2, 2},
     {{'e', NOW_DOWN, DOWN, 0, 0}, {'+', SAME, DOWN, 1, 0}, {'+', NOW_UP, UP, 2, 0}}},
};

static const char *change_name(enum health_change c)
{
	return c == HEALTH_NOW_UP ? "NOW_UP" : c == HEALTH_NOW_DOWN ? "NOW_DOWN" : "SAME";
}

/* Runs every script; after each step the state, counters and return value
 * match, and since_ns is the time of the last transition (T0 if none). */
static void test_health_scripts_transition_only_at_rise_and_fall(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		const struct script *s = &scripts[i];
		uint64_t since = T0;
		struct health h;

		health_init(&h, s->init, T0);
		for (size_t j = 0; s->steps[j].ev; j++) {
			const struct step *st = &s->steps[j];
			uint64_t now = 1000 * (j + 1);
			enum health_change got;
			char want[256], have[256];

			got = st->ev == 'e' ? health_eject(&h, now)
					    : health_record(&h, &s->p, st->ev == '+', now);
			if (got != HEALTH_SAME)
				since = now;
			snprintf(want, sizeof(want),
				 "%s, step %zu '%c': %s %s ok=%u fail=%u since=%llu", s->what, j,
				 st->ev, change_name(st->want), health_state_name(st->state),
				 st->ok, st->fail, (unsigned long long)since);
			snprintf(
			    have, sizeof(have), "%s, step %zu '%c': %s %s ok=%u fail=%u since=%llu",
			    s->what, j, st->ev, change_name(got), health_state_name(h.state),
			    h.consecutive_ok, h.consecutive_fail, (unsigned long long)h.since_ns);
			assert_string_equal(have, want);
			assert_false(h.draining);
		}
	}
}

static void test_health_counters_saturate_instead_of_wrapping(void **state)
{
	const struct health_params p = {2, 2};
	struct health h;

	(void)state;
	health_init(&h, UP, T0);
	h.consecutive_ok = UINT32_MAX - 1;
	assert_int_equal(health_record(&h, &p, true, 1), HEALTH_SAME);
	assert_int_equal(health_record(&h, &p, true, 2), HEALTH_SAME);
	assert_int_equal(h.consecutive_ok, UINT32_MAX);

	health_init(&h, DOWN, T0);
	h.consecutive_fail = UINT32_MAX;
	assert_int_equal(health_record(&h, &p, false, 1), HEALTH_SAME);
	assert_int_equal(h.consecutive_fail, UINT32_MAX);
}

static const struct {
	uint8_t map_state;
	uint8_t state;
	bool draining;
} inits[] = {
    {UNKNOWN, UNKNOWN, false},
    {UP, UP, false},
    {DOWN, DOWN, false},
    {DRAINING, UP, true},
    {STEER_REPLICA_UNUSED, UNKNOWN, false}, /* a new replica */
    {200, UNKNOWN, false},		    /* a state this agent does not know */
};

static void test_health_init_adopts_the_map_state(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(inits) / sizeof(inits[0]); i++) {
		struct health h;

		memset(&h, 0xa5, sizeof(h));
		health_init(&h, inits[i].map_state, 42);
		assert_int_equal(h.state, inits[i].state);
		assert_int_equal(h.draining, inits[i].draining);
		assert_int_equal(h.consecutive_ok, 0);
		assert_int_equal(h.consecutive_fail, 0);
		assert_int_equal(h.since_ns, 42);
		/* adopting what the map holds shows the datapath the same */
		if (inits[i].map_state != STEER_REPLICA_UNUSED && inits[i].map_state != 200)
			assert_int_equal(health_map_state(&h), inits[i].map_state);
	}
}

/* Drain and undrain a replica in each state; the map shows DRAINING while
 * drained whatever the state, and the state again once undrained. */
static void test_health_drain_is_orthogonal_to_state(void **state)
{
	static const uint8_t states[] = {UNKNOWN, UP, DOWN};
	const struct health_params p = {1, 1};

	(void)state;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		struct health h;

		health_init(&h, states[i], T0);
		assert_int_equal(health_map_state(&h), states[i]);
		assert_false(health_set_draining(&h, false)); /* not drained: no change */

		assert_true(health_set_draining(&h, true));
		assert_true(h.draining);
		assert_int_equal(h.state, states[i]);
		assert_int_equal(health_map_state(&h), DRAINING);
		assert_false(health_set_draining(&h, true)); /* already drained */
		assert_int_equal(h.since_ns, T0);	     /* draining is no transition */

		assert_true(health_set_draining(&h, false));
		assert_false(h.draining);
		assert_int_equal(health_map_state(&h), states[i]);
		assert_int_equal(h.since_ns, T0);
	}

	/* Checks go on while drained: the state moves, the map shows DRAINING
	 * until the undrain, which then shows the new state. */
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		bool ok = states[i] != UP; /* the result that changes the state */
		struct health h;

		health_init(&h, states[i], T0);
		health_set_draining(&h, true);
		assert_int_equal(health_record(&h, &p, ok, 100),
				 ok ? HEALTH_NOW_UP : HEALTH_NOW_DOWN);
		assert_int_equal(h.state, ok ? UP : DOWN);
		assert_int_equal(h.since_ns, 100);
		assert_int_equal(health_map_state(&h), DRAINING);
		assert_int_equal(health_eject(&h, 200), ok ? HEALTH_NOW_DOWN : HEALTH_SAME);
		assert_int_equal(health_map_state(&h), DRAINING);
		assert_true(health_set_draining(&h, false));
		assert_int_equal(health_map_state(&h), DOWN);
	}
}

static void test_health_state_names(void **state)
{
	static const struct {
		uint8_t s;
		const char *name;
	} names[] = {
	    {STEER_REPLICA_UNUSED, "unused"},
	    {UP, "up"},
	    {DOWN, "down"},
	    {UNKNOWN, "unknown"},
	    {DRAINING, "draining"},
	    {5, "invalid"},
	    {255, "invalid"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(health_state_name(names[i].s), names[i].name);
}

/* splitmix64: a fixed seed gives the same draws on every run. */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 10000 offsets in 10 buckets: chi-square with 9 degrees of freedom stays
 * under 27.88, its p=0.001 critical value, and every offset is in range. */
static void test_health_first_offset_is_uniform_over_the_interval(void **state)
{
	static const uint64_t intervals[] = {500000000ULL, 3600000000000ULL, 1000003ULL,
					     UINT64_MAX};

	(void)state;
	for (size_t k = 0; k < sizeof(intervals) / sizeof(intervals[0]); k++) {
		uint64_t seed = 0x5eed + k, interval = intervals[k];
		unsigned bucket[10] = {0};
		double chi2 = 0;

		for (int i = 0; i < 10000; i++) {
			uint64_t off =
			    health_first_offset(interval, (uint32_t)(splitmix64(&seed) >> 32));

			assert_true(off < interval);
			bucket[(unsigned)((unsigned __int128)off * 10 / interval)]++;
		}
		for (int b = 0; b < 10; b++)
			chi2 += (bucket[b] - 1000.0) * (bucket[b] - 1000.0) / 1000.0;
		if (chi2 >= 27.88)
			fail_msg("interval %llu: chi-square %.2f >= 27.88",
				 (unsigned long long)interval, chi2);
	}
}

static void test_health_first_offset_edges_do_not_overflow(void **state)
{
	static const struct {
		uint64_t interval;
		uint32_t rnd;
		uint64_t want;
	} edges[] = {
	    {0, 0, 0},
	    {0, UINT32_MAX, 0},
	    {1, UINT32_MAX, 0},
	    {1000, 0, 0},
	    {1000, UINT32_MAX, 999},
	    {1000, 1U << 31, 500},
	    {1ULL << 32, 12345, 12345},
	    {UINT64_MAX, 0, 0},
	    {UINT64_MAX, 1, 0xffffffffULL},
	    {UINT64_MAX, UINT32_MAX, 0xfffffffeffffffffULL},
	    {UINT64_MAX, 1U << 31, 0x7fffffffffffffffULL},
	};
	uint64_t seed = 1;

	(void)state;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		uint64_t got = health_first_offset(edges[i].interval, edges[i].rnd);

		if (got != edges[i].want)
			fail_msg("interval %llu rnd %u: got %llu, want %llu",
				 (unsigned long long)edges[i].interval, edges[i].rnd,
				 (unsigned long long)got, (unsigned long long)edges[i].want);
	}
	/* Against a 128-bit product, across the whole 64-bit range. */
	for (int i = 0; i < 100000; i++) {
		uint64_t interval = splitmix64(&seed) >> (splitmix64(&seed) % 64);
		uint32_t rnd = (uint32_t)splitmix64(&seed);
		uint64_t want = (uint64_t)(((unsigned __int128)interval * rnd) >> 32);

		assert_true(health_first_offset(interval, rnd) == want);
		assert_true(interval == 0 || want < interval);
	}
}

/* The check after a new replica's first: in [interval/2, 3 interval/2),
 * uniform over that interval (chi-square as above), saturating instead of
 * wrapping. */
static void test_health_second_delay_spreads_one_interval_around_it(void **state)
{
	static const uint64_t intervals[] = {500000000ULL, 10000000ULL, 1000003ULL};
	static const struct {
		uint64_t interval;
		uint32_t rnd;
		uint64_t want;
	} edges[] = {
	    {0, UINT32_MAX, 0},
	    {1000, 0, 500},
	    {1000, 1U << 31, 1000},
	    {1000, UINT32_MAX, 1499},
	    {UINT64_MAX, 0, UINT64_MAX / 2},
	    {UINT64_MAX, UINT32_MAX, UINT64_MAX},
	};

	(void)state;
	for (size_t k = 0; k < sizeof(intervals) / sizeof(intervals[0]); k++) {
		uint64_t seed = 0x5eed2 + k, interval = intervals[k];
		unsigned bucket[10] = {0};
		double chi2 = 0;

		for (int i = 0; i < 10000; i++) {
			uint64_t d =
			    health_second_delay(interval, (uint32_t)(splitmix64(&seed) >> 32));

			assert_true(d >= interval / 2 && d < interval / 2 + interval);
			bucket[(unsigned)((d - interval / 2) * 10 / interval)]++;
		}
		for (int b = 0; b < 10; b++)
			chi2 += (bucket[b] - 1000.0) * (bucket[b] - 1000.0) / 1000.0;
		if (chi2 >= 27.88)
			fail_msg("interval %llu: chi-square %.2f >= 27.88",
				 (unsigned long long)interval, chi2);
	}
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		uint64_t got = health_second_delay(edges[i].interval, edges[i].rnd);

		if (got != edges[i].want)
			fail_msg("interval %llu rnd %u: got %llu, want %llu",
				 (unsigned long long)edges[i].interval, edges[i].rnd,
				 (unsigned long long)got, (unsigned long long)edges[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_health_scripts_transition_only_at_rise_and_fall),
	    cmocka_unit_test(test_health_counters_saturate_instead_of_wrapping),
	    cmocka_unit_test(test_health_init_adopts_the_map_state),
	    cmocka_unit_test(test_health_drain_is_orthogonal_to_state),
	    cmocka_unit_test(test_health_state_names),
	    cmocka_unit_test(test_health_first_offset_is_uniform_over_the_interval),
	    cmocka_unit_test(test_health_first_offset_edges_do_not_overflow),
	    cmocka_unit_test(test_health_second_delay_spreads_one_interval_around_it),
	};

	return cmocka_run_group_tests_name("health", tests, NULL, NULL);
}
