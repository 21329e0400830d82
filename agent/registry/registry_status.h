/* steer_registry_v1: what the agent writes of its registry watch for
 * `steer status` and the metrics, which read it from the pinned map. */
#ifndef STEER_REGISTRY_STATUS_H
#define STEER_REGISTRY_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "maps/map_ops.h"
#include "registry/registry.h"

/* The last config built from the registry that reached the maps. */
struct registry_applied {
	int64_t revision;
	uint64_t ns; /* CLOCK_REALTIME */
	struct registry_counts counts;
};

/* A build of s at revision was applied, now. */
void registry_applied_now(struct registry_applied *ap, const struct registry_store *s,
			  int64_t revision);

/* Write the entry: r's state and ap; r NULL writes "no registry". Returns 0,
 * or -1 with err set (the map is absent or the write failed). */
int registry_status_write(const struct map_ops *ops, const struct registry *r,
			  const struct registry_applied *ap, char *err, size_t errlen);

#endif
