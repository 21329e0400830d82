/* Helpers over struct steer_hist (see hist.h). The bucket function itself is
 * steer_hist_bucket() in bpf/steer_abi.h, shared with whoever writes the map;
 * hist_bucket_upper_us() is its inverse and the unit tests hold the two
 * together. */
#include "lib/hist.h"

void hist_record(struct steer_hist *h, uint64_t us)
{
	h->count[steer_hist_bucket(us)]++;
}

uint64_t hist_bucket_upper_us(uint32_t bucket)
{
	uint32_t top, half;

	if (bucket == 0)
		return 0;
	if (bucket >= STEER_HIST_BUCKETS - 1)
		return UINT64_MAX;
	if (bucket <= 2)
		return 1; /* the value 1; bucket 2 stays empty */
	/* bucket = 1 + 2 * top + half, where top = floor(log2 v) >= 1 and half
	 * is the bit below the top bit. top <= 30 here, so no shift reaches 64. */
	top = (bucket - 1) / 2;
	half = (bucket - 1) % 2;
	return ((uint64_t)1 << top) + ((uint64_t)(half + 1) << (top - 1)) - 1;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t hist_count(const struct steer_hist *h)
{
	uint64_t n = 0;

	for (uint32_t b = 0; b < STEER_HIST_BUCKETS; b++)
		n = add_sat(n, h->count[b]);
	return n;
}

uint64_t hist_percentile_us(const struct steer_hist *h, double p)
{
	uint64_t total = hist_count(h), rank, seen = 0;
	double x;

	if (!total)
		return 0;
	if (!(p > 0))
		p = 0;
	if (p > 100)
		p = 100;
	/* rank = ceil(p / 100 * total), in 1..total. p * total first, so whole
	 * percentiles of whole counts are exact (99 * 100 / 100 is 99, while
	 * 0.99 * 100 is not); and a fraction of x below 1e-12 of it is taken
	 * as the rounding of p's decimal (99.9 is not exact), not as one more
	 * sample. x <= total <= 2^64: convert only below 2^64. */
	x = p * (double)total / 100;
	if (x >= 18446744073709551616.0) {
		rank = total;
	} else {
		rank = (uint64_t)x;
		if (x - (double)rank > x * 1e-12)
			rank++;
	}
	if (rank < 1)
		rank = 1;
	if (rank > total)
		rank = total;

	for (uint32_t b = 0; b < STEER_HIST_BUCKETS; b++) {
		seen = add_sat(seen, h->count[b]);
		if (seen >= rank)
			return hist_bucket_upper_us(b);
	}
	return UINT64_MAX; /* not reached: seen ends at total */
}
