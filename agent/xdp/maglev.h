/* The Maglev table of a service for the XDP path (pure: no I/O, no maps).
 * The datapath picks a new flow's replica as table[steer_flow_hash() % m];
 * this module fills the table from the service's routable replicas.
 *
 * What Maglev guarantees (Eisenbud et al., NSDI 2016):
 *  - every node builds the same table from the same set of replicas: each
 *    replica's preference order over the entries comes from hashes of its
 *    endpoint alone (family, address, port), never from its position in the
 *    config or its replica id, and the replicas take turns in endpoint order;
 *  - balance: with equal weights (and n <= m) every replica holds floor(m/n) or
 *    ceil(m/n) entries;
 *  - small disruption: when one replica leaves or joins, almost every entry
 *    of the others keeps its replica, so a flow without a flow-table entry
 *    (another node's, or one that was evicted) still reaches the replica it
 *    had. A statistical promise, not a bound: for m = 16381 and 10 replicas,
 *    0.6% of the others' entries move on average, 1.2% at the 99th
 *    percentile, a few % when two replicas' permutations step alike.
 *
 * Weights: a replica of weight w holds a share of the entries proportional
 * to w. The replicas still take turns, but one takes a turn only while its
 * count is at or below its share of the entries filled so far (count * W <=
 * filled * w, W the sum of the weights), so a replica holds at most
 * m * w / W + 1 entries and, with n replicas, at least m * w / W - n. With
 * equal weights every replica takes every turn: plain Maglev. */
#ifndef STEER_MAGLEV_H
#define STEER_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

#define MAGLEV_WEIGHT_MAX 100 /* as a replica's weight= (config.h WEIGHT_MAX) */

struct maglev_backend {
	const struct endpoint *ep; /* the replica: its permutation's only input */
	uint32_t value;		   /* what its entries hold (replica id and flags) */
	uint32_t weight;	   /* 1..MAGLEV_WEIGHT_MAX */
};

/* Is m a table size the datapath takes: a prime in [STEER_MAGLEV_MIN,
 * STEER_MAGLEV_MAX] (bpf/steer_abi.h)? */
bool maglev_size_valid(uint32_t m);

/* Fill table[0..m) with the values of the n backends b[0..n), in any order
 * (the same set in another order gives the same table). Two backends with
 * the same endpoint share its entries, taking turns in the order of
 * (value, weight). Returns 0; -ENOENT for n == 0 and -EINVAL for an m that
 * maglev_size_valid() refuses (even with n == 0), a weight outside
 * 1..MAGLEV_WEIGHT_MAX, a NULL endpoint or one of neither family, all
 * without touching table; -ENOMEM when the O(n + m) scratch cannot be had.
 * About 5 ms for m = 131071 and 64 backends. */
int maglev_build(const struct maglev_backend *b, size_t n, uint32_t m, uint32_t *table);

#endif
