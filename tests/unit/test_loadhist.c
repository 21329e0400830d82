/* Unit tests for bench/loadhist.h, bench-load's latency histogram: bucket
 * index and bounds, the error bound of percentiles against an exact sort,
 * exact min/max/mean, and the edges (empty, 0, 2^37 ns and beyond). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/loadhist.h"

#define NSAMPLES 200000

/* xorshift64: a fixed, seeded sequence, so a failure reproduces. */
static uint64_t next_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Values around every power of two, and the extremes. */
static uint64_t edge_value(unsigned int k, int d)
{
	uint64_t p = 1ull << k;

	return d < 0 && (uint64_t)-d > p ? 0 : p + (uint64_t)(int64_t)d;
}

static void assert_in_bucket(uint64_t v)
{
	uint32_t b = loadhist_bucket(v);

	if (b > LOADHIST_LAST || v < loadhist_bucket_lower(b) || v > loadhist_bucket_upper(b))
		fail_msg("value %llu in bucket %u, which holds %llu..%llu", (unsigned long long)v,
			 b, (unsigned long long)loadhist_bucket_lower(b),
			 (unsigned long long)loadhist_bucket_upper(b));
}

static void test_loadhist_has_545_buckets_of_16_per_power_of_two(void **state)
{
	(void)state;
	assert_int_equal(LOADHIST_BUCKETS, 545);
	assert_int_equal(sizeof(struct loadhist), (4 + 545) * sizeof(uint64_t));
}

static void test_loadhist_bucket_index_is_monotonic_and_steps_by_one(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (uint64_t v = 0; v < 1000000; v++) {
		uint32_t a = loadhist_bucket(v), b = loadhist_bucket(v + 1);

		if (b < a || b > a + 1)
			fail_msg("bucket(%llu) = %u, bucket(%llu) = %u", (unsigned long long)v, a,
				 (unsigned long long)v + 1, b);
	}
	for (unsigned int k = 0; k < 64; k++)
		for (int d = -3; d <= 3; d++) {
			uint64_t v = edge_value(k, d);

			if (v < UINT64_MAX && loadhist_bucket(v + 1) < loadhist_bucket(v))
				fail_msg("not monotonic at %llu", (unsigned long long)v);
		}
	for (int i = 0; i < 100000; i++) {
		uint64_t a = next_rnd(&seed) >> (next_rnd(&seed) % 64);
		uint64_t b = next_rnd(&seed) >> (next_rnd(&seed) % 64);
		uint64_t lo = a < b ? a : b, hi = a < b ? b : a;

		if (loadhist_bucket(lo) > loadhist_bucket(hi))
			fail_msg("%llu <= %llu but buckets %u > %u", (unsigned long long)lo,
				 (unsigned long long)hi, loadhist_bucket(lo), loadhist_bucket(hi));
	}
}

static void test_loadhist_every_value_is_inside_its_buckets_range(void **state)
{
	uint64_t seed = 42;

	(void)state;
	for (uint64_t v = 0; v < 1000000; v++)
		assert_in_bucket(v);
	for (unsigned int k = 0; k < 64; k++)
		for (int d = -3; d <= 3; d++)
			assert_in_bucket(edge_value(k, d));
	assert_in_bucket(UINT64_MAX);
	for (int i = 0; i < 1000000; i++)
		assert_in_bucket(next_rnd(&seed) >> (next_rnd(&seed) % 64));
}

/* Consecutive buckets tile 0..UINT64_MAX without gaps or overlaps, the
 * bounds map back to their bucket, and no regular bucket is wider than 1/16
 * of its lower bound. */
static void test_loadhist_buckets_tile_the_range_at_most_a_sixteenth_wide(void **state)
{
	(void)state;
	assert_int_equal(loadhist_bucket_lower(0), 0);
	assert_int_equal(loadhist_bucket_upper(LOADHIST_LAST), UINT64_MAX);
	for (uint32_t b = 0; b < LOADHIST_BUCKETS; b++) {
		uint64_t lo = loadhist_bucket_lower(b), hi = loadhist_bucket_upper(b);

		assert_true(lo <= hi);
		assert_int_equal(loadhist_bucket(lo), b);
		assert_int_equal(loadhist_bucket(hi), b);
		if (b < LOADHIST_LAST) {
			assert_int_equal(loadhist_bucket_lower(b + 1), hi + 1);
			if ((hi - lo + 1) * LOADHIST_SUB > lo && hi != lo)
				fail_msg("bucket %u: %llu..%llu is wider than 1/16", b,
					 (unsigned long long)lo, (unsigned long long)hi);
		}
	}
	assert_int_equal(loadhist_bucket_lower(LOADHIST_LAST), LOADHIST_MAX);
	assert_int_equal(loadhist_bucket(LOADHIST_MAX - 1), LOADHIST_LAST - 1);
}

