/* Helpers over struct steer_hist (bpf/steer_abi.h), the log-linear histogram
 * of microseconds in steer_hold_stats_v2: record, count, percentiles.
 *
 * Resolution: bucket 0 holds 0 us; above that each power of two is split in
 * two buckets, [2^k, 1.5 * 2^k) and [1.5 * 2^k, 2^(k+1)), and everything from
 * 2^31 us (about 35.8 minutes) on lands in the last bucket. A percentile is
 * reported as the upper bound of the bucket that holds it, so it is never
 * below the true value and less than 1.5 times it (at most ~50% over; 33% in
 * the upper half of a power of two), except in the last bucket, whose upper
 * bound is UINT64_MAX. */
#ifndef STEER_HIST_H
#define STEER_HIST_H

#include <stdint.h>

#include "bpf/steer_abi.h"

/* Count one sample of us microseconds. */
void hist_record(struct steer_hist *h, uint64_t us);

/* The largest value v with steer_hist_bucket(v) <= bucket: for every bucket
 * that a value can land in, the largest value that lands in it (0 for bucket
 * 0, UINT64_MAX for the last bucket and beyond). Bucket 2 never receives a
 * value (1 goes to bucket 1, 2 to bucket 3), so its bound is bucket 1's: 1. */
uint64_t hist_bucket_upper_us(uint32_t bucket);

/* Samples in the histogram (UINT64_MAX if the sum would wrap). */
uint64_t hist_count(const struct steer_hist *h);

/* The p-th percentile (p in 0..100, clamped; NaN counts as 0) by nearest
 * rank: the upper bound of the bucket holding sample ceil(p / 100 * count),
 * counting from 1, so p = 0 gives the smallest sample's bucket and p = 100
 * the largest's. 0 for an empty histogram. */
uint64_t hist_percentile_us(const struct steer_hist *h, double p);

#endif
