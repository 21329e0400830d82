/* loadhist: the latency histogram of bench-load, header-only so the unit test
 * (tests/unit/test_loadhist.c) uses exactly the code the tool runs.
 *
 * Values are nanoseconds. Log-linear buckets: 0..31 ns have a bucket each
 * (exact); above that every power of two [2^e, 2^(e+1)) is split into
 * LOADHIST_SUB = 16 equal sub-buckets, so a bucket is at most 1/16 of its
 * lower bound wide. Regular buckets end at LOADHIST_MAX = 2^37 ns (~137 s);
 * everything from there on lands in one overflow bucket. 545 buckets, 4.4 KiB,
 * a fixed array: recording is a count-leading-zeros, two shifts and three
 * increments, no allocation.
 *
 * Percentiles use the nearest rank (sample ceil(q * count), counting from 1)
 * and report the MIDPOINT of the bucket that holds that sample, clamped to the
 * exact [min, max]: within 1/32 (3.125%) of the true sample, above or below.
 * Ranks 1 and count report the exact min and max; in the overflow bucket
 * the exact max is reported (an upper bound).
 * min, max and the sum behind the mean are exact. */
#ifndef STEER_BENCH_LOADHIST_H
#define STEER_BENCH_LOADHIST_H

#include <stdint.h>

#define LOADHIST_SUB_BITS 4
#define LOADHIST_SUB	  (1u << LOADHIST_SUB_BITS) /* linear sub-buckets per power of two */
#define LOADHIST_MAX_EXP  37			    /* regular buckets cover [0, 2^37) ns */
#define LOADHIST_MAX	  (1ull << LOADHIST_MAX_EXP)
/* Exponents SUB_BITS..MAX_EXP-1 have SUB buckets each, plus 0..2*SUB-1 exact
 * and the overflow bucket. */
#define LOADHIST_BUCKETS ((LOADHIST_MAX_EXP - LOADHIST_SUB_BITS + 1) * LOADHIST_SUB + 1)
#define LOADHIST_LAST	 (LOADHIST_BUCKETS - 1)

struct loadhist {
	uint64_t count; /* samples recorded */
	uint64_t sum;	/* their total in ns, saturating at UINT64_MAX */
	uint64_t min;	/* smallest sample; UINT64_MAX while empty */
	uint64_t max;	/* largest sample; 0 while empty */
	uint64_t buckets[LOADHIST_BUCKETS];
};

static inline void loadhist_init(struct loadhist *h)
{
	*h = (struct loadhist){.min = UINT64_MAX};
}

/* The bucket of v: v itself below 2 * SUB; then (exponent, top SUB_BITS bits
 * after the leading one); LOADHIST_LAST from LOADHIST_MAX on. Monotonic. */
static inline uint32_t loadhist_bucket(uint64_t v)
{
	unsigned int e;

	if (v < 2 * LOADHIST_SUB)
		return (uint32_t)v;
	if (v >= LOADHIST_MAX)
		return LOADHIST_LAST;
	e = 63u - (unsigned int)__builtin_clzll(v); /* SUB_BITS + 1 .. MAX_EXP - 1 */
	return (e - LOADHIST_SUB_BITS + 1) * LOADHIST_SUB +
	       (uint32_t)((v >> (e - LOADHIST_SUB_BITS)) & (LOADHIST_SUB - 1));
}

/* The smallest value in bucket b (LOADHIST_MAX for the overflow bucket). */
static inline uint64_t loadhist_bucket_lower(uint32_t b)
{
	uint32_t e, sub;

	if (b < 2 * LOADHIST_SUB)
		return b;
	if (b >= LOADHIST_LAST)
		return LOADHIST_MAX;
	e = b / LOADHIST_SUB + LOADHIST_SUB_BITS - 1;
	sub = b % LOADHIST_SUB;
	return (uint64_t)(LOADHIST_SUB + sub) << (e - LOADHIST_SUB_BITS);
}

/* The largest value in bucket b (UINT64_MAX for the overflow bucket). */
static inline uint64_t loadhist_bucket_upper(uint32_t b)
{
	if (b >= LOADHIST_LAST)
		return UINT64_MAX;
	return loadhist_bucket_lower(b + 1) - 1;
}

static inline void loadhist_record(struct loadhist *h, uint64_t v)
{
	h->buckets[loadhist_bucket(v)]++;
	h->count++;
	if (__builtin_add_overflow(h->sum, v, &h->sum))
		h->sum = UINT64_MAX;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* Nearest rank of quantile q (0..1, clamped; NaN counts as 0) among count
 * samples: ceil(q * count), at least 1. Integer ceil, so no libm. */
static inline uint64_t loadhist_rank(uint64_t count, double q)
{
	double r;
	uint64_t rank;

	if (!(q > 0.0))
		return 1;
	if (q >= 1.0)
		return count;
	r = q * (double)count;
	rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	return rank < 1 ? 1 : rank > count ? count : rank;
}

/* The q-quantile in ns (see the top of the file for what is reported and
 * its error bound); 0 for an empty histogram. */
static inline uint64_t loadhist_quantile(const struct loadhist *h, double q)
{
	uint64_t rank, seen = 0, mid;
	uint32_t b;

	if (h->count == 0)
		return 0;
	rank = loadhist_rank(h->count, q);
	if (rank == 1)
		return h->min; /* the extremes are known exactly */
	if (rank == h->count)
		return h->max;
	for (b = 0; b < LOADHIST_LAST; b++) {
		seen += h->buckets[b];
		if (seen >= rank)
			break;
	}
	if (b == LOADHIST_LAST)
		return h->max;
	mid = loadhist_bucket_lower(b) + (loadhist_bucket_upper(b) - loadhist_bucket_lower(b)) / 2;
	return mid < h->min ? h->min : mid > h->max ? h->max : mid;
}

/* Mean in ns; 0 for an empty histogram. */
static inline double loadhist_mean(const struct loadhist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}

#endif