static const struct {
	uint64_t count;
	double q;
	uint64_t rank;
} ranks[] = {
    {1, 0.0, 1},    {1, 0.5, 1},     {1, 1.0, 1},	{100, 0.0, 1},	 {100, 0.5, 50},
    {100, 0.9, 90}, {100, 0.99, 99}, {100, 0.999, 100}, {100, 1.0, 100}, {1000, 0.999, 999},
    {7, 0.5, 4},    {3, -1.0, 1},    {3, 2.0, 3},	{10, 0.01, 1},	 {10, 0.11, 2},
};

static void test_loadhist_rank_is_the_nearest_rank(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ranks) / sizeof(ranks[0]); i++)
		if (loadhist_rank(ranks[i].count, ranks[i].q) != ranks[i].rank)
			fail_msg("rank(%llu, %g) = %llu, want %llu",
				 (unsigned long long)ranks[i].count, ranks[i].q,
				 (unsigned long long)loadhist_rank(ranks[i].count, ranks[i].q),
				 (unsigned long long)ranks[i].rank);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

enum dist { UNIFORM_US, LOG_UNIFORM, BIMODAL, CONSTANT };

/* A latency-like sample in ns, 1 ns .. ~100 s, never the overflow bucket. */
static uint64_t draw(enum dist d, uint64_t *seed)
{
	uint64_t r = next_rnd(seed);

	switch (d) {
	case UNIFORM_US: /* 50..500 us */
		return 50000 + r % 450000;
	case LOG_UNIFORM: /* 1 .. 2^37 - 1, each power of two equally likely */
		return (1ull << (r % 37)) | ((r >> 8) & ((1ull << (r % 37)) - 1));
	case BIMODAL: /* mostly ~300 us, 1% ~200 ms */
		return r % 100 ? 250000 + r % 100000 : 200000000 + r % 50000000;
	case CONSTANT:
		return 123456;
	}
	return 0;
}

/* Every percentile is within 1/32 of the exact nearest-rank sample. */
static void test_loadhist_percentiles_within_a_32nd_of_exact_sort(void **state)
{
	static const double qs[] = {0.0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0};
	static const struct {
		enum dist d;
		uint64_t seed;
		uint64_t n;
	} runs[] = {
	    {UNIFORM_US, 1, NSAMPLES}, {LOG_UNIFORM, 2, NSAMPLES}, {BIMODAL, 3, NSAMPLES},
	    {CONSTANT, 4, 1000},       {LOG_UNIFORM, 5, 1},	   {UNIFORM_US, 6, 7},
	};
	uint64_t *vals = malloc(NSAMPLES * sizeof(*vals));
	struct loadhist *h = malloc(sizeof(*h));

	(void)state;
	assert_non_null(vals);
	assert_non_null(h);
	for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		uint64_t seed = runs[r].seed, n = runs[r].n, sum = 0;

		loadhist_init(h);
		for (uint64_t i = 0; i < n; i++) {
			vals[i] = draw(runs[r].d, &seed);
			assert_true(vals[i] < LOADHIST_MAX);
			loadhist_record(h, vals[i]);
			sum += vals[i];
		}
		qsort(vals, n, sizeof(*vals), cmp_u64);
		assert_int_equal(h->count, n);
		assert_int_equal(h->min, vals[0]);
		assert_int_equal(h->max, vals[n - 1]);
		assert_int_equal(h->sum, sum);
		for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
			uint64_t exact = vals[loadhist_rank(n, qs[k]) - 1];
			uint64_t got = loadhist_quantile(h, qs[k]);
			uint64_t diff = got > exact ? got - exact : exact - got;

			if (diff * 32 > exact)
				fail_msg("run %zu q=%g: got %llu, exact %llu (off by %.2f%%)", r,
					 qs[k], (unsigned long long)got, (unsigned long long)exact,
					 100.0 * (double)diff / (double)exact);
		}
		/* the extremes are exact: clamped to min and max */
		assert_int_equal(loadhist_quantile(h, 0.0), vals[0]);
		assert_int_equal(loadhist_quantile(h, 1.0), vals[n - 1]);
	}
	free(h);
	free(vals);
}

