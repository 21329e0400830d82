/* Load, attach, adopt and remove the pinned BPF datapath. */
#ifndef STEER_DATAPATH_H
#define STEER_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct steer_bpf;
struct bpf_link;

struct datapath {
	struct steer_bpf *skel;
	int adopted;  /* links found pinned and updated in place */
	int attached; /* links created by this run */
	/* Nonzero: the pinned slots are laid out as before slot ranges, with
	 * this stride (maps/slot_space.h), until the new programs run. */
	uint32_t legacy_slot_stride;
	struct bpf_link *sweep_udp, *sweep_tcp; /* iterators, this process's own */
};

/* Open and load the skeleton. Maps already pinned under pin_dir are reused
 * (their contents stay); missing ones are created and pinned. */
int datapath_load(struct datapath *dp, const char *pin_dir, uint32_t eject_after_failures,
		  char *err, size_t errlen);

/* Attach every program to cgroup_fd through a pinned bpf_link. A link already
 * pinned is updated in place to the new program, so the hook is never
 * detached. */
int datapath_attach(struct datapath *dp, int cgroup_fd, const char *pin_dir, char *err,
		    size_t errlen);

/* After an upgrade has swapped the programs: unpin maps of older layouts
 * (steer_*_vN names this version does not use). The new maps were filled
 * from the config before the swap. Returns how many were removed. */
int datapath_prune_old_maps(const char *pin_dir);

/* Abort the connected sockets of this network namespace whose replica left
 * (bpf/sock/sweep.h): UDP always; TCP, only to removed replicas, if tcp.
 * Returns 0, or -1 with err set. */
int datapath_sweep(struct datapath *dp, bool tcp, char *err, size_t errlen);

/* Close fds; pinned links and maps stay and keep working. */
void datapath_close(struct datapath *dp);

/* Detach the pinned links and remove every pin steer made under pin_dir, then
 * the directory. Returns the number of pins removed, or -1 with err set. */
int datapath_down(const char *pin_dir, char *err, size_t errlen);

/* Size the read-only legacy map steer_revnat_v1 of an object about to be
 * loaded: as pinned under pin_dir, or minimal. 0 or a negative errno. */
struct bpf_map;
int datapath_size_legacy_revnat(struct bpf_map *map, const char *pin_dir);

/* Does pin_dir hold a pinned datapath (the service map)? */
int datapath_is_pinned(const char *pin_dir);

#endif
