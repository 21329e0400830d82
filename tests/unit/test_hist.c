/* Unit tests for agent/hist.c: recording into struct steer_hist, the bucket
 * bounds as the inverse of steer_hist_bucket(), counts and percentiles. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/hist.h"

#define LAST (STEER_HIST_BUCKETS - 1)

/* The inverse holds at v: v is in bucket b = steer_hist_bucket(v), which
 * ends at hist_bucket_upper_us(b), and the bucket before it ends below v. */
static void assert_bounds_hold(uint64_t v)
{
	uint32_t b = steer_hist_bucket(v);

	if (hist_bucket_upper_us(b) < v || (b > 0 && hist_bucket_upper_us(b - 1) >= v))
		fail_msg("value %llu in bucket %u: bounds %llu..%llu", (unsigned long long)v, b,
			 b > 0 ? (unsigned long long)hist_bucket_upper_us(b - 1) : 0ULL,
			 (unsigned long long)hist_bucket_upper_us(b));
}

static void test_hist_upper_bound_maps_back_to_its_bucket(void **state)
{
	(void)state;
	for (uint32_t b = 0; b < STEER_HIST_BUCKETS; b++) {
		uint64_t up = hist_bucket_upper_us(b);

		if (b == 2) {
			/* no value lands in bucket 2: 1 is in 1, 2 in 3 */
			assert_int_equal(up, 1);
			assert_int_equal(steer_hist_bucket(up + 1), 3);
			continue;
		}
		if (steer_hist_bucket(up) != b)
			fail_msg("bucket %u: upper bound %llu is in bucket %u", b,
				 (unsigned long long)up, steer_hist_bucket(up));
		/* the largest such value: one more is in a later bucket */
		if (b < LAST)
			assert_true(steer_hist_bucket(up + 1) > b);
	}
	assert_int_equal(hist_bucket_upper_us(LAST), UINT64_MAX);
	assert_int_equal(hist_bucket_upper_us(STEER_HIST_BUCKETS), UINT64_MAX);
	assert_int_equal(hist_bucket_upper_us(UINT32_MAX), UINT64_MAX);
}

static const struct {
	uint32_t bucket;
	uint64_t upper;
} uppers[] = {
    {0, 0},	      {1, 1},  {3, 2},	{4, 3},	    {5, 5},
    {6, 7},	      {7, 11}, {8, 15}, {21, 1535}, /* [1024, 1535] */
    {22, 2047},					    /* [1536, 2047] */
    {61, 1610612735},				    /* [2^30, 1.5 * 2^30) */
    {62, 2147483647},				    /* [1.5 * 2^30, 2^31) */
};

static void test_hist_upper_bounds_of_known_buckets(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(uppers) / sizeof(uppers[0]); i++)
		assert_int_equal(hist_bucket_upper_us(uppers[i].bucket), uppers[i].upper);
	assert_int_equal(steer_hist_bucket(2147483647), 62);
	assert_int_equal(steer_hist_bucket(2147483648), LAST);
}

static void test_hist_bounds_hold_for_every_value_up_to_a_million(void **state)
{
	(void)state;
	for (uint64_t v = 0; v <= 1000000; v++)
		assert_bounds_hold(v);
}

static void test_hist_bounds_hold_around_powers_of_two(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < 64; k++) {
		uint64_t p = (uint64_t)1 << k;

		assert_bounds_hold(p - 1);
		assert_bounds_hold(p);
		assert_bounds_hold(p + 1);
		/* and around the middle of each power of two */
		assert_bounds_hold(p + p / 2 - 1);
		assert_bounds_hold(p + p / 2);
	}
	assert_bounds_hold(UINT64_MAX);
	assert_bounds_hold(UINT64_MAX - 1);
}

static void test_hist_record_counts_into_the_value_bucket(void **state)
{
	static const uint64_t values[] = {0,	     1, 2, 3, 4, 1000, 1535, 1536, 2147483648ULL,
					  UINT64_MAX};
	struct steer_hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint32_t b = steer_hist_bucket(values[i]);
		uint64_t before = h.count[b];

		hist_record(&h, values[i]);
		assert_int_equal(h.count[b], before + 1);
		assert_int_equal(hist_count(&h), i + 1);
	}
	assert_int_equal(h.count[0], 1);
	assert_int_equal(h.count[20], 1);   /* 1000 in [768, 1023] */
	assert_int_equal(h.count[21], 1);   /* 1535 in [1024, 1535] */
	assert_int_equal(h.count[22], 1);   /* 1536 in [1536, 2047] */
	assert_int_equal(h.count[LAST], 2); /* 2^31 and UINT64_MAX */
}

static void test_hist_count_saturates(void **state)
{
	struct steer_hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(hist_count(&h), 0);
	h.count[3] = UINT64_MAX - 1;
	h.count[9] = 5;
	assert_int_equal(hist_count(&h), UINT64_MAX);
	assert_int_equal(hist_percentile_us(&h, 100), hist_bucket_upper_us(9));
	assert_int_equal(hist_percentile_us(&h, 50), hist_bucket_upper_us(3));
}

