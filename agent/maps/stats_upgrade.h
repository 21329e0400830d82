/*
 * The upgrade of the per-service stats from the arrays of older versions
 * (steer_{hold,relay,check}_stats_v1, STEER_MAX_SERVICES entries each, paid
 * for in full) to the hashes that hold only services with a non-zero
 * counter (_v2). Run by the agent after the load has pinned the new maps
 * and before the config is applied (reconcile then zeroes the ids it gives
 * to new services) and before the old pins are pruned.
 */
#ifndef STEER_STATS_UPGRADE_H
#define STEER_STATS_UPGRADE_H

#include <stddef.h>
#include <stdint.h>

#include "maps/map_fds.h"

/* No field starts over: for stats_copy_v1's restart_off. */
#define STATS_KEEP_ALL SIZE_MAX

/*
 * Copy every non-zero entry of v1_fd (an array of __u32 -> value_size
 * bytes) into v2_fd (a hash of the same key and value), without replacing
 * an entry v2_fd already has: so a second run, after an agent that died
 * before the prune, leaves the counters it wrote alone. restart_off: the
 * offset of a __u64 that counts what this agent's predecessor had open
 * (held_now, open), zeroed in the copy; STATS_KEEP_ALL for none.
 * Returns the number of entries copied, or a negative errno (-EINVAL: v1_fd
 * is not such an array).
 */
int stats_copy_v1(int v1_fd, int v2_fd, uint32_t value_size, size_t restart_off);

/*
 * For each of the three v1 arrays pinned under pin_dir, copy it into the
 * writer fds' v2 hash (stats_copy_v1), logging what was carried over. A v1
 * map that is missing is skipped; one of another layout is skipped with a
 * warning. Returns the entries copied in all, or a negative errno of the
 * first copy that failed (the others are still tried).
 */
int stats_upgrade_from_v1(const char *pin_dir, const struct map_fds *fds);

#endif