static void test_loadhist_empty_reports_zero(void **state)
{
	struct loadhist h;

	(void)state;
	loadhist_init(&h);
	assert_int_equal(h.count, 0);
	assert_int_equal(loadhist_quantile(&h, 0.5), 0);
	assert_int_equal(loadhist_quantile(&h, 1.0), 0);
	assert_true(loadhist_mean(&h) == 0.0);
}

static void test_loadhist_zero_is_exact(void **state)
{
	struct loadhist h;

	(void)state;
	loadhist_init(&h);
	loadhist_record(&h, 0);
	loadhist_record(&h, 0);
	assert_int_equal(h.buckets[0], 2);
	assert_int_equal(loadhist_quantile(&h, 0.5), 0);
	assert_int_equal(loadhist_quantile(&h, 1.0), 0);
	assert_int_equal(h.max, 0);
	assert_true(loadhist_mean(&h) == 0.0);
}

/* From 2^37 ns on, samples share the overflow bucket; a percentile there
 * reports the exact max, and the sum saturates instead of wrapping. */
static void test_loadhist_huge_values_go_to_the_overflow_bucket(void **state)
{
	struct loadhist h;

	(void)state;
	assert_int_equal(loadhist_bucket(LOADHIST_MAX), LOADHIST_LAST);
	assert_int_equal(loadhist_bucket(UINT64_MAX), LOADHIST_LAST);
	loadhist_init(&h);
	loadhist_record(&h, 1000);
	loadhist_record(&h, LOADHIST_MAX - 1);
	loadhist_record(&h, LOADHIST_MAX + 5);
	assert_int_equal(h.buckets[LOADHIST_LAST - 1], 1);
	assert_int_equal(h.buckets[LOADHIST_LAST], 1);
	assert_int_equal(loadhist_quantile(&h, 1.0), LOADHIST_MAX + 5);
	assert_int_equal(loadhist_quantile(&h, 0.0), 1000);
	loadhist_record(&h, UINT64_MAX);
	assert_int_equal(h.max, UINT64_MAX);
	assert_int_equal(h.sum, UINT64_MAX);
	assert_int_equal(h.buckets[LOADHIST_LAST], 2);
	assert_int_equal(loadhist_quantile(&h, 1.0), UINT64_MAX);
}

static void test_loadhist_mean_and_max_are_exact(void **state)
{
	static const uint64_t vs[] = {1000, 2000, 3000, 1000001, 17};
	struct loadhist h;

	(void)state;
	loadhist_init(&h);
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++)
		loadhist_record(&h, vs[i]);
	assert_int_equal(h.max, 1000001);
	assert_int_equal(h.min, 17);
	assert_true(loadhist_mean(&h) == 1006018.0 / 5);
	/* below 32 ns the bucket is the value: exact */
	assert_int_equal(loadhist_quantile(&h, 0.2), 17);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loadhist_has_545_buckets_of_16_per_power_of_two),
	    cmocka_unit_test(test_loadhist_bucket_index_is_monotonic_and_steps_by_one),
	    cmocka_unit_test(test_loadhist_every_value_is_inside_its_buckets_range),
	    cmocka_unit_test(test_loadhist_buckets_tile_the_range_at_most_a_sixteenth_wide),
	    cmocka_unit_test(test_loadhist_rank_is_the_nearest_rank),
	    cmocka_unit_test(test_loadhist_percentiles_within_a_32nd_of_exact_sort),
	    cmocka_unit_test(test_loadhist_empty_reports_zero),
	    cmocka_unit_test(test_loadhist_zero_is_exact),
	    cmocka_unit_test(test_loadhist_huge_values_go_to_the_overflow_bucket),
	    cmocka_unit_test(test_loadhist_mean_and_max_are_exact),
	};

	return cmocka_run_group_tests_name("loadhist", tests, NULL, NULL);
}
