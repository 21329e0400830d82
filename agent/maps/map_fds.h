/* The map layer over the real pinned maps: struct map_ops as bpf syscalls on
 * map fds. */
#ifndef STEER_MAP_FDS_H
#define STEER_MAP_FDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "maps/map_ops.h"

struct map_fds {
	int svc, slots, replicas, svc_stats, replica_stats, names;
	int backends, replica_status, events;
	/* -1 for a reader of a pin dir older than the map: */
	int hold_stats, check_stats, relay_stats, sock_stats, replica_active;
	int slot_attrs, banks, relayed, lb_stats, registry, slot_ranges;
	int socks;
	/* -1 for a reader of a pin dir older than one hold listener per family: */
	int hold, hold_socks;
	/* -1 also for a writer on a node without the XDP path: */
	int maglev, xdp_banks, xdp_stats;
	int readers_barrier; /* a map-of-maps used only for wait_for_readers() */
	int barrier_inner;
};

/* Every fd -1, so map_fds_close() is safe before any open. */
void map_fds_init(struct map_fds *fds);

/* Open every map pinned under pin_dir; writers also get the readers barrier.
 * A reader (status, metrics) of a pin dir that an older agent made, without
 * the maps added since, gets -1 for those, and their ops answer -ENOENT
 * (the per-service stats: that agent's _v1 arrays, where pinned); a
 * writer needs them all (the loader has pinned any that were missing).
 * Returns 0 or a negative errno; on failure nothing stays open. */
int map_fds_open_pinned(struct map_fds *fds, const char *pin_dir, int for_writing);
void map_fds_close(struct map_fds *fds);

/* Is ep's address assigned to this host (loopback included)? */
bool endpoint_is_local(const struct endpoint *ep);

/* Fill ops to operate on fds. */
void map_ops_init(struct map_ops *ops, struct map_fds *fds);

#endif
