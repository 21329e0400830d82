/*
 * The maps' sizes, set before a skeleton is loaded: from the limits
 * (config/limits.h) for a map made now, as pinned for a map adopted. The
 * limits then become what every adopted map can hold: an agent started
 * with larger ones on a pin directory made with smaller ones runs with the
 * smaller ones, and says so; `steer down` and a start make the maps anew.
 */
#ifndef STEER_MAP_SIZES_H
#define STEER_MAP_SIZES_H

#include <stdint.h>

struct bpf_object;

/* Size obj's maps for pin_dir. With adopt, lower steer_limits to the
 * pinned maps first (the agent's first object; later ones, the XDP path's,
 * follow the limits then set). *legacy_stride: STEER_LEGACY_SLOT_STRIDE
 * when pin_dir holds the slots of a version before slot ranges (see
 * maps/slot_space.h), else 0. Returns 0 or a negative errno. */
int map_sizes_apply(struct bpf_object *obj, const char *pin_dir, int adopt,
		    uint32_t *legacy_stride);

#endif