static void test_hist_percentile_of_empty_histogram_is_zero(void **state)
{
	static const double ps[] = {0, 50, 99, 100};
	struct steer_hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
		assert_int_equal(hist_percentile_us(&h, ps[i]), 0);
}

static void test_hist_percentile_of_single_sample_is_its_bucket(void **state)
{
	static const double ps[] = {0, 0.001, 50, 99.9, 100};
	static const struct {
		uint64_t sample, want;
	} cases[] = {{0, 0}, {1, 1}, {1000, 1023}, {1536, 2047}, {30000000, 33554431}};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct steer_hist h;

		memset(&h, 0, sizeof(h));
		hist_record(&h, cases[c].sample);
		for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
			assert_int_equal(hist_percentile_us(&h, ps[i]), cases[c].want);
	}
}

/* 1..1000 us, once each: the p-th percentile sample is ceil(10 * p). */
static const struct {
	double p;
	uint64_t want; /* upper bound of the bucket of the nearest-rank sample */
} known[] = {
    {0, 1},	 /* sample 1 */
    {0.1, 1},	 /* rank 1 */
    {0.2, 2},	 /* rank 2 */
    {0.25, 3},	 /* rank 3 */
    {50, 511},	 /* sample 500 in [384, 511] */
    {51.1, 511}, /* sample 511 */
    {51.2, 767}, /* sample 512 in [512, 767] */
    {90, 1023},	 /* sample 900 in [768, 1023] */
    {99, 1023},	 /* sample 990 */
    {100, 1023}, /* sample 1000 */
    {-5, 1},	 /* clamped to 0 */
    {250, 1023}, /* clamped to 100 */
};

static void test_hist_percentiles_of_known_data(void **state)
{
	struct steer_hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (uint64_t v = 1; v <= 1000; v++)
		hist_record(&h, v);
	assert_int_equal(hist_count(&h), 1000);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (hist_percentile_us(&h, known[i].p) != known[i].want)
			fail_msg("p%g: expected %llu us, got %llu us", known[i].p,
				 (unsigned long long)known[i].want,
				 (unsigned long long)hist_percentile_us(&h, known[i].p));
}

/* A skewed distribution: 98 fast samples, one slow, one very slow. */
static void test_hist_percentiles_see_the_tail(void **state)
{
	struct steer_hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 98; i++)
		hist_record(&h, 100);
	hist_record(&h, 20000);
	hist_record(&h, 5000000);
	assert_int_equal(hist_percentile_us(&h, 50), 127);	 /* [96, 127] */
	assert_int_equal(hist_percentile_us(&h, 98), 127);	 /* rank 98 */
	assert_int_equal(hist_percentile_us(&h, 99), 24575);	 /* [16384, 24575] */
	assert_int_equal(hist_percentile_us(&h, 99.5), 6291455); /* [4194304, 6291455] */
	assert_int_equal(hist_percentile_us(&h, 100), 6291455);
}

/* Against a brute-force nearest rank over sorted data, for many p: the
 * answer is the bucket bound of the true percentile, never below it and
 * less than 1.5 times it. */
static void test_hist_percentile_is_bucket_bound_of_nearest_rank(void **state)
{
	static uint64_t sorted[2000];
	struct steer_hist h;
	uint32_t s = 12345;
	size_t n = sizeof(sorted) / sizeof(sorted[0]);

	(void)state;
	memset(&h, 0, sizeof(h));
	/* a non-decreasing sequence with random steps, 1 .. about 1.5e7 */
	sorted[0] = 1;
	for (size_t i = 1; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 17;
		s ^= s << 5;
		sorted[i] = sorted[i - 1] + (s % 4 ? s % 7 : sorted[i - 1] / 50);
	}
	for (size_t i = 0; i < n; i++)
		hist_record(&h, sorted[i]);
	for (int tenths = 0; tenths <= 1000; tenths++) {
		double p = tenths / 10.0;
		/* rank = ceil(p * n / 100) = ceil(tenths * n / 1000), at least 1 */
		size_t rank = ((size_t)tenths * n + 999) / 1000;
		uint64_t truth = sorted[(rank ? rank : 1) - 1];
		uint64_t got = hist_percentile_us(&h, p);

		assert_int_equal(got, hist_bucket_upper_us(steer_hist_bucket(truth)));
		assert_true(got >= truth);
		assert_true((double)got < 1.5 * (double)truth);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hist_upper_bound_maps_back_to_its_bucket),
	    cmocka_unit_test(test_hist_upper_bounds_of_known_buckets),
	    cmocka_unit_test(test_hist_bounds_hold_for_every_value_up_to_a_million),
	    cmocka_unit_test(test_hist_bounds_hold_around_powers_of_two),
	    cmocka_unit_test(test_hist_record_counts_into_the_value_bucket),
	    cmocka_unit_test(test_hist_count_saturates),
	    cmocka_unit_test(test_hist_percentile_of_empty_histogram_is_zero),
	    cmocka_unit_test(test_hist_percentile_of_single_sample_is_its_bucket),
	    cmocka_unit_test(test_hist_percentiles_of_known_data),
	    cmocka_unit_test(test_hist_percentiles_see_the_tail),
	    cmocka_unit_test(test_hist_percentile_is_bucket_bound_of_nearest_rank),
	};

	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
